"""The estate hub: the one place where a credential becomes a decision, an actuation,
a committed passage row and, only then, Home Assistant events.

All database work runs on one dedicated worker thread (``_db``), which serialises
writes without locks and keeps the event loop free.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
import logging
import sqlite3
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from .actuators import (
    ABSENT_CODES,
    SERVICE_TIMEOUT,
    Actuator,
    ActuatorError,
    MqttRelayActuator,
    RelayPort,
    make_actuator,
)
from .const import (
    CONF_ACTUATOR,
    CONF_CAMERA,
    CONF_MQTT_DEVICE,
    CONF_PRESENCE,
    CONF_PULSE_SECONDS,
    CONF_STREAM_URL,
    DEFAULT_PULSE_SECONDS,
    EVENT_DEVICE_STATUS,
    EVENT_EMERGENCY,
    EVENT_LOCKDOWN,
    EVENT_PASSAGE,
    SIGNAL_ALERT,
    SIGNAL_FIELD,
    SIGNAL_PASSAGE,
    SIGNAL_STATE,
    SUBENTRY_GATE,
)
from .core.access import AccessControl, build_passage
from .core.errors import EstateClosedError, StoreError, UnknownGateError
from .core.journal import PassageJournal
from .core.model import (
    CredentialKind,
    Decision,
    Direction,
    FaceMode,
    Method,
    Passage,
    Reason,
)
from .core.store import Store
from .core.throttle import FAILED_GUESSES, Throttle, ThrottleKey
from .core.two_factor import MISMATCH_FLAG, FactorPairing
from .gates import (
    GateRuntime,
    gate_face_mode,
    gate_from_subentry,
    gate_methods,
    gate_openers,
    gate_pad_level,
)

_LOGGER = logging.getLogger(__name__)
SETTING_EMERGENCY = "emergency"
SETTING_LOCKDOWN = "lockdown"
# How long an exit or emergency opening waits for its passage row before the gate opens
# anyway: a locked database (SQLite waits up to 10 s for a lock) must not keep anyone in.
FAIL_SAFE_WAIT_S = 1.0
# How long closing waits for a thread's current call: a stuck query or face call must
# not hold up Home Assistant's stop.
JOIN_TIMEOUT_S = 5.0


async def async_join_executor(hass: HomeAssistant, executor: Executor, what: str) -> None:
    """Shut ``executor`` down, letting queued work finish, and join its threads off the
    event loop, waiting at most JOIN_TIMEOUT_S."""
    join = hass.async_add_executor_job(partial(executor.shutdown, wait=True))
    done, _ = await asyncio.wait({join}, timeout=JOIN_TIMEOUT_S)
    if not done:
        _LOGGER.warning("The %s thread is still busy after %.0f s", what, JOIN_TIMEOUT_S)


@dataclass(frozen=True, slots=True)
class PassageOutcome:
    passage: Passage
    decision: Decision
    # The actuator's failure code when a granted passage did not open the gate.
    actuator_error: str | None = None
    # False when a fail-safe opening (exit, emergency) could not be logged: the
    # passage has no id and nobody was told of it.
    logged: bool = True


@dataclass(frozen=True, slots=True)
class FieldInput:
    """What a field device reports besides credentials (``EVENT_DEVICE_STATUS`` with
    ``online``, ``EVENT_DOOR`` with ``open``, ``EVENT_EXIT``, ``EVENT_TEMPERATURE``
    with ``celsius``)."""

    event: str
    device_id: str
    gate_id: str
    ts: float
    values: Mapping[str, bool | float] = field(default_factory=dict)


@dataclass(slots=True)
class HubStats:
    people: int = 0
    passages_today: int = 0
    day_start: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class EstateHub:
    """Runtime of one estate config entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        store: Store,
        access: AccessControl,
        executor: ThreadPoolExecutor,
        *,
        min_pin_length: int = 0,
        episode_window: float = 0.0,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.store = store
        self.access = access
        self._executor = executor
        # Repeated refusals of one subject at one gate fold into one row (an episode,
        # core/episodes.py) within this many seconds; every presentation still fires
        # its event, carrying the episode's id and count.
        self.journal = PassageJournal(store, executor, episode_window=episode_window)
        self.gates: dict[str, GateRuntime] = {}
        self.emergency = False
        # Only staff pass while on (core/access.py apply_lockdown); emergency overrides.
        self.lockdown = False
        self.stats = HubStats()
        # The estate's device registry id (set at setup): gate devices hang off it.
        self.estate_device_id: str | None = None
        self.closed = False
        # Where gates opened by an MQTT controller send their relay commands: the MQTT
        # link attaches itself once it runs; without it those gates are unavailable.
        self.relays = RelayPort()
        # Failed presentations per (gate, caller): guessing is locked out (issue 13).
        self.throttle = Throttle()
        # Half-presented card + face pairs (issue 15): the event loop owns it.
        self.pairing = FactorPairing()
        # PINs shorter than this were enrolled before the minimum: flagged when used.
        self.min_pin_length = min_pin_length

    # ------------------------------------------------------------------ plumbing
    async def db[T](self, func: Callable[..., T], *args: Any) -> T:
        """Run a store call on the database thread."""
        if self.closed:
            raise EstateClosedError
        try:
            return await self.hass.loop.run_in_executor(self._executor, func, *args)
        except sqlite3.Error as err:
            # Never a raw traceback to the caller: a translated "database error".
            raise StoreError(str(err), path=str(self.store.path), error=str(err)) from err

    @property
    def passage_signal(self) -> str:
        return SIGNAL_PASSAGE.format(self.entry.entry_id)

    @property
    def state_signal(self) -> str:
        return SIGNAL_STATE.format(self.entry.entry_id)

    async def async_start(self) -> None:
        """Mirror gate subentries into the store and load counters."""
        for sub in self.entry.subentries.values():
            if sub.subentry_type != SUBENTRY_GATE:
                continue
            gate = gate_from_subentry(dict(sub.data) | {"name": sub.data.get("name", sub.title)})
            actuator = self._make_actuator(gate.id, sub.data)
            self.gates[gate.id] = GateRuntime(
                subentry_id=sub.subentry_id,
                gate=gate,
                actuator_entity=sub.data.get(CONF_ACTUATOR) or "",
                camera=sub.data.get(CONF_CAMERA) or None,
                presence=sub.data.get(CONF_PRESENCE) or None,
                actuator=actuator,
                stream_url=sub.data.get(CONF_STREAM_URL) or None,
                methods=gate_methods(sub.data),
                openers=gate_openers(sub.data),
                pad_level=gate_pad_level(sub.data),
                face_mode=gate_face_mode(sub.data),
            )
            await self.db(self.store.upsert_gate, gate)
        for rt in self.gates.values():
            recent = await self.db(
                lambda g=rt.gate.id: self.store.recent_passages(gate_id=g, limit=1)
            )
            rt.last_passage = recent[0] if recent else None
        self.emergency = (await self.db(self.store.get_setting, SETTING_EMERGENCY, "0")) == "1"
        # In the estate database like the emergency state: a restart during an incident
        # must refuse from the first presentation, before any entity is restored.
        self.lockdown = (await self.db(self.store.get_setting, SETTING_LOCKDOWN, "0")) == "1"
        await self.async_refresh_stats()
        if not self.emergency:  # emergency open-all keeps every gate open on purpose
            self.entry.async_create_background_task(
                self.hass, self._async_close_interrupted(), "community_gate close left open"
            )

    async def _async_close_interrupted(self) -> None:
        """A relay left on or a lock left unlocked by a pulse the last run never ended
        is closed again. In the background: a slow actuator must not hold up set-up.
        An actuator entity not there yet (its integration loads later) is not touched."""
        for rt in self.gates.values():
            if self.emergency:
                return  # declared meanwhile
            try:
                async with asyncio.timeout(SERVICE_TIMEOUT):
                    closed = await rt.actuator.close_if_left_open()
            except TimeoutError:
                _LOGGER.warning("Gate %s: closing its actuator at start timed out", rt.gate.id)
                continue
            if closed:
                _LOGGER.warning("Gate %s was left open by an interrupted pulse: closed", rt.gate.id)

    def _make_actuator(self, gate_id: str, data: Any) -> Actuator:
        pulse = float(data.get(CONF_PULSE_SECONDS, DEFAULT_PULSE_SECONDS))
        if not data.get(CONF_ACTUATOR) and data.get(CONF_MQTT_DEVICE):
            # No HA entity: the gate's MQTT controller drives the relay itself.
            return MqttRelayActuator(self.hass, gate_id, pulse, self.relays, lambda: self.emergency)
        return make_actuator(self.hass, data[CONF_ACTUATOR], pulse)

    async def async_close(self) -> None:
        """End running pulses and close the database (once: the runtime, which stops
        the services that use the hub first, calls it)."""
        if self.closed:
            return
        await asyncio.gather(*(rt.actuator.release() for rt in self.gates.values()))
        # From here on background work (purge, stats) stops instead of touching a
        # closed connection; close() queues behind any store call already running.
        self.closed = True
        close = self.hass.loop.run_in_executor(self._executor, self._close_store)
        # Bounded: the close stays queued behind a stuck call and runs after it.
        done, _ = await asyncio.wait({close}, timeout=JOIN_TIMEOUT_S)
        if not done:
            _LOGGER.warning("The database is still busy; it closes after its current call")
            self._executor.shutdown(wait=False)
            return
        # Join the worker off the event loop: no thread outlives the entry.
        await async_join_executor(self.hass, self._executor, "database")
        close.result()  # a failed close is reported, as before

    def _close_store(self) -> None:
        # Passages accepted before ``closed`` may still wait behind a running commit
        # (its follow-up flush would run after the close): write them first.
        self.journal.drain()
        self.store.close()

    async def async_refresh_stats(self) -> None:
        day_start = dt_util.start_of_local_day().timestamp()
        self.stats.people = await self.db(self.store.count_people)
        self.stats.passages_today = await self.db(
            lambda: self.store.count_passages(since=day_start)
        )
        self.stats.day_start = day_start
        async_dispatcher_send(self.hass, self.state_signal)

    @callback
    def async_new_day(self) -> None:
        self.stats.passages_today = 0
        self.stats.day_start = dt_util.start_of_local_day().timestamp()
        async_dispatcher_send(self.hass, self.state_signal)

    def refuses(self, rt: GateRuntime, method: str) -> bool:
        """A credential kind the gate does not take (emergency opens regardless)."""
        return method not in rt.methods and not self.emergency

    def gate_runtime(self, gate_id: str) -> GateRuntime:
        try:
            return self.gates[gate_id]
        except KeyError:
            raise UnknownGateError("no such gate", gate_id=gate_id) from None

    # --------------------------------------------------------------- the path
    async def async_present(
        self,
        gate_id: str,
        kind: CredentialKind,
        value: object,
        *,
        direction: Direction | None = None,
        context: Context | None = None,
        caller: str | None = None,
    ) -> PassageOutcome:
        """A reader presents a credential: decide, open if allowed, log, then tell.

        ``caller`` is who presents (an MQTT reader: ``mqtt:<device id>``); without it,
        the Home Assistant user of ``context``, or the gate's own automations."""
        rt = self.gate_runtime(gate_id)
        now = dt_util.now()
        method = Method(kind.value)
        if self.refuses(rt, kind.value):
            decision = Decision(False, Reason.METHOD_NOT_ACCEPTED)
            return await self._complete(rt, decision, method, direction, context, None)
        key: ThrottleKey = (rt.gate.id, caller or _caller(context))
        # An emergency opens for anyone: nobody is kept in by a lock-out during a fire.
        admitted = not self.emergency
        if admitted and not self.throttle.admit(key, now.timestamp()):
            # Refused unexamined: a right guess during a lock-out opens and tells nothing.
            decision = Decision(False, Reason.THROTTLED)
            return await self._complete(rt, decision, method, direction, context, None)
        failed = False
        try:
            decision = await self.db(
                lambda: self.access.evaluate(
                    rt.gate,
                    kind,
                    value,
                    now,
                    direction=direction,
                    emergency=self.emergency,
                    lockdown=self.lockdown,
                    min_pin_length=self.min_pin_length,
                )
            )
            failed = decision.reason in FAILED_GUESSES
        finally:
            if admitted:
                until = self.throttle.done(key, dt_util.now().timestamp(), failed=failed)
                if until is not None:
                    # Ids only: the gate and who; never a tried value.
                    _LOGGER.warning(
                        "Gate %s: too many failed credentials from %s; refused for %.0f s",
                        rt.gate.id,
                        key[1] or "its automations",
                        until - dt_util.now().timestamp(),
                    )
        return await self._complete(rt, decision, method, direction, context, None)

    async def async_present_face(
        self,
        gate_id: str,
        *,
        person_id: str | None,
        template_id: str | None,
        distance: float | None,
        cluster_id: str | None,
        extra_flags: tuple[str, ...] = (),
        direction: Direction | None = None,
        context: Context | None = None,
        attack: bool = False,
        card_holders: frozenset[str] = frozenset(),
    ) -> PassageOutcome:
        """A face was matched (or not) by the face service: the same path as a card.
        ``attack``: its track was judged a presentation attack (``core/liveness.py``):
        refused ``presentation_attack``, naming the person the picture matched (or the
        stranger cluster) for the ``spoof_attempt`` rule, whatever the policy says.
        ``card_holders``: at a card + face gate, whose card was in when this live face
        turned out not to be theirs (``core/two_factor.py``): the row is flagged
        ``card_face_mismatch`` and the rules see the holders (the row never does)."""
        rt = self.gate_runtime(gate_id)
        now = dt_util.now()
        if self.refuses(rt, Method.FACE.value):
            decision = Decision(False, Reason.METHOD_NOT_ACCEPTED)
            return await self._complete(
                rt, decision, Method.FACE, direction, context, None, cluster_id=cluster_id
            )
        if attack:
            decision = Decision(False, Reason.PRESENTATION_ATTACK, person_id=person_id)
            card_holders = frozenset()  # a picture is no one's face: spoof_attempt's
        else:
            decision = await self.db(
                lambda: self.access.evaluate_face(
                    rt.gate,
                    person_id,
                    template_id,
                    now,
                    direction=direction,
                    emergency=self.emergency,
                    lockdown=self.lockdown,
                )
            )
        return await self._complete(
            rt,
            decision,
            Method.FACE,
            direction,
            context,
            None,
            distance=distance,
            cluster_id=cluster_id,
            extra_flags=(*extra_flags, MISMATCH_FLAG) if card_holders else extra_flags,
            card_holders=card_holders,
        )

    async def async_open(
        self,
        gate_id: str,
        *,
        note: str | None,
        context: Context | None = None,
        direction: Direction | None = None,
    ) -> PassageOutcome:
        """Staff open a gate remotely (service, button or dashboard)."""
        rt = self.gate_runtime(gate_id)
        decision = Decision(True, Reason.REMOTE_OPEN)
        return await self._complete(rt, decision, Method.REMOTE, direction, context, note)

    async def async_set_emergency(
        self, active: bool, *, note: str | None, context: Context | None = None
    ) -> list[PassageOutcome]:
        """Emergency open-all (fire alarm, staff switch). Persisted across restarts."""
        self.emergency = active
        saved = asyncio.ensure_future(
            self.db(self.store.set_setting, SETTING_EMERGENCY, "1" if active else "0")
        )
        if active:
            # Fail-safe: a locked or failing database must not hold the gates shut.
            await asyncio.wait({saved}, timeout=FAIL_SAFE_WAIT_S)
        else:
            await saved
        self.hass.bus.async_fire(
            EVENT_EMERGENCY,
            {"entry_id": self.entry.entry_id, "active": active},
            context=context,
        )
        async_dispatcher_send(self.hass, self.state_signal)
        if not active:
            await self.relays.async_release_all()  # MQTT relays were held open
            return []
        decision = Decision(True, Reason.EMERGENCY_OPEN)
        try:
            return list(
                await asyncio.gather(
                    *(
                        self._complete(rt, decision, Method.EMERGENCY, None, context, note)
                        for rt in self.gates.values()
                    )
                )
            )
        finally:
            try:
                await saved
            except (StoreError, EstateClosedError) as err:
                # The gates are open and the hub decides "open" until switched off, but
                # a restart would forget it.
                _LOGGER.error("Emergency state NOT saved (%s): lost on restart", err.code)

    async def async_set_lockdown(self, active: bool, *, context: Context | None = None) -> bool:
        """Enter or leave lockdown. Saved before it takes effect: a lockdown a restart
        would forget is not one (and with the database failing, entries stay shut
        anyway: their passage rows cannot be written). Returns whether it changed."""
        if active == self.lockdown:
            return False
        await self.db(self.store.set_setting, SETTING_LOCKDOWN, "1" if active else "0")
        self.lockdown = active
        _LOGGER.warning("Estate lockdown %s", "on: only staff pass" if active else "off")
        self.hass.bus.async_fire(
            EVENT_LOCKDOWN, {"entry_id": self.entry.entry_id, "active": active}, context=context
        )
        async_dispatcher_send(self.hass, self.state_signal)
        return True

    async def _complete(
        self,
        rt: GateRuntime,
        decision: Decision,
        method: Method,
        direction: Direction | None,
        context: Context | None,
        note: str | None,
        *,
        distance: float | None = None,
        cluster_id: str | None = None,
        extra_flags: tuple[str, ...] = (),
        card_holders: frozenset[str] = frozenset(),
    ) -> PassageOutcome:
        if rt.face_mode is FaceMode.CARD_AND_FACE:
            decision = self.pairing.decide(rt.gate.id, decision, method, dt_util.now().timestamp())
        row = build_passage(
            decision,
            gate=rt.gate,
            method=method,
            direction=direction,
            note=note,
            extra_flags=extra_flags,
            distance=distance,
            cluster_id=cluster_id,
            card_holders=card_holders,
        )
        if not decision.allowed:
            return self._tell(rt, await self.async_write(row), decision, None, context)
        if is_fail_safe(row):
            return await self._open_fail_safe(rt, row, decision, context)
        # Fail-secure: the intent is durable before the gate moves. A log that cannot
        # be written raises here, and the gate stays shut.
        passage = await self.async_write(row)
        failure = await self._actuate(rt, context)
        if failure is not None:
            passage = await self._record_failure(passage, failure)
        return self._tell(rt, passage, decision, failure, context)

    async def _open_fail_safe(
        self, rt: GateRuntime, row: Passage, decision: Decision, context: Context | None
    ) -> PassageOutcome:
        """An exit or an emergency: log first when the database answers, but open
        anyway when it does not (nobody is kept in by a locked or failing log)."""
        write = asyncio.ensure_future(self.async_write(row))
        await asyncio.wait({write}, timeout=FAIL_SAFE_WAIT_S)
        failure = await self._actuate(rt, context)
        try:
            passage = await write
        except StoreError:
            # Codes only; async_write has already said the row is lost.
            _LOGGER.error(
                "Gate %s opened WITHOUT a passage row: gate %s, method %s, direction %s,"
                " reason %s (fail-safe); note it by hand",
                rt.gate.id,
                row.gate_id,
                row.method.value,
                row.direction.value,
                row.reason.value,
            )
            return PassageOutcome(row, decision, failure, logged=False)
        if failure is not None:
            passage = await self._record_failure(passage, failure)
        return self._tell(rt, passage, decision, failure, context)

    async def _actuate(self, rt: GateRuntime, context: Context | None) -> str | None:
        """Open the gate; the actuator's failure code, or None when it opened."""
        try:
            await rt.actuator.open(context)
        except ActuatorError as err:
            # The decision stands and is logged; staff see the failed actuation. An
            # absent actuator was logged once when it went away: not once per attempt.
            level = logging.DEBUG if err.code in ABSENT_CODES else logging.WARNING
            _LOGGER.log(level, "Gate %s did not open: %s", rt.gate.id, err.code)
            return err.code
        return None

    async def _record_failure(self, passage: Passage, code: str) -> Passage:
        """Add the actuator's failure code to the already durable row."""
        assert passage.id is not None
        flags = (*passage.flags, code)
        try:
            await self.db(self.store.set_passage_flags, passage.id, flags)
        except StoreError, EstateClosedError:
            _LOGGER.error("Passage %s: actuator failure %s NOT recorded", passage.id, code)
        return replace(passage, flags=flags)

    def _tell(
        self,
        rt: GateRuntime,
        passage: Passage,
        decision: Decision,
        failure: str | None,
        context: Context | None,
    ) -> PassageOutcome:
        """The row is durable (with its actuation outcome): now tell everyone."""
        rt.last_passage = passage
        # Rows, as a recount from the log gives: a repeat folded into an episode is not one.
        if passage.count == 1 and passage.ts >= self.stats.day_start:
            self.stats.passages_today += 1
        self.hass.bus.async_fire(EVENT_PASSAGE, passage_event_data(self, passage), context=context)
        async_dispatcher_send(self.hass, self.passage_signal, passage)
        async_dispatcher_send(self.hass, self.state_signal)
        return PassageOutcome(passage, decision, failure)

    # ------------------------------------------------------------ field devices
    @property
    def field_signal(self) -> str:
        return SIGNAL_FIELD.format(self.entry.entry_id)

    @callback
    def async_field_input(self, field_input: FieldInput) -> None:
        """A field device reported something that is not a credential: an HA event for
        automations (ids and values only) and the field signal, which the alert rules
        (device_offline, door_held_open / forced_open, fever) listen to."""
        f = field_input
        self.hass.bus.async_fire(
            f.event,
            {
                "entry_id": self.entry.entry_id,
                "kind": f.event,
                "device_id": f.device_id,
                "gate_id": f.gate_id,
                **f.values,
                "ts": f.ts,
            },
        )
        async_dispatcher_send(self.hass, self.field_signal, f)
        if f.event == EVENT_DEVICE_STATUS:
            async_dispatcher_send(self.hass, self.state_signal)

    async def async_write(self, passage: Passage) -> Passage:
        """Commit a passage through the group-commit journal; returns it once durable."""
        if self.closed:
            raise EstateClosedError
        try:
            return await asyncio.wrap_future(self.journal.submit(passage))
        except StoreError:
            # Codes only: the row is lost and staff must know which gate and what.
            _LOGGER.error(
                "Passage NOT logged: gate %s, method %s, reason %s",
                passage.gate_id,
                passage.method.value,
                passage.reason.value,
            )
            raise
        except RuntimeError as err:  # the worker was shut down under us
            raise EstateClosedError from err

    async def async_purge(self, retention_days: int) -> int:
        cutoff = (dt_util.utcnow() - timedelta(days=retention_days)).timestamp()
        try:
            removed = await self.db(self.store.purge_passages, cutoff)
            if removed:
                _LOGGER.info("Retention purge removed %d passages", removed)
                await self.async_refresh_stats()
        except EstateClosedError:
            return 0  # unloaded mid-purge: what was deleted is committed
        return removed

    @property
    def alert_signal(self) -> str:
        """Where the alert rules publish what they raise (the alert event entity)."""
        return SIGNAL_ALERT.format(self.entry.entry_id)


def is_fail_safe(p: Passage) -> bool:
    """A granted passage that opens even when it cannot be logged: a way out, or an
    emergency. Every other opening (an entry, a remote open) is fail-secure."""
    return (
        p.direction is Direction.OUT
        or p.method is Method.EMERGENCY
        or p.reason is Reason.EMERGENCY_OPEN
    )


def _caller(context: Context | None) -> str:
    """The throttle's caller for a presentation without an explicit one: the Home
    Assistant user, or ``""`` for automations and scripts (the gate's own readers)."""
    user_id = context.user_id if context is not None else None
    return f"user:{user_id}" if user_id else ""


def passage_event_data(hub: EstateHub, p: Passage) -> dict[str, Any]:
    """Event payload: ids and codes only, never names or credential values.

    One event per presentation, folded or not: ``time`` is this presentation's (the
    row's latest sighting), ``passage_id`` the row that holds it, ``count`` how many
    presentations that row holds so far and ``first_seen`` when the first was."""
    return {
        "entry_id": hub.entry.entry_id,
        "passage_id": p.id,
        "gate_id": p.gate_id,
        "direction": p.direction.value,
        "method": p.method.value,
        "allowed": p.allowed,
        "reason": p.reason.value,
        "person_id": p.person_id,
        "unit_id": p.unit_id,
        "flags": list(p.flags),
        "cluster_id": p.cluster_id,
        "time": datetime.fromtimestamp(p.seen, dt_util.UTC).isoformat(),
        "count": p.count,
        "first_seen": datetime.fromtimestamp(p.ts, dt_util.UTC).isoformat(),
    }
