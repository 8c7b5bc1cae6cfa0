"""Gate online: the gate's actuator entity exists and is not unavailable (for an MQTT
relay: the broker is connected and the controller's heartbeat is current)."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.const import EntityCategory
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_state_change_event

from .entity import GateEntity
from .runtime import CommunityGateConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CommunityGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    hub = entry.runtime_data.hub
    for rt in hub.gates.values():
        async_add_entities([GateOnline(hub, rt, "online")], config_subentry_id=rt.subentry_id)


class GateOnline(GateEntity, BinarySensorEntity):
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    @property
    def is_on(self) -> bool:
        return self.rt.actuator.available

    async def async_added_to_hass(self) -> None:
        @callback
        def _changed(_event: Event[EventStateChangedData]) -> None:
            self.async_write_ha_state()

        if self.rt.actuator_entity:
            self.async_on_remove(
                async_track_state_change_event(self.hass, [self.rt.actuator_entity], _changed)
            )
        else:  # MQTT relay: device status arrives with the hub's state signal
            self.async_on_remove(
                async_dispatcher_connect(
                    self.hass, self.hub.state_signal, self.async_write_ha_state
                )
            )
