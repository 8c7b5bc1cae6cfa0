"""Field devices over MQTT, through Home Assistant's own ``mqtt`` integration.

Inbound (device -> hub): every message is checked in this order, cheapest first, and
nothing is acted on before all checks pass: size, signature suffix, known device, HMAC
over topic + body, device bound to the topic's gate (``core/device_auth.py``, shared
with the HTTP terminal endpoint), schema, clock skew, and finally the counter, claimed
durably in the database (a restart never reopens a replay window; one counter per
device whatever channel it uses).
A refused message is counted per reason, logged with its topic and reason (never the
payload), and opens nothing.

Outbound (hub -> device): ``relay/set`` and ``decision`` are signed with the device's
key and a counter from a reserved block (see ``CounterWindow``).

Hand-over to the rule engine: device status, door contact, exit button and temperature
become ``FieldInput``s given to ``EstateHub.async_field_input``, which fires an HA event
and the hub's field signal; the alert rules (``device_offline``, ``door_held_open``,
``forced_open``, ``fever``) listen there.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from homeassistant.components import mqtt
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
import numpy as np

from .actuators import RelayUnavailableError
from .availability import AvailabilityLog
from .const import (
    CONF_MQTT_DEVICE,
    EVENT_DEVICE_STATUS,
    EVENT_DOOR,
    EVENT_EXIT,
    EVENT_TEMPERATURE,
)
from .core import contract as c
from .core.device_auth import DeviceAuth
from .core.devices import DeviceKey
from .core.display import prompt
from .core.errors import CoreError, EstateClosedError
from .core.model import CredentialKind, Direction, Method, Reason
from .core.throttle import device_caller
from .entry_kind import entry_topic
from .hub import FieldInput
from .mqtt_issue import async_update_mqtt_issue

if TYPE_CHECKING:
    from .face import FaceService
    from .hub import EstateHub, PassageOutcome

_LOGGER = logging.getLogger(__name__)

HEARTBEAT_TIMEOUT = timedelta(seconds=90)
WATCHDOG_INTERVAL = timedelta(seconds=15)
QOS = 1
DISPLAY = {True: "Welcome", False: "Access denied"}


def _display(reason: str, allowed: bool, *, face: bool = False) -> str:
    """The terminal's screen text for a decision reason (core/display.py, the same text
    the HTTP terminal API sends); codes that are not decisions get the generic one."""
    try:
        return prompt(Reason(reason), face=face).text
    except ValueError:
        return DISPLAY[allowed]


@callback
def no_delay(hass: HomeAssistant) -> None:
    """TCP_NODELAY on HA's MQTT socket (best effort, through HA internals).

    paho does not set it. Without it a relay command written right after the PUBACK of
    the card read waits for the broker's delayed ACK (Nagle): ~40 ms on Linux, the
    largest share of the card-to-relay latency. If HA's internals change, this does
    nothing and only latency suffers."""
    try:
        from homeassistant.components.mqtt.models import DATA_MQTT

        sock: Any = hass.data[DATA_MQTT].client._mqttc.socket()
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, KeyError, ImportError, OSError) as err:
        _LOGGER.debug("TCP_NODELAY not set on the MQTT socket: %s", type(err).__name__)


@dataclass(slots=True)
class LinkStats:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    relay_commands: int = 0
    failed: Counter[str] = field(default_factory=Counter)


class MqttLink:
    """One estate's MQTT presence: subscriptions, device keys, counters, liveness."""

    def __init__(
        self, hass: HomeAssistant, hub: EstateHub, face: FaceService, auth: DeviceAuth
    ) -> None:
        self.hass = hass
        self.hub = hub
        self.face = face
        # The estate's devices, loaded by the runtime (the HTTP terminal endpoint uses
        # the same registry and counters).
        self.auth = auth
        # Unique among the loaded estates: set-up refuses a second one (``__init__.py``).
        self.estate = entry_topic(hub.entry)
        self.stats = LinkStats()
        self.ready = False
        # Set once Home Assistant reports no MQTT client (the integration is not set up).
        self.mqtt_missing = False
        self._tx_lock = asyncio.Lock()
        self._last_seen: dict[str, float] = {}
        self._online: dict[str, bool] = {}
        self._availability = AvailabilityLog(_LOGGER)
        self._unsubs: list[CALLBACK_TYPE] = []
        # Controllers send a heartbeat every 30 s; three missed ones mean offline.
        self.heartbeat_timeout = HEARTBEAT_TIMEOUT.total_seconds()

    # ----------------------------------------------------------------- lifecycle
    @property
    def base(self) -> str:
        return c.base_topic(self.estate)

    def relay_device(self, gate_id: str) -> str | None:
        rt = self.hub.gates.get(gate_id)
        if rt is None:
            return None
        sub = self.hub.entry.subentries.get(rt.subentry_id)
        return (sub.data.get(CONF_MQTT_DEVICE) or None) if sub else None

    async def async_start(self) -> None:
        """Wait for HA's MQTT client (the broker the user configured), then subscribe.
        Without the mqtt integration the estate runs without field devices."""
        # Gates opened by a controller's relay send their commands through us.
        self.hub.relays.link = self
        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            _LOGGER.info("MQTT is not set up in Home Assistant: no field devices")
            self.mqtt_missing = True
            async_update_mqtt_issue(self.hass, self.hub.entry, missing=True)
            return
        async_update_mqtt_issue(self.hass, self.hub.entry, missing=False)
        # One subscription per inbound leaf: the hub never hears its own ``decision``
        # and ``relay/set`` messages (HA sends the batch in one SUBSCRIBE).
        for leaf in sorted(c.INBOUND_LEAVES):
            self._unsubs.append(
                await mqtt.async_subscribe(
                    self.hass, f"{self.base}/+/{leaf}", self._on_message, qos=QOS, encoding=None
                )
            )
        self._unsubs.append(async_track_time_interval(self.hass, self._watchdog, WATCHDOG_INTERVAL))
        self._unsubs.append(mqtt.async_subscribe_connection_status(self.hass, self._on_connection))
        self._on_connection(mqtt.is_connected(self.hass))
        self.ready = True
        _LOGGER.debug("MQTT link up on %s/# with %d devices", self.base, len(self.auth))

    @callback
    def _on_connection(self, connected: bool) -> None:
        if connected:
            no_delay(self.hass)

    @callback
    def async_stop(self) -> None:
        self.ready = False
        if self.hub.relays.link is self:
            self.hub.relays.link = None
        while self._unsubs:
            self._unsubs.pop()()

    # ------------------------------------------------------------------- liveness
    def forget_device(self, device_id: str) -> None:
        """A removed device: no longer online anywhere (its key is gone already)."""
        self._online.pop(device_id, None)

    def device_online(self, device_id: str) -> bool:
        return self._online.get(device_id, False)

    def gate_online(self, gate_id: str) -> bool:
        dev = self.relay_device(gate_id)
        return (
            dev is not None
            and self.ready
            and mqtt.is_connected(self.hass)
            and self.device_online(dev)
        )

    async def _set_online(self, device_id: str, gate_id: str, online: bool, ts: float) -> None:
        if self._online.get(device_id) == online:
            return
        self._online[device_id] = online
        # Transitions only (see above): a device first heard after a restart logs nothing.
        self._availability.update(device_id, online, f"MQTT device {device_id} at gate {gate_id}")
        self.hub.async_field_input(
            FieldInput(EVENT_DEVICE_STATUS, device_id, gate_id, ts, {"online": online})
        )
        if online and self.hub.emergency and self.relay_device(gate_id) == device_id:
            # A controller that rebooted (or a hub that restarted) during an emergency
            # holds its gate open again: the emergency state lives in the hub.
            try:
                await self.async_relay(gate_id, 0, hold=True)
            except RelayUnavailableError:
                _LOGGER.warning("Could not hold gate %s open for the emergency", gate_id)

    @callback
    def _watchdog(self, now: datetime) -> None:
        cutoff = now.timestamp() - self.heartbeat_timeout
        for dev_id, seen in list(self._last_seen.items()):
            if seen < cutoff and self._online.get(dev_id):
                dev = self.auth.devices.get(dev_id)
                if dev is not None:
                    self.hass.async_create_task(
                        self._set_online(dev_id, dev.gate_id, False, now.timestamp()),
                        eager_start=True,
                    )

    # -------------------------------------------------------------------- inbound
    def _reject(self, topic: str, code: str) -> None:
        self.stats.rejected[code] += 1
        # %r: a topic is the sender's string, and a newline in it must not start a line.
        _LOGGER.warning("MQTT message on %r refused: %s", topic[:200], code)

    async def _on_message(self, msg: mqtt.ReceiveMessage) -> None:
        raw = msg.payload
        # We subscribed with encoding=None: bytes. A str would be a contract breach of
        # HA's, still handled rather than crashed on.
        payload = raw.encode() if isinstance(raw, str) else bytes(raw)
        try:
            await self._handle(msg.topic, payload)
        except c.ContractError as err:
            self._reject(msg.topic, err.code)
        except EstateClosedError:
            pass  # the estate is unloading; the device will send again
        except CoreError as err:
            # A valid message the hub could not serve (e.g. the database failed): never a
            # traceback in HA's MQTT callback, always a reason in the log.
            self.stats.failed[err.code] += 1
            _LOGGER.error("MQTT message on %r not handled: %s", msg.topic[:200], err.code)

    async def _handle(self, topic: str, payload: bytes) -> None:
        gate_id, leaf = c.split_topic(self.estate, topic)
        if gate_id not in self.hub.gates:
            raise c.ContractError("unknown_gate")
        if leaf is c.Leaf.STATUS and payload.strip() == c.OFFLINE:
            # The broker's last will: unsigned by nature (fixed at connect time), so it
            # can only ever mark devices offline: a forged one raises an alert, opens nothing.
            now = time.time()
            for dev in self.auth.on_gate(gate_id):
                await self._set_online(dev.id, gate_id, False, now)
            return
        dev, body = self.auth.authenticate(topic, gate_id, payload)
        dev_id = dev.id
        now = time.time()
        message = c.parse(gate_id, leaf, body, now=now)
        if not await self.hub.db(self.hub.store.claim_device_counter, dev_id, message.envelope.ctr):
            raise c.ContractError("replay")
        self.stats.accepted += 1
        self._last_seen[dev_id] = dt_util.utcnow().timestamp()
        await self._set_online(dev_id, gate_id, True, now)
        await self._dispatch(dev, message, now)

    async def _dispatch(self, dev: DeviceKey, m: c.Message, now: float) -> None:
        f = m.fields
        direction = Direction(f["dir"]) if f.get("dir") else None
        if m.leaf in c.READER_LEAVES:
            outcome = await self.hub.async_present(
                m.gate,
                CredentialKind(m.leaf.value),
                f["value"],
                direction=direction,
                caller=f"mqtt:{dev.id}",  # each reader is throttled on its own
            )
            await self._decision(dev, m.gate, outcome)
        elif m.leaf is c.Leaf.FACE:
            await self._face(dev, m.gate, f["emb"], direction)
        elif m.leaf is c.Leaf.DOOR:
            self.hub.async_field_input(
                FieldInput(EVENT_DOOR, dev.id, m.gate, now, {"open": f["open"]})
            )
        elif m.leaf is c.Leaf.EXIT:
            self.hub.async_field_input(FieldInput(EVENT_EXIT, dev.id, m.gate, now))
        elif m.leaf is c.Leaf.TEMPERATURE:
            self.hub.async_field_input(
                FieldInput(EVENT_TEMPERATURE, dev.id, m.gate, now, {"celsius": f["c"]})
            )
        elif m.leaf is c.Leaf.FIRE and f["active"] and not self.hub.emergency:
            # A released fire input does not end the emergency: staff reset it once the
            # building is safe, so an evacuation is never locked in by a flapping input.
            _LOGGER.warning("Fire alarm from device %s at gate %s", dev.id, m.gate)
            await self.hub.async_set_emergency(True, note=f"fire alarm {dev.id}")

    async def _face(
        self, dev: DeviceKey, gate_id: str, emb: list[float], direction: Direction | None
    ) -> None:
        try:
            outcome = await self.face.async_present_embedding(
                gate_id,
                np.asarray(emb, dtype=np.float32),
                direction=direction,
                caller=device_caller(dev.id),  # one unknown-face budget per device
            )
        except CoreError as err:
            # A valid message we cannot serve: the terminal hears "denied" and why.
            _LOGGER.warning("Terminal %s embedding not decided: %s", dev.id, err.code)
            await self._publish_decision(dev, gate_id, False, err.code)
            return
        if outcome is not None:
            await self._decision(dev, gate_id, outcome)

    async def _decision(self, dev: DeviceKey, gate_id: str, outcome: PassageOutcome) -> None:
        p = outcome.passage
        face = p.method is Method.FACE
        await self._publish_decision(dev, gate_id, p.allowed, p.reason.value, face=face)

    async def _publish_decision(
        self, dev: DeviceKey, gate_id: str, allowed: bool, reason: str, *, face: bool = False
    ) -> None:
        t = c.topic(self.estate, gate_id, c.Leaf.DECISION)
        ctr = await self._next_ctr(dev.id)
        payload = c.decision_message(
            dev.key,
            t,
            device=dev.id,
            ctr=ctr,
            ts=time.time(),
            allowed=allowed,
            reason=reason,
            display=_display(reason, allowed, face=face),
            voice="welcome" if allowed else "denied",
        )
        await self._publish(t, payload)

    # ------------------------------------------------------------------- outbound
    async def _next_ctr(self, device_id: str) -> int:
        async with self._tx_lock:
            ctr, persist = self.auth.tx_window(device_id).take()
            if persist is not None:
                await self.hub.db(self.hub.store.reserve_device_counter, device_id, persist)
            return ctr

    async def _publish(self, topic: str, payload: bytes) -> None:
        try:
            await mqtt.async_publish(
                self.hass, topic, payload, qos=QOS, retain=False, encoding=None
            )
        except HomeAssistantError as err:
            raise RelayUnavailableError from err

    async def async_relay(self, gate_id: str, pulse_seconds: float, *, hold: bool) -> None:
        """Publish a signed ``relay/set`` to the gate's controller."""
        dev_id = self.relay_device(gate_id)
        dev = self.auth.devices.get(dev_id) if dev_id else None
        if dev is None or not self.ready or not mqtt.is_connected(self.hass):
            # Never queue a relay command to be delivered whenever the broker returns:
            # a gate opening minutes late is worse than the flagged failure.
            raise RelayUnavailableError
        t = c.topic(self.estate, gate_id, c.Leaf.RELAY_SET)
        ctr = await self._next_ctr(dev.id)
        payload = c.relay_command(
            dev.key,
            t,
            device=dev.id,
            ctr=ctr,
            ts=time.time(),
            pulse_ms=int(pulse_seconds * 1000),
            hold=hold,
        )
        await self._publish(t, payload)
        self.stats.relay_commands += 1
        if not self.device_online(dev.id):
            # Sent (it may be just late with its heartbeat) but flagged on the passage.
            raise RelayUnavailableError

    async def async_release_all(self) -> None:
        """Emergency over: release every held MQTT relay."""
        for gate_id in self.hub.gates:
            if self.relay_device(gate_id) is None:
                continue
            try:
                await self.async_relay(gate_id, 0, hold=False)
            except RelayUnavailableError:
                _LOGGER.warning("Could not release relay of gate %s", gate_id)

    def diagnostics(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "estate_topic": self.base,
            "devices": len(self.auth),
            "online": sorted(d for d, on in self._online.items() if on),
            "accepted": self.stats.accepted,
            "rejected": dict(self.stats.rejected),
            "relay_commands": self.stats.relay_commands,
            "failed": dict(self.stats.failed),
        }
