"""What every benchmark shares: the repository paths, progress logging, latency
percentiles, the machine description, argument types and the shape of a subcommand; and,
for the benches that run a real Home Assistant test instance, the bench estate and its
actions.

The benchmarks (``bench_store``, ``bench_faces``, ``bench_privacy``, ``bench_mqtt``,
``bench_rules``, ``bench_gate``) import these from here and never from one another; ``bench`` only
dispatches to them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
import os
from pathlib import Path
import platform
import sqlite3
import statistics
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO_ROOT / ".bench"

# A subcommand of ``python -m devtools.bench``: (help, add arguments, run, format as text).
type Command = tuple[
    str,
    Callable[[argparse.ArgumentParser], None],
    Callable[[argparse.Namespace], dict[str, Any]],
    Callable[[dict[str, Any]], str],
]


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------- helpers
def percentiles_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of durations in seconds, as milliseconds."""
    if len(samples) < 2:
        one = samples[0] * 1000 if samples else 0.0
        return {"p50_ms": one, "p95_ms": one, "p99_ms": one, "max_ms": one}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 4),
        "p95_ms": round(cuts[94] * 1000, 4),
        "p99_ms": round(cuts[98] * 1000, 4),
        "max_ms": round(max(samples) * 1000, 4),
    }


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb: float | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.release()})"
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "os": os_name,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def positive(text: str) -> int:
    value = int(text.replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


# ------------------------------------------- benches on a real Home Assistant
# The bench gate; each benchmark adds how it opens (an actuator entity or an MQTT device).
BENCH_GATE: dict[str, Any] = {
    "name": "Bench gate",
    "gate_id": "bench_gate",
    "kind": "estate_gate",
    "direction": "both",
    "pulse_seconds": 5,
}


async def async_template_relay(hass: HomeAssistant) -> str:
    """A relay the bench gate opens: a template switch over an input_boolean coil, as an
    installer's relay looks to Home Assistant. Returns its entity id."""
    from homeassistant.setup import async_setup_component

    coil = {"entity_id": "input_boolean.coil"}
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"coil": {}}})
    relay = {
        "name": "relay",
        "unique_id": "bench_relay",
        "state": "{{ is_state('input_boolean.coil', 'on') }}",
        "turn_on": {"action": "input_boolean.turn_on", "target": coil},
        "turn_off": {"action": "input_boolean.turn_off", "target": coil},
    }
    assert await async_setup_component(hass, "template", {"template": [{"switch": [relay]}]})
    await hass.async_block_till_done()
    return "switch.relay"


def relay_turn_on_times(hass: HomeAssistant) -> list[float]:
    """A list that gets ``perf_counter()`` each time a ``switch.turn_on`` is called: when
    the hub asked Home Assistant to move the relay (clear it before each presentation)."""
    import time

    from homeassistant.core import Event, callback

    times: list[float] = []

    @callback
    def _called(event: Event) -> None:
        if event.data.get("domain") == "switch" and event.data.get("service") == "turn_on":
            times.append(time.perf_counter())

    hass.bus.async_listen("call_service", _called)
    return times


async def async_bench_estate(
    hass: HomeAssistant,
    workdir: Path,
    opens_by: dict[str, Any],
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """The estate "Bench Estate" on ``workdir/bench.db`` with the bench gate, set up (a
    current entry: the default face engine unless ``options`` name one)."""
    from homeassistant.config_entries import ConfigSubentryData
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    gate = ConfigSubentryData(
        data=BENCH_GATE | opens_by,
        subentry_type="gate",
        title=BENCH_GATE["name"],
        unique_id=BENCH_GATE["gate_id"],
    )
    entry = MockConfigEntry(
        domain="community_gate",
        minor_version=2,
        title="Bench Estate",
        data={"name": "Bench Estate", "db_path": str(workdir / "bench.db")},
        options={"retention_days": 180, **(options or {})},
        subentries_data=[gate],
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "community_gate", {})
    await hass.async_block_till_done()
    return entry


async def async_private(hass: HomeAssistant, name: str, data: dict[str, Any]) -> Any:
    """An action that carries a name or a credential value, run as the staff panel's
    websocket command runs it (no action takes one: Home Assistant records action data)."""
    from homeassistant.core import Context

    from custom_components.community_gate.panel_commands import async_private_call
    from custom_components.community_gate.services import PRIVATE_SCHEMAS

    return await async_private_call(hass, name, PRIVATE_SCHEMAS[name](data), Context())


async def async_call(hass: HomeAssistant, name: str, data: dict[str, Any]) -> Any:
    """A community_gate action, with its response."""
    return await hass.services.async_call(
        "community_gate", name, data, blocking=True, return_response=True
    )
