"""A remote-open button per gate (logged as a staff remote opening)."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import GateEntity
from .exceptions import not_opened, translated
from .remote import async_check_open, audited
from .runtime import CommunityGateConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CommunityGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    hub = entry.runtime_data.hub
    for rt in hub.gates.values():
        async_add_entities([OpenGateButton(hub, rt, "open")], config_subentry_id=rt.subentry_id)


class OpenGateButton(GateEntity, ButtonEntity):
    async def async_press(self) -> None:
        context = self._context
        # A press is a remote opening: the same right as the open_gate action, audited.
        async with audited(self.hub, context, "open_button", self.rt.gate.id):
            await async_check_open(self.hass, self.rt.openers, context, lockdown=self.hub.lockdown)
            with translated(self.hub.store.path):
                outcome = await self.hub.async_open(self.rt.gate.id, note="button", context=context)
            if outcome.actuator_error is not None:
                # Logged as a passage first, like the open_gate action; then it fails.
                raise not_opened(outcome.actuator_error, self.rt.gate.id, outcome.passage.id)
