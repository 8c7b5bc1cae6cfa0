"""Command-centre benchmark (issue 16): many estates replicating into one PostgreSQL.

    python -m devtools.bench central --json
    python -m devtools.bench central --estates 59 --rate 600 --steady 60
    python -m devtools.bench central --dsn postgresql://user:pw@host/db

Each estate is a real hub store (its own SQLite file and store thread, outbox on) and a
real ``Replicator``, all in this process; the centre is one PostgreSQL (a throwaway
server started from the installed binaries with fsync on, or ``--dsn``). Measured:

* steady state: passages written at ``--rate`` per second across all estates for
  ``--steady`` seconds; sustained passages/s committed at the centre, and each row's
  lag (queued at the hub -> committed at the centre) p50/p95;
* a 1-hour outage at peak rate: the replicators are stopped, an hour of peak traffic
  (``--peak-share`` of a day's passages, the busiest hour) is queued at the hubs, the
  line comes back and the time until every backlog is empty is measured, with the
  ordinary traffic still coming in.

Hubs run with ``synchronous=OFF`` (59 hubs on 59 machines in reality; here they share
this machine's cores with the centre): the centre's side is what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
import contextlib
from datetime import UTC, datetime
import os
from pathlib import Path
import random
import shutil
import tempfile
import time
from typing import Any

from custom_components.community_gate.core.model import (
    Direction,
    Gate,
    Method,
    Passage,
    Person,
    Reason,
    Role,
)
from custom_components.community_gate.core.outbox import (
    OutboxKind,
    OutboxRow,
    SharePolicy,
    enable_outbox,
    outbox_stats,
)
from custom_components.community_gate.core.replicator import (
    CentralConfig,
    Replicator,
    executor_runner,
)
from custom_components.community_gate.core.store import Store
from devtools.benchlib import Command, log, machine_info, percentiles_ms, positive
from devtools.pgserver import PgServer, pg_bindir

TICK_S = 0.2  # how often each estate's traffic is written (a small group commit)
PEOPLE = 200  # per estate; directory size barely matters here


class _Estate:
    def __init__(self, code: str, path: Path, dsn: str, lags: list[float], count: list[int]):
        self.code = code
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"hub-{code}")
        self.store = self.executor.submit(self._open, path).result()
        self.run_db = executor_runner(self.store, self.executor)
        self.n = 0
        self.rng = random.Random(code)

        def shipped(rows: Sequence[OutboxRow], at: float) -> None:
            for r in rows:
                if r.kind is OutboxKind.PASSAGE:
                    lags.append(at - r.ts)
                    count[0] += 1

        self.replicator = Replicator(
            CentralConfig(dsn, code),
            self.run_db,
            batch=1000,
            poll=0.5,
            heartbeat=10,
            retry_min=0.2,
            retry_max=2,
            on_shipped=shipped,
        )

    @staticmethod
    def _open(path: Path) -> Store:
        store = Store.open(path, durable=False)
        store.upsert_gate(Gate("main", "Main gate"))
        store.add_people(Person(f"p{i}", Role.TENANT) for i in range(PEOPLE))
        enable_outbox(store, SharePolicy())
        return store

    def passages(self, k: int, t: float) -> list[Passage]:
        out = []
        for _ in range(k):
            self.n += 1
            out.append(
                Passage(
                    t,
                    "main",
                    self.rng.choice((Direction.IN, Direction.OUT)),
                    Method.FACE,
                    True,
                    Reason.GRANTED,
                    person_id=f"p{self.rng.randrange(PEOPLE)}",
                )
            )
        return out

    async def write(self, k: int, t: float, *, wake: bool = True) -> None:
        if k:
            batch = self.passages(k, t)
            await self.run_db(lambda s: s.add_passages_returning(batch))
            if wake:
                self.replicator.wake()

    async def backlog(self) -> int:
        return (await self.run_db(outbox_stats))[0]

    def close(self) -> None:
        self.executor.submit(self.store.close).result()
        self.executor.shutdown()


async def _traffic(estates: list[_Estate], rate: float, seconds: float) -> int:
    """Write ``rate`` passages/s spread over the estates for ``seconds``; returns rows."""
    per_tick = rate * TICK_S / len(estates)
    carry = [0.0] * len(estates)
    written = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    tick = 0
    while loop.time() - start < seconds:
        t = time.time()
        jobs = []
        for i, e in enumerate(estates):
            carry[i] += per_tick
            k = int(carry[i])
            carry[i] -= k
            written += k
            jobs.append(e.write(k, t))
        await asyncio.gather(*jobs)
        tick += 1
        await asyncio.sleep(max(0.0, start + tick * TICK_S - loop.time()))
    return written


async def _drained(estates: list[_Estate]) -> bool:
    return all(
        [e.replicator.status().connected for e in estates]
        + [b == 0 for b in await asyncio.gather(*(e.backlog() for e in estates))]
    )


async def _wait_drained(estates: list[_Estate]) -> None:
    while True:
        if await _drained(estates):
            return
        await asyncio.sleep(0.1)


async def _bench(args: argparse.Namespace, dsn: str, work: Path) -> dict[str, Any]:
    lags: list[float] = []
    count = [0]
    codes = [f"estate-{i:02d}" for i in range(args.estates)]
    log(f"opening {args.estates} hub stores")
    estates = [_Estate(c, work / f"{c}.db", dsn, lags, count) for c in codes]
    for e in estates:
        await e.replicator.start()
    try:
        # Warm-up: the directory backfill and the first partitions.
        await _wait_drained(estates)
        log(f"steady state: {args.rate}/s for {args.steady} s")
        await _traffic(estates, args.rate, args.warmup)
        lags.clear()
        count[0] = 0
        t0 = time.perf_counter()
        written = await _traffic(estates, args.rate, args.steady)
        window = time.perf_counter() - t0
        shipped = count[0]
        steady_lags = list(lags)
        await _wait_drained(estates)

        # The outage: the line is down for an hour of peak traffic.
        per_day = args.estates * args.residents * args.per_resident
        backlog_rows = int(per_day * args.peak_share)
        log(f"outage: {backlog_rows} passages queued while the line is down")
        await asyncio.gather(*(e.replicator.stop() for e in estates))
        t_fill = time.perf_counter()
        per_estate = backlog_rows // args.estates
        hour_ago = time.time() - 3600
        for e in estates:
            for j in range(0, per_estate, 2000):
                k = min(2000, per_estate - j)
                await e.write(k, hour_ago + 3600 * j / per_estate, wake=False)
        fill_s = time.perf_counter() - t_fill
        queued = sum(await asyncio.gather(*(e.backlog() for e in estates)))
        log(f"line back: draining {queued} rows")
        count[0] = 0
        t_drain = time.perf_counter()
        for e in estates:
            await e.replicator.start()
        traffic = asyncio.create_task(_traffic(estates, args.rate / 10, 3600))
        try:
            await _wait_drained(estates)
        finally:
            traffic.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await traffic
        drain_s = time.perf_counter() - t_drain
        drained_rows = count[0]
    finally:
        await asyncio.gather(*(e.replicator.stop() for e in estates))
        for e in estates:
            e.close()
    lat = percentiles_ms(steady_lags)
    return {
        "written": written,
        "shipped": shipped,
        "window_s": round(window, 2),
        "sustained_per_s": round(shipped / window, 1),
        "lag_ms": lat,
        "outage": {
            "passages": per_estate * args.estates,
            "queued_rows": queued,
            "fill_s": round(fill_s, 1),
            "drain_s": round(drain_s, 1),
            "drained_rows": drained_rows,
            "drain_per_s": round(drained_rows / drain_s, 1) if drain_s else None,
        },
    }


def run_central(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="community_gate_central_", dir=args.dir))
    server: PgServer | None = None
    try:
        dsn = args.dsn
        if dsn is None:
            bindir = pg_bindir()
            if bindir is None:
                raise SystemExit("no PostgreSQL installed: apt-get install postgresql, or --dsn")
            server = PgServer(bindir, fsync=True, max_connections=args.estates + 20)
            server.start()
            dsn = server.dsn(server.create_database("centre"))
        load_before = os.getloadavg()
        result = asyncio.run(_bench(args, dsn, work))
        load_after = os.getloadavg()
    finally:
        if server is not None:
            server.destroy()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "benchmark": "central",
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine_info(),
        "load_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "postgresql": "throwaway, fsync on" if args.dsn is None else "given by --dsn",
        "estates": args.estates,
        "rate": args.rate,
        **result,
        "targets": {
            "sustained_per_s": 500,
            "lag_p95_ms": 2000,
            "drain_s": 300,
            "met": result["sustained_per_s"] >= 500
            and result["lag_ms"]["p95_ms"] <= 2000
            and result["outage"]["drain_s"] <= 300,
        },
    }


def format_central(r: dict[str, Any]) -> str:
    m = r["machine"]
    o = r["outage"]
    return "\n".join(
        [
            f"{m['cpu']} ({m['cores']} cores), {r['date']}, load {r['load_1m']}",
            f"{r['estates']} estates -> one PostgreSQL ({r['postgresql']})",
            f"steady: {r['rate']}/s offered, {r['sustained_per_s']}/s committed at the centre"
            f" over {r['window_s']} s",
            f"lag (queued at the hub -> committed): p50 {r['lag_ms']['p50_ms']:.0f} ms,"
            f" p95 {r['lag_ms']['p95_ms']:.0f} ms, max {r['lag_ms']['max_ms']:.0f} ms",
            f"1-hour outage: {o['passages']} passages queued, drained in {o['drain_s']} s"
            f" ({o['drain_per_s']}/s)",
            f"targets met: {r['targets']['met']}",
        ]
    )


def add_central_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", default=None, help="work dir for the hub files [system temp]")
    p.add_argument("--dsn", default=None, help="an existing PostgreSQL (else a throwaway one)")
    p.add_argument("--estates", type=positive, default=59, help="[%(default)s]")
    p.add_argument("--rate", type=positive, default=600, help="passages/s offered [%(default)s]")
    p.add_argument("--steady", type=float, default=60, help="measured seconds [%(default)s]")
    p.add_argument("--warmup", type=float, default=5, help="seconds before [%(default)s]")
    p.add_argument("--residents", type=positive, default=2000, help="per estate [%(default)s]")
    p.add_argument("--per-resident", type=float, default=10, help="passages/day [%(default)s]")
    p.add_argument(
        "--peak-share",
        type=float,
        default=0.12,
        help="share of a day's passages in the busiest hour [%(default)s]",
    )


CENTRAL_COMMAND: Command = (
    "central: 59 estates replicating into one PostgreSQL (throughput, lag, outage drain)",
    add_central_args,
    run_central,
    format_central,
)
