"""A gate whose actuator cannot be driven.

The actions that open a gate fail with a translated ``HomeAssistantError`` once the
attempt is written as a passage (and audited), while ``present_credential`` still
answers with its decision (quality scale: action-exceptions). The actuator going away
and coming back is logged once each, never once per attempt (log-when-unavailable).

The relays are real template switches that click a counter when driven; the side
gate's is unavailable while a "power" input_select is off, as a relay behind a smart
plug drops off when the plug loses power. (Set up here rather than with the shared
``relay_calls``: HA sets up the ``template`` integration once per test.)
"""

from __future__ import annotations

import logging
from pathlib import Path
import re
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.community_gate.const import DOMAIN
from tests.ha.helpers import EN, add_estate, add_tenant, call, gate_subentry, present_credential

SIDE = "switch.side_relay"
POWER = "input_select.side_power"
CARD = "0012345678"
NAME = "Wang Fang"
LOGGER = "custom_components.community_gate"


async def power(hass: HomeAssistant, on: bool) -> None:
    await hass.services.async_call(
        "input_select",
        "select_option",
        {ATTR_ENTITY_ID: POWER, "option": "on" if on else "off"},
        blocking=True,
    )
    # The switch follows its power a loop turn later, and state listeners (the hub's
    # too) run a turn after that: block_till_done waits for tasks, not for those turns.
    for _ in range(3):
        await hass.async_block_till_done()


@pytest.fixture
async def relays(hass: HomeAssistant) -> None:
    """Template switches (the `template:` integration's own YAML) east_relay and
    side_relay; only the side one has a power line."""
    assert await async_setup_component(
        hass, "input_select", {"input_select": {"side_power": {"options": ["on", "off"]}}}
    )
    assert await async_setup_component(
        hass, "counter", {"counter": {"east_clicks": {}, "side_clicks": {}}}
    )
    switches: list[dict[str, Any]] = []
    for relay in ("east", "side"):
        click = {"action": "counter.increment", "target": {"entity_id": f"counter.{relay}_clicks"}}
        switches.append(
            {
                "name": f"{relay}_relay",
                "unique_id": f"test_{relay}",
                "turn_on": click,
                "turn_off": click,
            }
        )
    switches[1]["availability"] = f"{{{{ is_state('{POWER}', 'on') }}}}"
    assert await async_setup_component(hass, "template", {"template": [{"switch": switches}]})
    await hass.async_block_till_done()
    assert hass.states.get(SIDE).state != STATE_UNAVAILABLE


@pytest.fixture
async def estate(hass: HomeAssistant, db_path: Path, relays: None) -> MockConfigEntry:
    """East gate on a working relay, the side gate on the switchable one, and a gate
    whose actuator entity does not exist at all; one tenant with a card."""
    entry = await add_estate(
        hass,
        db_path,
        gate_subentry("east_gate", "switch.east_relay"),
        gate_subentry("side_gate", SIDE),
        gate_subentry("ghost_gate", "switch.ghost_relay"),
    )
    await add_tenant(hass, NAME, CARD, settle=True)
    return entry


def clicks(hass: HomeAssistant, relay: str = "side") -> int:
    return int(hass.states.get(f"counter.{relay}_clicks").state)


def check_not_opened(err: HomeAssistantError, code: str, gate_id: str) -> int:
    """A HomeAssistantError (not a validation error) with our key, rendered in English
    with the gate and the passage filled in; returns the passage id."""
    assert not isinstance(err, ServiceValidationError)
    assert (err.translation_domain, err.translation_key) == (DOMAIN, code)
    placeholders = err.translation_placeholders or {}
    assert placeholders["gate_id"] == gate_id
    msg = str(err)
    assert msg.startswith(f"Gate {gate_id} ")
    assert f"passage {placeholders['passage_id']}" in msg
    assert not re.search(r"\{[a-z_]+\}", msg)
    assert code in EN["exceptions"]
    return int(placeholders["passage_id"])


async def passage(entry: MockConfigEntry, passage_id: int) -> Any:
    hub = entry.runtime_data.hub
    return await hub.db(hub.store.get_passage, passage_id)


async def audit_outcomes(hass: HomeAssistant, action: str) -> list[str]:
    resp = await call(hass, "query_audit_log", {"action": action}, settle=True)
    return [e["outcome"] for e in reversed(resp["entries"])]


# ------------------------------------------------------------ action-exceptions
async def test_open_gate_raises_when_the_actuator_cannot_be_driven(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    with pytest.raises(HomeAssistantError) as exc:
        await call(hass, "open_gate", {"gate_id": "ghost_gate", "reason": "delivery"}, settle=True)
    missing = check_not_opened(exc.value, "actuator_missing", "ghost_gate")

    await power(hass, False)
    assert hass.states.get(SIDE).state == STATE_UNAVAILABLE
    with pytest.raises(HomeAssistantError) as exc:
        await call(hass, "open_gate", {"gate_id": "side_gate", "reason": "delivery"}, settle=True)
    unavailable = check_not_opened(exc.value, "actuator_unavailable", "side_gate")
    assert clicks(hass) == 0

    # Both attempts stay logged: a passage each, and an audit row naming the failure.
    for pid, gate, flag in (
        (missing, "ghost_gate", "actuator_missing"),
        (unavailable, "side_gate", "actuator_unavailable"),
    ):
        p = await passage(estate, pid)
        assert (p.gate_id, p.reason.value, p.allowed, p.note, p.flags) == (
            gate,
            "remote_open",
            True,
            "delivery",
            (flag,),
        )
    assert await audit_outcomes(hass, "open_gate") == ["actuator_missing", "actuator_unavailable"]

    # Power back: the same action succeeds and drives the relay.
    await power(hass, True)
    resp = await call(
        hass, "open_gate", {"gate_id": "side_gate", "reason": "delivery"}, settle=True
    )
    assert resp["flags"] == []
    assert clicks(hass) == 1
    # Bad input is still the caller's mistake, not a failure of the gate.
    with pytest.raises(ServiceValidationError) as bad:
        await call(hass, "open_gate", {"gate_id": "west_gate", "reason": "x"}, settle=True)
    assert bad.value.translation_key == "unknown_gate"


async def test_open_button_raises_when_the_actuator_is_unavailable(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    button = er.async_get(hass).async_get_entity_id(
        "button", DOMAIN, f"{estate.entry_id}-side_gate-open"
    )
    assert button is not None
    await power(hass, False)
    with pytest.raises(HomeAssistantError) as exc:
        await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
    pid = check_not_opened(exc.value, "actuator_unavailable", "side_gate")
    p = await passage(estate, pid)
    assert (p.reason.value, p.note, p.flags) == ("remote_open", "button", ("actuator_unavailable",))

    await power(hass, True)
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
    assert clicks(hass) == 1


async def test_present_credential_answers_that_the_gate_did_not_open(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    """The caller asked for a decision: a granted one is an answer, not an error, but
    it says the gate did not open."""
    await power(hass, False)
    data = {"gate_id": "side_gate", "kind": "card", "value": CARD}
    resp = await present_credential(hass, data, settle=True)
    assert (resp["allowed"], resp["opened"], resp["reason"], resp["flags"]) == (
        True,
        False,
        "granted",
        ["actuator_unavailable"],
    )
    assert (await passage(estate, resp["passage_id"])).flags == ("actuator_unavailable",)
    await power(hass, True)
    resp = await present_credential(hass, data, settle=True)
    assert (resp["allowed"], resp["opened"], resp["flags"]) == (True, True, [])
    resp = await present_credential(hass, data | {"value": "404"}, settle=True)
    assert (resp["allowed"], resp["opened"]) == (False, False)


async def test_emergency_names_the_gates_that_did_not_open(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    hub = estate.runtime_data.hub
    await power(hass, False)
    with pytest.raises(HomeAssistantError) as exc:
        await call(hass, "set_emergency", {"active": True, "reason": "fire"}, settle=True)
    err = exc.value
    assert not isinstance(err, ServiceValidationError)
    assert err.translation_key == "emergency_not_opened"
    assert err.translation_placeholders == {"gate_ids": "ghost_gate, side_gate"}
    assert "ghost_gate, side_gate" in str(err)
    # The emergency is on all the same, the working gate opened, and all three are logged.
    assert hub.emergency is True
    assert (clicks(hass, "east"), clicks(hass, "side")) == (1, 0)
    rows = await hub.db(hub.store.recent_passages)
    assert sorted((p.gate_id, p.reason.value, p.flags) for p in rows) == [
        ("east_gate", "emergency_open", ()),
        ("ghost_gate", "emergency_open", ("actuator_missing",)),
        ("side_gate", "emergency_open", ("actuator_unavailable",)),
    ]
    assert await audit_outcomes(hass, "set_emergency") == ["emergency_not_opened"]

    # The estate switch says the same.
    await call(hass, "set_emergency", {"active": False}, settle=True)
    switch = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{estate.entry_id}-emergency"
    )
    assert switch is not None
    with pytest.raises(HomeAssistantError) as exc:
        await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True)
    assert exc.value.translation_key == "emergency_not_opened"
    await hass.async_block_till_done()
    assert hass.states.get(switch).state == "on"
    assert await hub.db(hub.store.count_passages) == 6


# ---------------------------------------------------------- log-when-unavailable
def lines(caplog: pytest.LogCaptureFixture, *parts: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith(LOGGER) and all(part in r.getMessage() for part in parts)
    ]


async def test_actuator_going_away_and_back_is_logged_once_each(
    hass: HomeAssistant, estate: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    # The missing actuator was logged once when the estate started.
    started = [
        r
        for r in caplog.get_records("setup")
        if r.name.startswith(LOGGER) and "switch.ghost_relay is unavailable" in r.getMessage()
    ]
    assert len(started) == 1
    assert started[0].getMessage() == "Gate ghost_gate: actuator switch.ghost_relay is unavailable"

    caplog.clear()
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    await power(hass, False)
    # Attempts while it is down add no warning each: the passage flag carries them.
    for _ in range(3):
        await present_credential(
            hass,
            {"gate_id": "side_gate", "kind": "card", "value": CARD},
            settle=True,
        )
        with pytest.raises(HomeAssistantError):
            await call(hass, "open_gate", {"gate_id": "side_gate", "reason": "test"}, settle=True)
        with pytest.raises(HomeAssistantError):
            await call(hass, "open_gate", {"gate_id": "ghost_gate", "reason": "test"}, settle=True)
    await power(hass, False)
    await power(hass, True)
    # Working again: pulses and further state changes log nothing.
    await present_credential(
        hass,
        {"gate_id": "side_gate", "kind": "card", "value": CARD},
        settle=True,
    )
    await hass.services.async_call("switch", "turn_off", {ATTR_ENTITY_ID: SIDE}, blocking=True)
    await hass.async_block_till_done()

    down = lines(caplog, SIDE, "is unavailable")
    back = lines(caplog, SIDE, "is available again")
    assert [r.getMessage() for r in down] == [f"Gate side_gate: actuator {SIDE} is unavailable"]
    assert [r.getMessage() for r in back] == [f"Gate side_gate: actuator {SIDE} is available again"]
    assert (down[0].levelno, back[0].levelno) == (logging.WARNING, logging.INFO)
    assert lines(caplog, "ghost_relay", "unavailable") == []  # logged at start, not again
    noisy = [
        r
        for r in caplog.records
        if r.name.startswith(LOGGER) and r.levelno >= logging.WARNING and r not in down
    ]
    assert noisy == []
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(LOGGER))
    assert CARD not in ours
    assert CARD.lstrip("0") not in ours
    assert NAME not in ours

    # A second outage is a second pair of lines.
    await power(hass, False)
    await power(hass, True)
    assert len(lines(caplog, SIDE, "is unavailable")) == 2
    assert len(lines(caplog, SIDE, "is available again")) == 2
