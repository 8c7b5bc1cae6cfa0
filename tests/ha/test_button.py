"""The gate's open button: a press drives the relay and is logged as a remote open."""

from __future__ import annotations

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from tests.ha.helpers import entity_id, snapshot_platform


async def test_button_entities_snapshot(
    hass: HomeAssistant, estate: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """Registry entries and states of every button entity of the estate."""
    snapshot_platform(hass, snapshot, estate, "button")


async def test_open_button(
    hass: HomeAssistant, estate: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    button = entity_id(hass, estate, "button", "open", "north_door")
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
    await hass.async_block_till_done()
    assert relay_calls == [("switch.north_relay", "on")]
    hub = estate.runtime_data.hub
    [p] = await hub.db(hub.store.recent_passages)
    assert (p.gate_id, p.reason.value, p.method.value, p.note, p.allowed) == (
        "north_door",
        "remote_open",
        "remote",
        "button",
        True,
    )
    assert dt_util.parse_datetime(hass.states.get(button).state) is not None
