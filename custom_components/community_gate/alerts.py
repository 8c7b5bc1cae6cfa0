"""Alerts in Home Assistant: feeds the core rule engine and publishes what it raises.

Inputs: every committed passage (the hub's dispatcher signal, so a rule never delays a
gate), a timer for the sweep (devices and doors every minute, silences every quarter
hour), the availability of each gate's actuator and camera, the optional door contact
of a gate, and temperature reports. Outputs: the ``community_gate_alert`` event (ids
and codes only), the alert event entity and the open-alerts sensor (via signals).

The engine runs on the estate's database thread, like every store call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.const import STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.start import async_at_started
from homeassistant.util import dt as dt_util

from .availability import AvailabilityLog
from .const import (
    CONF_DOOR,
    DOMAIN,
    EVENT_ALERT,
    EVENT_DEVICE_STATUS,
    EVENT_DOOR,
    EVENT_EXIT,
    EVENT_TEMPERATURE,
)
from .core.alerts import Alert, Rule
from .core.errors import EstateClosedError, StoreError
from .core.model import Passage, StrangerIgnore
from .core.rules import RuleEngine, RuleParams
from .times import to_iso

if TYPE_CHECKING:
    from .hub import EstateHub, FieldInput

_LOGGER = logging.getLogger(__name__)
SWEEP_INTERVAL = timedelta(minutes=1)
SILENCE_EVERY = 15  # sweeps: people and units are checked every quarter hour


def _now() -> float:
    return dt_util.utcnow().timestamp()


class AlertService:
    """The rule engine of one estate, wired to Home Assistant."""

    def __init__(
        self, hass: HomeAssistant, hub: EstateHub, params: RuleParams, engine: RuleEngine
    ) -> None:
        self.hass = hass
        self.hub = hub
        self.params = params
        self.engine = engine
        self.open_count = 0
        self._ticks = 0
        self._unsubs: list[CALLBACK_TYPE] = []
        self._devices: dict[str, str] = {}  # entity id -> gate id
        self._actuators: set[str] = set()  # the actuator entities among them
        self._availability = AvailabilityLog(_LOGGER)
        self._doors: dict[str, str] = {}  # door contact entity id -> gate id
        self._held_checks: dict[str, CALLBACK_TYPE] = {}  # gate id -> pending check

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    async def async_create(
        cls, hass: HomeAssistant, hub: EstateHub, params: RuleParams
    ) -> AlertService:
        """The estate's rules, loaded and listening: the engine is built (it reads the
        open alerts) before anything can feed it."""
        service = cls(hass, hub, params, await hub.db(RuleEngine, hub.store, params))
        await service.async_start()
        return service

    async def async_start(self) -> None:
        hub = self.hub
        self.open_count = await hub.db(lambda: self.engine.open_count)
        self._unsubs.append(
            async_dispatcher_connect(self.hass, hub.passage_signal, self._on_passage)
        )
        self._unsubs.append(async_dispatcher_connect(self.hass, hub.field_signal, self._on_field))
        self._unsubs.append(async_track_time_interval(self.hass, self._on_tick, SWEEP_INTERVAL))
        now = _now()
        devices: dict[str, str] = {}
        doors: dict[str, str] = {}
        for rt in hub.gates.values():
            # A gate opened by its MQTT controller has no actuator entity: that device
            # reports its own state through the MQTT link (heartbeat / last will).
            if rt.actuator_entity:
                devices[rt.actuator_entity] = rt.gate.id
                self._actuators.add(rt.actuator_entity)
            if rt.camera:
                devices[rt.camera] = rt.gate.id
            door = hub.entry.subentries[rt.subentry_id].data.get(CONF_DOOR)
            if door:
                doors[door] = rt.gate.id
        for entity_id, gate_id in devices.items():
            await self.async_device_state(entity_id, self._available(entity_id), now, gate_id)
        self._devices = devices
        self._doors = doors
        if devices:
            self._unsubs.append(
                async_track_state_change_event(self.hass, list(devices), self._on_device)
            )
        if doors:
            self._unsubs.append(
                async_track_state_change_event(self.hass, list(doors), self._on_door)
            )
        # While HA starts, actuators appear (or show restored "unavailable") one by one:
        # judge them once it has started. Cameras log their own outages (capture.py).
        self._unsubs.append(async_at_started(self.hass, self._log_actuators))

    @callback
    def _log_actuators(self, _hass: HomeAssistant) -> None:
        for entity_id in self._actuators:
            self._log_actuator(entity_id, self._available(entity_id))

    @callback
    def _log_actuator(self, entity_id: str, available: bool) -> None:
        what = f"Gate {self._devices.get(entity_id)}: actuator {entity_id}"
        self._availability.update(entity_id, available, what)

    @callback
    def async_stop(self) -> None:
        while self._unsubs:
            self._unsubs.pop()()
        for cancel in self._held_checks.values():
            cancel()
        self._held_checks.clear()

    def _available(self, entity_id: str) -> bool:
        state = self.hass.states.get(entity_id)
        return state is not None and state.state != STATE_UNAVAILABLE

    # ---------------------------------------------------------------- running
    async def _call[T](self, func: Callable[[], T]) -> T:
        """Run ``func`` on the DB thread, then publish what the engine raised."""
        engine = self.engine
        result, alerts, count = await self.hub.db(lambda: _collect(engine, func))
        self._publish(alerts, count)
        return result

    def _background(self, func: Callable[[], Any], name: str) -> None:
        async def _run() -> None:
            try:
                await self._call(func)
            except EstateClosedError:
                return
            except StoreError as err:
                # Codes only; the passage itself is safe in the log.
                _LOGGER.error("Alert rules could not run (%s): %s", name, err.code)

        self.hub.entry.async_create_background_task(self.hass, _run(), f"{DOMAIN} {name}")

    @callback
    def _publish(self, alerts: list[Alert], count: int) -> None:
        entry_id = self.hub.entry.entry_id
        for alert in alerts:
            self.hass.bus.async_fire(EVENT_ALERT, alert_event_data(entry_id, alert))
            async_dispatcher_send(self.hass, self.hub.alert_signal, alert)
        if alerts or count != self.open_count:
            self.open_count = count
            async_dispatcher_send(self.hass, self.hub.state_signal)

    @callback
    def _on_passage(self, passage: Passage) -> None:
        engine = self.engine
        self._background(lambda: engine.on_passage(passage), "passage rules")

    @callback
    def _on_tick(self, _now_dt: datetime) -> None:
        self._ticks += 1
        silences = self._ticks % SILENCE_EVERY == 1
        self.async_sweep(silences=silences)

    @callback
    def async_sweep(self, *, silences: bool = True) -> None:
        engine, now = self.engine, _now()
        self._background(lambda: engine.sweep(now, silences=silences), "sweep")

    @callback
    def _on_device(self, event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        new = event.data["new_state"]
        online = new is not None and new.state != STATE_UNAVAILABLE
        if entity_id in self._actuators and self.hass.is_running:
            self._log_actuator(entity_id, online)
        engine, now, gate = self.engine, _now(), self._devices.get(entity_id)
        self._background(
            lambda: engine.device_state(entity_id, online, now, gate_id=gate), "device state"
        )

    @callback
    def _on_field(self, f: FieldInput) -> None:
        """A field device's report (MQTT): the same rules as HA's own entities."""
        engine, gate = self.engine, f.gate_id
        if f.event == EVENT_DEVICE_STATUS:
            online = bool(f.values["online"])
            self._background(
                lambda: engine.device_state(f.device_id, online, f.ts, gate_id=gate),
                "device state",
            )
        elif f.event == EVENT_DOOR:
            is_open = bool(f.values["open"])
            self._background(lambda: engine.door(gate, is_open, f.ts), "door")
        elif f.event == EVENT_EXIT:
            self._background(lambda: engine.exit_request(gate, f.ts), "exit request")
        elif f.event == EVENT_TEMPERATURE:
            celsius = float(f.values["celsius"])
            self._background(lambda: engine.temperature(gate, celsius, f.ts), "temperature")

    @callback
    def _on_door(self, event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if old is None or new is None or old.state == new.state:
            return
        if {old.state, new.state} - {STATE_ON, "off"}:
            return  # to or from unavailable: not a door movement
        gate_id = self._doors[event.data["entity_id"]]
        is_open = new.state == STATE_ON
        engine, now = self.engine, _now()
        self._background(lambda: engine.door(gate_id, is_open, now), "door")
        if (pending := self._held_checks.pop(gate_id, None)) is not None:
            pending()
        if is_open:
            # Held open is noticed on time, not at the next minute's sweep.
            @callback
            def _check(_t: datetime) -> None:
                self._held_checks.pop(gate_id, None)
                self.async_sweep(silences=False)

            self._held_checks[gate_id] = async_call_later(
                self.hass, self.params.door_held_open_seconds + 1, _check
            )

    # ------------------------------------------- inputs a caller awaits (actions)
    async def async_heartbeat(self, device_id: str, ts: float, gate_id: str | None = None) -> None:
        engine = self.engine
        await self._call(lambda: engine.heartbeat(device_id, ts, gate_id=gate_id))

    async def async_device_state(
        self, device_id: str, online: bool, ts: float, gate_id: str | None = None
    ) -> None:
        engine = self.engine
        await self._call(lambda: engine.device_state(device_id, online, ts, gate_id=gate_id))

    async def async_door(self, gate_id: str, is_open: bool, ts: float) -> list[Alert]:
        self.hub.gate_runtime(gate_id)
        engine = self.engine
        return await self._call(lambda: engine.door(gate_id, is_open, ts))

    async def async_exit_request(self, gate_id: str, ts: float) -> None:
        self.hub.gate_runtime(gate_id)
        engine = self.engine
        await self._call(lambda: engine.exit_request(gate_id, ts))

    async def async_temperature(
        self, gate_id: str, celsius: float, ts: float, person_id: str | None = None
    ) -> list[Alert]:
        self.hub.gate_runtime(gate_id)
        engine = self.engine
        return await self._call(
            lambda: engine.temperature(gate_id, celsius, ts, person_id=person_id)
        )

    # ------------------------------------------------------------------ staff
    async def async_acknowledge(self, alert_id: int, by: str) -> Alert:
        engine, now = self.engine, _now()
        return await self._call(lambda: engine.acknowledge(alert_id, by, now))

    async def async_resolve(self, alert_id: int, by: str) -> Alert:
        engine, now = self.engine, _now()
        return await self._call(lambda: engine.resolve(alert_id, by, now))

    async def async_ignore_stranger(self, ignore: StrangerIgnore) -> int:
        """Mark a stranger "known, do not alert"; their open alerts are resolved (the
        open-alerts sensor follows). Returns how many were."""
        engine = self.engine
        return await self._call(lambda: engine.ignore_stranger(ignore))

    async def async_unignore_stranger(self, cluster_id: str) -> bool:
        engine = self.engine
        return await self._call(lambda: engine.unignore_stranger(cluster_id))

    async def async_list(
        self, *, include_resolved: bool, rule: Rule | None, limit: int
    ) -> list[Alert]:
        engine = self.engine
        return await self.hub.db(
            lambda: engine.list_alerts(include_resolved=include_resolved, rule=rule, limit=limit)
        )


def _collect[T](engine: RuleEngine, func: Callable[[], T]) -> tuple[T, list[Alert], int]:
    """On the DB thread: run, and gather what to publish (raised alerts, open count)."""
    result = func()
    # Rule inputs answer with the alerts they raised; acknowledge/resolve with one alert
    # that is not new and must not be announced again.
    alerts = [a for a in result if isinstance(a, Alert)] if isinstance(result, list) else []
    return result, alerts, engine.open_count


def _alert_core(a: Alert) -> dict[str, Any]:
    """What every view of an alert says: ids, codes, evidence, state, time. Never names
    or ID numbers."""
    return {
        "alert_id": a.id,
        "rule": a.rule.value,
        "subject_kind": a.subject_kind.value,
        "subject_id": a.subject_id,
        "gate_id": a.gate_id,
        "evidence": a.evidence,
        "state": a.state.value,
        "time": to_iso(a.ts),
    }


def alert_event_data(entry_id: str, a: Alert) -> dict[str, Any]:
    """Event payload."""
    return {"entry_id": entry_id, **_alert_core(a)}


def alert_dict(a: Alert) -> dict[str, Any]:
    """An alert as a service (and panel) response: with who acknowledged and resolved it."""
    return {
        **_alert_core(a),
        "acknowledged_at": to_iso(a.acknowledged_at),
        "acknowledged_by": a.acknowledged_by,
        "resolved_at": to_iso(a.resolved_at),
        "resolved_by": a.resolved_by,
    }
