"""Per-device MQTT keys: generated here, shown once, sealed at rest.

Synchronous: call on the store's thread.
"""

from __future__ import annotations

from dataclasses import dataclass
import secrets
import time as _time

from .crypto import DecryptError, Sealer, derive_key
from .ids import check_id
from .model import MqttDevice
from .store import Store

DEVICE_KEY_BYTES = 32


def device_sealer(master_key: bytes) -> Sealer:
    return Sealer(derive_key(master_key, "community_gate mqtt device keys v1"))


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """A device with its clear key (memory only)."""

    id: str
    gate_id: str
    key: bytes
    rx_ctr: int
    tx_reserved: int


class DeviceKeys:
    def __init__(self, store: Store, sealer: Sealer) -> None:
        self.store = store
        self._sealer = sealer

    @staticmethod
    def _aad(device_id: str, gate_id: str) -> str:
        # Bound to device and gate: a sealed key copied to another row does not open.
        return f"mqttdev|{device_id}|{gate_id}"

    def provision(self, device_id: str, gate_id: str) -> DeviceKey:
        """A fresh random key for ``device_id`` (replacing any old one)."""
        check_id(device_id, "device_id")
        self.store.get_gate(gate_id)
        key = secrets.token_bytes(DEVICE_KEY_BYTES)
        sealed = self._sealer.seal(key, self._aad(device_id, gate_id))
        dev = self.store.save_device(MqttDevice(device_id, gate_id, sealed, 0, 0, _time.time()))
        return DeviceKey(dev.id, dev.gate_id, key, dev.rx_ctr, dev.tx_reserved)

    def load(self) -> tuple[dict[str, DeviceKey], list[str]]:
        """Every readable device, and the ids of rows that failed to open (wrong
        estate key or tampering): those devices are refused, never trusted."""
        out: dict[str, DeviceKey] = {}
        bad: list[str] = []
        for dev in self.store.list_devices():
            try:
                key = self._sealer.open(dev.sealed_key, self._aad(dev.id, dev.gate_id))
            except DecryptError:
                bad.append(dev.id)
                continue
            out[dev.id] = DeviceKey(dev.id, dev.gate_id, key, dev.rx_ctr, dev.tx_reserved)
        return out, bad
