"""A throw-away mosquitto on a free loopback port (tests and the MQTT benchmark).

mosquitto from apt does not start itself without systemd; this runs the binary with a
generated config: loopback only, anonymous (it never leaves 127.0.0.1), no persistence.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
import shutil
import socket
import subprocess
import time
from typing import Any

CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def find_mosquitto() -> str | None:
    for path in CANDIDATES:
        if Path(path).is_file():
            return path
    return shutil.which("mosquitto")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    def __init__(self, workdir: Path, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            # Without it the broker holds small packets for the peer's delayed ACK
            # (Nagle): ~40 ms on each hop. Installers: set it on the estate broker too.
            "set_tcp_nodelay true\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class FieldDevice:
    """A simulated gate controller: signs what it sends (like the ESPHome config does)
    and records what the hub sends it. paho-mqtt 2.x, its own network thread."""

    def __init__(self, port: int, device_id: str, key: bytes, estate: str, gate: str) -> None:
        import queue

        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.device_id = device_id
        self.key = key
        self.estate = estate
        self.gate = gate
        self.ctr = 0
        self.received: queue.Queue[tuple[str, bytes, float]] = queue.Queue()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sim-{device_id}", protocol=paho.MQTTv311
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.enable_logger(logging.getLogger(f"{__name__}.{device_id}"))
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        # As the controller firmware should: no Nagle delay on small packets.
        self.client.on_socket_open = self._on_socket_open
        self.port = port
        self.connected = False

    def _on_connect(
        self, client: object, userdata: object, flags: object, rc: object, props: object = None
    ) -> None:
        self.connected = True
        # Only its own gate's commands, as a real controller is configured.
        self.client.subscribe(self.topic("relay/set"), qos=1)
        self.client.subscribe(self.topic("decision"), qos=1)

    def _on_socket_open(self, client: object, userdata: object, sock: Any) -> None:
        with contextlib.suppress(AttributeError, OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _on_message(self, client: object, userdata: object, msg: object) -> None:
        self.received.put((msg.topic, bytes(msg.payload), time.perf_counter()))  # type: ignore[attr-defined]

    def start(self) -> None:
        self.client.connect("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()
        deadline = time.monotonic() + 10
        while not self.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.connected:
            raise RuntimeError("simulated device could not connect")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def topic(self, leaf: str, gate: str | None = None) -> str:
        return f"community_gate/{self.estate}/{gate or self.gate}/{leaf}"

    def signed(
        self,
        leaf: str,
        *,
        gate: str | None = None,
        ctr: int | None = None,
        ts: float | None = None,
        **fields: object,
    ) -> bytes:
        from custom_components.community_gate.core.contract import device_message

        if ctr is None:
            self.ctr += 1
            ctr = self.ctr
        return device_message(
            self.key,
            self.topic(leaf, gate),
            device=self.device_id,
            ctr=ctr,
            ts=time.time() if ts is None else ts,
            **fields,
        )

    def publish(self, leaf: str, payload: bytes, gate: str | None = None) -> None:
        self.client.publish(self.topic(leaf, gate), payload, qos=1)

    def send(self, leaf: str, **fields: Any) -> bytes:
        payload = self.signed(leaf, **fields)
        self.publish(leaf, payload)
        return payload
