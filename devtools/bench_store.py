"""``bench store``: the passage log and the decision path on SQLite, against DESIGN §6.

    python -m devtools.bench store --json
    python -m devtools.bench store --people 1000 --passages 10000

``store`` builds (once, cached under ``--dir``) an estate of ``--people`` people with one
card each and ``--passages`` past passages spread over 180 days, then measures on it,
with the store opened exactly as production opens it (WAL, ``synchronous=FULL``):

* decision latency: ``AccessControl.evaluate`` on random known (and ~10 % unknown) cards;
* sustained passage inserts: one ``Store.add_passage`` per passage, each its own durable
  commit (the headline), plus the same without fsync and in batches, to tell the disk's
  share from the CPU's.

Progress goes to stderr; the result to stdout (``--json``: one JSON object).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
import hashlib
import os
from pathlib import Path
import random
import sqlite3
import statistics
import threading
import time
from typing import Any

from custom_components.community_gate.core.access import AccessControl
from custom_components.community_gate.core.crypto import Hasher
from custom_components.community_gate.core.journal import PassageJournal
from custom_components.community_gate.core.model import (
    Credential,
    CredentialKind,
    Direction,
    Gate,
    GateKind,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    Unit,
)
from custom_components.community_gate.core.schema import MIGRATIONS
from custom_components.community_gate.core.store import Store
from devtools.benchlib import DEFAULT_DIR, Command, log, machine_info, percentiles_ms, positive

# DESIGN §6
TARGET_PASSAGES_PER_S = 2000.0
TARGET_DECISION_P95_MS = 5.0

PEOPLE_PER_UNIT = 4
BUILDINGS = 20
DAYS = 180
BATCH = 200_000
GROUP_COMMITS = (10, 100)  # passages per durable commit in the group-commit runs
SEED = 20261125
# A fixed estate key: the cached store must hash cards the same way on every run.
BENCH_KEY = hashlib.sha256(b"community_gate benchmark key").digest()
CARD_BASE = 10_000_000  # person i carries card CARD_BASE + i
UNKNOWN_CARD_BASE = 900_000_000  # never issued

GATES: tuple[Gate, ...] = (
    Gate("gate-north", "North gate"),
    Gate("gate-south", "South gate"),
    Gate("gate-east-in", "East gate (in)", direction=Direction.IN),
    Gate("door-b01", "Building B01", GateKind.BUILDING_DOOR, building="B01"),
    Gate("door-b02", "Building B02", GateKind.BUILDING_DOOR, building="B02"),
    Gate("door-b03", "Building B03", GateKind.BUILDING_DOOR, building="B03"),
)

_INSERT_PASSAGE = (
    "INSERT INTO passages (ts, gate_id, direction, method, allowed, reason, person_id,"
    " unit_id, credential_id, distance, cluster_id, flags, note)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def card_value(index: int) -> str:
    return str(CARD_BASE + index)


def person_id(index: int) -> str:
    return f"p{index:07d}"


def unit_id(index: int) -> str:
    return f"u{index:06d}"


def credential_id(index: int) -> str:
    return f"c{index:07d}"


def unit_of(person_index: int) -> int:
    return person_index // PEOPLE_PER_UNIT


def is_service(person_index: int) -> bool:
    # One person in 50 is a courier/contractor without a unit: a mixed population.
    return person_index % 50 == 49


# --------------------------------------------------------------------- the estate
def schema_tag() -> str:
    """Changes whenever the schema does, so a cached store never outlives its schema."""
    return hashlib.sha256("\x00".join(MIGRATIONS).encode()).hexdigest()[:10]


def cache_path(directory: Path, people: int, passages: int) -> Path:
    return directory / f"store-p{people}-x{passages}-s{schema_tag()}.db"


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _populate_directory(store: Store, hasher: Hasher, people: int) -> None:
    units = (people + PEOPLE_PER_UNIT - 1) // PEOPLE_PER_UNIT
    for gate in GATES:
        store.upsert_gate(gate)
    for u in range(units):
        store.add_unit(
            Unit(
                unit_id(u),
                building=f"B{u % BUILDINGS + 1:02d}",
                number=f"{u // BUILDINGS + 1:04d}",
                rent_arrears=u % 50 == 7,
            )
        )
    log(f"{units} units")

    def person(i: int) -> Person:
        if is_service(i):
            return Person(person_id(i), Role.SERVICE, f"Courier {i}", company="Courier Co")
        role = Role.TENANT if i % PEOPLE_PER_UNIT == 0 else Role.CO_RESIDENT
        return Person(person_id(i), role, f"Resident {i}", unit_id=unit_id(unit_of(i)))

    store.add_people(person(i) for i in range(people))
    log(f"{people} people")
    store.add_credentials(
        Credential(
            credential_id(i),
            person_id(i),
            CredentialKind.CARD,
            hasher.hash(CredentialKind.CARD.value, card_value(i)),
        )
        for i in range(people)
    )
    log(f"{people} card credentials")


def _passage_rows(
    rng: random.Random, start: int, count: int, *, total: int, people: int, t0: float, span: float
) -> Iterator[tuple[Any, ...]]:
    """Passage rows in time order (as a real log grows), mixed people, gates, methods."""
    step = span / max(total, 1)
    gate_ids = [g.id for g in GATES]
    rand = rng.random
    randrange = rng.randrange
    for k in range(start, start + count):
        ts = t0 + (k + rand()) * step
        gate = gate_ids[randrange(len(gate_ids))]
        direction = "in" if rand() < 0.5 else "out"
        r = rand()
        if r < 0.9:
            i = randrange(people)
            pid = person_id(i)
            uid = None if is_service(i) else unit_id(unit_of(i))
            m = rand()
            if m < 0.55:
                method, cid, dist = "card", credential_id(i), None
            elif m < 0.92:
                method, cid, dist = "face", None, round(0.25 + 0.2 * rand(), 3)
            elif m < 0.96:
                method, cid, dist = "pin", None, None
            else:
                method, cid, dist = "remote", None, None
            if rand() < 0.03:
                allowed, reason = 0, "outside_schedule"
            else:
                allowed, reason = 1, ("remote_open" if method == "remote" else "granted")
            yield (
                ts, gate, direction, method, allowed, reason,
                pid, uid, cid, dist, None, "", None,
            )  # fmt: skip
        elif r < 0.97:
            cluster = f"k{randrange(5000):04d}"
            dist = round(0.62 + 0.2 * rand(), 3)
            yield (
                ts, gate, direction, "face", 0, "unknown_credential",
                None, None, None, dist, cluster, "", None,
            )  # fmt: skip
        else:
            yield (
                ts, gate, direction, "card", 0, "unknown_credential",
                None, None, None, None, None, "", None,
            )  # fmt: skip


def _bulk_passages(path: Path, people: int, passages: int, seed: int) -> None:
    """Load the history fast: indexes dropped, big batches, then indexes rebuilt by sort
    from the very DDL the migrations created."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -524288")  # 512 MiB, for the build only
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='passages'"
            " AND sql IS NOT NULL"
        ).fetchall()
        for name, _sql in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        rng = random.Random(seed)
        t0 = time.time() - DAYS * 86400
        done = 0
        started = time.perf_counter()
        while done < passages:
            n = min(BATCH, passages - done)
            conn.execute("BEGIN")
            conn.executemany(
                _INSERT_PASSAGE,
                _passage_rows(
                    rng, done, n, total=passages, people=people, t0=t0, span=DAYS * 86400.0
                ),
            )
            conn.execute("COMMIT")
            done += n
            rate = done / (time.perf_counter() - started)
            log(f"passages {done:,}/{passages:,} ({rate:,.0f}/s)")
        for name, sql in indexes:
            t = time.perf_counter()
            conn.execute(sql)
            log(f"index {name} rebuilt in {time.perf_counter() - t:.1f} s")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def build_store(path: Path, people: int, passages: int, seed: int) -> float:
    """Build the cached estate at ``path``; returns the build time in seconds."""
    started = time.perf_counter()
    tmp = path.with_name(path.name + ".building")
    _remove_db(tmp)
    path.parent.mkdir(parents=True, exist_ok=True)
    log(f"building {path.name}: {people:,} people, {passages:,} passages")
    store = Store.open(tmp, durable=False)
    try:
        _populate_directory(store, Hasher(BENCH_KEY), people)
    finally:
        store.close()
    _bulk_passages(tmp, people, passages, seed)
    Store.open(tmp).close()  # the production open path accepts what we built
    tmp.rename(path)
    _remove_db(tmp)
    elapsed = time.perf_counter() - started
    log(f"built in {elapsed:.1f} s")
    return elapsed


# ------------------------------------------------------------------- measurements
def fsync_probe(directory: Path, rounds: int = 500) -> dict[str, float]:
    """What one durable commit costs the disk: append 4 KiB and fdatasync, as SQLite
    does to its WAL at each commit under synchronous=FULL."""
    probe = directory / "fsync-probe.tmp"
    block = os.urandom(4096)
    samples: list[float] = []
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(rounds):
            os.write(fd, block)
            t = time.perf_counter()
            os.fdatasync(fd)
            samples.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)
    return {
        "rounds": rounds,
        "mean_ms": round(statistics.fmean(samples) * 1000, 4),
        **percentiles_ms(samples),
    }


def measure_decisions(
    ac: AccessControl, people: int, count: int, rng: random.Random
) -> dict[str, Any]:
    gates = list(GATES)

    def presented() -> str:
        if rng.random() < 0.1:
            return str(UNKNOWN_CARD_BASE + rng.randrange(10_000_000))
        return card_value(rng.randrange(people))

    for _ in range(min(200, count)):  # warm the page cache and statement cache
        ac.evaluate(rng.choice(gates), CredentialKind.CARD, presented(), datetime.now(UTC))
    samples: list[float] = []
    reasons: Counter[str] = Counter()
    for _ in range(count):
        gate = rng.choice(gates)
        value = presented()
        now = datetime.now(UTC)
        t = time.perf_counter()
        decision = ac.evaluate(gate, CredentialKind.CARD, value, now)
        samples.append(time.perf_counter() - t)
        reasons[decision.reason.value] += 1
    total = sum(samples)
    return {
        "count": count,
        **percentiles_ms(samples),
        "per_s": round(count / total, 1) if total else 0.0,
        "granted": reasons[Reason.GRANTED.value],
        "reasons": dict(sorted(reasons.items())),
    }


def _live_passage(rng: random.Random, people: int) -> Passage:
    i = rng.randrange(people)
    gate = GATES[rng.randrange(len(GATES))]
    return Passage(
        ts=time.time(),
        gate_id=gate.id,
        direction=Direction.IN,
        method=Method.CARD,
        allowed=True,
        reason=Reason.GRANTED,
        person_id=person_id(i),
        unit_id=None if is_service(i) else unit_id(unit_of(i)),
        credential_id=credential_id(i),
    )


def measure_inserts(
    path: Path, people: int, count: int, rng: random.Random, *, durable: bool
) -> dict[str, Any]:
    """One ``Store.add_passage`` per passage, each its own transaction and commit."""
    store = Store.open(path, durable=durable)
    try:
        samples: list[float] = []
        started = time.perf_counter()
        for _ in range(count):
            p = _live_passage(rng, people)
            t = time.perf_counter()
            store.add_passage(p)
            samples.append(time.perf_counter() - t)
        wall = time.perf_counter() - started
    finally:
        store.close()
    return {
        "count": count,
        "durable": durable,
        "per_s": round(count / wall, 1),
        **percentiles_ms(samples),
    }


def measure_batched(
    path: Path, people: int, count: int, rng: random.Random, batch: int = 100
) -> dict[str, Any]:
    """Group commit: ``batch`` passages per durable transaction (latencies are per commit)."""
    store = Store.open(path, durable=True)
    try:
        samples: list[float] = []
        started = time.perf_counter()
        done = 0
        while done < count:
            n = min(batch, count - done)
            rows = [_live_passage(rng, people) for _ in range(n)]
            t = time.perf_counter()
            store.add_passages(rows)
            samples.append(time.perf_counter() - t)
            done += n
        wall = time.perf_counter() - started
    finally:
        store.close()
    return {
        "count": count,
        "batch": batch,
        "durable": True,
        "per_s": round(count / wall, 1),
        **percentiles_ms(samples),
    }


def measure_journal(
    path: Path, people: int, count: int, rng: random.Random, gates: int
) -> dict[str, Any]:
    """The hub's real write path: ``gates`` readers each present, wait until their own
    passage is durable (group commit through ``PassageJournal``), and present again."""
    store = Store.open(path, durable=True)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench_db")
    journal = PassageJournal(store, executor)
    rows = [_live_passage(rng, people) for _ in range(count)]
    per_gate = [rows[i::gates] for i in range(gates)]
    samples: list[list[float]] = [[] for _ in range(gates)]

    def gate(i: int) -> None:
        for row in per_gate[i]:
            t = time.perf_counter()
            journal.submit(row).result()
            samples[i].append(time.perf_counter() - t)

    try:
        started = time.perf_counter()
        threads = [threading.Thread(target=gate, args=(i,)) for i in range(gates)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - started
    finally:
        executor.submit(store.close).result()
        executor.shutdown()
    flat = [x for xs in samples for x in xs]
    return {
        "count": count,
        "gates": gates,
        "commits": journal.commits,
        "mean_batch": round(journal.written / max(journal.commits, 1), 1),
        "durable": True,
        "per_s": round(count / wall, 1),
        **percentiles_ms(flat),
    }


def _restore(path: Path, max_id: int) -> None:
    """Undo what the insert measurements wrote, so the cache stays at its stated size."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute("DELETE FROM passages WHERE id > ?", (max_id,))
        conn.execute("UPDATE credentials SET uses = 0 WHERE uses != 0")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def file_size(path: Path) -> int:
    return sum(
        Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )


def data_bytes(path: Path) -> int:
    """Bytes in use (pages minus free pages): stable across runs, unlike the file size."""
    conn = sqlite3.connect(path)
    try:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    finally:
        conn.close()
    return int(page * (pages - free))


def run_store(args: argparse.Namespace) -> dict[str, Any]:
    people, passages = args.people, args.passages
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = cache_path(directory, people, passages)
    if args.rebuild:
        _remove_db(path)
    build_seconds: float | None = None
    reused = path.exists()
    if reused:
        log(f"reusing {path}")
    else:
        build_seconds = build_store(path, people, passages, args.seed)
    size, used = file_size(path), data_bytes(path)
    rng = random.Random(args.seed + 1)

    store = Store.open(path, durable=True)
    try:
        counts = {
            "people": store.count_people(),
            "units": store.count_units(),
            "credentials": store.count_credentials(),
            "passages": store.count_passages(),
        }
        newest = store.recent_passages(limit=1)
        max_id = (newest[0].id or 0) if newest else 0
        log(f"measuring {args.decisions:,} decisions")
        decisions = measure_decisions(
            AccessControl(store, Hasher(BENCH_KEY)), people, args.decisions, rng
        )
    finally:
        store.close()

    # The disk is probed before and after: virtual disks often throttle sustained
    # syncing (a token bucket), so the rate a durable log gets can change as it runs.
    log("probing the disk's fsync")
    probe_before = fsync_probe(directory, args.probe_rounds)
    inserts: dict[str, Any] = {}
    try:
        log(f"measuring {args.inserts:,} durable inserts (one commit each)")
        inserts["durable"] = measure_inserts(path, people, args.inserts, rng, durable=True)
        log(f"measuring {args.inserts:,} durable inserts through the journal, {args.gates} gates")
        inserts["journal"] = measure_journal(path, people, args.inserts, rng, args.gates)
        log(f"measuring {args.inserts:,} inserts without fsync (synchronous=OFF)")
        inserts["no_sync"] = measure_inserts(path, people, args.inserts, rng, durable=False)
        for batch in GROUP_COMMITS:
            log(f"measuring {args.inserts:,} durable inserts, {batch} per commit")
            inserts[f"group_commit_{batch}"] = measure_batched(
                path, people, args.inserts, rng, batch
            )
    finally:
        _restore(path, max_id)
    log("probing the disk's fsync after the inserts")
    probe_after = fsync_probe(directory, args.probe_rounds)

    return {
        "benchmark": "store",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "sizes": {
            **counts,
            "decisions": args.decisions,
            "inserts": args.inserts,
        },
        "build": {"reused": reused, "seconds": build_seconds, "path": str(path)},
        "file_size_bytes": size,
        "data_bytes": used,
        "decisions": decisions,
        "inserts": inserts,
        "fsync_probe": {"before": probe_before, "after": probe_after},
        "targets": {
            "passages_per_s": TARGET_PASSAGES_PER_S,
            # The hub's write path is the journal (group commit); the one-commit-each
            # figure is kept beside it to show what the disk alone allows.
            "passages_per_s_met": inserts["journal"]["per_s"] >= TARGET_PASSAGES_PER_S,
            "decision_p95_ms": TARGET_DECISION_P95_MS,
            "decision_p95_met": decisions["p95_ms"] <= TARGET_DECISION_P95_MS,
        },
    }


def format_store(r: dict[str, Any]) -> str:
    m, s, d, ins, t = r["machine"], r["sizes"], r["decisions"], r["inserts"], r["targets"]

    def ok(flag: bool) -> str:
        return "met" if flag else "MISSED"

    lines = [
        f"store benchmark, {r['date']}",
        f"machine   {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}",
        f"software  Python {m['python']}, SQLite {m['sqlite']}",
        f"sizes     {s['people']:,} people, {s['units']:,} units, {s['credentials']:,} cards,"
        f" {s['passages']:,} passages; file {r['file_size_bytes'] / 2**20:,.1f} MiB"
        f", {r['data_bytes'] / 2**20:,.1f} MiB in use"
        f" ({'reused' if r['build']['reused'] else f'built in {r["build"]["seconds"]:.0f} s'})",
        "",
        f"{'measure':<38}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'per s':>12}",
        f"{'decision (evaluate)':<38}{d['p50_ms']:>10.3f}{d['p95_ms']:>10.3f}"
        f"{d['p99_ms']:>10.3f}{d['per_s']:>12,.0f}",
    ]
    j = ins["journal"]
    jlabel = f"journal, {j['gates']} gates (batch {j['mean_batch']})"
    lines.append(
        f"{jlabel:<38}{j['p50_ms']:>10.3f}{j['p95_ms']:>10.3f}{j['p99_ms']:>10.3f}"
        f"{j['per_s']:>12,.0f}"
    )
    for key, label in (
        ("durable", "insert, 1 commit each, synchronous=FULL"),
        ("no_sync", "insert, 1 commit each, synchronous=OFF"),
    ):
        x = ins[key]
        lines.append(
            f"{label:<38}{x['p50_ms']:>10.3f}{x['p95_ms']:>10.3f}{x['p99_ms']:>10.3f}"
            f"{x['per_s']:>12,.0f}"
        )
    for batch in GROUP_COMMITS:
        b = ins[f"group_commit_{batch}"]
        label = f"insert, {batch} per commit, FULL"
        lines.append(
            f"{label:<38}{b['p50_ms']:>10.3f}{b['p95_ms']:>10.3f}{b['p99_ms']:>10.3f}"
            f"{b['per_s']:>12,.0f}"
        )
    for when in ("before", "after"):
        f = r["fsync_probe"][when]
        label = f"disk: 4 KiB fdatasync, {when}"
        lines.append(
            f"{label:<38}{f['p50_ms']:>10.3f}{f['p95_ms']:>10.3f}{f['p99_ms']:>10.3f}"
            f"{1000 / f['mean_ms'] if f['mean_ms'] else 0:>12,.0f}"
        )
    lines += [
        "",
        f"target ≥ {t['passages_per_s']:,.0f} passages/s durable (journal):"
        f" {ok(t['passages_per_s_met'])}",
        f"target decision p95 ≤ {t['decision_p95_ms']} ms: {ok(t['decision_p95_met'])}",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- cli
def _add_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", default=str(DEFAULT_DIR), help="cache directory [%(default)s]")
    p.add_argument("--people", type=positive, default=100_000, help="[%(default)s]")
    p.add_argument(
        "--gates", type=positive, default=32, help="concurrent readers for the journal run"
    )
    p.add_argument("--passages", type=positive, default=10_000_000, help="[%(default)s]")
    p.add_argument("--decisions", type=positive, default=20_000, help="[%(default)s]")
    p.add_argument("--inserts", type=positive, default=20_000, help="[%(default)s]")
    p.add_argument("--probe-rounds", type=positive, default=500, help="fsync probes [%(default)s]")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--rebuild", action="store_true", help="ignore a cached store")


STORE_COMMAND: Command = (
    "passage log and decision path on SQLite",
    _add_store_args,
    run_store,
    format_store,
)
