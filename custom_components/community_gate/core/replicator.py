"""Ship an estate's outbox (core/outbox.py) to the command centre's PostgreSQL.

One ``Replicator`` per hub, one connection. It reads outbox rows in ``seq`` order, and
applies each batch in ONE PostgreSQL transaction that also advances the estate's
``last_seq`` at the centre; only after that commit are the rows deleted locally. A
crash between the two re-sends a batch the centre already has: the transaction skips
every row at or below ``last_seq`` (and the upserts are idempotent anyway), so each
change takes effect exactly once, in order. On (re)connect the hub first drops the
rows the centre already holds.

The link going down is normal: the task retries with capped backoff, reports it in
``status()``, and never raises. The DSN's password is never logged or put in an
error (``CentralConfig.redacted_dsn``).

No Home Assistant here: the glue gives ``run_db``, which runs a function on the
store's own thread (``executor_runner`` builds one from the store's executor).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
import json
import logging
import re
import ssl
import time
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import parse_qsl, urlsplit

from . import central_schema as cs
from .outbox import (
    OutboxKind,
    OutboxRow,
    SharePolicy,
    ack_outbox,
    backfill_pending,
    backfill_step,
    hub_instance_id,
    last_seq,
    outbox_stats,
    read_outbox,
)
from .store import Store
from .urls import redact_url

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")

ESTATE_CODE_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
TLS_MODES: Final = ("disable", "prefer", "require", "verify-full")
REASONS: Final = frozenset(
    {
        "cannot_connect",
        "invalid_auth",
        "tls",
        "permission",
        "schema_newer",
        "invalid_dsn",
        # Another hub owns this estate code at the centre (central_schema.claim_estate).
        "estate_code_taken",
    }
)
S: Final = cs.SCHEMA


class RunDb(Protocol):
    """Runs ``fn(store)`` on the store's own thread and returns its result."""

    def __call__(self, fn: Callable[[Store], _T], /) -> Awaitable[_T]: ...


def executor_runner(store: Store, executor: Executor) -> RunDb:
    """A ``RunDb`` for a store owned by a one-thread ``executor``."""

    def run(fn: Callable[[Store], _T], /) -> Awaitable[_T]:
        return asyncio.get_running_loop().run_in_executor(executor, fn, store)

    return run


class CentralError(Exception):
    """The centre cannot be used; ``reason`` is one of ``REASONS``. The message never
    holds the password."""

    def __init__(self, reason: str, message: str) -> None:
        assert reason in REASONS
        super().__init__(message)
        self.reason = reason


def valid_estate_code(code: str) -> bool:
    return ESTATE_CODE_RE.fullmatch(code) is not None


@dataclass(frozen=True)
class CentralConfig:
    """Where and as whom an estate replicates. ``__post_init__`` raises ``ValueError``
    for a bad estate code or TLS mode and ``CentralError('invalid_dsn')`` for a DSN
    that is not a ``postgresql://`` URL."""

    dsn: str
    estate_code: str
    tls: str = "prefer"  # disable|prefer|require|verify-full
    ca_file: str | None = None
    share: SharePolicy = field(default_factory=SharePolicy)

    def __post_init__(self) -> None:
        if not valid_estate_code(self.estate_code):
            raise ValueError("estate code: 1-32 of a-z, 0-9 and '-', not starting with '-'")
        if self.tls not in TLS_MODES:
            raise ValueError(f"tls must be one of {', '.join(TLS_MODES)}")
        try:
            parts = urlsplit(self.dsn)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as err:
            raise CentralError("invalid_dsn", "the DSN is not a valid URL") from err
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise CentralError("invalid_dsn", "the DSN must be postgresql://user@host/db")

    def redacted_dsn(self) -> str:
        """The DSN without its password or query values (for logs, diagnostics, the UI)."""
        return redact_url(self.dsn)

    def scrub(self, text: str) -> str:
        """``text`` with the password cut out (driver messages may echo the DSN)."""
        parts = urlsplit(self.dsn)
        secrets = [parts.password or ""]
        secrets += [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
        text = text.replace(self.dsn, self.redacted_dsn())
        for secret in filter(None, secrets):
            text = text.replace(secret, "***")
        return text


def _ssl(config: CentralConfig) -> Any:
    """asyncpg's ``ssl`` argument; verify-full builds a context (reads the CA file:
    call in an executor)."""
    if config.tls == "verify-full":
        ctx = ssl.create_default_context(cafile=config.ca_file)
        ctx.check_hostname = True
        return ctx
    return config.tls


def _classify(config: CentralConfig, err: BaseException) -> CentralError:
    """Map a driver or network failure to a reason, without secrets."""
    import asyncpg

    msg = config.scrub(f"{type(err).__name__}: {err}")
    if isinstance(err, CentralError):
        return err
    if isinstance(err, cs.SchemaNewerError):
        return CentralError("schema_newer", str(err))
    if isinstance(
        err,
        asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError,
    ):
        return CentralError("invalid_auth", msg)
    if isinstance(err, asyncpg.InsufficientPrivilegeError):
        return CentralError("permission", msg)
    if isinstance(err, ssl.SSLError | ssl.CertificateError) or "SSL" in str(err):
        return CentralError("tls", msg)
    if isinstance(err, asyncpg.InvalidCatalogNameError):
        return CentralError("cannot_connect", msg)
    if isinstance(err, asyncpg.ClientConfigurationError | ValueError):
        return CentralError("invalid_dsn", msg)
    return CentralError("cannot_connect", msg)


async def _connect(config: CentralConfig, connect_timeout: float = 10.0) -> Any:
    import asyncpg

    try:
        ssl_arg = await asyncio.get_running_loop().run_in_executor(None, _ssl, config)
        conn = await asyncpg.connect(config.dsn, ssl=ssl_arg, timeout=connect_timeout)
    except Exception as err:  # every failure becomes a reason the UI can show
        raise _classify(config, err) from None
    try:
        await cs.ensure_schema(conn)
    except Exception as err:
        # Connected but unusable (a newer schema, no rights): leave nothing open.
        conn.terminate()
        raise _classify(config, err) from None
    return conn


def _taken(config: CentralConfig) -> CentralError:
    return CentralError(
        "estate_code_taken",
        f"estate code {config.estate_code} belongs to another hub at the centre",
    )


async def test_connection(
    config: CentralConfig,
    hub_id: str | None = None,  # noqa: PT028 - not a pytest test
) -> None:
    """Connect, create or check the centre's schema, disconnect. Raises CentralError;
    with ``hub_id`` (``outbox.hub_instance_id``), ``estate_code_taken`` when another
    hub owns the estate code. Claims nothing: the replicator does, on connecting."""
    conn = await _connect(config)
    try:
        if hub_id is not None and await cs.has_owner_column(conn):
            owner = await cs.estate_owner(conn, config.estate_code)
            if owner is not None and owner != hub_id:
                raise _taken(config)
    except CentralError:
        raise
    except Exception as err:
        raise _classify(config, err) from None
    finally:
        await conn.close()


@dataclass(frozen=True)
class ReplicationStatus:
    connected: bool
    # Rows waiting here; None until the outbox was first counted (unknown, not 0).
    backlog: int | None
    lag_s: float | None
    last_success: float | None
    down_since: float | None
    last_error: str | None  # a CentralError reason, never a message with secrets
    shipped_total: int
    failures: int = 0  # sessions failed in a row since the link last worked


# --------------------------------------------------------------------- applying
_UPSERT_PASSAGES: Final = f"""
INSERT INTO {S}.passages (estate, id, ts, last_seen, count, gate_id, direction, method,
    allowed, reason, person_id, unit_id, cluster_id, flags, card, seq)
SELECT $1, u.id, to_timestamp(u.ts), to_timestamp(u.ls), u.count, u.gate_id, u.direction,
    u.method, u.allowed, u.reason, u.person_id, u.unit_id, u.cluster_id, u.flags, u.card, u.seq
FROM unnest($2::bigint[], $3::float8[], $4::float8[], $5::int[], $6::text[], $7::text[],
    $8::text[], $9::bool[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
    $15::text[], $16::bigint[])
    AS u(id, ts, ls, count, gate_id, direction, method, allowed, reason, person_id, unit_id,
    cluster_id, flags, card, seq)
ON CONFLICT (estate, id, ts) DO UPDATE SET last_seen=excluded.last_seen,
    count=excluded.count, flags=excluded.flags, person_id=excluded.person_id,
    unit_id=excluded.unit_id, cluster_id=excluded.cluster_id, card=excluded.card,
    seq=excluded.seq
"""
_UPSERT_ALERT: Final = f"""
INSERT INTO {S}.alerts (estate, id, ts, rule, subject_kind, subject_id, gate_id, evidence,
    state, acknowledged_at, resolved_at)
VALUES ($1, $2, to_timestamp($3), $4, $5, $6, $7, $8::jsonb, $9, to_timestamp($10),
    to_timestamp($11))
ON CONFLICT (estate, id) DO UPDATE SET subject_id=excluded.subject_id,
    evidence=excluded.evidence, state=excluded.state,
    acknowledged_at=excluded.acknowledged_at, resolved_at=excluded.resolved_at,
    rev=nextval('{S}.alert_rev'), xid=pg_current_xact_id()
"""
_UPSERT_PERSON: Final = f"""
INSERT INTO {S}.people (estate, id, unit_id, role, special_attention, lives_alone, blocked,
    valid_from, valid_until, allowed_gates, name, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8), to_timestamp($9), $10, $11, now())
ON CONFLICT (estate, id) DO UPDATE SET unit_id=excluded.unit_id, role=excluded.role,
    special_attention=excluded.special_attention, lives_alone=excluded.lives_alone,
    blocked=excluded.blocked, valid_from=excluded.valid_from,
    valid_until=excluded.valid_until, allowed_gates=excluded.allowed_gates,
    name=excluded.name, updated_at=now()
"""
_UPSERT_UNIT: Final = f"""
INSERT INTO {S}.units (estate, id, building, number, rent_arrears, lease_until)
VALUES ($1, $2, $3, $4, $5, to_timestamp($6))
ON CONFLICT (estate, id) DO UPDATE SET building=excluded.building, number=excluded.number,
    rent_arrears=excluded.rent_arrears, lease_until=excluded.lease_until
"""
_UPSERT_GATE: Final = f"""
INSERT INTO {S}.gates (estate, id, name, kind, direction, building)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (estate, id) DO UPDATE SET name=excluded.name, kind=excluded.kind,
    direction=excluded.direction, building=excluded.building
"""
_UPSERT_DEVICE: Final = f"""
INSERT INTO {S}.devices (estate, id, gate_id, online, since)
VALUES ($1, $2, $3, $4, to_timestamp($5))
ON CONFLICT (estate, id) DO UPDATE SET gate_id=excluded.gate_id, online=excluded.online,
    since=excluded.since
"""
_TABLE: Final = {
    OutboxKind.PERSON: "people",
    OutboxKind.UNIT: "units",
    OutboxKind.GATE: "gates",
    OutboxKind.DEVICE: "devices",
}


def _latest(rows: Sequence[OutboxRow]) -> list[OutboxRow]:
    """The last row of each (kind, key), in seq order: only the final state of a row
    matters, and one statement may not upsert the same key twice."""
    last: dict[tuple[OutboxKind, str], OutboxRow] = {}
    for r in rows:
        last.pop((r.kind, r.key), None)
        last[(r.kind, r.key)] = r
    return list(last.values())


def _next_batch(
    after: int, limit: int, store: Store
) -> tuple[list[OutboxRow], tuple[int, float | None]]:
    return read_outbox(store, after, limit), outbox_stats(store)


class _Applier:
    """Applies outbox rows on one connection, inside the caller's transaction."""

    def __init__(self, conn: Any, estate: str) -> None:
        self.conn = conn
        self.estate = estate
        self.months: set[datetime] = set()

    async def months_for(self, rows: Sequence[OutboxRow]) -> None:
        """Create missing month partitions (before the batch's transaction: DDL takes
        its own lock, kept short)."""
        for r in rows:
            if r.kind is OutboxKind.PASSAGE:
                m = cs.month_start(float(r.payload["ts"]))
                if m not in self.months:
                    await cs.ensure_month(self.conn, m)
                    self.months.add(m)

    async def apply(self, rows: Sequence[OutboxRow]) -> None:
        # An erasure is a barrier: what came before it is applied first, so it
        # pseudonymises everything the centre holds of the person.
        segment: list[OutboxRow] = []
        for r in rows:
            if r.kind is OutboxKind.ERASE:
                await self._segment(segment)
                segment = []
                await cs.pseudonymise(
                    self.conn, self.estate, str(r.payload["person_id"]), str(r.payload["alias"])
                )
            else:
                segment.append(r)
        await self._segment(segment)

    async def _segment(self, rows: Sequence[OutboxRow]) -> None:
        if not rows:
            return
        passages: list[OutboxRow] = []
        for r in _latest(rows):
            p = r.payload
            if r.kind is OutboxKind.PASSAGE:
                passages.append(r)
            elif r.kind is OutboxKind.ESTATE:
                await self.conn.execute(
                    f"UPDATE {S}.estates SET retention_days=$2 WHERE code=$1",
                    self.estate,
                    int(p["retention_days"]),
                )
            elif p.get("removed"):
                await self.conn.execute(
                    f"DELETE FROM {S}.{_TABLE[r.kind]} WHERE estate=$1 AND id=$2",
                    self.estate,
                    r.key,
                )
            elif r.kind is OutboxKind.ALERT:
                await self.conn.execute(
                    _UPSERT_ALERT,
                    self.estate,
                    int(p["id"]),
                    p["ts"],
                    p["rule"],
                    p["subject_kind"],
                    p["subject_id"],
                    p["gate_id"],
                    json.dumps(p["evidence"]),
                    p["state"],
                    p["acknowledged_at"],
                    p["resolved_at"],
                )
            elif r.kind is OutboxKind.PERSON:
                await self.conn.execute(
                    _UPSERT_PERSON,
                    self.estate,
                    p["id"],
                    p["unit_id"],
                    p["role"],
                    p["special_attention"],
                    p["lives_alone"],
                    p["blocked"],
                    p["valid_from"],
                    p["valid_until"],
                    list(p["allowed_gates"]),
                    p.get("name"),
                )
            elif r.kind is OutboxKind.UNIT:
                await self.conn.execute(
                    _UPSERT_UNIT,
                    self.estate,
                    p["id"],
                    p["building"],
                    p["number"],
                    p["rent_arrears"],
                    p["lease_until"],
                )
            elif r.kind is OutboxKind.GATE:
                await self.conn.execute(
                    _UPSERT_GATE,
                    self.estate,
                    p["id"],
                    p["name"],
                    p["kind"],
                    p["direction"],
                    p["building"],
                )
            elif r.kind is OutboxKind.DEVICE:
                await self.conn.execute(
                    _UPSERT_DEVICE, self.estate, p["id"], p["gate_id"], p["online"], p["since"]
                )
        if passages:
            ps = [r.payload for r in passages]
            await self.conn.execute(
                _UPSERT_PASSAGES,
                self.estate,
                [int(p["id"]) for p in ps],
                [float(p["ts"]) for p in ps],
                [p["last_seen"] for p in ps],
                [int(p["count"]) for p in ps],
                [p["gate_id"] for p in ps],
                [p["direction"] for p in ps],
                [p["method"] for p in ps],
                [bool(p["allowed"]) for p in ps],
                [p["reason"] for p in ps],
                [p["person_id"] for p in ps],
                [p["unit_id"] for p in ps],
                [p["cluster_id"] for p in ps],
                [",".join(p["flags"]) for p in ps],
                [p.get("card") for p in ps],
                [r.seq for r in passages],
            )


# ------------------------------------------------------------------ replicator
class Replicator:
    """Ships one estate's outbox to the centre until stopped.

    ``run_db`` runs a function of the ``Store`` on the store's own thread (see
    ``RunDb``, ``executor_runner``). ``on_shipped(rows, committed_at)`` is called after
    each committed batch (metrics, benchmarks); ``on_error(reason)`` after each failed
    try, with the ``CentralError`` reason (the glue asks for a new password on
    ``invalid_auth``); ``on_connected()`` after each login the centre accepted (the
    glue closes a password request the link no longer needs); all on the event loop.
    ``poll`` is how often an idle hub looks for rows nobody woke it for; ``heartbeat``
    how often an idle hub tells the centre it is alive.
    """

    def __init__(
        self,
        config: CentralConfig,
        run_db: RunDb,
        *,
        clock: Callable[[], float] = time.time,
        batch: int = 1000,
        poll: float = 1.0,
        heartbeat: float = 30.0,
        retry_min: float = 1.0,
        retry_max: float = 60.0,
        on_shipped: Callable[[Sequence[OutboxRow], float], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._run_db = run_db
        self._clock = clock
        self._batch = batch
        self._poll = poll
        self._heartbeat = heartbeat
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._on_shipped = on_shipped
        self._on_error = on_error
        self._on_connected = on_connected
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None
        self._connected = False
        self._backlog: int | None = None
        self._oldest: float | None = None
        self._last_success: float | None = None
        self._down_since: float | None = None
        self._last_error: str | None = None
        self._logged_error: str | None = None  # the reason last logged (once per outage)
        self._worked = False  # this session shipped a batch or a heartbeat
        self._failures = 0
        self._shipped = 0
        # This hub's id while it holds the estate code at the centre (None: a centre
        # that cannot record owners).
        self._owner: str | None = None

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(
                self._run(), name=f"community_gate replicator {self.config.estate_code}"
            )

    async def stop(self) -> None:
        """Cancel the task (a batch in flight rolls back; it is re-sent next time)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close()

    def wake(self) -> None:
        """New rows are queued: ship soon. Call on the event loop's thread."""
        self._wake.set()

    def status(self) -> ReplicationStatus:
        now = self._clock()
        lag = None if self._oldest is None else max(0.0, now - self._oldest)
        if self._backlog == 0 and self._connected:
            lag = 0.0
        return ReplicationStatus(
            connected=self._connected,
            backlog=self._backlog,
            lag_s=lag,
            last_success=self._last_success,
            down_since=self._down_since,
            last_error=self._last_error,
            shipped_total=self._shipped,
            failures=self._failures,
        )

    # -------------------------------------------------------------------- loop
    async def _run(self) -> None:
        # Counted at once, not after the first login (which may take a connect timeout).
        await self._refresh_stats()
        delay = self._retry_min
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                reason = _classify(self.config, err)
                # "Worked" means a batch or a heartbeat got through, not merely a
                # connection: a centre that accepts the login but refuses every batch
                # (a missing grant) must back off and be logged once, not reconnect at
                # the shortest wait and log each time.
                worked, self._worked = self._worked, False
                self._failures = 1 if worked else self._failures + 1
                if worked:
                    delay = self._retry_min  # a fresh outage starts from a short wait
                if self._logged_error != reason.reason or worked:
                    _LOGGER.warning(
                        "Command centre unreachable for estate %s (%s): %s",
                        self.config.estate_code,
                        reason.reason,
                        reason,
                    )
                    self._logged_error = reason.reason
                self._last_error = reason.reason
                self._connected = False
                if self._down_since is None:
                    self._down_since = self._clock()
                if self._on_error is not None:
                    try:
                        self._on_error(reason.reason)
                    except Exception:  # the glue's bug must not end replication
                        _LOGGER.exception("on_error failed")
                await self._close()
                await self._refresh_stats()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)

    def _mark_worked(self) -> None:
        """A batch or a heartbeat got through: the link works (again)."""
        if not self._worked:
            self._worked = True
            self._failures = 0
            self._down_since = None
            self._logged_error = None
            _LOGGER.info("Estate %s replicating to the command centre", self.config.estate_code)

    async def _refresh_stats(self) -> None:
        with contextlib.suppress(Exception):
            self._backlog, self._oldest = await self._run_db(outbox_stats)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:
                conn.terminate()

    async def _session(self) -> None:
        conn = self._conn = await _connect(self.config)
        # Logged in: the password works, whatever the claim below finds.
        if self._on_connected is not None:
            try:
                self._on_connected()
            except Exception:  # the glue's bug must not end replication
                _LOGGER.exception("on_connected failed")
        code = self.config.estate_code
        applier = _Applier(conn, code)
        # The estate code is this hub's at the centre, or nothing is written: a second
        # hub given the same code would otherwise overwrite the first one's rows.
        hub_id = await self._run_db(hub_instance_id)
        if await cs.has_owner_column(conn):
            if await cs.claim_estate(conn, code, hub_id) != hub_id:
                raise _taken(self.config)
            self._owner = hub_id
        else:
            self._owner = None
            _LOGGER.warning(
                "The command centre cannot record which hub owns estate %s (its estates"
                " table has no owner column and this role may not add it): see"
                " docs/central.md",
                code,
            )
            await conn.execute(
                f"INSERT INTO {S}.estates (code) VALUES ($1) ON CONFLICT (code) DO NOTHING",
                code,
            )
        centre_seq = int(
            await conn.fetchval(f"SELECT last_seq FROM {S}.estates WHERE code=$1", code)
        )
        local_high = await self._run_db(last_seq)
        if local_high < centre_seq:
            # The centre is ahead of anything this file ever queued: a new or restored
            # database. Take everything still queued here (upserts are idempotent).
            first = await self._run_db(lambda s: read_outbox(s, 0, 1))
            centre_seq = first[0].seq - 1 if first else local_high
            await conn.execute(
                f"UPDATE {S}.estates SET last_seq=$2 WHERE code=$1", code, centre_seq
            )
        else:
            # Rows committed at the centre whose local ack was lost (a crash, a cut).
            await self._run_db(lambda s: ack_outbox(s, centre_seq))
        # Counted before connected is reported: the first batch may take a while to
        # read, and connected with a stale (or no) count reads as an empty queue.
        self._backlog, self._oldest = await self._run_db(outbox_stats)
        self._connected = True
        self._last_error = None
        last_beat = 0.0
        backfilling = await self._run_db(backfill_pending)
        while True:
            # Cleared before reading: a wake arriving during the read or the shipping
            # is kept for the wait below, not lost.
            self._wake.clear()
            rows, (backlog, oldest) = await self._run_db(
                partial(_next_batch, centre_seq, self._batch)
            )
            self._backlog, self._oldest = backlog, oldest
            now = self._clock()
            if rows:
                centre_seq = await self._ship(conn, applier, rows, backlog)
                last_beat = now
                continue
            if backfilling:
                # The queue is empty: the next chunk of the history (one store job, so
                # the gate's own work interleaves with it).
                backfilling = bool(await self._run_db(backfill_step))
                if backfilling:
                    continue
            if now - last_beat >= self._heartbeat:
                await conn.execute(
                    f"UPDATE {S}.estates SET last_seen=now(), lag_s=0, backlog=0 WHERE code=$1",
                    code,
                )
                self._mark_worked()
                last_beat = now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def _ship(self, conn: Any, applier: _Applier, rows: list[OutboxRow], backlog: int) -> int:
        code = self.config.estate_code
        await applier.months_for(rows)
        upto = rows[-1].seq
        left = max(0, backlog - len(rows))
        async with conn.transaction():
            if self._owner is None:
                applied = int(
                    await conn.fetchval(
                        f"SELECT last_seq FROM {S}.estates WHERE code=$1 FOR UPDATE", code
                    )
                )
            else:
                found = await conn.fetchrow(
                    f"SELECT last_seq, owner FROM {S}.estates WHERE code=$1 FOR UPDATE", code
                )
                if found["owner"] != self._owner:
                    # The claim was released and taken by another hub meanwhile.
                    raise _taken(self.config)
                applied = int(found["last_seq"])
            fresh = [r for r in rows if r.seq > applied]
            await applier.apply(fresh)
            lag = max(0.0, self._clock() - rows[0].ts)
            await conn.execute(
                f"UPDATE {S}.estates SET last_seq=greatest(last_seq, $2), last_seen=now(),"
                " lag_s=$3, backlog=$4 WHERE code=$1",
                code,
                upto,
                lag,
                left,
            )
        committed = self._clock()
        self._mark_worked()
        await self._run_db(lambda s: ack_outbox(s, upto))
        self._shipped += len(fresh)
        self._last_success = committed
        self._backlog = left
        if self._on_shipped is not None:
            self._on_shipped(fresh, committed)
        return upto
