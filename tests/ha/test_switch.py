"""The estate's emergency open-all switch: opens every gate, logs it, and follows the
set_emergency action."""

from __future__ import annotations

from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.community_gate.const import EVENT_EMERGENCY
from tests.ha.helpers import GATES, call, entity_id, snapshot_platform, state_of


async def test_switch_entities_snapshot(
    hass: HomeAssistant, estate: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """Registry entries and states of every switch entity of the estate."""
    snapshot_platform(hass, snapshot, estate, "switch")


async def test_emergency_switch(
    hass: HomeAssistant, estate: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    switch = entity_id(hass, estate, "switch", "emergency")
    events: list[Event] = []
    hass.bus.async_listen(EVENT_EMERGENCY, events.append)
    assert hass.states.get(switch).state == STATE_OFF

    await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True)
    await hass.async_block_till_done()
    assert hass.states.get(switch).state == STATE_ON
    hub = estate.runtime_data.hub
    assert hub.emergency is True
    assert sorted(relay_calls) == [("switch.east_relay", "on"), ("switch.north_relay", "on")]
    passages = await hub.db(hub.store.recent_passages)
    assert sorted((p.gate_id, p.reason.value, p.method.value, p.note) for p in passages) == [
        ("east_gate", "emergency_open", "emergency", "switch"),
        ("north_door", "emergency_open", "emergency", "switch"),
    ]
    assert [e.data["active"] for e in events] == [True]
    for gate in GATES:
        assert state_of(hass, estate, "sensor", "last_method", gate).state == "emergency"

    await hass.services.async_call("switch", "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True)
    await hass.async_block_till_done()
    assert hass.states.get(switch).state == STATE_OFF
    assert hub.emergency is False
    assert await hub.db(hub.store.get_setting, "emergency") == "0"
    assert [e.data["active"] for e in events] == [True, False]
    assert await hub.db(hub.store.count_passages) == 2

    # The action drives the same state.
    await call(hass, "set_emergency", {"active": True}, settle=True)
    assert hass.states.get(switch).state == STATE_ON
