"""Estate emergency switch: opens every gate and keeps them deciding "open" until off."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import CommunityGateConfigEntry
from .entity import EstateEntity
from .services import raise_if_gates_not_opened

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CommunityGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([EmergencySwitch(entry.runtime_data, "emergency")])


class EmergencySwitch(EstateEntity, SwitchEntity):
    @property
    def is_on(self) -> bool:
        return self.hub.emergency

    async def async_turn_on(self, **kwargs: Any) -> None:
        outcomes = await self.hub.async_set_emergency(True, note="switch", context=self._context)
        raise_if_gates_not_opened(outcomes)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.hub.async_set_emergency(False, note="switch", context=self._context)
