"""Gate actuators: one small class per HA entity domain that can open a gate.

The hub only ever calls ``open()``; how a lock, a switch, a cover or a button turns
that into service calls (and how a pulse ends) lives here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Callable, Coroutine
import logging
from typing import Any, Protocol

from homeassistant.components.lock import LockEntityFeature
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_SUPPORTED_FEATURES,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later

_LOGGER = logging.getLogger(__name__)
SERVICE_TIMEOUT = 10.0


# The actuator is not there at all: logged once when it goes away (alerts.py,
# mqtt_link.py), so a failed opening because of it is not logged again per attempt.
# Logged once when they arise (a repair issue, an entity going unavailable), not per try.
ABSENT_CODES = frozenset({"actuator_missing", "actuator_unavailable", "mqtt_unavailable"})


class ActuatorError(Exception):
    """The actuator could not be driven; ``code`` is a translation key."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Actuator(ABC):
    """Opens one gate through one Home Assistant entity."""

    def __init__(self, hass: HomeAssistant, entity_id: str, pulse_seconds: float) -> None:
        self.hass = hass
        self.entity_id = entity_id
        self.pulse_seconds = pulse_seconds
        self._pending_close: CALLBACK_TYPE | None = None
        self._closer: Callable[[], Coroutine[Any, Any, None]] | None = None

    @property
    def available(self) -> bool:
        state = self.hass.states.get(self.entity_id)
        return state is not None and state.state != STATE_UNAVAILABLE

    async def open(self, context: Context | None) -> None:
        """Open the gate; raise ``ActuatorError`` when it cannot be done."""
        if self.hass.states.get(self.entity_id) is None:
            raise ActuatorError("actuator_missing")
        if not self.available:
            raise ActuatorError("actuator_unavailable")
        try:
            async with asyncio.timeout(SERVICE_TIMEOUT):
                await self._open(context)
        except TimeoutError as err:
            raise ActuatorError("actuator_timeout") from err
        except HomeAssistantError as err:
            _LOGGER.warning("Actuator %s failed: %s", self.entity_id, type(err).__name__)
            raise ActuatorError("actuator_failed") from err

    @abstractmethod
    async def _open(self, context: Context | None) -> None: ...

    async def _call(self, domain: str, service: str, context: Context | None) -> None:
        # The hub has decided; the gate opens on the integration's authority, not the
        # caller's (a non-admin reader user may not control the relay entity itself).
        # A child context keeps the logbook link to the call that caused it.
        child = Context(parent_id=context.id) if context is not None else None
        await self.hass.services.async_call(
            domain, service, {ATTR_ENTITY_ID: self.entity_id}, blocking=True, context=child
        )

    def _close_later(self, closer: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Schedule the end of the pulse; a new open restarts the pulse."""
        self.cancel()

        @callback
        def _fire(_now: object) -> None:
            self._pending_close = None
            self._closer = None
            self.hass.async_create_task(closer(), eager_start=True)

        self._closer = closer
        self._pending_close = async_call_later(self.hass, self.pulse_seconds, _fire)

    async def release(self) -> None:
        """End a running pulse now (unload, reload): a relay must not stay on, nor a
        lock stay unlocked, because the timer that would end the pulse went away."""
        closer = self._closer
        self.cancel()
        if closer is not None:
            try:
                async with asyncio.timeout(SERVICE_TIMEOUT):
                    await closer()
            except TimeoutError:
                _LOGGER.warning("Releasing %s timed out", self.entity_id)

    async def close_if_left_open(self) -> bool:
        """At start: end a pulse the last run began and never ended (a crash or power
        cut between on and off). Only actuators whose pulse has an end to restore do
        anything; True when one was ended."""
        return False

    def _state_is(self, value: str) -> bool:
        state = self.hass.states.get(self.entity_id)
        return state is not None and state.state == value

    @callback
    def cancel(self) -> None:
        if self._pending_close is not None:
            self._pending_close()
            self._pending_close = None
        self._closer = None


class LockActuator(Actuator):
    """``lock.open`` where the lock supports it (a strike pulse), else unlock + relock."""

    async def _open(self, context: Context | None) -> None:
        state = self.hass.states.get(self.entity_id)
        features = int(state.attributes.get(ATTR_SUPPORTED_FEATURES, 0)) if state else 0
        if features & LockEntityFeature.OPEN:
            await self._call("lock", "open", context)
            return
        await self._call("lock", "unlock", context)
        self._close_later(lambda: self._relock(context))

    async def close_if_left_open(self) -> bool:
        # Only unlock + relock locks pulse here; lock.open is the lock's own strike.
        state = self.hass.states.get(self.entity_id)
        features = int(state.attributes.get(ATTR_SUPPORTED_FEATURES, 0)) if state else 0
        if features & LockEntityFeature.OPEN or not self._state_is("unlocked"):
            return False
        await self._relock(None)
        return True

    async def _relock(self, context: Context | None) -> None:
        try:
            await self._call("lock", "lock", context)
        except HomeAssistantError as err:
            _LOGGER.warning("Relocking %s failed: %s", self.entity_id, type(err).__name__)


class SwitchActuator(Actuator):
    """A relay: on for ``pulse_seconds``, then off."""

    async def _open(self, context: Context | None) -> None:
        await self._call("switch", "turn_on", context)
        self._close_later(lambda: self._off(context))

    async def close_if_left_open(self) -> bool:
        if not self._state_is(STATE_ON):
            return False
        await self._off(None)
        return True

    async def _off(self, context: Context | None) -> None:
        try:
            await self._call("switch", "turn_off", context)
        except HomeAssistantError as err:
            _LOGGER.warning("Releasing %s failed: %s", self.entity_id, type(err).__name__)


class CoverActuator(Actuator):
    """A barrier or sliding gate: opened; it closes by its own safety logic."""

    async def _open(self, context: Context | None) -> None:
        await self._call("cover", "open_cover", context)


class ButtonActuator(Actuator):
    """A momentary output exposed as a button entity."""

    async def _open(self, context: Context | None) -> None:
        await self._call("button", "press", context)


class RelayUnavailableError(Exception):
    """An MQTT relay command could not be sent, or its controller is offline."""


class RelayLink(Protocol):
    """What an MQTT relay needs from the MQTT link (``mqtt_link.MqttLink``)."""

    # Home Assistant's MQTT integration is not set up: no controller can be reached.
    mqtt_missing: bool

    def gate_online(self, gate_id: str) -> bool: ...

    async def async_relay(self, gate_id: str, pulse_seconds: float, *, hold: bool) -> None: ...

    async def async_release_all(self) -> None: ...


class RelayPort:
    """The hub's socket for the MQTT link. The link plugs itself in while it runs, so
    the hub (which the link depends on) never has to know about MQTT."""

    def __init__(self) -> None:
        self.link: RelayLink | None = None

    async def async_release_all(self) -> None:
        """Emergency over: release every relay that was held open."""
        if self.link is not None:
            await self.link.async_release_all()


class MqttRelayActuator(Actuator):
    """A relay on a field controller, commanded by a signed ``relay/set`` message.
    The controller times the pulse itself (it must close even if the hub goes away);
    during an emergency the command holds the relay until it is released."""

    def __init__(
        self,
        hass: HomeAssistant,
        gate_id: str,
        pulse_seconds: float,
        port: RelayPort,
        emergency: Callable[[], bool],
    ) -> None:
        super().__init__(hass, "", pulse_seconds)
        self.gate_id = gate_id
        self._port = port
        self._emergency = emergency

    @property
    def available(self) -> bool:
        link = self._port.link
        return link is not None and link.gate_online(self.gate_id)

    async def open(self, context: Context | None) -> None:
        link = self._port.link
        if link is None or link.mqtt_missing:
            # Not the controller: Home Assistant has no MQTT to reach it (a repair says so).
            raise ActuatorError("mqtt_unavailable")
        try:
            async with asyncio.timeout(SERVICE_TIMEOUT):
                await link.async_relay(self.gate_id, self.pulse_seconds, hold=self._emergency())
        except TimeoutError as err:
            raise ActuatorError("actuator_timeout") from err
        except RelayUnavailableError as err:
            raise ActuatorError("actuator_unavailable") from err

    async def _open(self, context: Context | None) -> None:  # pragma: no cover - open() above
        raise NotImplementedError


_BY_DOMAIN: dict[str, type[Actuator]] = {
    "lock": LockActuator,
    "switch": SwitchActuator,
    "cover": CoverActuator,
    "button": ButtonActuator,
}


def make_actuator(hass: HomeAssistant, entity_id: str, pulse_seconds: float) -> Actuator:
    domain = entity_id.partition(".")[0]
    try:
        cls = _BY_DOMAIN[domain]
    except KeyError as err:
        raise ActuatorError("actuator_domain") from err
    return cls(hass, entity_id, pulse_seconds)
