"""Logbook lines for passages and emergencies: produced by the real logbook (recorder,
websocket query) from real passages, with codes and ids only, never names or values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.components.recorder import Recorder
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    RecorderInstanceContextManager,
    WebSocketGenerator,
)

from custom_components.community_gate import logbook as gate_logbook
from custom_components.community_gate.const import (
    DOMAIN,
    EVENT_ALERT,
    EVENT_EMERGENCY,
    EVENT_LOCKDOWN,
    EVENT_PASSAGE,
)
from tests.ha.helpers import add_tenant, call, present_credential

NAME = "Wang Fang"
CARD = "0012345678"


@pytest.fixture
async def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """Prepare the recorder's database before `hass` exists (as the recorder needs)."""


async def test_logbook_lines_for_real_passages(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    estate: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    assert await async_setup_component(hass, "logbook", {})
    await hass.async_block_till_done()
    start = dt_util.utcnow()

    await add_tenant(hass, NAME, CARD)
    await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    await call(hass, "update_unit", {"unit_id": "3-1201", "rent_arrears": True})
    await present_credential(
        hass,
        {"gate_id": "north_door", "kind": "card", "value": CARD, "direction": "out"},
    )
    await present_credential(hass, {"gate_id": "east_gate", "kind": "pin", "value": "5151"})
    await call(hass, "open_gate", {"gate_id": "east_gate", "reason": "for Wang Fang's movers"})
    await call(hass, "set_emergency", {"active": True})
    await call(hass, "set_emergency", {"active": False})
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    client = await hass_ws_client(hass)
    await client.send_json({"id": 1, "type": "logbook/get_events", "start_time": start.isoformat()})
    msg = await client.receive_json()
    assert msg["success"], msg
    ours = [e for e in msg["result"] if e.get("domain") == DOMAIN]
    # The arrears passage raised a staff-only alert: no line of its own, nor a change of
    # the alert entity (every user reads the logbook; issue 13, item 7).
    assert [e for e in msg["result"] if "alert" in str(e.get("entity_id", ""))] == []
    lines = [(e["name"], e["message"]) for e in ours if e["name"] != "Estate alert"]
    emergency_passages = [
        ("Gate east_gate", "granted by emergency, in: emergency_open"),
        ("Gate north_door", "granted by emergency, in: emergency_open"),
    ]
    assert lines[:4] == [
        ("Gate east_gate", "granted by card, in"),
        ("Gate north_door", "granted by card, out"),
        ("Gate east_gate", "denied by pin, in: unknown_credential"),
        ("Gate east_gate", "granted by remote, in: remote_open"),
    ]
    assert lines[4] == ("Estate emergency", "open-all activated")
    assert sorted(lines[5:7]) == emergency_passages
    assert lines[7:] == [("Estate emergency", "open-all cleared")]
    # Passage lines are linked to their gate's passage event entity (the device page).
    linked = {e["entity_id"] for e in ours if e["name"].startswith("Gate ")}
    assert linked == {"event.east_gate_passage", "event.north_door_passage"}
    text = repr(ours)
    for secret in (NAME, "movers", CARD, "12345678", "5151"):
        assert secret not in text


async def test_describe_callbacks(hass: HomeAssistant) -> None:
    """The describe functions on their own, for every shape of event data."""
    described: dict[str, tuple[str, Callable[[Any], dict[str, str]]]] = {}

    def collect(domain: str, event_type: str, describe: Callable[[Any], dict[str, str]]) -> None:
        described[event_type] = (domain, describe)

    gate_logbook.async_describe_events(hass, collect)
    assert {k: v[0] for k, v in described.items()} == {
        EVENT_PASSAGE: DOMAIN,
        EVENT_EMERGENCY: DOMAIN,
        EVENT_LOCKDOWN: DOMAIN,
    }  # no alert lines: see test_logbook_lines_for_real_passages
    passage = described[EVENT_PASSAGE][1]
    emergency = described[EVENT_EMERGENCY][1]
    data = {
        "entry_id": "e1",
        "passage_id": 7,
        "gate_id": "north_door",
        "direction": "in",
        "method": "qr",
        "allowed": False,
        "reason": "credential_used_up",
        "person_id": "visitor_ab12",
        "unit_id": "3-1201",
        "flags": [],
        "time": "2025-06-04T10:00:00+00:00",
    }
    assert passage(Event(EVENT_PASSAGE, data)) == {
        LOGBOOK_ENTRY_NAME: "Gate north_door",
        # A credential's standing is staff's business: the logbook reads for every user.
        LOGBOOK_ENTRY_MESSAGE: "denied by qr, in: not_permitted",
    }
    # A repeat folded into the same row (an episode) says which try it is.
    repeat = {**data, "count": 3}
    assert passage(Event(EVENT_PASSAGE, repeat))[LOGBOOK_ENTRY_MESSAGE] == (
        "denied by qr, in: not_permitted (×3)"
    )
    granted = {
        **data,
        "allowed": True,
        "reason": "granted",
        "flags": ["rent_arrears", "actuator_unavailable"],
    }
    assert passage(Event(EVENT_PASSAGE, granted))[LOGBOOK_ENTRY_MESSAGE] == (
        "granted by qr, in; flags: actuator_unavailable"
    )
    assert emergency(Event(EVENT_EMERGENCY, {"entry_id": "e1", "active": True})) == {
        LOGBOOK_ENTRY_NAME: "Estate emergency",
        LOGBOOK_ENTRY_MESSAGE: "open-all activated",
    }
    assert emergency(Event(EVENT_EMERGENCY, {"entry_id": "e1", "active": False}))[
        LOGBOOK_ENTRY_MESSAGE
    ] == ("open-all cleared")
    lockdown = described[EVENT_LOCKDOWN][1]
    assert lockdown(Event(EVENT_LOCKDOWN, {"entry_id": "e1", "active": True})) == {
        LOGBOOK_ENTRY_NAME: "Estate lockdown",
        LOGBOOK_ENTRY_MESSAGE: "started: only staff pass",
    }
    assert lockdown(Event(EVENT_LOCKDOWN, {"entry_id": "e1", "active": False}))[
        LOGBOOK_ENTRY_MESSAGE
    ] == ("ended")


async def test_a_non_admin_reads_no_personal_facts(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    estate: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Every Home Assistant user reads the logbook and history. A unit in arrears, or
    who an alert is about, must not show there (issue 13, item 7); staff read both in
    the panel and in the alert events their automations receive."""
    assert await async_setup_component(hass, "logbook", {})
    assert await async_setup_component(hass, "history", {})
    await hass.async_block_till_done()
    start = dt_util.utcnow()
    seen: list[Event] = []
    hass.bus.async_listen(EVENT_ALERT, seen.append)
    await add_tenant(hass, NAME, CARD)
    await call(hass, "update_unit", {"unit_id": "3-1201", "rent_arrears": True})
    resp = await present_credential(hass, {"gate_id": "north_door", "kind": "card", "value": CARD})
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    # Staff's automations still hear everything.
    assert [(e.data["rule"], e.data["subject_id"]) for e in seen] == [("rent_arrears", "3-1201")]

    # A non-admin as Home Assistant makes them: in the "users" group, which reads every
    # entity's state and history.
    tenant = await hass.auth.async_create_user("tenant", group_ids=["system-users"])
    refresh = await hass.auth.async_create_refresh_token(tenant, "https://tablet.example/")
    client = await hass_ws_client(hass, hass.auth.async_create_access_token(refresh))
    await client.send_json({"id": 1, "type": "logbook/get_events", "start_time": start.isoformat()})
    logbook = await client.receive_json()
    assert logbook["success"], logbook
    await client.send_json(
        {
            "id": 2,
            "type": "history/history_during_period",
            "start_time": start.isoformat(),
            "entity_ids": ["event.north_door_passage", "event.maple_court_alert"],
            "minimal_response": False,
            "no_attributes": False,
            "significant_changes_only": False,
        }
    )
    history = await client.receive_json()
    assert history["success"], history
    assert set(history["result"]) == {"event.north_door_passage", "event.maple_court_alert"}, (
        history
    )
    passage_states = history["result"]["event.north_door_passage"]
    assert passage_states[-1]["a"]["passage_id"] == resp["passage_id"]
    assert passage_states[-1]["a"]["flags"] == []
    # The rent-arrears alert did not fire the alert entity at all (staff-only rule).
    alert_states = history["result"]["event.maple_court_alert"]
    assert {s["s"] for s in alert_states} == {"unknown"}
    text = repr(logbook["result"]) + repr(history["result"])
    for personal in ("3-1201", "rent_arrears", NAME, CARD):
        assert personal not in text
