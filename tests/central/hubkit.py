"""A hub for the command-centre tests: a real estate SQLite file owned by one thread,
its outbox on, and a replicator shipping it to the test PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from custom_components.community_gate.core.outbox import (
    SharePolicy,
    backfill_pending,
    enable_outbox,
)
from custom_components.community_gate.core.replicator import (
    CentralConfig,
    Replicator,
    executor_runner,
)
from custom_components.community_gate.core.store import Store

T = TypeVar("T")
# How long a test waits for replication to catch up before it fails (a deadline for a
# stuck test, not a speed assertion).
DEADLINE_S = 120.0


class Hub:
    def __init__(
        self,
        path: Path,
        code: str,
        dsn: str,
        share: SharePolicy | None = None,
        *,
        backfill_now: bool = True,
        **kw: Any,
    ) -> None:
        self.code = code
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"store-{code}")
        self.store = self._executor.submit(Store.open, path, durable=False).result()
        self.share = share or SharePolicy()
        self._executor.submit(
            lambda: enable_outbox(self.store, self.share, backfill_now=backfill_now)
        ).result()
        self.run_db = executor_runner(self.store, self._executor)
        opts = {"poll": 0.05, "retry_min": 0.05, "retry_max": 0.5, "heartbeat": 0.5} | kw
        self.replicator = Replicator(
            CentralConfig(dsn, code, share=self.share), self.run_db, **opts
        )

    async def call(self, fn: Callable[[Store], T]) -> T:
        return await self.run_db(fn)

    async def start(self) -> None:
        await self.replicator.start()

    async def close(self) -> None:
        await self.replicator.stop()
        self._executor.submit(self.store.close).result()
        self._executor.shutdown()


async def wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while not await check():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def drained(hub: Hub) -> bool:
    st = hub.replicator.status()
    return st.connected and st.backlog == 0 and (await hub.call(_backlog)) == 0


def _backlog(store: Store) -> int:
    """Rows queued, plus one while history is still to be queued."""
    queued = int(store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
    return queued + int(backfill_pending(store))


async def connect(dsn: str) -> Any:
    return await asyncpg.connect(dsn)
