"""The demo's simulated gate controller on MQTT: what an ESP32 at the bike shed would do.

It proves itself with the key ``make_demo.py --mqtt-port`` provisioned (every message
signed, the counter only going up), sends a heartbeat every 10 s, swipes each card
number written to ``<config>/bike_shed_reader`` at its reader, and logs the relay
commands and decisions the hub sends back. Run by ``scripts/demo``; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
import queue
import select
import signal
import sys
import time

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from custom_components.community_gate.core import contract as c  # noqa: E402
from devtools.broker import FieldDevice, Mosquitto, find_mosquitto  # noqa: E402
from scripts.dev.make_demo import CONTROLLER_LOG, FIELD_DEVICE_FILE, READER_FIFO  # noqa: E402

HEARTBEAT_S = 10.0
_LOG = logging.getLogger("demo_controller")


def _open_reader(path: Path) -> int:
    if not path.exists():
        os.mkfifo(path, 0o600)
    # Read-write: the pipe never reports end-of-file when a writer goes away.
    return os.open(path, os.O_RDWR | os.O_NONBLOCK)


def _report(device: FieldDevice) -> None:
    """Log what the hub sent, once its signature checks out (a real controller acts on
    nothing else)."""
    while True:
        try:
            topic, payload, _t = device.received.get_nowait()
        except queue.Empty:
            return
        try:
            body, sig = c.unsigned_body(payload)
            c.verify(device.key, topic, body, sig)
        except c.ContractError as err:
            _LOG.warning("refused a message on %s: %s", topic, err.code)
            continue
        fields = json.loads(body)
        if topic.endswith("/relay/set"):
            hold = " and hold (emergency)" if fields["hold"] else ""
            _LOG.info("relay: pulse %d ms%s", fields["pulse_ms"], hold)
        else:
            _LOG.info(
                "decision: %s (%s)", "allowed" if fields["allowed"] else "denied", fields["reason"]
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("config", type=Path)
    ap.add_argument("--broker", action="store_true", help="also run the demo's mosquitto")
    args = ap.parse_args()
    cfg: Path = args.config
    logging.basicConfig(
        filename=cfg / CONTROLLER_LOG,
        level=logging.INFO,
        format="%(asctime)s %(message)s",
    )
    conf = json.loads((cfg / FIELD_DEVICE_FILE).read_text())
    device = FieldDevice(
        conf["port"], conf["device"], bytes.fromhex(conf["key"]), conf["estate"], conf["gate"]
    )
    # The hub keeps the highest counter it accepted across restarts: start above any
    # earlier run's (milliseconds since the epoch only go up).
    device.ctr = int(time.time() * 1000)
    stop = False

    def _stop(*_args: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    broker = None
    if args.broker:
        binary = find_mosquitto()
        if binary is None:
            raise SystemExit("mosquitto is not installed (scripts/setup installs it as root)")
        (cfg / "mosquitto").mkdir(exist_ok=True)
        # Loopback only and anonymous, for the demo: an estate's broker has one user and
        # an ACL per device (docs/security.md).
        broker = Mosquitto(cfg / "mosquitto", binary, conf["port"])
        broker.start()
    for _ in range(30):  # the broker may still be starting
        try:
            device.start()
            break
        except OSError, RuntimeError:
            time.sleep(1)
    else:
        raise SystemExit("the demo broker did not answer")
    _LOG.info("controller %s at gate %s online", conf["device"], conf["gate"])
    reader = _open_reader(cfg / READER_FIFO)
    buffered = b""
    next_beat = 0.0
    try:
        while not stop:
            now = time.monotonic()
            if now >= next_beat:
                device.send("status", state="online")
                next_beat = now + HEARTBEAT_S
            ready, _, _ = select.select([reader], [], [], 0.5)
            if ready:
                buffered += os.read(reader, 4096)
                *lines, buffered = buffered.split(b"\n")
                for line in lines:
                    if card := line.strip().decode(errors="replace"):
                        device.send("card", value=card)
                        _LOG.info("card swiped")  # never the number: it is a credential
            _report(device)
    finally:
        os.close(reader)
        device.stop()
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
