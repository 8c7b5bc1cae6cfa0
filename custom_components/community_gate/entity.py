"""Base entities: one device per estate, one device per gate (linked to its subentry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .gates import GateRuntime
from .hub import EstateHub

# HA 2026.10 added via_device_id (the parent's registry id) to DeviceInfo and deprecated
# via_device (its identifier pair, removed in 2027.8); older releases know only the pair.
_LINK_BY_ID = "via_device_id" in getattr(DeviceInfo, "__annotations__", {})


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
        self._attr_device_info = gate_device(hub, rt)


def gate_device(hub: EstateHub, rt: GateRuntime) -> DeviceInfo:
    """A gate's device, under the estate's (created at setup, before the platforms)."""
    fields: dict[str, Any] = {
        "identifiers": {(DOMAIN, f"{hub.entry.entry_id}-{rt.gate.id}")},
        "name": rt.gate.name,
        "manufacturer": "community_gate",
        "model": rt.gate.kind.value.replace("_", " ").capitalize(),
    }
    return child_device(fields, hub.entry.entry_id, hub.estate_device_id)


def child_device(fields: dict[str, Any], parent: str, parent_id: str | None) -> DeviceInfo:
    """A device under another of ours: ``parent`` its identifier, ``parent_id`` its
    registry id (created before the platforms)."""
    if not _LINK_BY_ID:
        fields["via_device"] = (DOMAIN, parent)
    elif parent_id is not None:
        fields["via_device_id"] = parent_id
    # Built from keys that only one side of HA 2026.10 knows: type-checked as a call.
    make: Callable[..., DeviceInfo] = DeviceInfo
    return make(**fields)
