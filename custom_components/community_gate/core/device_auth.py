"""Who a field device is, on every channel it talks on (MQTT, the HTTP terminal API).

A device is provisioned once with a key and bound to one gate (``devices.py``). Each
channel builds the string the device signed over (the MQTT topic, or ``http_topic`` for
the terminal endpoint; the two can never be equal, so a message signed for one channel
or gate is refused on any other) and hands the received bytes here. ``authenticate``
answers the proven device and its body, or raises ``ContractError`` naming why.

The replay state is one per device for every channel: inbound, the last accepted
counter in the estate database (``Store.claim_device_counter``, claimed by the caller
after the schema checks); outbound, one ``CounterWindow``. A message sent on MQTT and
replayed over HTTP (or the reverse) finds its counter already used.

Pure: no Home Assistant. The in-memory registry is read and changed on the event loop;
``DeviceKeys`` does the database work on the store's thread.
"""

from __future__ import annotations

from . import contract as c
from .devices import DeviceKey

# Reasons a message is not from a device we know: the caller is not told which.
UNAUTHENTICATED = frozenset(
    {"unsigned", "malformed_json", "bad_device_id", "unknown_device", "bad_signature"}
)


class DeviceAuth:
    """The estate's provisioned devices (clear keys, memory only) and their outbound
    counter windows."""

    def __init__(self) -> None:
        self.devices: dict[str, DeviceKey] = {}
        self._tx: dict[str, c.CounterWindow] = {}

    def __len__(self) -> int:
        return len(self.devices)

    def replace(self, devices: dict[str, DeviceKey]) -> None:
        """The devices as loaded from the store (at start)."""
        self.devices = dict(devices)
        self._tx = {d.id: c.CounterWindow(d.tx_reserved) for d in devices.values()}

    def add(self, dev: DeviceKey) -> None:
        """A device (re)provisioned: its new key replaces the old one at once. The
        counter window continues where the store says (re-keying keeps counters)."""
        self.devices[dev.id] = dev
        window = self._tx.get(dev.id)
        if window is None or window.reserved < dev.tx_reserved:
            self._tx[dev.id] = c.CounterWindow(dev.tx_reserved)

    def remove(self, device_id: str) -> None:
        """A device removed: its key opens nothing from now on, on every channel."""
        self.devices.pop(device_id, None)
        self._tx.pop(device_id, None)

    def on_gate(self, gate_id: str) -> list[DeviceKey]:
        return [d for d in self.devices.values() if d.gate_id == gate_id]

    def tx_window(self, device_id: str) -> c.CounterWindow:
        """The outbound counters of a device (one per device, whatever the channel)."""
        return self._tx.setdefault(device_id, c.CounterWindow(0))

    def authenticate(
        self, signed_over: str, gate_id: str, payload: bytes
    ) -> tuple[DeviceKey, bytes]:
        """The device that signed ``payload`` over ``signed_over``, bound to ``gate_id``,
        and the body it signed. Cheapest first, nothing parsed beyond the device id
        before the HMAC. The counter is not claimed here: the caller does it durably
        once the schema is checked, so a malformed message does not burn a counter."""
        body, sig = c.unsigned_body(payload)
        dev = self.devices.get(c.claimed_device(body))
        if dev is None:
            raise c.ContractError("unknown_device")
        c.verify(dev.key, signed_over, body, sig)
        if dev.gate_id != gate_id:
            # Proven, so the refusal may name it (its detail).
            raise c.ContractError("wrong_gate", dev.id)
        return dev, body
