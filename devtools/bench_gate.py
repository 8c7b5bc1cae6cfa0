"""Benchmark: a card presented on the hub's reader path (``EstateHub.async_present``, which
MQTT readers and the panel's desk reader call) -> the moment the hub asks Home Assistant
to turn the gate's relay on.

    python -m devtools.bench gate --json     # --reads 300 --warmup 20

A Home Assistant instance (the test harness's, from pytest-homeassistant-custom-component:
a dev tool, not a runtime dependency) with one estate on a real SQLite file
(``synchronous=FULL``, as production opens it) and one gate opened by a template switch.
The latency runs from just before the presentation to the ``call_service`` event of
the relay's ``switch.turn_on``, both on HA's event loop with ``perf_counter``. It contains
the decision (a read on the database thread) and, since issue 13 item 5, the durable
commit of the passage row, which now comes before the relay moves.
"""

from __future__ import annotations

import argparse
import asyncio
from functools import partial
from pathlib import Path
import tempfile
import time
from typing import Any
from unittest.mock import patch

from devtools.benchlib import (
    Command,
    async_bench_estate,
    async_call,
    async_private,
    async_template_relay,
    machine_info,
    percentiles_ms,
    positive,
    relay_turn_on_times,
)

CARD = "0012345678"


def add_gate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reads", type=positive, default=300, help="measured presentations")
    p.add_argument("--warmup", type=positive, default=20, help="presentations not measured")


async def _bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from homeassistant import loader
    from pytest_homeassistant_custom_component.common import async_test_home_assistant

    from custom_components.community_gate.core.model import CredentialKind

    async with async_test_home_assistant(config_dir=str(workdir)) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # load ours from sys.path
        with patch("homeassistant.config.load_yaml_config_file", return_value={}):
            actuator = await async_template_relay(hass)
            entry = await async_bench_estate(hass, workdir, {"actuator": actuator})
            svc = partial(async_call, hass)
            await svc("add_person", {"person_id": "p1", "role": "staff"})
            await async_private(
                hass, "add_credential", {"person_id": "p1", "kind": "card", "value": CARD}
            )
            hub = entry.runtime_data.hub

            relay_at = relay_turn_on_times(hass)
            latencies: list[float] = []
            for i in range(args.warmup + args.reads):
                relay_at.clear()
                t0 = time.perf_counter()
                outcome = await hub.async_present("bench_gate", CredentialKind.CARD, CARD)
                assert outcome.passage.allowed
                assert outcome.actuator_error is None, outcome
                if i >= args.warmup:
                    latencies.append(relay_at[0] - t0)
                await asyncio.sleep(0.01)  # a gate is not a firehose
            logged = await entry.runtime_data.hub.db(entry.runtime_data.hub.store.count_passages)
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
    return {
        "reads": args.reads,
        "passages_logged": logged,
        "present_to_relay_ms": percentiles_ms(latencies),
    }


def run_gate(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cg-bench-gate-") as tmp:
        result = asyncio.run(_bench(args, Path(tmp)))
    return {"machine": machine_info(), **result}


def format_gate(r: dict[str, Any]) -> str:
    m = r["present_to_relay_ms"]
    return (
        f"card presented -> relay switch.turn_on, {r['reads']} reads "
        f"({r['passages_logged']} passages logged)\n"
        f"  p50 {m['p50_ms']} ms  p95 {m['p95_ms']} ms  p99 {m['p99_ms']} ms  "
        f"max {m['max_ms']} ms"
    )


GATE_COMMAND: Command = (
    "Gate path: card presented -> relay turn_on (real HA, real SQLite, fsync)",
    add_gate_args,
    run_gate,
    format_gate,
)
