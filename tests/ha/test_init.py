"""Entry lifecycle: setup, unload, reload, Home Assistant's stop, restarts, unusable
databases and key files, and the two daily jobs (midnight counter reset, 03:17 retention
purge).

Real SQLite files in tmp_path; the relays are the real template switches of the
``relay_calls`` fixture.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
import multiprocessing
from pathlib import Path
import sqlite3
import threading
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.community_gate.const import CONF_DB_PATH, DOMAIN, OPT_RETENTION_DAYS
from custom_components.community_gate.core.model import (
    CredentialKind,
    Direction,
    Method,
    Passage,
    Reason,
)
from custom_components.community_gate.core.schema import SCHEMA_VERSION
from custom_components.community_gate.core.stream import encode_jpeg
from tests.ha.helpers import gate_subentry, present_credential, private

GARBAGE = b"\x00\x01 definitely not SQLite \xfe\xff\n" * 128
CARD = "0012345678"
EMERGENCY_SWITCH = "switch.maple_court_emergency_open_all"
PASSAGES_TODAY = "sensor.maple_court_passages_today"


# --------------------------------------------------------------------- helpers
def _read(path: Path) -> bytes:
    return path.read_bytes()


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _unlink(path: Path) -> None:
    path.unlink()


def _is_file(path: Path) -> bool:
    return path.is_file()


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _key_path(db: Path) -> Path:
    return db.with_name(db.name + ".key")


def _make_too_new(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()


def _new_entry(hass: HomeAssistant, db: Path, **extra: Any) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Maple Court",
        data={"name": "Maple Court", CONF_DB_PATH: str(db)},
        options={OPT_RETENTION_DAYS: 180},
        unique_id=str(db),
        **extra,
    )
    entry.add_to_hass(hass)
    return entry


async def _setup_domain(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"database_{entry.entry_id}")


async def _enrol_card(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        DOMAIN, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"}, blocking=True
    )
    await private(
        hass,
        "add_person",
        {"person_id": "p1", "role": "tenant", "unit_id": "3-1201", "name": "Wang"},
    )
    await private(hass, "add_credential", {"person_id": "p1", "kind": "card", "value": CARD})


async def _present_card(hass: HomeAssistant) -> dict[str, Any]:
    return await present_credential(
        hass, {"gate_id": "east_gate", "kind": "card", "value": CARD}, settle=True
    )


async def _open_gate(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        DOMAIN, "open_gate", {"gate_id": "east_gate", "reason": "test"}, blocking=True
    )
    await hass.async_block_till_done()


def _store_is_closed(hub: Any) -> bool:
    try:
        hub.store.count_people()
    except sqlite3.ProgrammingError:
        return True
    return False


# ------------------------------------------------------------- setup / unload
async def test_setup_unload_reload(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    assert estate.state is ConfigEntryState.LOADED
    first = estate.runtime_data.hub
    assert set(first.gates) == {"east_gate", "north_door"}
    assert hass.states.get("button.east_gate_open") is not None

    # Reload works, twice; each time a fresh runtime and the old store is closed.
    assert await hass.config_entries.async_reload(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.state is ConfigEntryState.LOADED
    second = estate.runtime_data.hub
    assert second is not first
    assert _store_is_closed(first)
    assert not _store_is_closed(second)

    assert await hass.config_entries.async_reload(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.state is ConfigEntryState.LOADED
    third = estate.runtime_data.hub
    assert third is not second
    assert _store_is_closed(second)
    assert set(third.gates) == {"east_gate", "north_door"}
    assert hass.states.get("button.east_gate_open").state != "unavailable"

    assert await hass.config_entries.async_unload(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.state is ConfigEntryState.NOT_LOADED
    assert _store_is_closed(third)
    assert hass.states.get("button.east_gate_open").state == "unavailable"
    assert hass.states.get(EMERGENCY_SWITCH).state == "unavailable"


def _estate_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith(DOMAIN) and t.is_alive()}


def _estate_processes() -> list[str]:
    return [p.name for p in multiprocessing.active_children() if p.name.startswith(DOMAIN)]


def _passage_ids(db: Path) -> set[int]:
    conn = sqlite3.connect(db)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM passages")}
    finally:
        conn.close()


async def test_home_assistant_stop_ends_every_estate_thread(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]], socket_enabled: None
) -> None:
    """Home Assistant does not unload entries when it stops: the estate must end its
    database, face and camera-stream threads and its face process on the stop event
    itself, closing the store only after the last write."""
    from tests.mjpeg_server import MJPEGServer

    frame = encode_jpeg(np.zeros((120, 160, 3), dtype=np.uint8))
    with MJPEGServer(frame, fps=15) as cam:
        entry = _new_entry(
            hass,
            db_path,
            subentries_data=[gate_subentry("east_gate", "switch.east_relay", stream_url=cam.url)],
        )
        await _setup_domain(hass)
        estate = entry.runtime_data
        hub = estate.hub
        await asyncio.wait_for(estate.face.loaded.wait(), timeout=120)
        assert estate.face.ready, estate.face.error
        stream = estate.capture_loops[0].stream
        assert stream is not None
        for _ in range(200):
            if stream.decoded and estate.capture_loops[0].frames:
                break
            await asyncio.sleep(0.05)
        # Every kind of estate thread is running, and the face process.
        threads = _estate_threads()
        assert {"community_gate_stream", "community_gate_db_0", "community_gate_face_0"} <= (
            threads
        ), threads
        assert _estate_processes() == ["community_gate_faces"]

        acked = await present_credential(
            hass, {"gate_id": "east_gate", "kind": "card", "value": "10001"}
        )
        assert acked["passage_id"]
        # A burst still in flight when the stop comes: each passage is either committed
        # or refused, never acknowledged and then lost.
        burst = [
            hass.async_create_task(hub.async_present("east_gate", CredentialKind.CARD, f"2{i:04}"))
            for i in range(50)
        ]
        await hass.async_stop()
        outcomes = await asyncio.gather(*burst, return_exceptions=True)

        assert _estate_threads() == set()
        assert _estate_processes() == []
        assert hub.closed
        assert _store_is_closed(hub)
    committed = {o.passage.id for o in outcomes if not isinstance(o, BaseException)}
    assert committed | {acked["passage_id"]} <= _passage_ids(db_path)


async def test_key_file_created_private(hass: HomeAssistant, db_path: Path) -> None:
    _new_entry(hass, db_path)
    await _setup_domain(hass)
    key = _key_path(db_path)
    assert key.is_file()
    assert key.stat().st_mode & 0o077 == 0
    assert len(bytes.fromhex(_read(key).decode())) == 32


async def test_persistence_across_restart(
    hass: HomeAssistant, estate: MockConfigEntry, db_path: Path
) -> None:
    await _enrol_card(hass)
    first = await _present_card(hass)
    assert first["allowed"] is True
    assert first["reason"] == "granted"
    key_before = _read(_key_path(db_path))

    assert await hass.config_entries.async_unload(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.state is ConfigEntryState.NOT_LOADED

    assert await hass.config_entries.async_setup(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.state is ConfigEntryState.LOADED
    hub = estate.runtime_data.hub
    assert await hub.db(hub.store.count_passages) == 1
    assert hub.stats.people == 1
    assert hass.states.get("sensor.maple_court_people_enrolled").state == "1"
    # The gate remembers its last passage from the database.
    assert hub.gates["east_gate"].last_passage is not None
    assert hub.gates["east_gate"].last_passage.id == first["passage_id"]

    again = await _present_card(hass)
    assert again["allowed"] is True
    assert again["person_id"] == "p1"
    assert await hub.db(hub.store.count_passages) == 2
    assert _read(_key_path(db_path)) == key_before

    # A brand-new entry on the same file (e.g. after removing and re-adding the
    # integration) finds the same people, cards and history.
    assert await hass.config_entries.async_remove(estate.entry_id)
    await hass.async_block_till_done()
    assert _is_file(db_path)
    entry = _new_entry(
        hass, db_path, subentries_data=[gate_subentry("east_gate", "switch.east_relay")]
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    third = await _present_card(hass)
    assert third["allowed"] is True
    assert third["person_id"] == "p1"
    hub = entry.runtime_data.hub
    assert await hub.db(hub.store.count_passages) == 3


async def test_emergency_persists_across_restart(
    hass: HomeAssistant, estate: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    assert hass.states.get(EMERGENCY_SWITCH).state == "off"
    await hass.services.async_call(
        DOMAIN, "set_emergency", {"active": True, "reason": "fire alarm"}, blocking=True
    )
    await hass.async_block_till_done()
    assert hass.states.get(EMERGENCY_SWITCH).state == "on"
    assert ("switch.east_relay", "on") in relay_calls
    assert ("switch.north_relay", "on") in relay_calls

    assert await hass.config_entries.async_reload(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.runtime_data.hub.emergency is True
    assert hass.states.get(EMERGENCY_SWITCH).state == "on"

    # Off survives a full unload/setup just the same.
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": EMERGENCY_SWITCH}, blocking=True
    )
    assert await hass.config_entries.async_unload(estate.entry_id)
    assert await hass.config_entries.async_setup(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.runtime_data.hub.emergency is False
    assert hass.states.get(EMERGENCY_SWITCH).state == "off"


# ------------------------------------------------------- one MQTT topic per estate
async def test_second_estate_on_the_same_mqtt_topic_is_refused(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Two estates whose names give one topic segment (maple_court), set up together:
    one loads, the other fails with a translated error naming the topic and the estate
    holding it, its database untouched; renamed, it loads."""
    first = _new_entry(hass, tmp_path / "maple.db")
    second_db = tmp_path / "second.db"
    second = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="maple-court",
        data={"name": "maple-court", CONF_DB_PATH: str(second_db)},
        options={OPT_RETENTION_DAYS: 180},
        unique_id=str(second_db),
    )
    second.add_to_hass(hass)
    await _setup_domain(hass)

    assert first.state is ConfigEntryState.LOADED
    assert second.state is ConfigEntryState.SETUP_ERROR
    assert second.error_reason_translation_key == "estate_topic_taken"
    assert second.reason is not None
    assert '"maple_court"' in second.reason
    assert '"Maple Court"' in second.reason
    assert not second_db.exists()

    # The first one unloaded, the second may take the topic; renamed, both run.
    assert await hass.config_entries.async_unload(first.entry_id)
    assert await hass.config_entries.async_reload(second.entry_id)
    await hass.async_block_till_done()
    assert second.state is ConfigEntryState.LOADED
    assert not await hass.config_entries.async_setup(first.entry_id)
    assert first.error_reason_translation_key == "estate_topic_taken"
    hass.config_entries.async_update_entry(
        first, title="Maple Court East", data={**first.data, "name": "Maple Court East"}
    )
    assert await hass.config_entries.async_reload(first.entry_id)
    await hass.async_block_till_done()
    assert (first.state, second.state) == (ConfigEntryState.LOADED, ConfigEntryState.LOADED)


# ------------------------------------------------------- unusable database/key
async def test_corrupt_database_fails_with_repair_issue(hass: HomeAssistant, db_path: Path) -> None:
    _write(db_path, GARBAGE)
    entry = _new_entry(hass, db_path)
    await _setup_domain(hass)

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "database_corrupt"
    assert entry.reason is not None
    assert "damaged" in entry.reason
    assert str(db_path) in entry.reason
    assert "file is not a database" in entry.reason
    issue = _issue(hass, entry)
    assert issue is not None
    assert issue.translation_key == "database_corrupt"
    assert issue.translation_placeholders == {"path": str(db_path)}
    assert issue.severity is ir.IssueSeverity.ERROR
    # Left untouched: same bytes, nothing created beside it (no key, no WAL).
    assert _read(db_path) == GARBAGE
    assert _names(db_path.parent) == [db_path.name]

    # Moving the damaged file away lets a reload start a fresh database.
    _unlink(db_path)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert _issue(hass, entry) is None
    assert _is_file(db_path)


async def test_corrupt_database_is_not_retried_for_ever(hass: HomeAssistant, db_path: Path) -> None:
    """A retry cannot repair a damaged file: Home Assistant does not retry at all, the
    repair issue stays, and a reload after the repair brings the estate up."""
    _write(db_path, GARBAGE)
    entry = _new_entry(hass, db_path)
    await _setup_domain(hass)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    # Time passes: still failed, issue still there, file untouched.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert _issue(hass, entry) is not None
    assert _read(db_path) == GARBAGE
    # The repair says so, and how to bring the estate back, in both languages.
    key = f"component.{DOMAIN}.issues.database_corrupt.description"
    english = (await async_get_translations(hass, "en", "issues", [DOMAIN]))[key]
    assert "does not retry" in english
    assert "retrying" not in english
    assert "Reload" in english
    chinese = (await async_get_translations(hass, "zh-Hans", "issues", [DOMAIN]))[key]
    assert "不会自动重试" in chinese
    assert "持续重试" not in chinese
    assert "重新加载" in chinese

    _unlink(db_path)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert _issue(hass, entry) is None


async def test_unwritable_database_path_retries(hass: HomeAssistant, tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("a regular file\n")
    db = plain / "estate.db"
    entry = _new_entry(hass, db)
    await _setup_domain(hass)

    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "database_unavailable"
    assert entry.reason is not None
    assert "cannot be opened or written" in entry.reason
    assert str(db) in entry.reason
    # Retrying can help here (a disk mounted late): no repair issue.
    assert _issue(hass, entry) is None
    assert _read(plain) == b"a regular file\n"
    assert _names(tmp_path) == ["plain.txt"]


async def test_directory_as_database_retries(hass: HomeAssistant, tmp_path: Path) -> None:
    d = tmp_path / "estate.db"
    d.mkdir()
    entry = _new_entry(hass, d)
    await _setup_domain(hass)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "database_unavailable"
    assert entry.reason is not None
    assert "cannot be opened or written" in entry.reason


async def test_too_new_database_fails_with_repair_issue(hass: HomeAssistant, db_path: Path) -> None:
    _make_too_new(db_path)
    entry = _new_entry(hass, db_path)
    await _setup_domain(hass)

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "database_too_new"
    assert entry.reason is not None
    assert "newer version" in entry.reason
    issue = _issue(hass, entry)
    assert issue is not None
    assert issue.translation_key == "database_too_new"
    # Not migrated or rewritten downwards, and no key made for a file we cannot use.
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    finally:
        conn.close()
    assert not _key_path(db_path).exists()

    _unlink(db_path)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert _issue(hass, entry) is None


async def test_damaged_key_file_fails_with_repair_issue(
    hass: HomeAssistant, estate: MockConfigEntry, db_path: Path
) -> None:
    await _enrol_card(hass)
    assert (await _present_card(hass))["allowed"] is True
    assert await hass.config_entries.async_unload(estate.entry_id)
    key = _key_path(db_path)
    good_key = _read(key)

    for damaged in (b"zz not hex at all \xff\xfe", b"abcd\n"):  # garbage, then too short
        _write(key, damaged)
        await hass.config_entries.async_setup(estate.entry_id)
        await hass.async_block_till_done()
        assert estate.state is ConfigEntryState.SETUP_ERROR
        assert estate.error_reason_translation_key == "key_file_error"
        assert estate.reason is not None
        assert "key file" in estate.reason
        issue = _issue(hass, estate)
        assert issue is not None
        assert issue.translation_key == "key_file_error"
        # The damaged key is not replaced by a new one.
        assert _read(key) == damaged
        await hass.config_entries.async_unload(estate.entry_id)

    # Restoring the original key brings the estate, and its cards, back.
    _write(key, good_key)
    await hass.config_entries.async_setup(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.state is ConfigEntryState.LOADED
    assert _issue(hass, estate) is None
    assert (await _present_card(hass))["allowed"] is True


async def test_missing_key_for_database_with_credentials(
    hass: HomeAssistant, estate: MockConfigEntry, db_path: Path
) -> None:
    """A database restored without its key must not get a fresh key silently: every
    card would turn into "unknown credential" with nothing telling the staff why."""
    await _enrol_card(hass)
    assert await hass.config_entries.async_unload(estate.entry_id)
    key = _key_path(db_path)
    good_key = _read(key)
    _unlink(key)

    await hass.config_entries.async_setup(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.state is ConfigEntryState.SETUP_ERROR
    assert estate.error_reason_translation_key == "key_file_error"
    issue = _issue(hass, estate)
    assert issue is not None
    assert issue.translation_key == "key_file_error"
    assert not key.exists()

    _write(key, good_key)
    await hass.config_entries.async_reload(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.state is ConfigEntryState.LOADED
    assert _issue(hass, estate) is None
    assert (await _present_card(hass))["allowed"] is True


async def test_missing_key_for_empty_database_is_recreated(
    hass: HomeAssistant, estate: MockConfigEntry, db_path: Path
) -> None:
    assert await hass.config_entries.async_unload(estate.entry_id)
    key = _key_path(db_path)
    old = _read(key)
    _unlink(key)
    await hass.config_entries.async_setup(estate.entry_id)
    await hass.async_block_till_done()
    assert estate.state is ConfigEntryState.LOADED
    assert key.is_file()
    assert _read(key) != old


# ------------------------------------------------------------------ daily jobs
def _local(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=dt_util.get_default_time_zone())


@pytest.fixture
def before_midnight(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> datetime:
    """Requested before ``estate``: the estate starts at 23:58 local time."""
    now = _local(2026, 3, 10, 23, 58)
    freezer.move_to(now)
    return now


async def test_midnight_resets_passages_today(
    hass: HomeAssistant,
    before_midnight: datetime,
    freezer: FrozenDateTimeFactory,
    estate: MockConfigEntry,
) -> None:
    await _open_gate(hass)
    await _open_gate(hass)
    assert hass.states.get(PASSAGES_TODAY).state == "2"

    midnight = _local(2026, 3, 11, 0, 0)
    freezer.move_to(midnight)
    async_fire_time_changed(hass, midnight)
    await hass.async_block_till_done()
    assert hass.states.get(PASSAGES_TODAY).state == "0"
    hub = estate.runtime_data.hub
    assert hub.stats.day_start == midnight.timestamp()
    # Only the counter resets; the history stays.
    assert await hub.db(hub.store.count_passages) == 2

    freezer.tick(timedelta(minutes=5))
    await _open_gate(hass)
    assert hass.states.get(PASSAGES_TODAY).state == "1"
    # (The counter after a restart is not checked here: the database thread stamps
    # passages with the real clock, which freezegun leaves alone in worker threads.)


@pytest.fixture
def before_purge(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> datetime:
    now = _local(2026, 3, 10, 3, 16)
    freezer.move_to(now)
    return now


def _passage(ts: float) -> Passage:
    return Passage(
        ts=ts,
        gate_id="east_gate",
        direction=Direction.IN,
        method=Method.CARD,
        allowed=True,
        reason=Reason.GRANTED,
        person_id="p-old",
    )


async def test_retention_purge_at_0317(
    hass: HomeAssistant,
    before_purge: datetime,
    freezer: FrozenDateTimeFactory,
    estate: MockConfigEntry,
) -> None:
    hub = estate.runtime_data.hub
    now = before_purge.timestamp()
    day = 86400.0
    ages = {"ancient": 400, "old": 181, "kept": 179, "month": 40, "recent": 1}
    await hub.db(hub.store.add_passages, [_passage(now - d * day) for d in ages.values()])
    assert await hub.db(hub.store.count_passages) == 5

    # Nothing happens before 03:17.
    async_fire_time_changed(hass, _local(2026, 3, 10, 3, 16, 30))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await hub.db(hub.store.count_passages) == 5

    at = _local(2026, 3, 10, 3, 17)
    freezer.move_to(at)
    async_fire_time_changed(hass, at)
    # Time-pattern jobs run as background tasks.
    await hass.async_block_till_done(wait_background_tasks=True)
    left = await hub.db(lambda: hub.store.recent_passages(limit=10))
    assert sorted(round((now - p.ts) / day) for p in left) == [1, 40, 179]

    # A shorter retention from the options applies at the next night's run.
    result = await hass.config_entries.options.async_init(estate.entry_id)
    await hass.config_entries.options.async_configure(result["flow_id"], {OPT_RETENTION_DAYS: 30})
    await hass.async_block_till_done()
    hub = estate.runtime_data.hub
    assert await hub.db(hub.store.count_passages) == 3

    next_night = _local(2026, 3, 11, 3, 17)
    freezer.move_to(next_night)
    async_fire_time_changed(hass, next_night)
    await hass.async_block_till_done(wait_background_tasks=True)
    left = await hub.db(lambda: hub.store.recent_passages(limit=10))
    assert sorted(round((now - p.ts) / day) for p in left) == [1]
