"""Benchmark of the alert rules (DESIGN §6: a sweep over 100,000 people in ≤ 1 s), and
the per-passage rule cost the gate path pays after each commit (target p95 ≤ 2 ms).

    python -m devtools.bench rules --json

Builds (once, cached under ``--dir``) an estate of ``--people`` people in units of four,
5 % of them flagged for special attention, with ``--passages`` passages over 60 days,
then, on the store opened as production opens it (WAL, ``synchronous=FULL``):

* ``sweep``: ``RuleEngine.sweep(now)`` with silences, the first run (which raises the
  alerts for the people and units planted as silent: 1 % of units, 1 in 50 of the
  special-attention people) and steady runs after it (the alerts are open: no inserts);
* ``passages``: ``RuleEngine.on_passage`` for a realistic mix (residents, units in
  arrears, unknown faces of recurring strangers some of them tailgating, visitors with
  ID cards), each timed alone; the passage insert itself is not timed.
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
import random
import time
from typing import Any

from custom_components.community_gate.core.model import (
    Direction,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    Unit,
)
from custom_components.community_gate.core.rules import RuleEngine, RuleParams
from custom_components.community_gate.core.schema import MIGRATIONS
from custom_components.community_gate.core.store import Store
from devtools.benchlib import DEFAULT_DIR, Command, log, machine_info, percentiles_ms, positive

TARGET_SWEEP_S = 1.0
TARGET_PASSAGE_P95_MS = 2.0
PEOPLE_PER_UNIT = 4
DAYS = 60
SEED = 20261125
GATES = ("gate-north", "gate-south", "gate-east")


def _schema_tag() -> str:
    import hashlib

    return hashlib.sha256("\x00".join(MIGRATIONS).encode()).hexdigest()[:10]


def _pid(i: int) -> str:
    return f"p{i:07d}"


def _uid(i: int) -> str:
    return f"u{i:06d}"


def build(path: Path, people: int, passages: int, seed: int, now: float) -> None:
    """People, units (1 % in arrears), special-attention flags, and passages spread
    over the last 60 days. 1 % of people and units are planted silent."""
    rng = random.Random(seed)
    store = Store.open(path, durable=False)
    try:
        units = max(1, people // PEOPLE_PER_UNIT)
        store.conn.execute("BEGIN")
        for u in range(units):
            unit = Unit(_uid(u), f"B{u // 100}", str(u % 100), rent_arrears=u % 100 == 0)
            store.conn.execute(
                "INSERT INTO units VALUES (?,?,?,?,?,?,?)",
                (unit.id, unit.building, unit.number, int(unit.rent_arrears), None, now, now),
            )
        store.conn.execute("COMMIT")
        store.add_people(
            Person(
                _pid(i),
                Role.TENANT if i % PEOPLE_PER_UNIT == 0 else Role.CO_RESIDENT,
                unit_id=_uid(i // PEOPLE_PER_UNIT),
                special_attention=i % 20 == 0,
            )
            for i in range(people)
        )
        # Backdate registration, so silence is measured from the passages.
        store.conn.execute("UPDATE people SET created_at=?", (now - DAYS * 86400,))
        store.conn.execute("UPDATE units SET created_at=?", (now - DAYS * 86400,))
        # Planted silences: every unit numbered ..07 (its four people), and one in 50
        # special-attention people.
        silent = {i for i in range(people) if (i // PEOPLE_PER_UNIT) % 100 == 7 or i % 1000 == 0}

        def rows() -> Any:
            for _ in range(passages):
                i = rng.randrange(people)
                while i in silent:
                    i = (i + 1) % people
                yield Passage(
                    ts=now - rng.uniform(0, DAYS * 86400),
                    gate_id=rng.choice(GATES),
                    direction=Direction.IN,
                    method=Method.CARD,
                    allowed=True,
                    reason=Reason.GRANTED,
                    person_id=_pid(i),
                    unit_id=_uid(i // PEOPLE_PER_UNIT),
                )

        store.add_passages(rows())
        # Everyone else was seen in the last day (the sweep must look, not alert).
        store.add_passages(
            Passage(
                ts=now - rng.uniform(0, 86400),
                gate_id=rng.choice(GATES),
                direction=Direction.IN,
                method=Method.CARD,
                allowed=True,
                reason=Reason.GRANTED,
                person_id=_pid(i),
                unit_id=_uid(i // PEOPLE_PER_UNIT),
            )
            for i in range(people)
            if i not in silent and (i % 20 == 0 or i % PEOPLE_PER_UNIT == 0)
        )
    finally:
        store.close()


def _mix(rng: random.Random, people: int, ts: float, clusters: int) -> Passage:
    roll = rng.random()
    gate = rng.choice(GATES)
    if roll < 0.06:
        return Passage(
            ts=ts,
            gate_id=gate,
            direction=Direction.IN,
            method=Method.FACE,
            allowed=False,
            reason=Reason.UNKNOWN_CREDENTIAL,
            cluster_id=f"k{rng.randrange(clusters)}",
        )
    i = rng.randrange(people)
    unit = i // PEOPLE_PER_UNIT
    flags = ("rent_arrears",) if unit % 100 == 0 else ()
    return Passage(
        ts=ts,
        gate_id=gate,
        direction=Direction.IN,
        method=Method.FACE if roll < 0.5 else Method.CARD,
        allowed=True,
        reason=Reason.GRANTED,
        person_id=_pid(i),
        unit_id=_uid(unit),
        flags=flags,
    )


def run_rules(args: argparse.Namespace) -> dict[str, Any]:
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"rules-p{args.people}-x{args.passages}-s{_schema_tag()}.db"
    now = time.time()
    reused = path.exists() and not args.rebuild
    t0 = time.perf_counter()
    if not reused:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        log(f"building {args.people} people, {args.passages} passages in {path.name}")
        build(path, args.people, args.passages, args.seed, now)
    built_s = time.perf_counter() - t0
    store = Store.open(path)
    try:
        # A cached store keeps its alerts from the last run: start clean.
        store.conn.execute("DELETE FROM alerts")
        engine = RuleEngine(store, RuleParams())
        sweep_now = store.conn.execute("SELECT max(ts) FROM passages").fetchone()[0] + 60
        last_id = store.conn.execute("SELECT max(id) FROM passages").fetchone()[0]
        log("sweeping")
        t = time.perf_counter()
        first_alerts = engine.sweep(sweep_now)
        first_s = time.perf_counter() - t
        steady: list[float] = []
        for k in range(args.sweeps):
            t = time.perf_counter()
            engine.sweep(sweep_now + 60 * (k + 1))
            steady.append(time.perf_counter() - t)
        log(f"{args.decisions} passages through the rules")
        rng = random.Random(args.seed + 1)
        clusters = max(10, args.decisions // 50)
        samples: list[float] = []
        raised: Counter[str] = Counter()
        ts = sweep_now + 3600
        for _ in range(args.decisions):
            ts += rng.uniform(0.5, 3)
            p = store.add_passage(_mix(rng, args.people, ts, clusters))
            t = time.perf_counter()
            alerts = engine.on_passage(p)
            samples.append(time.perf_counter() - t)
            raised.update(a.rule.value for a in alerts)
        # Leave the cached estate as built: the next run measures the same thing.
        store.conn.execute("DELETE FROM alerts")
        store.conn.execute("DELETE FROM passages WHERE id>?", (last_id,))
    finally:
        store.close()
    sweep = {
        "first_s": round(first_s, 4),
        "first_alerts": dict(Counter(a.rule.value for a in first_alerts)),
        "steady_s": {
            "min": round(min(steady), 4),
            "median": round(sorted(steady)[len(steady) // 2], 4),
            "max": round(max(steady), 4),
        },
    }
    cost = percentiles_ms(samples)
    per_passage = {"count": len(samples), **cost, "alerts": dict(raised)}
    return {
        "benchmark": "rules",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "sizes": {
            "people": args.people,
            "units": max(1, args.people // PEOPLE_PER_UNIT),
            "special_attention": (args.people + 19) // 20,
            "passages": args.passages,
        },
        "build": {"reused": reused, "seconds": round(built_s, 2)},
        "sweep": sweep,
        "passages": per_passage,
        "targets": {
            "sweep_s": TARGET_SWEEP_S,
            "sweep_met": max(first_s, *steady) <= TARGET_SWEEP_S,
            "passage_p95_ms": TARGET_PASSAGE_P95_MS,
            "passage_met": cost["p95_ms"] <= TARGET_PASSAGE_P95_MS,
        },
    }


def format_rules(r: dict[str, Any]) -> str:
    s, p, t = r["sweep"], r["passages"], r["targets"]
    return "\n".join(
        [
            f"rules on {r['sizes']['people']} people, {r['sizes']['passages']} passages"
            f" ({r['machine']['cpu']}, {r['machine']['cores']} cores)",
            f"sweep: first {s['first_s']} s (raised {dict(s['first_alerts'])}),"
            f" steady median {s['steady_s']['median']} s, max {s['steady_s']['max']} s"
            f" [target <= {t['sweep_s']} s: {'met' if t['sweep_met'] else 'NOT met'}]",
            f"per passage: p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms, p99 {p['p99_ms']} ms,"
            f" max {p['max_ms']} ms; alerts {p['alerts']}"
            f" [target p95 <= {t['passage_p95_ms']} ms:"
            f" {'met' if t['passage_met'] else 'NOT met'}]",
        ]
    )


def add_rules_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", default=str(DEFAULT_DIR), help="cache directory [%(default)s]")
    p.add_argument("--people", type=positive, default=100_000, help="[%(default)s]")
    p.add_argument("--passages", type=positive, default=2_000_000, help="[%(default)s]")
    p.add_argument("--sweeps", type=positive, default=5, help="steady sweeps [%(default)s]")
    p.add_argument(
        "--decisions", type=positive, default=20_000, help="passages timed [%(default)s]"
    )
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--rebuild", action="store_true", help="ignore a cached store")


RULES_COMMAND: Command = (
    "alert rules: sweep over all people and units, per-passage rule cost",
    add_rules_args,
    run_rules,
    format_rules,
)
