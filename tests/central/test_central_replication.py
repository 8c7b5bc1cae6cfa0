"""Replication of estates into a real PostgreSQL: a simulated month of three estates,
the link cut during traffic, erasure, retention, and the centre's queries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from functools import partial
import json
from pathlib import Path
import time
from typing import Any

import pytest

from custom_components.community_gate.core import central_schema as cs, centre, replicator
from custom_components.community_gate.core.access import AccessControl
from custom_components.community_gate.core.alerts import AlertLog, Rule, SubjectKind
from custom_components.community_gate.core.crypto import Hasher
from custom_components.community_gate.core.model import (
    CredentialKind,
    Direction,
    Gate,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    Unit,
)
from custom_components.community_gate.core.outbox import SharePolicy, last_seq, outbox_stats
from custom_components.community_gate.core.privacy import Retention, erase_person, purge
from custom_components.community_gate.core.replicator import Replicator
from custom_components.community_gate.core.rules import RuleEngine, RuleParams
from custom_components.community_gate.core.store import Store
from devtools import simulate
from tests.central.hubkit import Hub, connect, drained, wait_until
from tests.pg import PgServer, make_server

S = cs.SCHEMA
DAY = 86400.0


def _month(store: Store, seed: int) -> dict[str, Any]:
    """A simulated month of one estate, written through the store (outbox on)."""
    params = RuleParams()
    builder = simulate.Builder(12, 30, seed, params)
    estate = simulate._register(builder, store)
    simulate.replay(estate, store, params)
    return {"start": estate.start}


def _local(store: Store) -> dict[str, Any]:
    c = store.conn
    return {
        "passages": [
            (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
            for r in c.execute(
                "SELECT id, ts, count, last_seen, gate_id, reason, person_id, cluster_id"
                " FROM passages ORDER BY id"
            )
        ],
        "alerts": [
            tuple(r)
            for r in c.execute("SELECT id, rule, subject_id, state FROM alerts ORDER BY id")
        ],
        "people": [r[0] for r in c.execute("SELECT id FROM people ORDER BY id")],
        "last_seq": last_seq(store),
    }


async def _central(conn: Any, code: str) -> dict[str, Any]:
    rows = await conn.fetch(
        f"SELECT id, extract(epoch FROM ts) AS ts, count, extract(epoch FROM last_seen) AS ls,"
        f" gate_id, reason, person_id, cluster_id FROM {S}.passages WHERE estate=$1 ORDER BY id",
        code,
    )
    alerts = await conn.fetch(
        f"SELECT id, rule, subject_id, state FROM {S}.alerts WHERE estate=$1 ORDER BY id", code
    )
    people = await conn.fetch(f"SELECT id FROM {S}.people WHERE estate=$1 ORDER BY id", code)
    return {
        "passages": [
            (
                r["id"],
                float(r["ts"]),
                r["count"],
                None if r["ls"] is None else float(r["ls"]),
                r["gate_id"],
                r["reason"],
                r["person_id"],
                r["cluster_id"],
            )
            for r in rows
        ],
        "alerts": [tuple(r) for r in alerts],
        "people": [r["id"] for r in people],
        "last_seq": await conn.fetchval(f"SELECT last_seq FROM {S}.estates WHERE code=$1", code),
    }


def _close_ts(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    """Passages equal, times to the microsecond (timestamptz's resolution)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x[0] != y[0] or x[2] != y[2] or x[4:] != y[4:] or abs(x[1] - y[1]) > 1e-5:
            return False
        if (x[3] is None) != (y[3] is None) or (x[3] is not None and abs(x[3] - y[3]) > 1e-5):
            return False
    return True


async def test_a_simulated_month_of_three_estates(tmp_path: Path, postgres_dsn: str) -> None:
    hubs = [Hub(tmp_path / f"{c}.db", c, postgres_dsn) for c in ("north", "east", "south")]
    for hub in hubs:
        await hub.start()
    try:
        # The three months are written while the replicators run (each store on its
        # own thread), as hubs write while the line is up.
        await asyncio.gather(
            *(hub.call(lambda s, i=i: _month(s, 40 + i)) for i, hub in enumerate(hubs))
        )
        for hub in hubs:
            hub.replicator.wake()
        for hub in hubs:
            await wait_until(lambda hub=hub: drained(hub), f"{hub.code} to drain")
        conn = await connect(postgres_dsn)
        try:
            for hub in hubs:
                local = await hub.call(_local)
                there = await _central(conn, hub.code)
                assert local["passages"], "the simulation wrote passages"
                assert _close_ts(local["passages"], there["passages"])
                assert local["alerts"] == there["alerts"]
                assert local["alerts"]
                assert local["people"] == there["people"]
                assert there["last_seq"] == local["last_seq"]
                # In order: each passage's last write came after the ones before it.
                seqs = await conn.fetch(
                    f"SELECT seq FROM {S}.passages WHERE estate=$1 AND count=1 ORDER BY id",
                    hub.code,
                )
                assert [r[0] for r in seqs] == sorted(r[0] for r in seqs)
                st = hub.replicator.status()
                assert st.connected
                assert st.backlog == 0
                assert st.last_error is None
            months = await cs.list_partitions(conn)
            assert months, "passages went into month partitions"
            # The centre's view: each estate's own alerts, with its code on each.
            overview = await centre.estates_overview(conn, time.time())
            assert [o.code for o in overview] == ["east", "north", "south"]
            feed = await centre.alerts_feed(conn, None, limit=10_000)
            for hub in hubs:
                local = await hub.call(_local)
                mine = sorted(a.id for a in feed if a.estate == hub.code)
                assert mine == [a[0] for a in local["alerts"]]
                opened = sum(1 for a in local["alerts"] if a[3] != "resolved")
                (o,) = [o for o in overview if o.code == hub.code]
                assert o.open_alerts == opened
                assert o.backlog == 0
        finally:
            await conn.close()
    finally:
        for hub in hubs:
            await hub.close()


@pytest.fixture
def own_server(socket_enabled: None) -> Iterator[PgServer]:
    """A server of this test's own: it is stopped and started again mid-test."""
    server = make_server()
    yield server
    server.destroy()


def _granted(i: int, t0: float) -> Passage:
    return Passage(
        t0 + i, "main", Direction.IN, Method.CARD, True, Reason.GRANTED, person_id=f"p{i % 50}"
    )


async def test_link_cut_during_traffic(tmp_path: Path, own_server: PgServer) -> None:
    dsn = own_server.dsn(own_server.create_database())
    hub = Hub(tmp_path / "e.db", "cut", dsn)
    await hub.call(lambda s: s.upsert_gate(Gate("main", "Main")))
    await hub.start()
    t0 = time.time() - 3600
    written = 0

    async def write(n: int) -> None:
        nonlocal written
        for _ in range(n):
            await hub.call(lambda s, i=written: s.add_passage(_granted(i, t0)))
            written += 1
            if written % 10 == 0:
                hub.replicator.wake()
                await asyncio.sleep(0.005)

    try:
        await write(300)
        await asyncio.to_thread(own_server.stop)  # the line goes down mid-traffic
        await write(600)

        def cut_seen() -> bool:
            st = hub.replicator.status()
            return not st.connected and st.backlog > 0

        await wait_until(lambda: asyncio.sleep(0, cut_seen()), "the cut to show")
        st = hub.replicator.status()
        assert st.down_since is not None
        assert st.last_error == "cannot_connect"
        await write(300)
        await asyncio.to_thread(own_server.start)  # restored
        await write(300)
        await wait_until(lambda: drained(hub), "the backlog to drain")
        conn = await connect(dsn)
        try:
            rows = await conn.fetch(
                f"SELECT id, seq FROM {S}.passages WHERE estate='cut' ORDER BY id"
            )
            centre_seq = await conn.fetchval(f"SELECT last_seq FROM {S}.estates WHERE code='cut'")
        finally:
            await conn.close()
        local_ids = await hub.call(
            lambda s: [r[0] for r in s.conn.execute("SELECT id FROM passages ORDER BY id")]
        )
        assert len(local_ids) == written == 1500
        # Every passage once, and applied in the order it was written.
        assert [r["id"] for r in rows] == local_ids
        assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
        assert centre_seq == await hub.call(last_seq)
        # Each queued row was applied once: nothing re-applied after the reconnect.
        assert hub.replicator.status().shipped_total == centre_seq
    finally:
        await hub.close()


async def test_erasure_is_pseudonymised_at_the_centre(tmp_path: Path, postgres_dsn: str) -> None:
    hub = Hub(tmp_path / "e.db", "erase", postgres_dsn, share=SharePolicy(names=True))

    def setup(s: Store) -> None:
        s.upsert_gate(Gate("main", "Main"))
        s.add_unit(Unit("u1", "A", "101"))
        s.add_person(Person("alice", Role.TENANT, "Alice Wang", unit_id="u1"))
        for i in range(5):
            s.add_passage(
                Passage(
                    time.time() - 100 + i,
                    "main",
                    Direction.IN,
                    Method.CARD,
                    True,
                    Reason.GRANTED,
                    person_id="alice",
                    unit_id="u1",
                )
            )
        AlertLog(s).add(
            time.time(),
            Rule.LONG_ABSENCE,
            SubjectKind.PERSON,
            "alice",
            None,
            {"person_id": "alice", "days": 3},
        )

    await hub.call(setup)
    await hub.start()
    try:
        await wait_until(lambda: drained(hub), "the first drain")
        conn = await connect(postgres_dsn)
        try:
            assert await conn.fetchval(f"SELECT name FROM {S}.people WHERE id='alice'") == (
                "Alice Wang"
            )
            alias, _ = await hub.call(lambda s: erase_person(s, "alice"))
            hub.replicator.wake()
            await wait_until(lambda: drained(hub), "the erasure to drain")
            assert await conn.fetchval(f"SELECT count(*) FROM {S}.people") == 0
            ids = await conn.fetch(f"SELECT DISTINCT person_id FROM {S}.passages")
            assert [r[0] for r in ids] == [alias]
            alert = await conn.fetchrow(f"SELECT subject_id, evidence FROM {S}.alerts")
            assert alert["subject_id"] == alias
            assert json.loads(alert["evidence"])["person_id"] == alias
            dump = await conn.fetchval(
                f"SELECT string_agg(t::text, ' ') FROM (SELECT * FROM {S}.passages) t"
            ) + await conn.fetchval(f"SELECT string_agg(t::text, ' ') FROM {S}.alerts t")
            assert "alice" not in dump
            assert "Alice" not in dump
        finally:
            await conn.close()
    finally:
        await hub.close()


async def test_retention_purge_follows_each_estate(tmp_path: Path, postgres_dsn: str) -> None:
    now = time.time()
    short = Hub(tmp_path / "a.db", "short", postgres_dsn)
    long = Hub(tmp_path / "b.db", "long", postgres_dsn)
    ages = (800, 100, 1)

    def setup(days: int) -> Any:
        def run(s: Store) -> None:
            s.upsert_gate(Gate("main", "Main"))
            for age in ages:
                s.add_passage(_granted(0, now - age * DAY))
            purge(s, Retention(passages=days), now=now - 900 * DAY)  # tells the centre

        return run

    await short.call(setup(30))
    await long.call(setup(365))
    for hub in (short, long):
        await hub.start()
    try:
        for hub in (short, long):
            await wait_until(lambda hub=hub: drained(hub), "drain")
        conn = await connect(postgres_dsn)
        try:
            kept = await conn.fetch(f"SELECT code, retention_days FROM {S}.estates ORDER BY code")
            assert [tuple(r) for r in kept] == [("long", 365), ("short", 30)]
            before = len(await cs.list_partitions(conn))
            counts = await cs.purge(conn, now)
            left = await conn.fetch(
                f"SELECT estate, round((extract(epoch FROM now()) - extract(epoch FROM ts))"
                f" / 86400) AS age FROM {S}.passages ORDER BY estate, age"
            )
            assert [(r[0], int(r[1])) for r in left] == [("long", 1), ("long", 100), ("short", 1)]
            assert counts["passages"] == 3
            # 800 days ago is past every estate's retention: its month table is gone.
            assert counts["partitions"] >= 1
            assert len(await cs.list_partitions(conn)) == before - counts["partitions"]
        finally:
            await conn.close()
    finally:
        for hub in (short, long):
            await hub.close()


async def test_centre_queries_and_the_cross_estate_card_rule(
    tmp_path: Path, postgres_dsn: str
) -> None:
    now = time.time()
    shared = bytes(range(100, 132))
    codes = ("e1", "e2", "e3", "e4")
    hubs = [Hub(tmp_path / f"{c}.db", c, postgres_dsn) for c in codes]

    def setup(k: int) -> Any:
        def run(s: Store) -> None:
            s.upsert_gate(Gate("main", "Main"))
            # Each estate its own credential key; the operator's card key is shared.
            ac = AccessControl(s, Hasher(bytes([k]) * 32), card_key=shared)
            s.add_person(Person("v", Role.VISITOR))
            if k < 3:  # the same visitor card at three estates
                card, _ = ac.add_credential("v", CredentialKind.ID_CARD, "11010519491231002X")
                s.add_passage(
                    Passage(
                        now - 3600 * (k + 1),
                        "main",
                        Direction.IN,
                        Method.ID_CARD,
                        True,
                        Reason.GRANTED,
                        person_id="v",
                        credential_id=card.id,
                    )
                )
            for i in range(k + 1):
                s.add_passage(_granted(i, now - 60))
            engine = RuleEngine(s)
            if k == 1:
                engine.device_state("cam", False, now - 30, gate_id="main")
            log = AlertLog(s)
            for i in range(k):
                log.add(now - i, Rule.TAILGATING, SubjectKind.CLUSTER, f"k{i}", "main", {})
            if k == 2:
                log.resolve(1, "staff", now)

        return run

    for k, hub in enumerate(hubs):
        await hub.call(setup(k))
        await hub.start()
    try:
        for hub in hubs:
            await wait_until(lambda hub=hub: drained(hub), "drain")
        conn = await connect(postgres_dsn)
        try:
            overview = {o.code: o for o in await centre.estates_overview(conn, now)}
            assert [overview[c].open_alerts for c in codes] == [0, 1, 1, 3]
            assert [overview[c].offline_devices for c in codes] == [0, 1, 0, 0]
            today = [overview[c].passages_today for c in codes]
            midnight = centre.day_start(now)
            expect = [
                (k + 1) + (1 if k < 3 and now - 3600 * (k + 1) >= midnight else 0) for k in range(4)
            ]
            assert today == expect
            feed = await centre.alerts_feed(conn, None, limit=100)
            assert sorted({a.estate for a in feed}) == ["e2", "e3", "e4"]
            cursor = max(a.feed_id for a in feed)
            assert await centre.alerts_feed(conn, cursor) == []
            # A change at one estate shows up after the cursor, with its estate.
            await hubs[3].call(lambda s: AlertLog(s).acknowledge(2, "staff", now))
            hubs[3].replicator.wake()
            await wait_until(lambda: drained(hubs[3]), "the acknowledgement")
            (changed,) = await centre.alerts_feed(conn, cursor)
            assert (changed.estate, changed.id, changed.state) == ("e4", 2, "acknowledged")
            assert len(await centre.open_alerts(conn, "e4")) == 3
            page1 = await centre.passages_page(conn, "e4", None, limit=3)
            page2 = await centre.passages_page(conn, "e4", page1[-1].ts, limit=3)
            assert len(page1) == 3
            assert len(page2) == 1
            assert page1[0].ts >= page1[-1].ts > page2[0].ts
            cards = await centre.repeat_visitor_cards(conn, now, min_estates=3, days=7)
            assert len(cards) == 1
            assert cards[0].estates == ("e1", "e2", "e3")
            assert "11010519491231002X" not in cards[0].card
            assert await centre.repeat_visitor_cards(conn, now, min_estates=4) == []
        finally:
            await conn.close()
    finally:
        for hub in hubs:
            await hub.close()


async def test_history_is_backfilled_by_the_replicator(tmp_path: Path, postgres_dsn: str) -> None:
    """An estate with a passage log joins the centre: the replicator queues its history
    a chunk per store job after the live rows, and all of it arrives."""
    path = tmp_path / "old.db"
    store = Store.open(path, durable=False)
    store.upsert_gate(Gate("main", "Main"))
    t0 = time.time() - 40 * DAY
    store.add_passages(_granted(i, t0 + i * 60) for i in range(5000))
    store.close()
    hub = Hub(path, "old", postgres_dsn, backfill_now=False)
    await hub.start()
    try:
        await hub.call(lambda s: s.add_passage(_granted(0, time.time())))
        hub.replicator.wake()
        await wait_until(lambda: drained(hub), "the history to arrive")
        conn = await connect(postgres_dsn)
        try:
            n = await conn.fetchval(f"SELECT count(*) FROM {S}.passages WHERE estate='old'")
        finally:
            await conn.close()
        assert n == 5001
    finally:
        await hub.close()


async def test_connected_never_reads_an_empty_queue_while_rows_wait(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """The backlog is unknown (None, not 0) until the outbox was first counted, and a
    session counts it before it reports connected: the first batch, held here as a
    busy database thread would hold it, is read only after that."""
    hub = Hub(tmp_path / "e.db", "count", postgres_dsn)
    first_batch = asyncio.Event()

    async def held[T](fn: Callable[[Store], T], /) -> T:
        if isinstance(fn, partial) and fn.func is replicator._next_batch:
            await first_batch.wait()
        return await hub.run_db(fn)

    hub.replicator = Replicator(
        hub.replicator.config, held, poll=0.05, retry_min=0.05, retry_max=0.5
    )
    try:
        await hub.call(lambda s: s.upsert_gate(Gate("main", "Main")))
        t0 = time.time() - 3600
        await hub.call(lambda s: s.add_passages(_granted(i, t0 + i) for i in range(200)))
        queued, _ = await hub.call(outbox_stats)
        assert queued >= 200
        assert hub.replicator.status().backlog is None  # not counted yet: unknown
        await hub.start()
        await wait_until(lambda: asyncio.sleep(0, hub.replicator.status().connected), "the login")
        assert hub.replicator.status().backlog == queued
        first_batch.set()
        await wait_until(lambda: drained(hub), "the queue at the centre")
    finally:
        first_batch.set()
        await hub.close()


async def test_the_alert_feed_never_skips_a_change_committed_late(postgres_dsn: str) -> None:
    """Two hubs' batches: the first takes the lower feed id but commits after the
    second. A poll in between must not move the cursor past the first one's alert."""
    slow, fast, reader = [await connect(postgres_dsn) for _ in range(3)]
    insert = (
        f"INSERT INTO {S}.alerts (estate, id, ts, rule, subject_kind, subject_id, state)"
        " VALUES ($1, 1, now(), 'tailgating', 'cluster', 'k1', 'new')"
    )
    try:
        await cs.ensure_schema(reader)
        tx = slow.transaction()
        await tx.start()
        await slow.execute(insert, "slow")  # takes the lower feed id, not committed yet
        await fast.execute(insert, "fast")  # a higher one, committed at once
        assert await centre.alerts_feed(reader, 0) == []
        await tx.commit()
        feed = await centre.alerts_feed(reader, 0)
        assert [a.estate for a in feed] == ["slow", "fast"]
        assert feed[0].feed_id < feed[1].feed_id
    finally:
        for c in (slow, fast, reader):
            await c.close()
