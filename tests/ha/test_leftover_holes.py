"""Issue 13 item 6, the leftover holes: each test here failed before its fix."""

from __future__ import annotations

import asyncio
from contextlib import suppress
import logging
from pathlib import Path
import threading
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.community_gate.const import DOMAIN
from custom_components.community_gate.core.images import CORRUPT, ImageError
from custom_components.community_gate.face import FaceService
from custom_components.community_gate.schema import vol
from custom_components.community_gate.websocket_api import ENTRY
from tests.ha.helpers import EN, add_estate, add_tenant, call, gate_subentry, hub_of


class _SlowWorker:
    """A face worker whose enrollments hold it until released; frames are instant."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.release = threading.Event()
        self.started = threading.Event()

    def enroll(self, image: bytes) -> Any:
        self.order.append("enroll")
        self.started.set()
        self.release.wait(10)
        raise ImageError(why=CORRUPT)

    def analyse(self, image: bytes, **_: Any) -> list[Any]:
        self.order.append("frame")
        return []

    def analyse_live(self, image: bytes, **_: Any) -> list[Any]:
        # A camera frame with its liveness evidence (the path gate frames now take).
        return self.analyse(image)


async def test_enrollments_cannot_starve_gate_frames(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    """f: three slow enrollments queued, then a gate frame: the frame waits for the one
    enrollment in progress, not for all three."""
    await add_tenant(hass)
    await call(hass, "record_consent", {"person_id": "p1", "notice_version": "v1"})
    runtime = estate.runtime_data
    worker = _SlowWorker()
    face = FaceService(
        hass,
        hub_of(estate),
        runtime.privacy.templates,
        runtime.privacy.photos,
        runtime.options,
        worker=worker,  # type: ignore[arg-type]
    )
    face.engine = "slow"
    try:
        enrolls = [asyncio.ensure_future(face.async_enroll("p1", b"photo")) for _ in range(3)]
        assert await hass.async_add_executor_job(worker.started.wait, 5)
        await asyncio.sleep(0.2)  # the other two enrollments reach the face thread's door
        frame = asyncio.ensure_future(face.async_present_frame("east_gate", b"frame"))
        await asyncio.sleep(0.05)
        worker.release.set()
        assert await frame == []
        for task in enrolls:
            with suppress(ImageError):
                await task
        assert worker.order[:2] == ["enroll", "frame"]
    finally:
        worker.release.set()
        await face.async_stop()


async def test_visitor_pass_window_is_capped_like_hours(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    """g: ``hours`` caps a pass at 366 days; an explicit ``valid_until`` must too."""
    await add_tenant(hass)
    base = {"unit_id": "3-1201", "valid_from": "2026-12-01T00:00:00"}
    with pytest.raises(ServiceValidationError) as exc:
        await call(hass, "issue_visitor_pass", {**base, "valid_until": "9999-12-31T00:00:00"})
    assert exc.value.translation_key == "visitor_pass_too_long"
    assert exc.value.translation_placeholders == {"max_days": "366"}
    # Without valid_from the pass starts now: still capped.
    with pytest.raises(ServiceValidationError):
        await call(hass, "issue_visitor_pass", {"unit_id": "3-1201", "valid_until": "9999-12-31"})
    ok = await call(hass, "issue_visitor_pass", {**base, "valid_until": "2027-12-02T00:00:00"})
    assert ok["valid_until"].startswith("2027-12-02")


async def test_integer_ids_out_of_range_are_refused_as_invalid(
    hass: HomeAssistant, estate: MockConfigEntry, hass_ws_client: Any
) -> None:
    """e: an alert id of 10**30 reached SQLite (which holds 64-bit integers) and came
    back as ``unknown_error``; integer ids and offsets are range-checked first."""
    huge = 10**30
    for service, data in (
        ("acknowledge_alert", {"alert_id": huge}),
        ("resolve_alert", {"alert_id": huge}),
        ("query_audit_log", {"before_id": huge}),
        ("acknowledge_alert", {"alert_id": float("inf")}),
        ("report_temperature", {"gate_id": "east_gate", "celsius": 10**400}),
        ("report_temperature", {"gate_id": "east_gate", "celsius": float("nan")}),
    ):
        with pytest.raises(vol.Invalid):
            await call(hass, service, data)
    # Within the schema's range, an id no row has is the domain's own "unknown".
    with pytest.raises(ServiceValidationError) as exc:
        await call(hass, "acknowledge_alert", {"alert_id": 2**63 - 1})
    assert exc.value.translation_key == "unknown_alert"
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "community_gate/people", "offset": huge})
    answer = await client.receive_json()
    assert answer["success"] is False
    assert answer["error"]["code"] == "invalid_format"


async def test_refused_admin_call_logs_no_traceback(
    hass: HomeAssistant,
    estate: MockConfigEntry,
    hass_read_only_user: Any,
    hass_ws_client: Any,
    hass_read_only_access_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """c: a non-admin calling an admin action is refused with ``Unauthorized`` (401 over
    REST) whose message is translated, audited, and logged without a traceback. (HA's
    websocket writes one more ERROR line, and a traceback only at DEBUG, for any failed
    call of any integration: that is HA's, not ours to silence.)"""
    with pytest.raises(Unauthorized) as exc:
        await call(
            hass,
            "add_unit",
            {"unit_id": "u9", "building": "3", "number": "9"},
            Context(user_id=hass_read_only_user.id),
        )
    assert exc.value.translation_key == "admin_required"
    client = await hass_ws_client(hass, hass_read_only_access_token)
    await client.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": "add_unit",
            "service_data": {"unit_id": "u9", "building": "3", "number": "9"},
        }
    )
    answer = await client.receive_json()
    assert answer["success"] is False
    assert answer["error"]["translation_key"] == "admin_required"
    wanted = EN["exceptions"]["admin_required"]["message"].format(action="add_unit")
    assert answer["error"]["message"] == wanted.rstrip(".")  # HA drops the full stop
    await hass.async_block_till_done()
    tracebacks = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and (r.exc_info or r.exc_text)
    ]
    assert not tracebacks, tracebacks
    hub = hub_of(estate)
    rows = await hub.db(lambda: hub.store.query_audit(action="add_unit"))
    assert [r.outcome for r in rows] == ["unauthorized", "unauthorized"]


FORGED = "x\n2026-12-01 00:00:00.000 ERROR (MainThread) [homeassistant] forged"


async def test_user_strings_cannot_forge_or_flood_log_lines(
    hass: HomeAssistant,
    estate: MockConfigEntry,
    hass_ws_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """a, b: HA's websocket logs the message of every failed call; a newline in an id
    there forges a log line, and a 3 MiB string grows the log by 3 MiB. Entry ids
    must look like entry ids, every field is capped, and what an error message quotes
    of the caller's input is escaped and shortened."""
    huge = "y" * (3 * 2**20)
    for data in (
        {"config_entry_id": FORGED},
        {"config_entry_id": huge},
        {"config_entry_id": "a" * 65},
    ):
        with pytest.raises(vol.Invalid):
            await call(hass, "add_unit", {"unit_id": "u9", "building": "3", "number": "9", **data})
    for service, data in (
        ("add_person", {"role": "staff", "schedule": [{}] * 10_000}),
        ("add_person", {"role": "staff", "allowed_gates": ["east_gate"] * 10_000}),
    ):
        with pytest.raises(vol.Invalid):
            await call(hass, service, data)
    client = await hass_ws_client(hass)
    for service, data in (
        ("open_gate", {"gate_id": FORGED, "reason": "1234"}),
        ("revoke_credential", {"credential_id": "c" * 60 + "\r\n" + "d"}),
    ):
        await client.send_json_auto_id(
            {"type": "call_service", "domain": DOMAIN, "service": service, "service_data": data}
        )
        answer = await client.receive_json()
        assert answer["success"] is False
    ws_client = await hass_ws_client(hass)
    for msg in (
        {"type": "community_gate/people", ENTRY: huge},
        # The panel's private commands: a 3 MiB card number or name is refused unlogged.
        {"type": "community_gate/credential/add", "person_id": "p1", "kind": "card", "value": huge},
        {"type": "community_gate/person/add", "role": "staff", "name": huge},
    ):
        await ws_client.send_json_auto_id(msg)
        assert (await ws_client.receive_json())["success"] is False
    await hass.async_block_till_done()
    # At DEBUG, HA core itself logs the raw data of every call its schema refused.
    for record in (r for r in caplog.records if r.levelno >= logging.INFO):
        message = record.getMessage()
        assert "\n" not in message, message
        assert "\r" not in message, message
        assert len(message) < 2000, message[:200]


async def test_start_closes_a_relay_left_on_by_an_interrupted_pulse(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]]
) -> None:
    """i: Home Assistant died during a pulse: the relay is still on when the estate
    starts. It is switched off again, unless the estate is in emergency open-all."""
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.east_relay_coil"}, blocking=True
    )
    entry = await add_estate(hass, db_path, gate_subentry("east_gate", "switch.east_relay"))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("switch.east_relay").state == "off"
    assert hass.states.get("input_boolean.north_relay_coil").state == "off"  # not ours

    # In emergency open-all a relay found on at start stays on.
    await call(hass, "set_emergency", {"active": True})
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.east_relay_coil"}, blocking=True
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("switch.east_relay").state == "on"
