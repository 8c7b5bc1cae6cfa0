"""What the centre must never get wrong, against a real PostgreSQL: an erasure made
while replication was off still reaches the centre, and an estate code belongs to one
hub (a second hub given the same code is refused and writes nothing)."""

from __future__ import annotations

import json
from pathlib import Path
import time
from typing import Any

import pytest

from custom_components.community_gate.core import central_schema as cs
from custom_components.community_gate.core.alerts import AlertLog, Rule, SubjectKind
from custom_components.community_gate.core.model import (
    Direction,
    Gate,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    Unit,
)
from custom_components.community_gate.core.outbox import (
    SharePolicy,
    disable_outbox,
    enable_outbox,
    hub_instance_id,
    outbox_stats,
)
from custom_components.community_gate.core.privacy import Retention, erase_person, purge
from custom_components.community_gate.core.replicator import (
    CentralConfig,
    CentralError,
    test_connection as check_link,
)
from custom_components.community_gate.core.store import Store
from tests.central.hubkit import Hub, connect, drained, wait_until

S = cs.SCHEMA
DAY = 86400.0


def _passage(ts: float, person: str | None, gate: str = "main") -> Passage:
    return Passage(
        ts, gate, Direction.IN, Method.CARD, True, Reason.GRANTED, person_id=person, unit_id="u1"
    )


def _directory(s: Store, person: str, name: str) -> None:
    s.upsert_gate(Gate("main", "Main"))
    s.add_unit(Unit("u1", "A", "101"))
    s.add_person(Person(person, Role.TENANT, name, unit_id="u1"))


async def _dump(conn: Any, code: str) -> str:
    """Everything the centre holds of one estate, as text."""
    parts = []
    for table in ("people", "passages", "alerts"):
        parts.append(
            await conn.fetchval(
                f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {S}.{table} t WHERE estate=$1",
                code,
            )
        )
    return " ".join(parts)


# ------------------------------------------------------------------- erasure
async def test_erasure_while_replication_is_off_reaches_the_centre(
    tmp_path: Path, postgres_dsn: str
) -> None:
    share = SharePolicy(names=True)
    hub = Hub(tmp_path / "off.db", "off-erase", postgres_dsn, share=share)
    now = time.time()

    def setup(s: Store) -> None:
        _directory(s, "alice", "Alice Wang")
        s.add_passage(_passage(now - 400 * DAY, "alice"))  # purged on the hub while off
        for i in range(3):
            s.add_passage(_passage(now - 100 + i, "alice"))
        AlertLog(s).add(
            now,
            Rule.LONG_ABSENCE,
            SubjectKind.PERSON,
            "alice",
            None,
            {"person_id": "alice", "days": 3},
        )

    await hub.call(setup)
    await hub.start()
    conn = await connect(postgres_dsn)
    try:
        await wait_until(lambda: drained(hub), "the first drain")
        assert await conn.fetchval(f"SELECT name FROM {S}.people WHERE id='alice'") == (
            "Alice Wang"
        )
        assert await conn.fetchval(f"SELECT count(*) FROM {S}.passages") == 4

        # Replication off; while it is off the person is erased and the old passage
        # goes with the hub's retention sweep (the centre keeps its copy for now).
        await hub.replicator.stop()
        await hub.call(disable_outbox)
        alias, _ = await hub.call(lambda s: erase_person(s, "alice"))
        await hub.call(lambda s: purge(s, Retention(passages=180), now=now))
        assert (await hub.call(outbox_stats))[0] == 1  # the erasure, waiting

        # On again, to the same centre.
        await hub.call(lambda s: enable_outbox(s, share))
        await hub.start()
        await wait_until(lambda: drained(hub), "the erasure to drain")

        # As a live erasure leaves it: no directory row, the history under the alias,
        # including the passage the hub no longer has.
        assert await conn.fetchval(f"SELECT count(*) FROM {S}.people") == 0
        ids = await conn.fetch(f"SELECT DISTINCT person_id FROM {S}.passages")
        assert [r[0] for r in ids] == [alias]
        assert await conn.fetchval(f"SELECT count(*) FROM {S}.passages") == 4
        alert = await conn.fetchrow(f"SELECT subject_id, evidence FROM {S}.alerts")
        assert alert["subject_id"] == alias
        assert json.loads(alert["evidence"])["person_id"] == alias
        dump = await _dump(conn, "off-erase")
        assert "alice" not in dump
        assert "Alice" not in dump
        # The retention chosen while it was off reached the centre too.
        assert (
            await conn.fetchval(f"SELECT retention_days FROM {S}.estates WHERE code='off-erase'")
            == 180
        )
        # Shipped: the hub keeps no link from the id to the alias any more.
        assert (await hub.call(outbox_stats))[0] == 0
    finally:
        await conn.close()
        await hub.close()


# ------------------------------------------------------------- one code, one hub
async def test_a_second_hub_with_the_same_code_is_refused(
    tmp_path: Path, postgres_dsn: str
) -> None:
    code = "twin-court"
    first = Hub(tmp_path / "first.db", code, postgres_dsn, share=SharePolicy(names=True))
    second = Hub(tmp_path / "second.db", code, postgres_dsn, share=SharePolicy(names=True))
    now = time.time()
    await first.call(lambda s: _directory(s, "alice", "Alice Wang"))
    await first.call(lambda s: s.add_passage(_passage(now - 10, "alice")))
    await second.call(lambda s: _directory(s, "bob", "Bob Li"))
    for i in range(3):
        await second.call(lambda s, i=i: s.add_passage(_passage(now - 5 + i, "bob")))
    first_id = await first.call(hub_instance_id)
    second_id = await second.call(hub_instance_id)
    assert first_id != second_id
    config = CentralConfig(postgres_dsn, code)
    conn = await connect(postgres_dsn)
    try:
        await first.start()
        await wait_until(lambda: drained(first), "the first hub's drain")
        assert await conn.fetchval(f"SELECT owner FROM {S}.estates WHERE code=$1", code) == (
            first_id
        )
        before = await _dump(conn, code)
        seq_before = await conn.fetchval(f"SELECT last_seq FROM {S}.estates WHERE code=$1", code)

        # The connection test (the options flow) refuses the second hub, not the first.
        with pytest.raises(CentralError) as err:
            await check_link(config, second_id)
        assert err.value.reason == "estate_code_taken"
        await check_link(config, first_id)

        # The second hub's replicator meets the claim: it reports it and writes nothing.
        await second.start()

        async def refused() -> bool:
            return second.replicator.status().last_error == "estate_code_taken"

        await wait_until(refused, "the second hub refused")
        status = second.replicator.status()
        assert not status.connected
        assert status.shipped_total == 0
        assert (await second.call(outbox_stats))[0] > 0  # still queued on its hub
        assert await _dump(conn, code) == before
        assert "Bob" not in before
        assert "bob" not in before
        assert (
            await conn.fetchval(f"SELECT last_seq FROM {S}.estates WHERE code=$1", code)
            == seq_before
        )

        # The first keeps replicating.
        await first.call(lambda s: s.add_passage(_passage(now, "alice")))
        first.replicator.wake()
        await wait_until(lambda: drained(first), "the first hub's next passage")
        assert await conn.fetchval(f"SELECT count(*) FROM {S}.passages WHERE estate=$1", code) == 2
        assert second.replicator.status().shipped_total == 0
        assert await conn.fetchval(f"SELECT count(*) FROM {S}.people WHERE id='bob'") == 0

        # Moving the estate to the second hub: the old one is stopped and the centre's
        # admin releases the code (docs/central.md); the new hub then claims it.
        await first.replicator.stop()
        await conn.execute(f"UPDATE {S}.estates SET owner=NULL WHERE code=$1", code)
        await wait_until(lambda: drained(second), "the second hub after the release")
        assert await conn.fetchval(f"SELECT owner FROM {S}.estates WHERE code=$1", code) == (
            second_id
        )
        assert await conn.fetchval(f"SELECT name FROM {S}.people WHERE id='bob'") == "Bob Li"
    finally:
        await conn.close()
        await second.close()
        await first.close()


async def test_a_centre_from_before_owners_is_claimed_by_the_first_hub(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """A centre made before estates had an owner: the column is added on connecting and
    the estate's existing row goes to the first hub that claims it."""
    conn = await connect(postgres_dsn)
    try:
        await cs.ensure_schema(conn)
        await conn.execute(f"ALTER TABLE {S}.estates DROP COLUMN owner")
        await conn.execute(f"INSERT INTO {S}.estates (code, last_seq) VALUES ('old-court', 0)")
        assert not await cs.has_owner_column(conn)
        hub = Hub(tmp_path / "old.db", "old-court", postgres_dsn)
        try:
            await hub.call(lambda s: _directory(s, "carol", "Carol"))
            await hub.call(lambda s: s.add_passage(_passage(time.time(), "carol")))
            await hub.start()
            await wait_until(lambda: drained(hub), "the drain")
            assert await cs.has_owner_column(conn)
            owner = await conn.fetchval(f"SELECT owner FROM {S}.estates WHERE code='old-court'")
            assert owner == await hub.call(hub_instance_id)
            assert await conn.fetchval(f"SELECT count(*) FROM {S}.passages") == 1
        finally:
            await hub.close()
    finally:
        await conn.close()
