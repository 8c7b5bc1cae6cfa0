"""``bench scope``: who may pass a gate, and the face decision, at the seeds' scale.

    python -m devtools.bench scope --json      # --people 100000 --units 30000

Pure core, no Home Assistant: ``--people`` residents (tenants in ``--units`` units over
20 buildings; every 20th person with a weekly schedule, every 50th with a validity
window, so the per-minute pass has work), an estate gate (everyone may pass) and a
building door (one building's residents). Measured:

* ``scope.Roster`` built from the people and units (once per store generation);
* its first ``who_may_pass`` per gate (the per-generation pass) and a later one (the
  per-minute pass over the timed people only);
* ``Recogniser.enrolled_in`` for a scope, first (set intersection) and cached;
* ``Recogniser.classify`` against ``--people`` random unit vectors (every person
  enrolled once), with the scope's count cached: the per-frame cost.

Timings are medians of ``--repeat`` runs, in milliseconds, on this machine with its
other load (stated with the result).
"""

from __future__ import annotations

import argparse
from datetime import datetime, time
import statistics
import time as _time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from devtools.benchlib import Command, machine_info, positive


def add_scope_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--people", type=positive, default=100_000)
    p.add_argument("--units", type=positive, default=30_000)
    p.add_argument("--repeat", type=positive, default=5)


def _ms(func: Any, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = _time.perf_counter()
        func()
        samples.append((_time.perf_counter() - t0) * 1000)
    return round(statistics.median(samples), 2)


def run_scope(args: argparse.Namespace) -> dict[str, Any]:
    from custom_components.community_gate.core.engines import DEFAULT_ENGINE, spec
    from custom_components.community_gate.core.model import (
        Gate,
        GateKind,
        Person,
        Role,
        ScheduleWindow,
        Unit,
    )
    from custom_components.community_gate.core.recognition import Recogniser
    from custom_components.community_gate.core.scope import Roster

    now = datetime(2026, 12, 2, 8, 15, tzinfo=ZoneInfo("Asia/Shanghai"))
    units = {
        f"u{i}": Unit(id=f"u{i}", building=str(i % 20), number=str(i)) for i in range(args.units)
    }
    evening = (ScheduleWindow(frozenset(range(1, 8)), time(6, 0), time(23, 0)),)
    people = [
        Person(
            id=f"p{i:06d}",
            role=Role.TENANT,
            unit_id=f"u{i % args.units}",
            schedule=evening if i % 20 == 0 else (),
            valid_until=now.timestamp() + 86400 if i % 50 == 0 else None,
        )
        for i in range(args.people)
    ]
    gate = Gate(id="east", name="East gate", kind=GateKind.ESTATE_GATE)
    door = Gate(id="door3", name="Door 3", kind=GateKind.BUILDING_DOOR, building="3")

    roster_ms = _ms(lambda: Roster(1, people, units), args.repeat)
    first: dict[str, float] = {}
    later: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for g in (gate, door):
        first[g.id] = _ms(lambda g=g: Roster(1, people, units).who_may_pass(g, now), args.repeat)
        first[g.id] = round(first[g.id] - roster_ms, 2)
        roster = Roster(1, people, units)
        sizes[g.id] = len(roster.who_may_pass(g, now))
        later[g.id] = _ms(lambda g=g, r=roster: r.who_may_pass(g, now), args.repeat)

    recogniser = Recogniser(spec(DEFAULT_ENGINE))
    rng = np.random.default_rng(14)
    vectors = rng.normal(size=(args.people, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    recogniser.plain.add_many((f"e{i}", p.id, vectors[i]) for i, p in enumerate(people))
    scope = Roster(1, people, units).who_may_pass(gate, now)
    # A new scope object each time (a copy), as each minute brings: the uncached count.
    count_first = _ms(lambda: recogniser.enrolled_in(frozenset(set(scope))), args.repeat)
    recogniser.enrolled_in(scope)
    count_cached = _ms(lambda: recogniser.enrolled_in(scope), args.repeat)
    probe = vectors[7] + rng.normal(0, 0.02, 128).astype(np.float32)
    classify = _ms(lambda: recogniser.classify(probe, scope), args.repeat)
    return {
        "machine": machine_info(),
        "people": args.people,
        "units": args.units,
        "may_pass": sizes,
        "roster_build_ms": roster_ms,
        "first_pass_per_gate_ms": first,
        "minute_pass_per_gate_ms": later,
        "scope_count_first_ms": count_first,
        "scope_count_cached_ms": count_cached,
        "classify_ms": classify,
        "bars": {"people": recogniser.bars(scope).people},
    }


def format_scope(r: dict[str, Any]) -> str:
    return (
        f"{r['people']} people, {r['units']} units; may pass: {r['may_pass']}\n"
        f"  roster {r['roster_build_ms']} ms; first pass per gate {r['first_pass_per_gate_ms']} ms;"
        f" each minute after {r['minute_pass_per_gate_ms']} ms\n"
        f"  scope count {r['scope_count_first_ms']} ms first, {r['scope_count_cached_ms']} ms"
        f" cached; classify {r['classify_ms']} ms"
    )


SCOPE_COMMAND: Command = (
    "Who may pass a gate and the face decision at 100,000 people (pure core)",
    add_scope_args,
    run_scope,
    format_scope,
)
