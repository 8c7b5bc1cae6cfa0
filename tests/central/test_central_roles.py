"""The centre run as docs/central.md §4 recommends, against a real PostgreSQL: an owner
role creates the schema, each hub connects with its own role that row-level security
holds to its own estate's rows, and the command centre reads with a read-only role.
A hub role must still open a new month (a partition of a table it does not own), and
must not reach another estate's rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
import time

import asyncpg
import pytest

from custom_components.community_gate.core import central_schema as cs
from custom_components.community_gate.core.model import Direction, Method, Passage, Reason
from tests.central.hubkit import Hub, connect, drained, wait_until
from tests.pg import PgServer

S = cs.SCHEMA
TABLES = ("passages", "alerts", "people", "units", "gates", "devices")


def hub_role_sql(role: str, estate: str) -> list[str]:
    """The per-hub role's rights of docs/central.md §4, given by the schema's owner."""
    out = [
        f"GRANT USAGE ON SCHEMA {S} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE ON {S}.estates TO {role}",
        f"GRANT SELECT ON {S}.schema_version TO {role}",
        f"GRANT USAGE ON SEQUENCE {S}.alert_rev TO {role}",
        f"CREATE POLICY {role} ON {S}.estates TO {role}"
        f" USING (code = '{estate}') WITH CHECK (code = '{estate}')",
    ]
    for table in TABLES:
        out += [
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {S}.{table} TO {role}",
            f"CREATE POLICY {role} ON {S}.{table} TO {role}"
            f" USING (estate = '{estate}') WITH CHECK (estate = '{estate}')",
        ]
    return out


HUBS = (("hub_maple", "maple-court"), ("hub_birch", "birch-yard"))


def admin_sql(db: str) -> list[str]:
    """The database owner's part: the roles (an owner role cannot create roles)."""
    out = [
        "CREATE ROLE centre_owner LOGIN PASSWORD 'owner-pw'",
        f"GRANT CREATE ON DATABASE {db} TO centre_owner",
        f"REVOKE CREATE ON DATABASE {db} FROM PUBLIC",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    ]
    for role, _estate in HUBS:
        out.append(f"CREATE ROLE {role} LOGIN PASSWORD '{role}-pw'")
    return out


def rls_sql() -> list[str]:
    tables = ("estates", *TABLES)
    return [f"ALTER TABLE {S}.{t} ENABLE ROW LEVEL SECURITY" for t in tables]


def _passage(ts: float, person: str) -> Passage:
    return Passage(ts, "main", Direction.IN, Method.CARD, True, Reason.GRANTED, person_id=person)


def _dsn(server: PgServer, db: str, role: str, password: str) -> str:
    return f"postgresql://{role}:{password}@127.0.0.1:{server.port}/{db}"


async def test_a_hub_role_opens_a_new_month_and_stays_in_its_estate(
    postgres_server: PgServer, postgres_dsn: str, tmp_path: Path
) -> None:
    db = postgres_dsn.rsplit("/", 1)[1]
    admin = await connect(postgres_dsn)
    try:
        for statement in admin_sql(db):
            await admin.execute(statement)
    finally:
        await admin.close()
    owner = await connect(_dsn(postgres_server, db, "centre_owner", "owner-pw"))
    try:
        await cs.ensure_schema(owner)
        for statement in rls_sql():
            await owner.execute(statement)
        for role, estate in HUBS:
            for statement in hub_role_sql(role, estate):
                await owner.execute(statement)
    finally:
        await owner.close()

    now = time.time()
    # A month no partition exists for yet: only the owner could create it by DDL.
    later = datetime(2027, 3, 15, tzinfo=UTC).timestamp()
    hub = Hub(
        tmp_path / "maple.db", "maple-court", _dsn(postgres_server, db, "hub_maple", "hub_maple-pw")
    )
    try:
        await hub.call(lambda s: s.add_passage(_passage(now - 60, "p1")))
        await hub.call(lambda s: s.add_passage(_passage(later, "p2")))
        await hub.start()
        await wait_until(lambda: drained(hub), "the hub role's rows at the centre")
    finally:
        await hub.close()

    conn = await connect(postgres_dsn)
    try:
        rows = await conn.fetch(f"SELECT estate, person_id FROM {S}.passages ORDER BY ts")
        assert [(r["estate"], r["person_id"]) for r in rows] == [
            ("maple-court", "p1"),
            ("maple-court", "p2"),
        ]
        partitions = dict(await cs.list_partitions(conn))
        assert "passages_p202703" in partitions
        # Made by the schema's function, so owned like the others (the purge drops them).
        owners = {
            r["relname"]: r["owner"]
            for r in await conn.fetch(
                "SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = $1 AND c.relname LIKE 'passages_p%'",
                S,
            )
        }
        assert set(owners.values()) == {"centre_owner"}, owners
    finally:
        await conn.close()

    # The other hub's role sees nothing of Maple Court and cannot write for it.
    birch = await connect(_dsn(postgres_server, db, "hub_birch", "hub_birch-pw"))
    try:
        assert await birch.fetchval(f"SELECT count(*) FROM {S}.passages") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await birch.execute(
                f"INSERT INTO {S}.people (estate, id, role) VALUES ('maple-court', 'x', 'tenant')"
            )
        # It cannot make tables either, only the month partitions the function makes.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await birch.execute(f"CREATE TABLE {S}.mine (x int)")
        with pytest.raises(asyncpg.DatetimeFieldOverflowError):
            await birch.execute(f"SELECT {S}.ensure_month('2300-01-01')")
    finally:
        await birch.close()


async def test_a_centre_from_before_the_function_gets_it_and_the_months_still_meet(
    postgres_dsn: str,
) -> None:
    """A centre made before ``ensure_month`` existed gets it from the first role allowed
    to create it; a month it opens meets the month the old DDL opened exactly (UTC)."""
    conn = await connect(postgres_dsn)
    try:
        await cs.ensure_schema(conn)
        await conn.execute(f"DROP FUNCTION {S}.ensure_month(date)")
        assert not await cs.has_month_function(conn)
        january = datetime(2027, 1, 1, tzinfo=UTC)
        await cs.ensure_month(conn, january)  # the old way: DDL in this role's name
        await cs.ensure_schema(conn)  # up to date, but the function is added
        assert await cs.has_month_function(conn)
        await cs.ensure_month(conn, datetime(2027, 2, 1, tzinfo=UTC))  # through it
        await cs.ensure_month(conn, datetime(2027, 2, 1, tzinfo=UTC))  # once only
        for ts, table in (
            (datetime(2027, 1, 31, 23, 59, 59, 999000, tzinfo=UTC), "passages_p202701"),
            (datetime(2027, 2, 1, tzinfo=UTC), "passages_p202702"),
        ):
            await conn.execute(
                f"INSERT INTO {S}.passages (estate, id, ts, gate_id, direction, method,"
                " allowed, reason, seq) VALUES ('e', 1, $1, 'g', 'in', 'card',"
                " true, 'granted', 1)",
                ts,
            )
            where = await conn.fetchval(
                f"SELECT tableoid::regclass::text FROM {S}.passages WHERE ts = $1",
                ts,
            )
            assert where == f"{S}.{table}", (ts, where)
    finally:
        await conn.close()


async def test_a_centre_refusing_every_batch_is_logged_once_and_backed_off(
    postgres_server: PgServer, postgres_dsn: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The login works, a grant is missing: every session connects, then its first
    batch is refused. That is an outage (down since the first refusal), logged once,
    not a reconnect at the shortest wait and a warning each time; once the grant is
    given the queue drains and the link is up again."""
    db = postgres_dsn.rsplit("/", 1)[1]
    admin = await connect(postgres_dsn)
    try:
        await cs.ensure_schema(admin)
        await admin.execute("CREATE ROLE hub_oak LOGIN PASSWORD 'hub_oak-pw'")
        for statement in hub_role_sql("hub_oak", "oak-row"):
            await admin.execute(statement)
        await admin.execute(f"REVOKE INSERT ON {S}.passages FROM hub_oak")
    finally:
        await admin.close()
    hub = Hub(tmp_path / "oak.db", "oak-row", _dsn(postgres_server, db, "hub_oak", "hub_oak-pw"))
    try:
        await hub.call(lambda s: s.add_passage(_passage(time.time(), "p1")))
        caplog.clear()
        await hub.start()

        async def refused_again() -> bool:
            return hub.replicator.status().failures >= 4

        await wait_until(refused_again, "four refused sessions")
        status = hub.replicator.status()
        assert status.last_error == "permission"
        assert status.backlog >= 1
        assert status.down_since is not None
        warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]

        admin = await connect(postgres_dsn)
        try:
            await admin.execute(f"GRANT INSERT ON {S}.passages TO hub_oak")
        finally:
            await admin.close()
        hub.replicator.wake()
        await wait_until(lambda: drained(hub), "the queue after the grant")
        status = hub.replicator.status()
        assert (status.failures, status.down_since, status.last_error) == (0, None, None)
    finally:
        await hub.close()
