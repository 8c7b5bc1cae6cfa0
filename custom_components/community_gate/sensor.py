"""Sensors: per gate the last passage (time, method); per estate the enrolled people
and today's passages. States carry codes and times, never names."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .alerts import AlertService
from .central_link import CentralLink
from .centre_entities import async_setup_centre_sensors
from .core.model import Method, Passage, public_reason
from .entity import EstateEntity, GateEntity
from .entry_kind import is_centre
from .hub import EstateHub
from .runtime import CentreConfigEntry, CommunityGateConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CommunityGateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    if is_centre(entry):
        await async_setup_centre_sensors(cast("CentreConfigEntry", entry), async_add_entities)
        return
    hub = entry.runtime_data.hub
    if entry.runtime_data.central is not None:
        link = entry.runtime_data.central
        async_add_entities([CentralBacklogSensor(hub, link), CentralLagSensor(hub, link)])
    async_add_entities(
        [PeopleSensor(hub, "people_enrolled"), PassagesTodaySensor(hub, "passages_today")]
    )
    async_add_entities([OpenAlertsSensor(hub, "open_alerts", entry.runtime_data.alerts)])
    for rt in hub.gates.values():
        async_add_entities(
            [LastPassageSensor(hub, rt, "last_passage"), LastMethodSensor(hub, rt, "last_method")],
            config_subentry_id=rt.subentry_id,
        )


class PeopleSensor(EstateEntity, SensorEntity):
    _attr_state_class = SensorStateClass.MEASUREMENT

    @property
    def native_value(self) -> int:
        return self.hub.stats.people


class PassagesTodaySensor(EstateEntity, SensorEntity):
    # Resets at local midnight; TOTAL_INCREASING treats the drop as a new cycle.
    _attr_state_class = SensorStateClass.TOTAL_INCREASING

    @property
    def native_value(self) -> int:
        return self.hub.stats.passages_today


class _LastPassageBase(GateEntity, SensorEntity):
    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self.hub.passage_signal, self._on_passage)
        )

    @callback
    def _on_passage(self, passage: Passage) -> None:
        if passage.gate_id == self.rt.gate.id:
            self.async_write_ha_state()


class LastPassageSensor(_LastPassageBase):
    _attr_device_class = SensorDeviceClass.TIMESTAMP

    @property
    def native_value(self) -> datetime | None:
        p = self.rt.last_passage
        # The latest presentation (a refusal folded into an episode moves it on).
        return dt_util.utc_from_timestamp(p.seen) if p else None

    @property
    def extra_state_attributes(self) -> dict[str, object]:
        p = self.rt.last_passage
        if p is None:
            return {}
        return {
            "method": p.method.value,
            "allowed": p.allowed,
            "reason": public_reason(p.reason.value),
        }


class LastMethodSensor(_LastPassageBase):
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = [m.value for m in Method]

    @property
    def native_value(self) -> str | None:
        p = self.rt.last_passage
        return p.method.value if p else None


class OpenAlertsSensor(EstateEntity, SensorEntity):
    """Alerts not yet resolved (new or acknowledged)."""

    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, hub: EstateHub, key: str, alerts: AlertService) -> None:
        super().__init__(hub, key)
        self.alerts = alerts

    @property
    def native_value(self) -> int:
        return self.alerts.open_count


class _CentralSensor(EstateEntity, SensorEntity):
    """The estate's link to the central store, refreshed by the link's watch."""

    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, hub: EstateHub, link: CentralLink, key: str) -> None:
        super().__init__(hub, key)
        self.link = link

    async def async_added_to_hass(self) -> None:
        # Only the link's watch (every 30 s), not every passage: the recorder keeps these.
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self.link.signal, self.async_write_ha_state)
        )


class CentralBacklogSensor(_CentralSensor):
    """Rows written here and not yet acknowledged by the centre (unknown until the
    replicator has counted them: never 0 while rows wait)."""

    def __init__(self, hub: EstateHub, link: CentralLink) -> None:
        super().__init__(hub, link, "central_backlog")

    @property
    def native_value(self) -> int | None:
        return self.link.status().backlog


class CentralLagSensor(_CentralSensor):
    """Age of the oldest row still waiting for the centre (0 when none waits)."""

    _attr_device_class = SensorDeviceClass.DURATION
    _attr_native_unit_of_measurement = UnitOfTime.SECONDS
    _attr_suggested_display_precision = 0

    def __init__(self, hub: EstateHub, link: CentralLink) -> None:
        super().__init__(hub, link, "central_lag")

    @property
    def native_value(self) -> float | None:
        return self.link.status().lag_s
