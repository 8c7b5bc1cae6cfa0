"""A face engine that fails to load, for a reason no error code names: face access is
off with a reason (not "loading" forever), once in the log with its traceback, and the
rest of the estate and Home Assistant run on."""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.community_gate import face as face_module
from custom_components.community_gate.diagnostics import async_get_config_entry_diagnostics
from tests.ha.helpers import add_estate, add_tenant, call, gate_subentry, present_credential

CARD = "0012345678"


def _broken_factory(_name: str) -> functools.partial[object]:
    # Runs in the real face process (spawned, so it must pickle): building the engine
    # raises a plain RuntimeError, as a broken native install would. That cannot be
    # produced for real in a test, so the factory stands in for it.
    return functools.partial(exec, "raise RuntimeError('engine library failed to load')")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = (tmp_path / "photo.jpg").resolve()  # tmp may be a symlink
    path.write_bytes(b"never looked at: the engine is checked first")
    return path


async def test_engine_load_failure_is_reported_not_loading(
    hass: HomeAssistant,
    db_path: Path,
    relay_calls: list[tuple[str, str]],
    hass_ws_client: WebSocketGenerator,
    monkeypatch: pytest.MonkeyPatch,
    photo: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(face_module, "_WORKERS", {})  # a new face process, not a shared one
    monkeypatch.setattr(face_module, "engine_factory", _broken_factory)
    caplog.set_level(logging.INFO, logger="custom_components.community_gate")
    entry = await add_estate(hass, db_path, gate_subentry("east_gate", "switch.east_relay"))
    assert entry.state is ConfigEntryState.LOADED
    face = entry.runtime_data.face
    await asyncio.wait_for(face.loaded.wait(), timeout=60)  # waiters wake up

    assert not face.ready
    assert face.error == "face_engine_failed"
    failures = [r for r in caplog.records if "Face recognition is off" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].levelno == logging.ERROR
    assert failures[0].exc_info is not None  # the traceback is in the log, once
    assert "engine library failed to load" in caplog.text

    # The panel's dashboard says why, not "loading".
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "community_gate/gates", "config_entry_id": entry.entry_id}
    )
    msg = await client.receive_json()
    assert msg["success"], msg
    faces = msg["result"]["faces"]
    assert (faces["ready"], faces["error"]) == (False, "face_engine_failed")
    # So do the diagnostics.
    diag = (await async_get_config_entry_diagnostics(hass, entry))["faces"]
    assert (diag["loaded"], diag["ready"], diag["error"]) == (True, False, "face_engine_failed")

    # Cards still open the gate; a face action is refused with the translated reason.
    await add_tenant(hass, card=CARD, settle=True)
    resp = await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    assert resp is not None
    assert resp["allowed"] is True
    hass.config.allowlist_external_dirs.add(str(photo.parent))
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "enroll_face", {"person_id": "p1", "file_path": str(photo)})
    assert err.value.translation_key == "face_engine_failed"
    assert "engine failed to load" in str(err.value)
