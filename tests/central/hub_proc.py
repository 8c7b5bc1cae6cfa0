"""A hub process for the kill -9 test: passages written through the journal (group
commit, durable) while the replicator ships them.

    python -m tests.central.hub_proc DB DSN CODE --write N

Prints ``written <n>`` after each committed group, then ``drained <rows applied>`` once
the outbox is empty at the centre, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
from concurrent.futures import ThreadPoolExecutor
import logging
import time

from custom_components.community_gate.core.journal import PassageJournal
from custom_components.community_gate.core.model import (
    Direction,
    Gate,
    Method,
    Passage,
    Reason,
)
from custom_components.community_gate.core.outbox import (
    SharePolicy,
    enable_outbox,
    outbox_enabled,
    outbox_stats,
)
from custom_components.community_gate.core.replicator import (
    CentralConfig,
    Replicator,
    executor_runner,
)
from custom_components.community_gate.core.store import Store

GROUP = 50


def _open(path: str) -> Store:
    store = Store.open(path)  # durable: a kill -9 loses nothing committed
    if not outbox_enabled(store):
        store.upsert_gate(Gate("main", "Main"))
        enable_outbox(store, SharePolicy())
    return store


async def main(args: argparse.Namespace) -> None:
    executor = ThreadPoolExecutor(1)
    store = executor.submit(_open, args.db).result()
    journal = PassageJournal(store, executor)
    run_db = executor_runner(store, executor)
    replicator = Replicator(
        CentralConfig(args.dsn, args.code), run_db, poll=0.02, retry_min=0.05, retry_max=0.5
    )
    await replicator.start()
    start = await run_db(lambda s: s.count_passages())
    t0 = time.time() - 86400
    for n in range(start, start + args.write, GROUP):
        futures = [
            journal.submit(
                Passage(
                    t0 + i * 0.01,
                    "main",
                    Direction.IN,
                    Method.CARD,
                    True,
                    Reason.GRANTED,
                    person_id=f"p{i % 97}",
                )
            )
            for i in range(n, n + GROUP)
        ]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        replicator.wake()
        print(f"written {n + GROUP - start}", flush=True)
        await asyncio.sleep(0)
    while True:  # drain: everything committed here reaches the centre before exiting
        if replicator.status().connected and (await run_db(outbox_stats))[0] == 0:
            break
        await asyncio.sleep(0.05)
    print(f"drained {replicator.status().shipped_total}", flush=True)
    await replicator.stop()
    executor.submit(store.close).result()
    executor.shutdown()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("dsn")
    parser.add_argument("code")
    parser.add_argument("--write", type=int, default=0)
    asyncio.run(main(parser.parse_args()))
