"""Estate switches: emergency open-all (every gate opens and keeps deciding "open" until
off) and lockdown (every gate refuses all but staff until off)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import EstateEntity
from .exceptions import raise_if_not_opened, translated
from .remote import async_check_admin, audited
from .runtime import CommunityGateConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CommunityGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    hub = entry.runtime_data.hub
    async_add_entities([EmergencySwitch(hub, "emergency"), LockdownSwitch(hub, "lockdown")])


class EmergencySwitch(EstateEntity, SwitchEntity):
    @property
    def is_on(self) -> bool:
        return self.hub.emergency

    # Opening every gate is an administrator's act, like the set_emergency action.
    async def async_turn_on(self, **kwargs: Any) -> None:
        context = self._context
        async with audited(self.hub, context, "emergency_switch_on", None):
            await async_check_admin(self.hass, context, "emergency_switch_on")
            with translated(self.hub.store.path):
                outcomes = await self.hub.async_set_emergency(True, note="switch", context=context)
            raise_if_not_opened(o.passage.gate_id for o in outcomes if o.actuator_error)

    async def async_turn_off(self, **kwargs: Any) -> None:
        context = self._context
        async with audited(self.hub, context, "emergency_switch_off", None):
            await async_check_admin(self.hass, context, "emergency_switch_off")
            with translated(self.hub.store.path):
                await self.hub.async_set_emergency(False, note="switch", context=context)


class LockdownSwitch(EstateEntity, SwitchEntity):
    @property
    def is_on(self) -> bool:
        return self.hub.lockdown

    # Who may lock the estate down (or lift it) is an administrator, as for set_lockdown;
    # the audit row says who and when.
    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._set(False)

    async def _set(self, active: bool) -> None:
        context = self._context
        action = f"lockdown_switch_{'on' if active else 'off'}"
        async with audited(self.hub, context, action, None):
            await async_check_admin(self.hass, context, action)
            with translated(self.hub.store.path):
                await self.hub.async_set_lockdown(active, context=context)
