"""A hub killed with -9 in the middle of a burst, then restarted: every passage
reaches the centre once, in order, and nothing the hub never committed appears."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import signal
import sqlite3
import sys

from custom_components.community_gate.core import central_schema as cs
from tests.central.hubkit import DEADLINE_S, connect, wait_until
from tests.pg import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
S = cs.SCHEMA


async def _hub(db: Path, dsn: str, write: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.central.hub_proc",
        str(db),
        dsn,
        "killed",
        "--write",
        str(write),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_hub_killed_mid_burst_then_restarted(tmp_path: Path, postgres_dsn: str) -> None:
    db = tmp_path / "estate.db"
    conn = await connect(postgres_dsn)
    try:
        first = await _hub(db, postgres_dsn, 200_000)
        assert first.stdout is not None
        written = 0

        async def centre_has_rows() -> bool:
            nonlocal written
            while written < 3000:
                line = await asyncio.wait_for(first.stdout.readline(), DEADLINE_S)
                assert line, "the hub process ended early"
                if line.startswith(b"written"):
                    written = int(line.split()[1])
            n = (
                await conn.fetchval(f"SELECT count(*) FROM {S}.passages WHERE estate='killed'")
                if await conn.fetchval("SELECT to_regclass($1)", f"{S}.passages")
                else 0
            )
            return int(n) > 0

        await wait_until(centre_has_rows, "the burst to be under way at the centre")
        os.kill(first.pid, signal.SIGKILL)  # mid-burst: writes and shipping in flight
        await first.wait()
        _out, err1 = await first.communicate()
        assert first.returncode == -signal.SIGKILL
        with sqlite3.connect(db) as local:
            at_kill = local.execute("SELECT count(*) FROM passages").fetchone()[0]
        at_centre = await conn.fetchval(f"SELECT count(*) FROM {S}.passages")
        assert at_kill >= written
        assert 0 < at_centre <= at_kill

        applied_before = await conn.fetchval(
            f"SELECT last_seq FROM {S}.estates WHERE code='killed'"
        )
        second = await _hub(db, postgres_dsn, 1000)
        out2, err2 = await asyncio.wait_for(second.communicate(), DEADLINE_S)
        assert second.returncode == 0, err2.decode()[-2000:]
        last = out2.splitlines()[-1].split()
        assert last[0] == b"drained"

        with sqlite3.connect(db) as local:
            ids = [r[0] for r in local.execute("SELECT id FROM passages ORDER BY id")]
            high = local.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()[
                0
            ]
            left = local.execute("SELECT count(*) FROM outbox").fetchone()[0]
        rows = await conn.fetch(
            f"SELECT id, seq FROM {S}.passages WHERE estate='killed' ORDER BY id"
        )
        assert len(ids) == at_kill + 1000
        # No loss, no duplicate, nothing invented: exactly the hub's passages.
        assert [r["id"] for r in rows] == ids
        # In order: a passage written later was applied later.
        assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
        assert await conn.fetchval(f"SELECT last_seq FROM {S}.estates WHERE code='killed'") == high
        assert left == 0
        # Exactly once: the restarted hub applied every row the centre did not have
        # and none it had (those were skipped, or acknowledged locally at reconnect).
        assert int(last[1]) == high - applied_before
        # The DSN's password is in no log line.
        assert PASSWORD not in (err1 + err2).decode()
    finally:
        await conn.close()
