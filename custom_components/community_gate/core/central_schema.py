"""The command centre's PostgreSQL schema: what every estate's hub replicates into.

Everything lives in one PostgreSQL schema (``community_gate``) so the centre's
database can hold other things. ``ensure_schema`` is idempotent and safe to run from
59 hubs at once (an advisory lock serialises the DDL). Passages are partitioned by
month (plain declarative partitioning; a month's table is created when its first row
arrives), so retention drops whole months and staff queries on a day touch one table.

Rows are keyed by ``(estate, the hub's own id)``: a hub re-sending a row after a lost
acknowledgement overwrites it with the same values (idempotent upserts). Times are
``timestamptz``; the hub sends epoch seconds.

No Home Assistant here; ``conn`` is an ``asyncpg`` connection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

SCHEMA: Final = "community_gate"
# Bumped when the centre's tables change; a hub refuses a centre newer than it knows.
CENTRAL_SCHEMA_VERSION: Final = 1
# pg_advisory_xact_lock key for DDL (schema and partitions): one writer at a time.
_DDL_LOCK: Final = 0x6367_0001
MAX_MONTHS_AHEAD: Final = 12  # the furthest month ``ensure_month`` opens

_DDL: Final = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.estates (
    code text PRIMARY KEY,
    last_seq bigint NOT NULL DEFAULT 0,
    last_seen timestamptz,
    lag_s double precision,
    backlog bigint NOT NULL DEFAULT 0,
    retention_days integer NOT NULL DEFAULT 365,
    registered_at timestamptz NOT NULL DEFAULT now(),
    owner text
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.passages (
    estate text NOT NULL,
    id bigint NOT NULL,
    ts timestamptz NOT NULL,
    last_seen timestamptz,
    count integer NOT NULL DEFAULT 1,
    gate_id text NOT NULL,
    direction text NOT NULL,
    method text NOT NULL,
    allowed boolean NOT NULL,
    reason text NOT NULL,
    person_id text,
    unit_id text,
    cluster_id text,
    flags text NOT NULL DEFAULT '',
    card text,
    seq bigint NOT NULL,
    PRIMARY KEY (estate, id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX IF NOT EXISTS passages_estate_ts ON {SCHEMA}.passages (estate, ts);
CREATE INDEX IF NOT EXISTS passages_person_ts ON {SCHEMA}.passages (estate, person_id, ts)
    WHERE person_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS passages_card_ts ON {SCHEMA}.passages (card, ts)
    WHERE card IS NOT NULL;
CREATE SEQUENCE IF NOT EXISTS {SCHEMA}.alert_rev;
CREATE TABLE IF NOT EXISTS {SCHEMA}.alerts (
    estate text NOT NULL,
    id bigint NOT NULL,
    rev bigint NOT NULL DEFAULT nextval('{SCHEMA}.alert_rev'),
    -- The transaction that last wrote the row: the feed shows a change only once every
    -- transaction that could have taken a lower rev has ended (see centre.alerts_feed).
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    ts timestamptz NOT NULL,
    rule text NOT NULL,
    subject_kind text NOT NULL,
    subject_id text NOT NULL,
    gate_id text,
    evidence jsonb NOT NULL DEFAULT '{{}}',
    state text NOT NULL,
    acknowledged_at timestamptz,
    resolved_at timestamptz,
    PRIMARY KEY (estate, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_rev ON {SCHEMA}.alerts (rev);
CREATE INDEX IF NOT EXISTS alerts_open ON {SCHEMA}.alerts (estate) WHERE state <> 'resolved';
CREATE INDEX IF NOT EXISTS alerts_subject ON {SCHEMA}.alerts (estate, subject_id);
CREATE INDEX IF NOT EXISTS alerts_ts ON {SCHEMA}.alerts (ts);
CREATE TABLE IF NOT EXISTS {SCHEMA}.people (
    estate text NOT NULL,
    id text NOT NULL,
    unit_id text,
    role text NOT NULL,
    special_attention boolean NOT NULL DEFAULT false,
    lives_alone boolean NOT NULL DEFAULT false,
    blocked boolean NOT NULL DEFAULT false,
    valid_from timestamptz,
    valid_until timestamptz,
    allowed_gates text[] NOT NULL DEFAULT '{{}}',
    name text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (estate, id)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.units (
    estate text NOT NULL,
    id text NOT NULL,
    building text NOT NULL,
    number text NOT NULL,
    rent_arrears boolean NOT NULL DEFAULT false,
    lease_until timestamptz,
    PRIMARY KEY (estate, id)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.gates (
    estate text NOT NULL,
    id text NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    direction text NOT NULL,
    building text,
    PRIMARY KEY (estate, id)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.devices (
    estate text NOT NULL,
    id text NOT NULL,
    gate_id text,
    online boolean NOT NULL,
    since timestamptz NOT NULL,
    PRIMARY KEY (estate, id)
);
ALTER TABLE {SCHEMA}.estates ADD COLUMN IF NOT EXISTS owner text;
"""

# A hub's own role (docs/central.md §4) may write rows but not create tables, yet every
# new month needs a partition of ``passages``. This function, owned by the schema's
# owner and run with its rights, creates exactly that and nothing else: the month is
# a date (no text reaches the DDL), the name follows ``partition_name``, and months
# far from now are refused (a hub's clock gone wrong must not litter the schema).
_MONTH_FUNCTION: Final = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.ensure_month(day date) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    first date := date_trunc('month', day)::date;
    name text := 'passages_p' || to_char(first, 'YYYYMM');
BEGIN
    IF first < DATE '2000-01-01'
        OR first > (now() + interval '{MAX_MONTHS_AHEAD} months')::date THEN
        RAISE EXCEPTION 'month % is out of range', first USING ERRCODE = '22008';
    END IF;
    PERFORM pg_advisory_xact_lock({_DDL_LOCK});
    IF to_regclass(format('%I.%I', '{SCHEMA}', name)) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE %I.%I PARTITION OF %I.passages FOR VALUES FROM (%L) TO (%L)',
            '{SCHEMA}', name, '{SCHEMA}',
            first::timestamp AT TIME ZONE 'UTC',
            (first + interval '1 month')::timestamp AT TIME ZONE 'UTC'
        );
    END IF;
END
$fn$;
"""


class SchemaNewerError(Exception):
    """The centre's schema was written by a newer version of the integration."""

    def __init__(self, found: int) -> None:
        super().__init__(f"central schema version {found} is newer than {CENTRAL_SCHEMA_VERSION}")
        self.found = found


async def schema_version(conn: Any) -> int | None:
    """The centre's schema version; None when the schema is not there yet."""
    exists = await conn.fetchval("SELECT to_regclass($1)", f"{SCHEMA}.schema_version")
    if exists is None:
        return None
    found = await conn.fetchval(f"SELECT max(version) FROM {SCHEMA}.schema_version")
    return None if found is None else int(found)


async def ensure_schema(conn: Any) -> None:
    """Create what is missing; refuse (``SchemaNewerError``) a newer schema."""
    found = await schema_version(conn)
    if found is not None and found > CENTRAL_SCHEMA_VERSION:
        raise SchemaNewerError(found)
    if found == CENTRAL_SCHEMA_VERSION:
        await ensure_owner_column(conn)
        await ensure_month_function(conn)
        return
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _DDL_LOCK)
        await conn.execute(_DDL)
        await conn.execute(_MONTH_FUNCTION)
        found = await conn.fetchval(f"SELECT max(version) FROM {SCHEMA}.schema_version")
        if found is None:
            await conn.execute(
                f"INSERT INTO {SCHEMA}.schema_version VALUES ($1)", CENTRAL_SCHEMA_VERSION
            )
        elif int(found) > CENTRAL_SCHEMA_VERSION:
            raise SchemaNewerError(int(found))


# ------------------------------------------------------------ estate ownership
# insufficient_privilege, read_only_sql_transaction: a role that may not alter the table.
_CANNOT_ALTER: Final = frozenset({"42501", "25006"})


async def has_owner_column(conn: Any) -> bool:
    """Whether ``estates`` can record which hub owns a code (centres made before the
    column existed get it from the first role allowed to add it)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1)"
            " AND attname = 'owner' AND NOT attisdropped)",
            f"{SCHEMA}.estates",
        )
    )


async def ensure_owner_column(conn: Any) -> bool:
    """Add ``estates.owner`` to a centre made before it (a nullable column: hubs of
    older releases keep working, the schema version is unchanged). A role that may not
    alter the table leaves it as it is (the centre's admin adds it, docs/central.md).
    Returns whether the column is there."""
    if await has_owner_column(conn):
        return True
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _DDL_LOCK)
            await conn.execute(f"ALTER TABLE {SCHEMA}.estates ADD COLUMN IF NOT EXISTS owner text")
    except Exception as err:
        if getattr(err, "sqlstate", None) in _CANNOT_ALTER:
            return False
        raise
    return True


async def has_month_function(conn: Any) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT to_regprocedure($1) IS NOT NULL", f"{SCHEMA}.ensure_month(date)"
        )
    )


async def ensure_month_function(conn: Any) -> bool:
    """Add ``ensure_month`` to a centre made before it (as ``ensure_owner_column``: a
    role that may not create it leaves it to the schema's owner, and hubs connecting
    as the owner keep creating partitions themselves). Returns whether it is there."""
    if await has_month_function(conn):
        return True
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _DDL_LOCK)
            await conn.execute(_MONTH_FUNCTION)
    except Exception as err:
        if getattr(err, "sqlstate", None) in _CANNOT_ALTER:
            return False
        raise
    return True


async def estate_owner(conn: Any, code: str) -> str | None:
    """The hub that owns ``code`` (None: nobody yet, or no such estate)."""
    found = await conn.fetchval(f"SELECT owner FROM {SCHEMA}.estates WHERE code=$1", code)
    return None if found is None else str(found)


async def claim_estate(conn: Any, code: str, hub_id: str) -> str:
    """Register ``code`` for ``hub_id`` unless another hub owns it; an estate row
    without an owner (a centre older than ownership, or a code its admin released)
    goes to the first hub that claims it. Returns the owner now recorded: ``hub_id``
    when the claim holds. Leaves another hub's row untouched.

    Taking over a row restarts its ``last_seq``: the seqs it holds may be another
    hub's, and this hub's queue must not be dropped as "already applied" (re-applying
    a row this hub did send is harmless: the upserts are idempotent)."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.estates (code, owner) VALUES ($1, $2)"
        f" ON CONFLICT (code) DO UPDATE SET owner=excluded.owner, last_seq=0"
        f" WHERE {SCHEMA}.estates.owner IS NULL",
        code,
        hub_id,
    )
    return str(await estate_owner(conn, code))


# ------------------------------------------------------------------ partitions
def month_start(ts: float) -> datetime:
    d = datetime.fromtimestamp(ts, UTC)
    return datetime(d.year, d.month, 1, tzinfo=UTC)


def _next_month(d: datetime) -> datetime:
    return datetime(d.year + d.month // 12, d.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"passages_p{month.year:04d}{month.month:02d}"


async def ensure_month(conn: Any, month: datetime) -> None:
    """The partition holding ``month`` (its first instant, UTC). Its own short
    transaction under the DDL lock: two hubs opening a new month at once both see it
    created once."""
    name = partition_name(month)
    if await conn.fetchval("SELECT to_regclass($1)", f"{SCHEMA}.{name}") is not None:
        return
    if await has_month_function(conn):
        # With the schema owner's rights: a hub's own role may not create tables.
        await conn.execute(f"SELECT {SCHEMA}.ensure_month($1)", month.date())
        return
    upper = _next_month(month)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _DDL_LOCK)
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{name} PARTITION OF {SCHEMA}.passages"
            f" FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"
        )


async def list_partitions(conn: Any) -> list[tuple[str, datetime]]:
    """The month partitions that exist, oldest first: (table name, month)."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace"
        " WHERE p.relname = 'passages' AND n.nspname = $1",
        SCHEMA,
    )
    out: list[tuple[str, datetime]] = []
    for r in rows:
        name = str(r[0])
        out.append((name, datetime(int(name[-6:-2]), int(name[-2:]), 1, tzinfo=UTC)))
    return sorted(out, key=lambda x: x[1])


# ------------------------------------------------------------------- retention
async def purge(conn: Any, now: float) -> dict[str, int]:
    """Delete what is past each estate's retention (the policy its hub sent): passages
    (an episode whose last sighting is still inside stays whole, as on the hub) and
    resolved alerts. A month no estate keeps any more is dropped as a whole table."""
    counts = {"passages": 0, "alerts": 0, "partitions": 0}
    estates = await conn.fetch(f"SELECT code, retention_days FROM {SCHEMA}.estates")
    for code, days in estates:
        cutoff = now - int(days) * 86400.0
        res = await conn.execute(
            f"DELETE FROM {SCHEMA}.passages WHERE estate=$1 AND ts < to_timestamp($2)"
            " AND coalesce(last_seen, ts) < to_timestamp($2)",
            code,
            cutoff,
        )
        counts["passages"] += int(res.split()[-1])
        res = await conn.execute(
            f"DELETE FROM {SCHEMA}.alerts WHERE estate=$1 AND state='resolved'"
            " AND ts < to_timestamp($2)",
            code,
            cutoff,
        )
        counts["alerts"] += int(res.split()[-1])
    longest = max((int(d) for _c, d in estates), default=0)
    horizon = now - longest * 86400.0
    for name, month in await list_partitions(conn):
        if _next_month(month).timestamp() <= horizon:
            empty = await conn.fetchval(f"SELECT NOT EXISTS (SELECT 1 FROM {SCHEMA}.{name})")
            if empty:
                await conn.execute(f"DROP TABLE {SCHEMA}.{name}")
                counts["partitions"] += 1
    return counts


# -------------------------------------------------------------------- erasure
async def pseudonymise(conn: Any, estate: str, person_id: str, alias: str) -> None:
    """An erased person at the centre: their directory row goes; passages and alerts
    keep the history under the hub's alias (nothing maps the alias back). Run inside
    the caller's transaction."""
    await conn.execute(f"DELETE FROM {SCHEMA}.people WHERE estate=$1 AND id=$2", estate, person_id)
    await conn.execute(
        f"UPDATE {SCHEMA}.passages SET person_id=$3 WHERE estate=$1 AND person_id=$2",
        estate,
        person_id,
        alias,
    )
    await conn.execute(
        f"UPDATE {SCHEMA}.alerts SET subject_id=$3, rev=nextval('{SCHEMA}.alert_rev'),"
        " xid=pg_current_xact_id() WHERE estate=$1 AND subject_id=$2",
        estate,
        person_id,
        alias,
    )
    await conn.execute(
        f"UPDATE {SCHEMA}.alerts"
        " SET evidence=jsonb_set(evidence, '{person_id}', to_jsonb($3::text)),"
        f" rev=nextval('{SCHEMA}.alert_rev'), xid=pg_current_xact_id()"
        " WHERE estate=$1 AND evidence->>'person_id'=$2",
        estate,
        person_id,
        alias,
    )
