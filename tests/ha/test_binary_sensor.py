"""The gate's online binary sensor: follows its actuator entity."""

from __future__ import annotations

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from tests.ha.helpers import entity_id, gate_subentry, snapshot_platform, state_of


async def test_binary_sensor_entities_snapshot(
    hass: HomeAssistant, estate: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """Registry entries and states of every binary_sensor entity of the estate."""
    snapshot_platform(hass, snapshot, estate, "binary_sensor")


async def test_gate_online(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    online = entity_id(hass, estate, "binary_sensor", "online", "east_gate")
    assert hass.states.get(online).state == STATE_ON
    hass.states.async_set("switch.east_relay", "unavailable")
    await hass.async_block_till_done()
    assert hass.states.get(online).state == STATE_OFF
    assert state_of(hass, estate, "binary_sensor", "online", "north_door").state == STATE_ON
    hass.states.async_set("switch.east_relay", "off")
    await hass.async_block_till_done()
    assert hass.states.get(online).state == STATE_ON
    hass.states.async_remove("switch.east_relay")
    await hass.async_block_till_done()
    assert hass.states.get(online).state == STATE_OFF


async def test_gate_with_missing_actuator_is_offline(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    hass.config_entries.async_add_subentry(
        estate, ConfigSubentry(**gate_subentry("side_gate", "switch.not_there"))
    )
    await hass.async_block_till_done()
    assert state_of(hass, estate, "binary_sensor", "online", "side_gate").state == STATE_OFF
