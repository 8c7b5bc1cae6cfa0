"""Diagnostics: configuration and counts only; no names, ID numbers, card numbers or
file paths, however the download is looked at."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
import json
from pathlib import Path

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.matchers import path_type

from custom_components.community_gate.const import DOMAIN
from custom_components.community_gate.core.engines import DEFAULT_ENGINE
from custom_components.community_gate.core.schema import SCHEMA_VERSION
from custom_components.community_gate.diagnostics import async_get_config_entry_diagnostics
from tests.ha.helpers import add_estate, call, gate_subentry, present_credential, private

NAME = "Zhang Wei"
ID_NUMBER = "11010519491231002X"
CARD = "0087654321"
COMPANY = "Swift Couriers Ltd"


async def _faces_loaded(entry: MockConfigEntry) -> None:
    """Faces load in the background: diagnostics are compared once they have."""
    await asyncio.wait_for(entry.runtime_data.face.loaded.wait(), timeout=120)


async def _populate(hass: HomeAssistant) -> None:
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    await private(
        hass,
        "add_person",
        {"person_id": "p-zw", "role": "tenant", "unit_id": "3-1201", "name": NAME},
    )
    await private(
        hass, "add_credential", {"person_id": "p-zw", "kind": "id_card", "value": ID_NUMBER}
    )
    await private(hass, "add_credential", {"person_id": "p-zw", "kind": "card", "value": CARD})
    await call(hass, "add_person", {"person_id": "p-sc", "role": "service", "company": COMPANY})
    resp = await present_credential(
        hass, {"gate_id": "east_gate", "kind": "id_card", "value": ID_NUMBER}
    )
    assert resp is not None
    assert resp["allowed"] is True
    await call(hass, "set_emergency", {"active": True, "reason": f"drill called by {NAME}"})
    await hass.async_block_till_done()


def _secrets(db_path: Path) -> list[str]:
    return [
        NAME,
        "Zhang",
        ID_NUMBER,
        ID_NUMBER[:10],
        CARD,
        CARD.lstrip("0"),
        COMPANY,
        "p-zw",
        "p-sc",
        str(db_path),
        db_path.name,
        str(db_path.parent),
    ]


async def test_diagnostics_counts_and_gates(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    estate: MockConfigEntry,
    db_path: Path,
) -> None:
    await _populate(hass)
    await _faces_loaded(estate)
    diag = await get_diagnostics_for_config_entry(hass, hass_client, estate)

    assert diag["counts"] == {
        "units": 1,
        "people": 2,
        "live_credentials": 2,
        # the ID-card passage and one emergency passage per gate
        "passages": 3,
        "schema_version": SCHEMA_VERSION,
    }
    assert diag["passages_today"] == 3
    assert diag["open_alerts"] == 0
    assert diag["emergency"] is True
    assert diag["entry"]["options"] == {"retention_days": 180}
    assert diag["entry"]["data"]["db_path"] == "**REDACTED**"
    gates = {g["gate_id"]: g for g in diag["gates"]}
    assert gates == {
        "east_gate": {
            "gate_id": "east_gate",
            "kind": "estate_gate",
            "direction": "both",
            "actuator_domain": "switch",
            "actuator_available": True,
            "has_camera": False,
            "has_presence": False,
            "has_stream": False,
            "pad_level": "stream",
            "face_mode": "face_alone",
        },
        "north_door": {
            "gate_id": "north_door",
            "kind": "building_door",
            "direction": "both",
            "actuator_domain": "switch",
            "actuator_available": True,
            "has_camera": False,
            "has_presence": False,
            "has_stream": False,
            "pad_level": "stream",
            "face_mode": "face_alone",
        },
    }
    assert diag["faces"] == {
        "engine": DEFAULT_ENGINE,
        "strictness": "standard",
        "loaded": True,
        "ready": True,
        "error": None,
        "enrolled_people": 0,
        "awaiting_reenrollment": 0,
        "references": 0,
        "stranger_clusters": 0,
    }
    assert diag["capture"] == []  # no camera gates in this estate


async def test_diagnostics_snapshot(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    estate: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The whole redacted diagnostics of a populated estate. The schema version changes
    with every migration (the test above pins it to SCHEMA_VERSION), so only its type is
    kept."""
    await _populate(hass)
    await _faces_loaded(estate)
    diag = await get_diagnostics_for_config_entry(hass, hass_client, estate)
    assert diag == snapshot(matcher=path_type({"counts.schema_version": (int,)}))


async def test_diagnostics_download_has_no_personal_data_or_paths(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    estate: MockConfigEntry,
    db_path: Path,
) -> None:
    await _populate(hass)
    # The whole download, as a browser receives it (HA adds its own sections).
    assert await async_setup_component(hass, "diagnostics", {})
    await hass.async_block_till_done()
    client = await hass_client()
    response = await client.get(f"/api/diagnostics/config_entry/{estate.entry_id}")
    assert response.status == HTTPStatus.OK
    body = await response.text()
    assert '"counts"' in body
    for secret in _secrets(db_path):
        assert secret not in body, secret

    # And the integration's own part, serialised on its own.
    diag = await async_get_config_entry_diagnostics(hass, estate)
    text = json.dumps(diag, ensure_ascii=False)
    for secret in _secrets(db_path):
        assert secret not in text, secret


async def test_diagnostics_relative_db_path_also_redacted(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, tmp_path: Path
) -> None:
    hass.config.config_dir = str(tmp_path)
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Oak Yard",
        data={"name": "Oak Yard", "db_path": "secret-folder-name.db"},
        options={"retention_days": 30},
        unique_id=str(tmp_path / "secret-folder-name.db"),
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diag)
    assert "secret-folder-name" not in text
    assert str(tmp_path) not in text
    assert diag["gates"] == []
    assert diag["counts"]["people"] == 0
    assert diag["entry"]["options"] == {"retention_days": 30}


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def test_diagnostics_of_an_estate_that_is_not_loaded(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, tmp_path: Path
) -> None:
    db = tmp_path / "damaged-estate-folder" / "damaged.db"
    _write(db, b"not sqlite at all\n" * 50)
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Damaged",
        data={"name": "Damaged", "db_path": str(db)},
        options={"retention_days": 180},
        unique_id=str(db),
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR

    # Exactly when staff need a diagnostics download, it must not fail.
    diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diag == {
        "entry": {
            "data": {"name": "Damaged", "db_path": "**REDACTED**"},
            "options": {"retention_days": 180},
        },
        "state": "setup_error",
        "setup_error": "database_corrupt",
    }
    assert "damaged-estate-folder" not in json.dumps(diag)


async def test_diagnostics_faces_counts_without_people(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]]
) -> None:
    """An enrolled face and a card + face gate with active PAD: the faces section counts
    them and names the gates' modes, never the person, their name or their face."""
    from tests.ha.test_face_service import PHOTOS, consent, enroll

    if not (PHOTOS / "obama.jpg").exists():
        pytest.skip("package photos missing: run scripts/fetch_photos")
    entry = await add_estate(
        hass,
        db_path,
        gate_subentry("east_gate", "switch.east_relay", pad_level="challenge"),
        gate_subentry("lobby", "switch.north_relay", face_mode="card_and_face"),
    )
    await _faces_loaded(entry)
    hass.config.allowlist_external_dirs.add(str(PHOTOS.resolve()))  # .cache may be a symlink
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    await private(
        hass,
        "add_person",
        {"person_id": "resident-zw", "role": "tenant", "unit_id": "3-1201", "name": NAME},
    )
    await consent(hass, "resident-zw")
    await enroll(hass, "resident-zw", "obama.jpg")

    diag = await async_get_config_entry_diagnostics(hass, entry)
    faces = diag["faces"]
    assert (faces["ready"], faces["error"], faces["engine"]) == (True, None, DEFAULT_ENGINE)
    assert (faces["enrolled_people"], faces["awaiting_reenrollment"]) == (1, 0)
    assert faces["references"] >= 1
    assert faces["stranger_clusters"] == 0
    modes = {g["gate_id"]: (g["pad_level"], g["face_mode"]) for g in diag["gates"]}
    assert modes == {
        "east_gate": ("challenge", "face_alone"),
        "lobby": ("stream", "card_and_face"),
    }
    text = json.dumps(diag, ensure_ascii=False)
    for secret in ("resident-zw", NAME, "Zhang", "obama", str(db_path)):
        assert secret not in text, secret
