"""A gate subentry names its MQTT controller; without an actuator entity the
controller's relay opens the gate."""

from __future__ import annotations

import sys
from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.community_gate.actuators import MqttRelayActuator, SwitchActuator
from custom_components.community_gate.const import DOMAIN, SUBENTRY_GATE
from custom_components.community_gate.mqtt_issue import mqtt_issue_id


async def _submit(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_GATE), context={"source": SOURCE_USER}
    )
    base = {"name": "West Gate", "kind": "estate_gate", "direction": "both", "pulse_seconds": 3}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {k: v for k, v in (base | data).items() if v is not None}
    )
    await hass.async_block_till_done()
    return result  # type: ignore[no-any-return]


async def _open_refused(hass: HomeAssistant) -> HomeAssistantError:
    """Staff press Open on the west gate; the error it is refused with."""
    with pytest.raises(HomeAssistantError) as exc:
        await hass.services.async_call(
            "community_gate",
            "open_gate",
            {"gate_id": "west_gate", "reason": "test"},
            blocking=True,
            return_response=True,
        )
    return exc.value


async def test_gate_with_only_an_mqtt_controller(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    result = await _submit(hass, estate, mqtt_device="  gc-west  ")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    sub = next(s for s in estate.subentries.values() if s.unique_id == "west_gate")
    assert sub.data["mqtt_device"] == "gc-west"
    assert "actuator" not in sub.data
    rt = estate.runtime_data.hub.gates["west_gate"]
    assert isinstance(rt.actuator, MqttRelayActuator)
    assert rt.actuator_entity == ""
    # No MQTT in this Home Assistant: the gate shows offline, a repair names the gate,
    # and an open is logged, flagged and fails saying why.
    assert hass.states.get("binary_sensor.west_gate_online").state == "off"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, mqtt_issue_id(estate.entry_id))
    assert issue is not None
    assert issue.translation_key == "mqtt_missing"
    assert issue.translation_placeholders == {"gates": "West Gate"}
    exc = await _open_refused(hass)
    assert exc.translation_key == "mqtt_unavailable"
    assert "MQTT integration is not set up" in str(exc)
    hub = estate.runtime_data.hub
    [p] = await hub.db(hub.store.recent_passages)
    assert (p.gate_id, p.flags) == ("west_gate", ("mqtt_unavailable",))
    # The gate gets a switch instead: nothing needs MQTT, the repair goes.
    sub = next(s for s in estate.subentries.values() if s.unique_id == "west_gate")
    hass.config_entries.async_update_subentry(
        estate,
        sub,
        data={k: v for k, v in sub.data.items() if k != "mqtt_device"}
        | {"actuator": "switch.west_relay"},
    )
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, mqtt_issue_id(estate.entry_id)) is None


async def test_an_mqtt_that_cannot_load_is_said_too(
    hass: HomeAssistant, estate: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Home Assistant's mqtt cannot even be imported (its client library comes only with
    an MQTT set-up; simulated here by hiding our link module, which imports it): the
    estate starts without field devices, the repair names the controller's gate, and
    opening it says why."""
    monkeypatch.setitem(sys.modules, "custom_components.community_gate.mqtt_link", None)
    result = await _submit(hass, estate, mqtt_device="gc-west")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert estate.runtime_data.mqtt is None
    issue = ir.async_get(hass).async_get_issue(DOMAIN, mqtt_issue_id(estate.entry_id))
    assert issue is not None
    assert issue.translation_placeholders == {"gates": "West Gate"}
    exc = await _open_refused(hass)
    assert exc.translation_key == "mqtt_unavailable"


async def test_gate_with_entity_and_controller_opens_through_the_entity(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    result = await _submit(hass, estate, actuator="switch.east_relay", mqtt_device="gc-west")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert isinstance(estate.runtime_data.hub.gates["west_gate"].actuator, SwitchActuator)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({}, {"actuator": "actuator_required"}),
        ({"mqtt_device": "   "}, {"actuator": "actuator_required"}),
        ({"mqtt_device": "gc west!"}, {"mqtt_device": "mqtt_device_invalid"}),
    ],
)
async def test_gate_needs_an_actuator_or_a_controller(
    hass: HomeAssistant, estate: MockConfigEntry, data: dict[str, Any], errors: dict[str, str]
) -> None:
    result = await _submit(hass, estate, **data)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
