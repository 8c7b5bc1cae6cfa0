"""Config flow: the estate entry (user + reconfigure), its options, and gate subentries.

Everything runs against real SQLite files in tmp_path; the relays are the real template
switches of the ``relay_calls`` fixture.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import sqlite3
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.community_gate.config_flow import NUMBER_OPTIONS, _check_numbers
from custom_components.community_gate.const import (
    CONF_DB_PATH,
    DEFAULT_DB_FILE,
    DOMAIN,
    OPT_RETENTION_DAYS,
    SUBENTRY_GATE,
)
from custom_components.community_gate.core.errors import UnknownGateError
from custom_components.community_gate.core.model import Direction, GateKind
from custom_components.community_gate.core.schema import SCHEMA_VERSION
from custom_components.community_gate.schema import vol
from tests.ha.helpers import find_device

GARBAGE = b"this is not an sqlite database, just some bytes\n" * 64


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """The test hass points at a shared folder in site-packages: give it a private one."""
    path = tmp_path / "config"
    path.mkdir()
    hass.config.config_dir = str(path)
    return path


def _user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _snapshot(root: Path) -> dict[Path, bytes]:
    """Every file under ``root`` with its bytes."""
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _make_too_new(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()


async def _start_user(hass: HomeAssistant) -> dict[str, Any]:
    """The first step asks estate or command centre; an estate's form follows."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["estate", "centre"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "estate"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "estate"
    return result


async def _user_flow(hass: HomeAssistant, name: str, db: str) -> dict[str, Any]:
    result = await _start_user(hass)
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": name, CONF_DB_PATH: db}
    )


def _no_flows_left(hass: HomeAssistant) -> bool:
    return not hass.config_entries.flow.async_progress()


# ---------------------------------------------------------------------- user step
async def test_user_step_shows_defaults(hass: HomeAssistant, config_dir: Path) -> None:
    result = await _start_user(hass)
    assert result["errors"] == {}
    assert result["data_schema"]({}) == {"name": "Estate", CONF_DB_PATH: DEFAULT_DB_FILE}
    # Showing the form touches nothing on disk.
    assert _snapshot(config_dir) == {}


async def test_user_step_creates_entry_and_database(
    hass: HomeAssistant, config_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "maple.db"
    result = await _user_flow(hass, "  Maple Court ", f"  {db}  ")
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Maple Court"
    assert result["data"] == {"name": "Maple Court", CONF_DB_PATH: str(db)}
    # The engine is written down: a later default never swaps it under enrolled faces.
    assert result["options"] == {OPT_RETENTION_DAYS: 180, "face_engine": "ncnn_sface_2021dec"}
    entry = result["result"]
    assert (entry.version, entry.minor_version) == (1, 2)
    assert entry.unique_id == str(db)
    assert entry.state is ConfigEntryState.LOADED
    # A real, migrated SQLite file.
    assert db.is_file()
    assert _user_version(db) == SCHEMA_VERSION
    assert entry.runtime_data.hub.store.path == db
    assert hass.states.get("switch.maple_court_emergency_open_all") is not None


async def test_relative_path_is_inside_config_dir(hass: HomeAssistant, config_dir: Path) -> None:
    result = await _user_flow(hass, "Oak Yard", "oak.db")
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    expected = config_dir / "oak.db"
    assert expected.is_file()
    assert _user_version(expected) == SCHEMA_VERSION
    entry = result["result"]
    # The entry keeps what the user typed; the unique id is the resolved file.
    assert entry.data[CONF_DB_PATH] == "oak.db"
    assert entry.unique_id == str(expected)
    assert entry.runtime_data.hub.store.path == expected


async def test_empty_name_falls_back(hass: HomeAssistant, tmp_path: Path) -> None:
    result = await _user_flow(hass, "   ", str(tmp_path / "x.db"))
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Estate"
    assert result["data"]["name"] == "Estate"


def _prepare_bad(kind: str, tmp_path: Path) -> str:
    if kind == "empty":
        return "   "
    if kind == "directory":
        d = tmp_path / "a_dir"
        d.mkdir()
        return str(d)
    if kind == "parent_is_file":
        f = tmp_path / "plain.txt"
        f.write_text("I am a file\n")
        return str(f / "estate.db")
    if kind == "garbage":
        f = tmp_path / "garbage.db"
        f.write_bytes(GARBAGE)
        return str(f)
    if kind == "too_new":
        f = tmp_path / "future.db"
        _make_too_new(f)
        return str(f)
    raise AssertionError(kind)


BAD_PATHS = [
    ("empty", "db_path_empty"),
    ("directory", "database_unavailable"),
    ("parent_is_file", "database_unavailable"),
    ("garbage", "database_corrupt"),
    ("too_new", "database_too_new"),
]


@pytest.mark.parametrize(("kind", "error"), BAD_PATHS)
async def test_user_step_bad_database_shows_error(
    hass: HomeAssistant, config_dir: Path, tmp_path: Path, kind: str, error: str
) -> None:
    raw = _prepare_bad(kind, tmp_path)
    before = _snapshot(tmp_path)

    result = await _user_flow(hass, "Maple Court", raw)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "estate"
    assert result["errors"] == {CONF_DB_PATH: error}
    # The form keeps what was typed so it can be corrected.
    assert result["data_schema"]({})[CONF_DB_PATH] == raw
    assert hass.config_entries.async_entries(DOMAIN) == []
    after = _snapshot(tmp_path)
    # Nothing was added beside it (no -wal/-shm/-journal, no key file).
    assert set(after) == set(before)
    if kind == "too_new":
        # Not migrated down or otherwise rewritten (and byte-identical: see below).
        assert _user_version(Path(raw)) == SCHEMA_VERSION + 1
    else:
        assert after == before


async def test_too_new_database_left_byte_identical(
    hass: HomeAssistant, config_dir: Path, tmp_path: Path
) -> None:
    raw = _prepare_bad("too_new", tmp_path)
    before = _read(Path(raw))
    result = await _user_flow(hass, "Maple Court", raw)
    assert result["errors"] == {CONF_DB_PATH: "database_too_new"}
    assert _read(Path(raw)) == before


async def test_garbage_file_untouched_and_flow_recovers(
    hass: HomeAssistant, config_dir: Path, tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(GARBAGE)
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Maple Court", CONF_DB_PATH: str(garbage)}
    )
    assert result["errors"] == {CONF_DB_PATH: "database_corrupt"}
    assert garbage.read_bytes() == GARBAGE

    # The same flow accepts a corrected path.
    good = tmp_path / "good.db"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Maple Court", CONF_DB_PATH: str(good)}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert good.is_file()
    assert garbage.read_bytes() == GARBAGE


async def test_same_database_twice_aborts(
    hass: HomeAssistant, config_dir: Path, tmp_path: Path
) -> None:
    first = await _user_flow(hass, "Maple Court", str(config_dir / "shared.db"))
    await hass.async_block_till_done()
    assert first["type"] is FlowResultType.CREATE_ENTRY

    # The same file, spelt relative to the config folder.
    second = await _user_flow(hass, "Maple Court again", "shared.db")
    assert second["type"] is FlowResultType.ABORT
    assert second["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    assert _no_flows_left(hass)


async def test_name_giving_a_taken_mqtt_topic_is_refused(
    hass: HomeAssistant, config_dir: Path, tmp_path: Path
) -> None:
    """ "maple-court" and "Maple Court" are both the topic segment maple_court: two estates
    on one broker would share one topic tree, so the second name is refused, before its
    database file is created."""
    first = await _user_flow(hass, "Maple Court", str(tmp_path / "maple.db"))
    await hass.async_block_till_done()
    assert first["type"] is FlowResultType.CREATE_ENTRY

    second_db = tmp_path / "second.db"
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": " maple-court ", CONF_DB_PATH: str(second_db)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"name": "estate_topic_taken"}
    assert not second_db.exists()
    # Another name goes through in the same flow.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Maple Court West", CONF_DB_PATH: str(second_db)}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].state is ConfigEntryState.LOADED
    assert len(hass.config_entries.async_entries(DOMAIN)) == 2


# -------------------------------------------------------------------- reconfigure
async def _start_reconfigure(hass: HomeAssistant, entry: Any) -> dict[str, Any]:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )


async def _two_estates(hass: HomeAssistant, tmp_path: Path) -> tuple[Any, Any]:
    a = await _user_flow(hass, "Maple Court", str(tmp_path / "maple.db"))
    b = await _user_flow(hass, "Oak Yard", str(tmp_path / "oak.db"))
    await hass.async_block_till_done()
    return a["result"], b["result"]


async def test_reconfigure_shows_current_values(hass: HomeAssistant, tmp_path: Path) -> None:
    entry, _ = await _two_estates(hass, tmp_path)
    result = await _start_reconfigure(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["data_schema"]({}) == {
        "name": "Maple Court",
        CONF_DB_PATH: str(tmp_path / "maple.db"),
    }


async def test_reconfigure_rename(hass: HomeAssistant, tmp_path: Path) -> None:
    entry, _ = await _two_estates(hass, tmp_path)
    db = str(tmp_path / "maple.db")
    result = await _start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Maple Gardens", CONF_DB_PATH: db}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.title == "Maple Gardens"
    assert entry.data == {"name": "Maple Gardens", CONF_DB_PATH: db}
    assert entry.unique_id == db
    assert entry.state is ConfigEntryState.LOADED
    device = find_device(hass, (DOMAIN, entry.entry_id), entry.entry_id)
    assert device is not None
    assert device.name == "Maple Gardens"


async def _estate_on_garbage(hass: HomeAssistant, db: Path) -> MockConfigEntry:
    """An estate "Late" on ``db``, a file that is not a database: its set-up failed
    (no endless retries: a retry cannot repair the file)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Late",
        data={"name": "Late", CONF_DB_PATH: str(db)},
        options={OPT_RETENTION_DAYS: 180},
        unique_id=str(db),
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    return entry


async def test_reconfigure_reloads_once_through_the_listener(
    hass: HomeAssistant, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A loaded estate is reloaded by its update listener, once; the flow itself does
    not reload it too (HA 2026.12 refuses a flow that reloads an entry with a listener)."""
    entry, _ = await _two_estates(hass, tmp_path)
    before = entry.runtime_data
    result = await _start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Maple Gardens", CONF_DB_PATH: str(tmp_path / "maple.db")}
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not before  # rebuilt
    assert before.closed
    assert "should use it for scheduling a reload" not in caplog.text


async def test_reconfigure_fixes_an_estate_that_could_not_start(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """An estate whose database could not be opened has no update listener: the
    reconfigure flow itself reloads it onto the new file."""
    bad = tmp_path / "late.db"
    bad.write_bytes(GARBAGE)
    entry = await _estate_on_garbage(hass, bad)

    good = tmp_path / "good.db"
    result = await _start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Late", CONF_DB_PATH: str(good)}
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.hub.store.path == good
    assert bad.read_bytes() == GARBAGE


async def test_reconfigure_moves_to_new_database(hass: HomeAssistant, tmp_path: Path) -> None:
    entry, _ = await _two_estates(hass, tmp_path)
    new_db = tmp_path / "moved" / "maple2.db"
    new_db.parent.mkdir()
    result = await _start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Maple Court", CONF_DB_PATH: str(new_db)}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_DB_PATH] == str(new_db)
    # The unique id follows the file, so the old file is free for a new estate.
    assert entry.unique_id == str(new_db)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.hub.store.path == new_db
    assert _user_version(new_db) == SCHEMA_VERSION

    again = await _user_flow(hass, "Maple Court (old)", str(tmp_path / "maple.db"))
    await hass.async_block_till_done()
    assert again["type"] is FlowResultType.CREATE_ENTRY


async def test_reconfigure_invalid_path_shows_error(hass: HomeAssistant, tmp_path: Path) -> None:
    entry, _ = await _two_estates(hass, tmp_path)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(GARBAGE)
    result = await _start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Maple Court", CONF_DB_PATH: str(garbage)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {CONF_DB_PATH: "database_corrupt"}
    assert garbage.read_bytes() == GARBAGE
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Maple Court", CONF_DB_PATH: ""}
    )
    assert result["errors"] == {CONF_DB_PATH: "db_path_empty"}
    assert entry.data[CONF_DB_PATH] == str(tmp_path / "maple.db")
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_to_database_of_other_estate_aborts(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    entry, other = await _two_estates(hass, tmp_path)
    result = await _start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Maple Court", CONF_DB_PATH: str(tmp_path / "oak.db")}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "database_in_use"
    assert entry.data[CONF_DB_PATH] == str(tmp_path / "maple.db")
    assert entry.unique_id == str(tmp_path / "maple.db")
    assert other.unique_id == str(tmp_path / "oak.db")
    assert entry.state is ConfigEntryState.LOADED
    assert other.state is ConfigEntryState.LOADED


async def test_reconfigure_to_a_name_giving_a_taken_topic_is_refused(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    entry, other = await _two_estates(hass, tmp_path)
    result = await _start_reconfigure(hass, other)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "MAPLE COURT!", CONF_DB_PATH: str(tmp_path / "oak.db")}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"name": "estate_topic_taken"}
    assert other.title == "Oak Yard"
    # Its own name (the topic it already holds) is no conflict.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "oak yard", CONF_DB_PATH: str(tmp_path / "oak.db")}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert (entry.state, other.state) == (ConfigEntryState.LOADED, ConfigEntryState.LOADED)


# ------------------------------------------------------------------------ options
async def test_options_set_retention(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    old_hub = estate.runtime_data
    result = await hass.config_entries.options.async_init(estate.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    defaults = result["data_schema"]({})
    assert defaults[OPT_RETENTION_DAYS] == 180
    assert {k: defaults[k] for k in FACE_DEFAULTS} == FACE_DEFAULTS

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {OPT_RETENTION_DAYS: 30}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert estate.options[OPT_RETENTION_DAYS] == 30
    assert {k: estate.options[k] for k in FACE_DEFAULTS} == FACE_DEFAULTS
    assert isinstance(estate.options[OPT_RETENTION_DAYS], int)
    # The update listener rebuilt the runtime.
    assert estate.state is ConfigEntryState.LOADED
    assert estate.runtime_data is not old_hub


@pytest.mark.parametrize("days", [0, 5000, -1])
async def test_options_retention_out_of_range(
    hass: HomeAssistant, estate: MockConfigEntry, days: int
) -> None:
    result = await hass.config_entries.options.async_init(estate.entry_id)
    # The number selector carries the 1..3650 bounds; HA rejects the value against
    # the form's schema and reports it on the field, before the step runs.
    with pytest.raises(InvalidData) as exc:
        await hass.config_entries.options.async_configure(
            result["flow_id"], {OPT_RETENTION_DAYS: days}
        )
    assert set(exc.value.schema_errors) == {OPT_RETENTION_DAYS}
    assert estate.options[OPT_RETENTION_DAYS] == 180

    # The flow is still open and takes a corrected value.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {OPT_RETENTION_DAYS: 3650}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert estate.options[OPT_RETENTION_DAYS] == 3650


FACE_DEFAULTS = {
    "face_engine": "ncnn_sface_2021dec",
    "face_strictness": "standard",
    "capture_interval": 0.5,
    "face_debounce": 10.0,
}


async def test_options_face_settings_reach_the_recogniser(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(estate.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            OPT_RETENTION_DAYS: 90,
            "face_engine": "dlib_resnet_v1",
            "face_strictness": "strict",
            "capture_interval": 1.5,
            "face_debounce": 30,
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert {k: estate.options[k] for k in (OPT_RETENTION_DAYS, *FACE_DEFAULTS)} == {
        OPT_RETENTION_DAYS: 90,
        "face_engine": "dlib_resnet_v1",
        "face_strictness": "strict",
        "capture_interval": 1.5,
        "face_debounce": 30.0,
    }
    face = estate.runtime_data.face
    # dlib loads for seconds: let it finish, or the test ends with its thread mid-load.
    await asyncio.wait_for(face.loaded.wait(), timeout=120)
    assert face.spec.name == "dlib_resnet_v1"
    assert face.vault.engine == "dlib_resnet_v1"
    assert face.recogniser.target == 0.0001
    assert face.gallery.threshold == 0.55
    assert face.masked.threshold <= 0.55  # masked references never looser than plain ones
    assert face.debounce_s == 30.0
    # The form shows the saved values next time.
    result = await hass.config_entries.options.async_init(estate.entry_id)
    assert result["data_schema"]({})["face_engine"] == "dlib_resnet_v1"
    assert result["data_schema"]({})["face_strictness"] == "strict"


async def test_options_default_to_the_ncnn_engine(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    """A new estate runs ncnn at standard strictness; the form offers both engines."""
    face = estate.runtime_data.face
    assert (face.spec.name, face.recogniser.target) == ("ncnn_sface_2021dec", 0.001)
    result = await hass.config_entries.options.async_init(estate.entry_id)
    defaults = result["data_schema"]({})
    assert (defaults["face_engine"], defaults["face_strictness"]) == (
        "ncnn_sface_2021dec",
        "standard",
    )


@pytest.mark.parametrize(("key", "value"), [("face_engine", "opencv"), ("face_strictness", 3)])
async def test_options_unknown_choice_is_refused(
    hass: HomeAssistant, estate: MockConfigEntry, key: str, value: object
) -> None:
    result = await hass.config_entries.options.async_init(estate.entry_id)
    with pytest.raises(InvalidData) as exc:
        await hass.config_entries.options.async_configure(result["flow_id"], {key: value})
    assert set(exc.value.schema_errors) == {key}
    assert estate.options == {OPT_RETENTION_DAYS: 180}


async def test_estate_from_before_1_2_keeps_dlib(hass: HomeAssistant, tmp_path: Path) -> None:
    """An estate created before the engine option enrolled with dlib: the migration
    keeps it there (faces are never compared across engines) and drops the old
    distance threshold."""
    db = str(tmp_path / "old.db")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Old",
        data={"name": "Old", CONF_DB_PATH: db},
        options={OPT_RETENTION_DAYS: 30, "face_threshold": 0.5},
        unique_id=db,
        version=1,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == 2
    assert dict(entry.options) == {OPT_RETENTION_DAYS: 30, "face_engine": "dlib_resnet_v1"}
    face = entry.runtime_data.face
    assert face.spec.name == "dlib_resnet_v1"
    await asyncio.wait_for(face.loaded.wait(), timeout=120)
    assert face.ready, face.error


async def test_estate_from_a_newer_major_version_is_refused(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    db = str(tmp_path / "new.db")
    entry = MockConfigEntry(
        domain=DOMAIN, title="New", data={"name": "New", CONF_DB_PATH: db}, version=2
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.MIGRATION_ERROR


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("capture_interval", 0),
        ("capture_interval", 60),
        ("face_debounce", 0),
        ("face_debounce", 3600),
    ],
)
async def test_options_face_settings_out_of_range(
    hass: HomeAssistant, estate: MockConfigEntry, key: str, value: float
) -> None:
    result = await hass.config_entries.options.async_init(estate.entry_id)
    with pytest.raises(InvalidData) as exc:
        await hass.config_entries.options.async_configure(result["flow_id"], {key: value})
    assert set(exc.value.schema_errors) == {key}
    assert estate.options == {OPT_RETENTION_DAYS: 180}


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"face_debounce": True}, {"face_debounce": "face_debounce_out_of_range"}),
        ({"capture_interval": "fast"}, {"capture_interval": "capture_interval_out_of_range"}),
        ({OPT_RETENTION_DAYS: 0}, {OPT_RETENTION_DAYS: "retention_out_of_range"}),
        ({"face_debounce": 5}, {}),
    ],
)
def test_option_ranges_are_checked_behind_the_selectors(
    data: dict[str, Any], errors: dict[str, str]
) -> None:
    """The selectors bound the UI; the step checks again for callers that skip them."""
    clean, found = _check_numbers(data, NUMBER_OPTIONS)
    assert found == errors
    if not errors:
        assert clean["face_debounce"] == 5.0
        assert clean[OPT_RETENTION_DAYS] == 180


# ------------------------------------------------------------------ gate subentry
async def _start_gate(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_GATE), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result


def _gate_input(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "West Gate",
        "kind": "estate_gate",
        "direction": "both",
        "actuator": "switch.east_relay",
        "pulse_seconds": 3,
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


async def _add_gate(hass: HomeAssistant, entry: MockConfigEntry, **over: Any) -> dict[str, Any]:
    result = await _start_gate(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _gate_input(**over)
    )
    await hass.async_block_till_done()
    return result


def _shown(schema: vol.Schema) -> dict[str, Any]:
    """What the form pre-fills: defaults and suggested values."""
    out: dict[str, Any] = {}
    for key in schema.schema:
        if key.default is not vol.UNDEFINED:
            out[str(key)] = key.default()
        elif key.description and "suggested_value" in key.description:
            out[str(key)] = key.description["suggested_value"]
        else:
            out[str(key)] = None
    return out


def _gate_entities(hass: HomeAssistant, gate: str) -> set[str]:
    return {
        f"button.{gate}_open",
        f"binary_sensor.{gate}_online",
        f"event.{gate}_passage",
        f"sensor.{gate}_last_passage",
        f"sensor.{gate}_last_method",
    }


async def test_gate_subentry_created_with_derived_id(
    hass: HomeAssistant, estate: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    result = await _add_gate(hass, estate)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "West Gate"
    assert result["unique_id"] == "west_gate"
    assert result["data"]["gate_id"] == "west_gate"
    assert result["data"]["pulse_seconds"] == 3
    assert isinstance(result["data"]["pulse_seconds"], int)
    sub = next(s for s in estate.subentries.values() if s.unique_id == "west_gate")
    assert sub.data["actuator"] == "switch.east_relay"

    # The entry reloaded: the gate is live, mirrored in the store, with its entities.
    assert estate.state is ConfigEntryState.LOADED
    hub = estate.runtime_data.hub
    assert "west_gate" in hub.gates
    stored = await hub.db(hub.store.get_gate, "west_gate")
    assert stored.name == "West Gate"
    assert stored.kind is GateKind.ESTATE_GATE
    assert stored.direction is Direction.BOTH
    for entity_id in _gate_entities(hass, "west_gate"):
        assert hass.states.get(entity_id) is not None, entity_id
    reg = er.async_get(hass).async_get("button.west_gate_open")
    assert reg is not None
    assert reg.config_subentry_id == sub.subentry_id

    # And it works: the new button drives the chosen relay.
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.west_gate_open"}, blocking=True
    )
    await hass.async_block_till_done()
    assert relay_calls == [("switch.east_relay", "on")]


async def test_gate_subentry_explicit_id_and_building_door(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    result = await _add_gate(
        hass,
        estate,
        name="Tower 7 lobby",
        gate_id=" t7-lobby ",
        kind="building_door",
        direction="in",
        building=" 7 ",
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == "t7-lobby"
    assert result["data"]["building"] == "7"
    hub = estate.runtime_data.hub
    stored = await hub.db(hub.store.get_gate, "t7-lobby")
    assert stored == hub.gates["t7-lobby"].gate
    assert stored.kind is GateKind.BUILDING_DOOR
    assert stored.direction is Direction.IN
    assert stored.building == "7"
    assert hass.states.get("button.tower_7_lobby_open") is not None


async def test_gate_subentry_with_stream_url(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    url = "rtsp://viewer:pw@192.0.2.7:554/stream1"
    result = await _add_gate(hass, estate, name="South gate", stream_url=f" {url} ")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["stream_url"] == url
    hub = estate.runtime_data.hub
    assert hub.gates["south_gate"].stream_url == url
    # The stream gets its own capture loop (the camera is unreachable: it just retries).
    loops = [lp for lp in estate.runtime_data.capture_loops if lp.rt.gate.id == "south_gate"]
    assert [lp.source for lp in loops] == ["stream"]


@pytest.mark.parametrize(
    ("over", "errors"),
    [
        ({"gate_id": "bad id!"}, {"gate_id": "gate_id_invalid"}),
        ({"gate_id": "x" * 65}, {"gate_id": "gate_id_invalid"}),
        # No name: nothing to derive the id from either.
        ({"name": "   "}, {"name": "name_empty", "gate_id": "gate_id_invalid"}),
        ({"gate_id": "east_gate"}, {"gate_id": "gate_id_taken"}),
        # Derived from the name, the id of an existing gate.
        ({"name": "East Gate"}, {"gate_id": "gate_id_taken"}),
        ({"kind": "building_door"}, {"building": "building_required"}),
        ({"kind": "building_door", "building": "   "}, {"building": "building_required"}),
        # The entity selector also accepts entity registry ids; the flow cannot tell
        # such an id's domain, so it refuses it instead of guessing.
        ({"actuator": "0123456789abcdef0123456789abcdef"}, {"actuator": "actuator_domain"}),
        # A stream URL must name a network camera, never a local file or device.
        ({"stream_url": "file:///etc/passwd"}, {"stream_url": "stream_url_invalid"}),
        ({"stream_url": "/dev/video0"}, {"stream_url": "stream_url_invalid"}),
        ({"stream_url": "rtsp://"}, {"stream_url": "stream_url_invalid"}),
    ],
)
async def test_gate_subentry_form_errors(
    hass: HomeAssistant, estate: MockConfigEntry, over: dict[str, Any], errors: dict[str, str]
) -> None:
    subentries_before = dict(estate.subentries)
    result = await _start_gate(hass, estate)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _gate_input(**over)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    assert estate.subentries == subentries_before

    # The form offers the typed values back, and the flow accepts a correction.
    shown = result["data_schema"]({"actuator": "switch.east_relay"})
    assert shown["name"] == _gate_input(**over)["name"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _gate_input(gate_id="fixed_gate")
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "fixed_gate" in estate.runtime_data.hub.gates


@pytest.mark.parametrize(
    "over",
    [
        {"actuator": "light.x"},
        {"actuator": "not an entity"},
        {"pulse_seconds": 0},
        {"pulse_seconds": 61},
    ],
)
async def test_gate_subentry_schema_rejects(
    hass: HomeAssistant, estate: MockConfigEntry, over: dict[str, Any]
) -> None:
    """Values the form's selectors already bound are refused by HA against the schema
    and reported on the field; nothing is created and the flow stays usable."""
    subentries_before = dict(estate.subentries)
    result = await _start_gate(hass, estate)
    with pytest.raises(InvalidData) as exc:
        await hass.config_entries.subentries.async_configure(result["flow_id"], _gate_input(**over))
    assert set(exc.value.schema_errors) == set(over)
    assert estate.subentries == subentries_before
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], _gate_input())
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_gate_subentry_reconfigure(
    hass: HomeAssistant, estate: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    sub = next(s for s in estate.subentries.values() if s.unique_id == "east_gate")
    result = await estate.start_subentry_reconfigure_flow(hass, sub.subentry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["description_placeholders"] == {"gate_id": "east_gate"}
    shown = _shown(result["data_schema"])
    assert shown["name"] == "East Gate"
    assert shown["actuator"] == "switch.east_relay"
    assert shown["pulse_seconds"] == 5
    assert "gate_id" not in shown

    # The id is not a field of this form at all.
    with pytest.raises(InvalidData):
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], _gate_input(name="East Entrance", gate_id="renamed")
        )

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        _gate_input(name="East Entrance", actuator="switch.north_relay", direction="in"),
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"

    sub = estate.subentries[sub.subentry_id]
    assert sub.title == "East Entrance"
    assert sub.unique_id == "east_gate"
    assert sub.data["gate_id"] == "east_gate"
    assert sub.data["actuator"] == "switch.north_relay"
    hub = estate.runtime_data.hub
    assert estate.state is ConfigEntryState.LOADED
    rt = hub.gates["east_gate"]
    assert rt.actuator_entity == "switch.north_relay"
    stored = await hub.db(hub.store.get_gate, "east_gate")
    assert stored.name == "East Entrance"
    assert stored.direction is Direction.IN
    # Same entity ids (unique ids hang off the gate id); the button now drives north.
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.east_gate_open"}, blocking=True
    )
    await hass.async_block_till_done()
    assert relay_calls == [("switch.north_relay", "on")]


async def test_gate_subentry_reconfigure_errors(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    sub = next(s for s in estate.subentries.values() if s.unique_id == "north_door")
    result = await estate.start_subentry_reconfigure_flow(hass, sub.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _gate_input(name="  ", kind="building_door", building="")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"name": "name_empty", "building": "building_required"}
    assert estate.subentries[sub.subentry_id].data == sub.data


async def test_remove_gate_subentry(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    dev_reg = dr.async_get(hass)
    ent_reg = er.async_get(hass)
    sub = next(s for s in estate.subentries.values() if s.unique_id == "north_door")
    gate_device = find_device(hass, (DOMAIN, f"{estate.entry_id}-north_door"), estate.entry_id)
    assert gate_device is not None
    assert hass.states.get("button.north_door_open") is not None

    assert hass.config_entries.async_remove_subentry(estate, sub.subentry_id)
    await hass.async_block_till_done()

    assert estate.state is ConfigEntryState.LOADED
    hub = estate.runtime_data.hub
    assert set(hub.gates) == {"east_gate"}
    with pytest.raises(UnknownGateError):
        hub.gate_runtime("north_door")
    for entity_id in _gate_entities(hass, "north_door"):
        assert hass.states.get(entity_id) is None, entity_id
        assert ent_reg.async_get(entity_id) is None, entity_id
    assert dev_reg.async_get(gate_device.id) is None
    # The other gate and the estate device are untouched.
    assert hass.states.get("button.east_gate_open") is not None
    assert find_device(hass, (DOMAIN, estate.entry_id), estate.entry_id) is not None


async def test_gate_added_while_setup_failed(hass: HomeAssistant, tmp_path: Path) -> None:
    """A gate can be added to an estate whose setup failed; it goes live once the
    database is usable."""
    db = tmp_path / "late.db"
    db.write_bytes(GARBAGE)
    entry = await _estate_on_garbage(hass, db)

    result = await _add_gate(hass, entry, actuator="switch.any_relay")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert db.read_bytes() == GARBAGE

    db.unlink()
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert "west_gate" in entry.runtime_data.hub.gates
