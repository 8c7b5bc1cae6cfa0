"""Benchmark: a card read published by a gate controller -> the signed relay command
it receives, over loopback, through the whole real path.

    python -m devtools.bench mqtt --json

A throw-away mosquitto on a free loopback port; a Home Assistant instance (the test
harness's, from pytest-homeassistant-custom-component: a dev tool, not a runtime
dependency) with its own ``mqtt`` integration connected to it and one estate whose gate
is an MQTT controller; a simulated controller (paho, its own thread) that signs each card
read and timestamps the relay command when its network thread receives it. Every read
is a real passage: signature check, durable counter claim, decision, durable passage
row, signed relay command.
"""

from __future__ import annotations

import argparse
import asyncio
from functools import partial
from pathlib import Path
import queue
import statistics
import tempfile
import time
from typing import Any
from unittest.mock import patch

from devtools.benchlib import Command, async_bench_estate, async_call, async_private, machine_info
from devtools.broker import FieldDevice, Mosquitto, find_mosquitto

CARD = "0012345678"
ESTATE = "bench_estate"


def add_mqtt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reads", type=int, default=300, help="card reads measured")
    p.add_argument("--warmup", type=int, default=20, help="card reads not measured")


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


async def _bench(args: argparse.Namespace, workdir: Path, binary: str) -> dict[str, Any]:
    from homeassistant import loader
    from homeassistant.components import mqtt
    from pytest_homeassistant_custom_component.common import (
        MockConfigEntry,
        async_test_home_assistant,
    )

    broker = Mosquitto(workdir, binary)
    broker.start()
    device: FieldDevice | None = None
    try:
        async with async_test_home_assistant(config_dir=str(workdir)) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # load ours from sys.path
            with patch("homeassistant.config.load_yaml_config_file", return_value={}):
                mqtt_entry = MockConfigEntry(
                    domain="mqtt",
                    data={"broker": "127.0.0.1", "port": broker.port, "discovery": False},
                    version=1,
                    minor_version=2,
                )
                mqtt_entry.add_to_hass(hass)
                assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
                assert await mqtt.async_wait_for_mqtt_client(hass)
                entry = await async_bench_estate(hass, workdir, {"mqtt_device": "gc-bench"})
                hub, link = entry.runtime_data.hub, entry.runtime_data.mqtt
                assert link is not None
                while not link.ready:  # noqa: ASYNC110 - no Event
                    await asyncio.sleep(0.05)

                svc = partial(async_call, hass)

                await svc("add_person", {"person_id": "p1", "role": "staff"})
                await async_private(
                    hass, "add_credential", {"person_id": "p1", "kind": "card", "value": CARD}
                )
                resp = await svc(
                    "provision_device", {"device_id": "gc-bench", "gate_id": "bench_gate"}
                )
                device = FieldDevice(
                    broker.port, "gc-bench", bytes.fromhex(resp["key"]), ESTATE, "bench_gate"
                )
                await hass.async_add_executor_job(device.start)
                # HA batches subscriptions: wait until the controller's heartbeat lands.
                while not link.device_online("gc-bench"):
                    device.send("status", state="online")
                    await asyncio.sleep(0.3)

                latencies: list[float] = []
                for i in range(args.warmup + args.reads):
                    payload = device.signed("card", value=CARD)
                    t0 = time.perf_counter()
                    device.publish("card", payload)
                    t1 = await _relay_received(device)
                    if i >= args.warmup:
                        latencies.append((t1 - t0) * 1000)
                    await asyncio.sleep(0.01)  # a gate does not see 100 cards a second
                passages = await hub.db(hub.store.count_passages)
                rejected = dict(link.stats.rejected)
                await hass.async_add_executor_job(device.stop)
                device = None
                await hass.config_entries.async_unload(entry.entry_id)
                await hass.config_entries.async_unload(mqtt_entry.entry_id)
                await hass.async_block_till_done()
    finally:
        if device is not None:
            device.stop()
        broker.stop()
    return {
        "reads": len(latencies),
        "warmup": args.warmup,
        "passages_logged": passages,
        "rejected": rejected,
        "card_to_relay_ms": {
            "p50": round(_pct(latencies, 0.50), 2),
            "p95": round(_pct(latencies, 0.95), 2),
            "max": round(max(latencies), 2),
            "mean": round(statistics.fmean(latencies), 2),
        },
        "target_p95_ms": 50,
    }


async def _relay_received(device: FieldDevice) -> float:
    """perf_counter() at which the controller's network thread got the relay command."""
    while True:
        try:
            topic, _payload, t = device.received.get_nowait()
        except queue.Empty:
            await asyncio.sleep(0.0005)
            continue
        if topic.endswith("/relay/set"):
            return t


def run_mqtt(args: argparse.Namespace) -> dict[str, Any]:
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("mosquitto not found (apt install mosquitto)")
    with tempfile.TemporaryDirectory(prefix="cg-bench-mqtt-") as tmp:
        result = asyncio.run(_bench(args, Path(tmp), binary))
    return {"machine": machine_info(), **result}


def format_mqtt(r: dict[str, Any]) -> str:
    m = r["card_to_relay_ms"]
    return (
        f"card publish -> signed relay command over loopback, {r['reads']} reads "
        f"({r['passages_logged']} passages logged)\n"
        f"  p50 {m['p50']} ms  p95 {m['p95']} ms  max {m['max']} ms  "
        f"(target p95 <= {r['target_p95_ms']} ms)"
    )


MQTT_COMMAND: Command = (
    "MQTT: card publish -> signed relay command over loopback (real broker, real HA mqtt)",
    add_mqtt_args,
    run_mqtt,
    format_mqtt,
)
