"""The outbox to the command centre: turning it on and off, reading and acknowledging
rows, and the changes no store method makes (device states, the retention policy).

Local-first: the estate's SQLite file stays the source of truth and the gate never
waits for the line. Every change the centre needs is written as an ``outbox`` row *in
the same transaction* as the change itself (``outbox_rows.emit``, called by the store,
the alert log and the functions here); ``core/replicator.py`` ships the rows in ``seq``
order and deletes them only after the centre has committed them.

Synchronous, on the store's own thread, like ``Store``.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from .outbox_rows import (
    BACKFILL_SETTING,
    DEFAULT_RETENTION_DAYS,
    ESTATE_KEY,
    HUB_ID_SETTING,
    RETENTION_SETTING,
    SETTING,
    OutboxKind,
    OutboxRow,
    SharePolicy,
    alert_payload,
    card_token,
    emit,
    gate_payload,
    passage_payload,
    person_payload,
    unit_payload,
)
from .rows import PASSAGE_COLS, PERSON_COLS, passage_from_row, person_from_row
from .store import Store

__all__ = [
    "OutboxKind",
    "OutboxRow",
    "SharePolicy",
    "ack_outbox",
    "backfill_pending",
    "backfill_step",
    "card_token",
    "disable_outbox",
    "enable_outbox",
    "hub_instance_id",
    "last_seq",
    "note_retention",
    "outbox_enabled",
    "outbox_stats",
    "read_outbox",
    "record_device",
    "record_device_removed",
    "set_card_token",
]


def set_card_token(store: Store, credential_id: str, token: str | None) -> None:
    """Record a credential's card token (set when the card is registered, the only
    time the hub holds the number in clear)."""
    with store.transaction() as c:
        c.execute("UPDATE credentials SET card_token=? WHERE id=?", (token, credential_id))


def _estate_payload(days: int) -> dict[str, Any]:
    return {"retention_days": days}


def note_retention(store: Store, days: int) -> bool:
    """Record the estate's passage retention and, when it changed and the outbox is
    on, tell the centre (it purges its copy on the same policy). Recorded even while
    the outbox is off, so enabling it later starts the centre from the right policy.
    Returns whether a row was queued."""
    if store.get_setting(RETENTION_SETTING) == str(days):
        return False
    with store.transaction() as c:
        c.execute(
            "INSERT INTO settings VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (RETENTION_SETTING, str(days)),
        )
        if store.outbox_share is None:
            return False
        emit(c, OutboxKind.ESTATE, ESTATE_KEY, _estate_payload(days))
    return True


def record_device(
    store: Store, device_id: str, gate_id: str | None, online: bool, ts: float
) -> None:
    """A device came up or went down (the rules see every change; this is called on
    the transitions only)."""
    if store.outbox_share is None:
        return
    with store.transaction() as c:
        emit(
            c,
            OutboxKind.DEVICE,
            device_id,
            {"id": device_id, "gate_id": gate_id, "online": online, "since": ts},
        )


def record_device_removed(store: Store, device_id: str) -> None:
    if store.outbox_share is None:
        return
    with store.transaction() as c:
        emit(c, OutboxKind.DEVICE, device_id, {"id": device_id, "removed": True})


def hub_instance_id(store: Store) -> str:
    """This hub's id at the centre: random, made the first time it is asked for and
    kept in the settings table (it moves with the database file). The centre records
    it as the owner of the estate code (``central_schema.claim_estate``)."""
    found = store.get_setting(HUB_ID_SETTING)
    if found:
        return found
    with store.transaction() as c:
        c.execute(
            "INSERT INTO settings VALUES (?,?) ON CONFLICT(key) DO NOTHING",
            (HUB_ID_SETTING, secrets.token_hex(16)),
        )
        row = c.execute("SELECT value FROM settings WHERE key=?", (HUB_ID_SETTING,)).fetchone()
    return str(row[0])


# ------------------------------------------------------------ turning it on/off
def enable_outbox(store: Store, share: SharePolicy, *, backfill_now: bool = True) -> int:
    """Turn writing on and queue what the centre needs to start from: the estate's
    retention, the directory, every alert and every passage still kept. Returns the
    rows queued.

    The passage log can hold millions of rows: with ``backfill_now=False`` only a
    cursor is recorded and ``backfill_step`` queues the passages a chunk per call
    (the replicator does it, one store job each, so gate decisions interleave). A
    backfilled row is the passage as it is when its chunk is queued, so a passage
    changed meanwhile is never sent older than it is.

    Enabling again (a changed policy) re-queues the directory only, so names appear
    at (or, with upserts, vanish from) the centre as the policy now says.

    Erasures kept while it was off (``disable_outbox``) are already queued, so they
    come first: the centre forgets those people before anything else arrives."""
    before = outbox_stats(store)[0]
    first_time = store.outbox_share is None
    with store.transaction() as c:
        c.execute(
            "INSERT INTO settings VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (SETTING, json.dumps({"names": share.names})),
        )
        if first_time:
            days = int(store.get_setting(RETENTION_SETTING) or DEFAULT_RETENTION_DAYS)
            emit(c, OutboxKind.ESTATE, ESTATE_KEY, _estate_payload(days))
        for g in store.list_gates():
            emit(c, OutboxKind.GATE, g.id, gate_payload(g))
        for u in store.list_units():
            emit(c, OutboxKind.UNIT, u.id, unit_payload(u))
        for r in c.execute(f"SELECT {PERSON_COLS} FROM people ORDER BY id").fetchall():
            p = person_from_row(r)
            emit(c, OutboxKind.PERSON, p.id, person_payload(p, share))
        if first_time:
            for (aid,) in c.execute("SELECT id FROM alerts ORDER BY id").fetchall():
                emit(c, OutboxKind.ALERT, str(aid), alert_payload(c, int(aid)))
            top = c.execute("SELECT max(id) FROM passages").fetchone()[0]
            if top is not None:
                cursor = json.dumps({"after": 0, "upto": int(top)})
                c.execute(
                    "INSERT INTO settings VALUES (?,?)"
                    " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (BACKFILL_SETTING, cursor),
                )
    store.outbox_share = share
    if backfill_now:
        while backfill_step(store):
            pass
    return outbox_stats(store)[0] - before


def backfill_step(store: Store, limit: int = 20_000) -> int:
    """Queue the next ``limit`` passages of the backfill, oldest first, in one
    transaction. Returns how many were queued; 0 once it is done (or none is due)."""
    raw = store.get_setting(BACKFILL_SETTING)
    if raw is None or store.outbox_share is None:
        return 0
    cursor = json.loads(raw)
    after, upto = int(cursor["after"]), int(cursor["upto"])
    with store.transaction() as c:
        rows = c.execute(
            f"SELECT {PASSAGE_COLS} FROM passages WHERE id>? AND id<=? ORDER BY id LIMIT ?",
            (after, upto, limit),
        ).fetchall()
        for r in rows:
            row = passage_from_row(r)
            emit(c, OutboxKind.PASSAGE, str(row.id), passage_payload(c, row))
        if len(rows) < limit:
            c.execute("DELETE FROM settings WHERE key=?", (BACKFILL_SETTING,))
        else:
            c.execute(
                "UPDATE settings SET value=? WHERE key=?",
                (json.dumps({"after": int(rows[-1][0]), "upto": upto}), BACKFILL_SETTING),
            )
    return len(rows)


def backfill_pending(store: Store) -> bool:
    return store.get_setting(BACKFILL_SETTING) is not None


def disable_outbox(store: Store) -> None:
    """Stop writing and drop the queue (the centre is no longer fed), except the
    erasures not shipped yet: a centre that once held a person must still forget them.
    They stay queued, as do erasures made while it is off (``Store.erase_person``), and
    are the first rows shipped when replication is turned on again. They hold ids only
    (the person's and the alias), never a name or a credential."""
    with store.transaction() as c:
        c.execute("DELETE FROM settings WHERE key IN (?, ?)", (SETTING, BACKFILL_SETTING))
        c.execute("DELETE FROM outbox WHERE kind<>?", (OutboxKind.ERASE.value,))
    store.outbox_share = None


def outbox_enabled(store: Store) -> bool:
    return store.outbox_share is not None


# ------------------------------------------------------------------- shipping
def read_outbox(store: Store, after_seq: int, limit: int) -> list[OutboxRow]:
    rows = store.conn.execute(
        "SELECT seq, kind, key, payload, ts FROM outbox WHERE seq>? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [OutboxRow(r[0], OutboxKind(r[1]), r[2], json.loads(r[3]), r[4]) for r in rows]


def ack_outbox(store: Store, upto_seq: int) -> int:
    """The centre committed every row up to ``upto_seq``: drop them. Returns how many."""
    with store.transaction() as c:
        return c.execute("DELETE FROM outbox WHERE seq<=?", (upto_seq,)).rowcount


def outbox_stats(store: Store) -> tuple[int, float | None]:
    """Rows waiting, and when the oldest was queued."""
    n, oldest = store.conn.execute("SELECT count(*), min(ts) FROM outbox").fetchone()
    return int(n), (float(oldest) if oldest is not None else None)


def last_seq(store: Store) -> int:
    """The highest seq ever queued (AUTOINCREMENT never reuses one, even after acks)."""
    row = store.conn.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
    return int(row[0]) if row else 0
