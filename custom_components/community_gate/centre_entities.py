"""The command centre's entities: a device per estate with its figures (sensors), and
the centre's alerts feed (an event entity). Ids and counts only, never names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .centre import REPEAT_CARD_RULE, CentreCoordinator, public_subject
from .const import DOMAIN
from .core.alerts import STAFF_ONLY_RULES, Rule
from .core.centre import CentralAlert, EstateOverview, RepeatCard
from .entity import child_device
from .runtime import CentreConfigEntry


@dataclass(frozen=True, kw_only=True)
class CentreSensorDescription(SensorEntityDescription):
    value: Callable[[EstateOverview], float | int | None]


CENTRE_SENSORS: tuple[CentreSensorDescription, ...] = (
    CentreSensorDescription(
        key="centre_passages_today",
        translation_key="centre_passages_today",
        state_class=SensorStateClass.MEASUREMENT,
        value=lambda e: e.passages_today,
    ),
    CentreSensorDescription(
        key="centre_open_alerts",
        translation_key="centre_open_alerts",
        state_class=SensorStateClass.MEASUREMENT,
        value=lambda e: e.open_alerts,
    ),
    CentreSensorDescription(
        key="centre_offline_devices",
        translation_key="centre_offline_devices",
        state_class=SensorStateClass.MEASUREMENT,
        value=lambda e: e.offline_devices,
    ),
    CentreSensorDescription(
        key="centre_backlog",
        translation_key="centre_backlog",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value=lambda e: e.backlog,
    ),
    CentreSensorDescription(
        key="centre_lag",
        translation_key="centre_lag",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=0,
        value=lambda e: e.lag_s,
    ),
)

CENTRE_ALERT_EVENT = EventEntityDescription(
    key="centre_alerts",
    translation_key="centre_alerts",
    event_types=[*(r.value for r in Rule if r not in STAFF_ONLY_RULES), REPEAT_CARD_RULE],
)


def centre_device(entry_id: str, title: str) -> DeviceInfo:
    return DeviceInfo(
        identifiers={(DOMAIN, entry_id)},
        name=title,
        manufacturer="community_gate",
        model="Command centre",
    )


def estate_at_centre(entry_id: str, estate: str, centre_device_id: str | None) -> DeviceInfo:
    """An estate as the centre sees it: named by its code (the centre has no other)."""
    fields: dict[str, Any] = {
        "identifiers": {(DOMAIN, f"{entry_id}-estate-{estate}")},
        "name": estate,
        "manufacturer": "community_gate",
        "model": "Estate (at the centre)",
    }
    return child_device(fields, entry_id, centre_device_id)


async def async_setup_centre_sensors(
    entry: CentreConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    coordinator = entry.runtime_data.coordinator
    known: set[str] = set()

    @callback
    def _add_new() -> None:
        # Estates join the centre over time: each gets its sensors when first seen.
        data = coordinator.data
        new = [code for code in (data.estates if data else {}) if code not in known]
        known.update(new)
        async_add_entities(
            CentreEstateSensor(coordinator, code, description)
            for code in new
            for description in CENTRE_SENSORS
        )

    async_add_entities([RepeatCardsSensor(coordinator, entry.title)])
    _add_new()
    entry.async_on_unload(coordinator.async_add_listener(_add_new))


class RepeatCardsSensor(CoordinatorEntity[CentreCoordinator], SensorEntity):
    """How many visitor ID cards were presented at several estates this week."""

    _attr_has_entity_name = True
    _attr_translation_key = "centre_repeat_cards"
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, coordinator: CentreCoordinator, title: str) -> None:
        super().__init__(coordinator)
        entry_id = coordinator.config_entry.entry_id
        self._attr_unique_id = f"{entry_id}-centre_repeat_cards"
        self._attr_device_info = centre_device(entry_id, title)

    @property
    def native_value(self) -> int | None:
        data = self.coordinator.data
        return len(data.repeat_cards) if data else None


async def async_setup_centre_events(
    entry: CentreConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    async_add_entities([CentreAlertEvent(entry.runtime_data.coordinator, entry.title)])


class CentreEstateSensor(CoordinatorEntity[CentreCoordinator], SensorEntity):
    _attr_has_entity_name = True
    entity_description: CentreSensorDescription

    def __init__(
        self, coordinator: CentreCoordinator, estate: str, description: CentreSensorDescription
    ) -> None:
        super().__init__(coordinator)
        entry_id = coordinator.config_entry.entry_id
        self.estate = estate
        self.entity_description = description
        self._attr_unique_id = f"{entry_id}-{estate}-{description.key}"
        self._attr_device_info = estate_at_centre(entry_id, estate, coordinator.device_id)

    @property
    def _overview(self) -> EstateOverview | None:
        data = self.coordinator.data
        return data.estates.get(self.estate) if data else None

    @property
    def available(self) -> bool:
        return super().available and self._overview is not None

    @property
    def native_value(self) -> float | int | None:
        overview = self._overview
        return self.entity_description.value(overview) if overview else None


class CentreAlertEvent(EventEntity):
    """Every estate's alerts as the centre receives them: the estate code on each.
    Staff-only rules (who is vulnerable or away) stay on the bus event, as at the estate."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description = CENTRE_ALERT_EVENT

    def __init__(self, coordinator: CentreCoordinator, title: str) -> None:
        self.coordinator = coordinator
        entry_id = coordinator.config_entry.entry_id
        self._attr_unique_id = f"{entry_id}-{CENTRE_ALERT_EVENT.key}"
        self._attr_device_info = centre_device(entry_id, title)

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self.coordinator.alert_signal, self._on_alert)
        )
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self.coordinator.card_signal, self._on_card)
        )

    @callback
    def _on_card(self, card: RepeatCard) -> None:
        self._trigger_event(
            REPEAT_CARD_RULE,
            {"estates": list(card.estates), "subject_kind": "card", "state": "new"},
        )
        self.async_write_ha_state()

    @callback
    def _on_alert(self, alert: CentralAlert) -> None:
        if alert.rule not in self.event_types:
            return
        self._trigger_event(
            alert.rule,
            {
                "estate": alert.estate,
                "alert_id": alert.id,
                "subject_kind": alert.subject_kind,
                "subject_id": public_subject(alert),
                "state": alert.state,
            },
        )
        self.async_write_ha_state()
