"""Read-only queries of the command centre (the staff's cross-estate picture).

Every function takes an ``asyncpg`` connection (or pool) to the central database and
only reads. Times in and out are epoch seconds, as in the rest of the core.

The one central rule lives here too: the same visitor ID card at several estates. A
hub never sends the number, only the card's token under the operator's shared key
(``outbox.card_token``): estates' own credential hashes use their own keys and would
not match across estates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
import json
from typing import Any, Final

from .central_schema import SCHEMA as S

DAY: Final = 86400.0


def _epoch(v: datetime | None) -> float | None:
    return None if v is None else v.timestamp()


@dataclass(frozen=True)
class EstateOverview:
    code: str
    passages_today: int
    open_alerts: int
    offline_devices: int
    backlog: int
    lag_s: float | None
    last_seen: float | None  # the hub's last batch or heartbeat


@dataclass(frozen=True)
class CentralAlert:
    feed_id: int  # grows with every change of any alert: the feed's cursor
    estate: str
    id: int  # the alert's id at its estate
    ts: float
    rule: str
    subject_kind: str
    subject_id: str
    gate_id: str | None
    evidence: dict[str, Any]
    state: str
    acknowledged_at: float | None
    resolved_at: float | None


@dataclass(frozen=True)
class CentralPassage:
    estate: str
    id: int
    ts: float
    last_seen: float | None
    count: int
    gate_id: str
    direction: str
    method: str
    allowed: bool
    reason: str
    person_id: str | None
    unit_id: str | None
    cluster_id: str | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class DirectoryNames:
    """What staff at the centre call the ids in a page: gates by name, and people by
    name only where their estate shares names (else absent), with their unit.
    Keys are (estate code, id)."""

    gates: dict[tuple[str, str], str]
    people: dict[tuple[str, str], str]
    units: dict[tuple[str, str], str]


@dataclass(frozen=True)
class RepeatCard:
    """One ID card token seen at ``len(estates)`` estates in the window."""

    card: str
    estates: tuple[str, ...]
    passages: int
    first: float
    last: float


def day_start(now: float, tz: tzinfo = UTC) -> float:
    d = datetime.fromtimestamp(now, tz)
    return d.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


async def estates_overview(conn: Any, now: float, *, tz: tzinfo = UTC) -> list[EstateOverview]:
    """Each estate with today's passages (since midnight in ``tz``), open alerts,
    offline devices, and how far its hub is behind."""
    rows = await conn.fetch(
        f"""
        SELECT e.code, e.backlog, e.lag_s, e.last_seen,
            (SELECT count(*) FROM {S}.passages p
                WHERE p.estate = e.code AND p.ts >= to_timestamp($1)) AS today,
            (SELECT count(*) FROM {S}.alerts a
                WHERE a.estate = e.code AND a.state <> 'resolved') AS open_alerts,
            (SELECT count(*) FROM {S}.devices d
                WHERE d.estate = e.code AND NOT d.online) AS offline
        FROM {S}.estates e ORDER BY e.code
        """,
        day_start(now, tz),
    )
    return [
        EstateOverview(
            code=r["code"],
            passages_today=int(r["today"]),
            open_alerts=int(r["open_alerts"]),
            offline_devices=int(r["offline"]),
            backlog=int(r["backlog"]),
            lag_s=r["lag_s"],
            last_seen=_epoch(r["last_seen"]),
        )
        for r in rows
    ]


_ALERT_COLS: Final = (
    "rev, estate, id, ts, rule, subject_kind, subject_id, gate_id, evidence, state,"
    " acknowledged_at, resolved_at"
)


def _alert(r: Any) -> CentralAlert:
    return CentralAlert(
        feed_id=int(r["rev"]),
        estate=r["estate"],
        id=int(r["id"]),
        ts=r["ts"].timestamp(),
        rule=r["rule"],
        subject_kind=r["subject_kind"],
        subject_id=r["subject_id"],
        gate_id=r["gate_id"],
        evidence=json.loads(r["evidence"]),
        state=r["state"],
        acknowledged_at=_epoch(r["acknowledged_at"]),
        resolved_at=_epoch(r["resolved_at"]),
    )


async def alerts_feed(
    conn: Any, after_id: int | None, limit: int = 100, *, estate: str | None = None
) -> list[CentralAlert]:
    """Alerts of every estate (or one), each with its estate code. ``after_id`` None:
    the newest ``limit``, newest first (the panel's first page). Otherwise every
    alert raised or changed after that ``feed_id``, oldest change first (the
    centre's poll: pass the last ``feed_id`` seen).

    ``feed_id``s are taken when a hub's batch writes, but batches commit in any
    order: a change is shown only once no transaction that could still commit a
    lower ``feed_id`` is running, so a cursor never skips one. (A transaction held
    open elsewhere on the server holds the feed back until it ends.)"""
    where: list[str] = ["xid < pg_snapshot_xmin(pg_current_snapshot())"]
    args: list[Any] = []
    if estate is not None:
        args.append(estate)
        where.append(f"estate = ${len(args)}")
    if after_id is None:
        order = "rev DESC"
    else:
        args.append(after_id)
        where.append(f"rev > ${len(args)}")
        order = "rev"
    args.append(limit)
    clause = f" WHERE {' AND '.join(where)}"
    rows = await conn.fetch(
        f"SELECT {_ALERT_COLS} FROM {S}.alerts{clause} ORDER BY {order} LIMIT ${len(args)}",
        *args,
    )
    return [_alert(r) for r in rows]


async def open_alerts(conn: Any, estate: str | None = None, limit: int = 200) -> list[CentralAlert]:
    """Alerts not resolved yet, newest first."""
    sql = f"SELECT {_ALERT_COLS} FROM {S}.alerts WHERE state <> 'resolved'"
    args: list[Any] = []
    if estate is not None:
        sql += " AND estate = $1"
        args.append(estate)
    args.append(limit)
    rows = await conn.fetch(sql + f" ORDER BY ts DESC LIMIT ${len(args)}", *args)
    return [_alert(r) for r in rows]


async def passages_page(
    conn: Any, estate: str, before: float | None, limit: int = 50
) -> list[CentralPassage]:
    """One estate's passages, newest first, before ``before`` (epoch; None: now). Page
    on with the last row's ``ts``."""
    rows = await conn.fetch(
        f"SELECT estate, id, ts, last_seen, count, gate_id, direction, method, allowed,"
        f" reason, person_id, unit_id, cluster_id, flags FROM {S}.passages"
        " WHERE estate = $1 AND ($2::float8 IS NULL OR ts < to_timestamp($2))"
        " ORDER BY ts DESC, id DESC LIMIT $3",
        estate,
        before,
        limit,
    )
    return [
        CentralPassage(
            estate=r["estate"],
            id=int(r["id"]),
            ts=r["ts"].timestamp(),
            last_seen=_epoch(r["last_seen"]),
            count=int(r["count"]),
            gate_id=r["gate_id"],
            direction=r["direction"],
            method=r["method"],
            allowed=bool(r["allowed"]),
            reason=r["reason"],
            person_id=r["person_id"],
            unit_id=r["unit_id"],
            cluster_id=r["cluster_id"],
            flags=tuple(f for f in str(r["flags"]).split(",") if f),
        )
        for r in rows
    ]


async def repeat_visitor_cards(
    conn: Any, now: float, *, min_estates: int = 3, days: float = 7.0
) -> list[RepeatCard]:
    """The central rule: one visitor ID card (its token) presented at ``min_estates``
    or more estates in the last ``days`` days. Arrivals only (leaving is the same
    visit); refused presentations count too (a card tried at many gates is the
    point)."""
    rows = await conn.fetch(
        f"""
        SELECT card, array_agg(DISTINCT estate ORDER BY estate) AS estates, count(*) AS n,
            min(ts) AS first, max(coalesce(last_seen, ts)) AS last
        FROM {S}.passages
        WHERE card IS NOT NULL AND direction <> 'out'
            AND ts >= to_timestamp($1) AND ts <= to_timestamp($2)
        GROUP BY card HAVING count(DISTINCT estate) >= $3
        ORDER BY count(DISTINCT estate) DESC, card
        """,
        now - days * DAY,
        now,
        min_estates,
    )
    return [
        RepeatCard(
            card=r["card"],
            estates=tuple(r["estates"]),
            passages=int(r["n"]),
            first=r["first"].timestamp(),
            last=r["last"].timestamp(),
        )
        for r in rows
    ]


def _keys(refs: set[tuple[str, str | None]]) -> tuple[list[str], list[str]]:
    pairs = sorted((e, i) for e, i in refs if i)
    return [e for e, _ in pairs], [i for _, i in pairs]


async def directory_names(
    conn: Any,
    gates: set[tuple[str, str | None]],
    people: set[tuple[str, str | None]],
) -> DirectoryNames:
    """The names behind the (estate, id) pairs of one page of passages or alerts, in
    two queries whatever the page's size."""
    estates, ids = _keys(gates)
    gate_rows = await conn.fetch(
        f"SELECT g.estate, g.id, g.name FROM {S}.gates g"
        " JOIN unnest($1::text[], $2::text[]) AS k(estate, id)"
        " ON g.estate = k.estate AND g.id = k.id",
        estates,
        ids,
    )
    estates, ids = _keys(people)
    people_rows = await conn.fetch(
        f"SELECT p.estate, p.id, p.name, p.unit_id FROM {S}.people p"
        " JOIN unnest($1::text[], $2::text[]) AS k(estate, id)"
        " ON p.estate = k.estate AND p.id = k.id",
        estates,
        ids,
    )
    return DirectoryNames(
        gates={(r["estate"], r["id"]): r["name"] for r in gate_rows},
        people={(r["estate"], r["id"]): r["name"] for r in people_rows if r["name"]},
        units={(r["estate"], r["id"]): r["unit_id"] for r in people_rows if r["unit_id"]},
    )
