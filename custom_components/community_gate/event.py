"""A passage event entity per gate: ``granted`` / ``denied`` with codes, never names."""

from __future__ import annotations

from typing import cast

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .centre_entities import async_setup_centre_events
from .core.alerts import PUBLIC_SUBJECTS, STAFF_ONLY_RULES, Alert, Rule
from .core.model import Passage, public_flags, public_reason
from .entity import EstateEntity, GateEntity
from .entry_kind import is_centre
from .gates import GateRuntime
from .hub import EstateHub
from .runtime import CentreConfigEntry, CommunityGateConfigEntry

PARALLEL_UPDATES = 0

PASSAGE_EVENT = EventEntityDescription(
    key="passage", translation_key="passage", event_types=["granted", "denied"]
)


ALERT_EVENT = EventEntityDescription(
    key="alerts",
    translation_key="alerts",
    event_types=[r.value for r in Rule if r not in STAFF_ONLY_RULES],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CommunityGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    if is_centre(entry):
        await async_setup_centre_events(cast("CentreConfigEntry", entry), async_add_entities)
        return
    hub = entry.runtime_data.hub
    async_add_entities([AlertEvent(hub, ALERT_EVENT.key)])
    for rt in hub.gates.values():
        async_add_entities([PassageEvent(hub, rt)], config_subentry_id=rt.subentry_id)


class PassageEvent(GateEntity, EventEntity):
    entity_description = PASSAGE_EVENT

    def __init__(self, hub: EstateHub, rt: GateRuntime) -> None:
        super().__init__(hub, rt, PASSAGE_EVENT.key)

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self.hub.passage_signal, self._on_passage)
        )

    @callback
    def _on_passage(self, passage: Passage) -> None:
        if passage.gate_id != self.rt.gate.id:
            return
        self._trigger_event(
            "granted" if passage.allowed else "denied",
            {
                "passage_id": passage.id,
                "method": passage.method.value,
                "reason": public_reason(passage.reason.value),
                "direction": passage.direction.value,
                "flags": public_flags(passage.flags),
                # >1: a repeat folded into the row ``passage_id`` (core/episodes.py).
                "count": passage.count,
            },
        )
        self.async_write_ha_state()


class AlertEvent(EstateEntity, EventEntity):
    """The estate's alerts: one event type per rule, subject ids as attributes."""

    entity_description = ALERT_EVENT

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self.hub.alert_signal, self._on_alert)
        )

    @callback
    def _on_alert(self, alert: Alert) -> None:
        if alert.rule in STAFF_ONLY_RULES:
            # Every user reads this entity's state and history: even a nameless staff-only
            # alert fired the moment someone passed would say who it is about. Staff get
            # it from the bus event, their notifications and the panel.
            return
        self._trigger_event(
            alert.rule.value,
            {
                "alert_id": alert.id,
                "subject_kind": alert.subject_kind.value,
                "subject_id": (alert.subject_id if alert.subject_kind in PUBLIC_SUBJECTS else None),
                "gate_id": alert.gate_id,
            },
        )
        self.async_write_ha_state()
