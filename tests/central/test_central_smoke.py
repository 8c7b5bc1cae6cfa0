"""Smoke: one hub replicates a passage into a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from custom_components.community_gate.core.model import Direction, Gate, Method, Passage, Reason
from custom_components.community_gate.core.replicator import (
    CentralConfig,
    test_connection as check_connection,
)
from tests.central.hubkit import Hub, connect, drained, wait_until


async def test_one_passage_arrives(tmp_path: Path, postgres_dsn: str) -> None:
    await check_connection(CentralConfig(postgres_dsn, "e1"))
    hub = Hub(tmp_path / "e1.db", "e1", postgres_dsn)
    await hub.call(lambda s: s.upsert_gate(Gate("main", "Main")))
    await hub.start()
    try:
        await hub.call(
            lambda s: s.add_passage(
                Passage(1.78e9, "main", Direction.IN, Method.CARD, True, Reason.GRANTED)
            )
        )
        hub.replicator.wake()
        await wait_until(lambda: drained(hub), "the hub to drain")
    finally:
        await hub.close()
    conn = await connect(postgres_dsn)
    try:
        n = await conn.fetchval("SELECT count(*) FROM community_gate.passages WHERE estate='e1'")
        gates = await conn.fetchval("SELECT count(*) FROM community_gate.gates")
    finally:
        await conn.close()
    assert n == 1
    assert gates == 1
