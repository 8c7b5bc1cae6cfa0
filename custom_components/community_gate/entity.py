"""Base entities: one device per estate, one device per gate (linked to its subentry)."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .hub import EstateHub, GateRuntime


def estate_device(hub: EstateHub) -> DeviceInfo:
    return DeviceInfo(
        identifiers={(DOMAIN, hub.entry.entry_id)},
        name=hub.entry.title,
        manufacturer="community_gate",
        model="Estate hub",
    )


class EstateEntity(Entity):
    """An entity of the estate as a whole; refreshed on the hub's state signal."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: EstateHub, key: str) -> None:
        self.hub = hub
        self._attr_translation_key = key
        self._attr_unique_id = f"{hub.entry.entry_id}-{key}"
        self._attr_device_info = estate_device(hub)

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self.hub.state_signal, self.async_write_ha_state)
        )


class GateEntity(Entity):
    """An entity of one gate."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: EstateHub, rt: GateRuntime, key: str) -> None:
        self.hub = hub
        self.rt = rt
        self._attr_translation_key = key
        self._attr_unique_id = f"{hub.entry.entry_id}-{rt.gate.id}-{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{hub.entry.entry_id}-{rt.gate.id}")},
            name=rt.gate.name,
            manufacturer="community_gate",
            model=rt.gate.kind.value.replace("_", " ").capitalize(),
            via_device=(DOMAIN, hub.entry.entry_id),
        )
