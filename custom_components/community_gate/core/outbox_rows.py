"""The outbox's rows (core/outbox.py): their kinds, what each carries, and writing one
inside the caller's transaction. Kept apart from ``outbox.py`` so the store can write
rows without importing the module that drives it.

The outbox to the command centre: what an estate tells the centre, queued locally.

Local-first: the estate's SQLite file stays the source of truth and the gate never
waits for the line. Every change the centre needs (a passage, an alert's lifecycle,
directory data, a device going down, an erasure, the retention policy) is written as
an ``outbox`` row *in the same transaction* as the change itself, so a change and its
row are committed together or not at all; ``core/replicator.py`` ships the rows in
``seq`` order and deletes them only after the centre has committed them.

What never goes in a row: biometrics (templates, distances, clusters' centroids),
credential material (hashes, values; an ID card only as the operator-wide
``card_token``), photos, notes, and names unless the operator shares them
(``SharePolicy.names``).

Synchronous, on the store's own thread, like ``Store``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
import hashlib
import hmac
import json
import sqlite3
import time as _time
from typing import Any, Final

from .model import Gate, Method, Passage, Person, Unit
from .rows import PASSAGE_COLS, passage_from_row

# Settings keys (the ``settings`` table): writing on/off with its policy, and the
# retention the estate last told the centre (an ``estate`` row is queued on change).
SETTING: Final = "outbox"
RETENTION_SETTING: Final = "outbox_retention_days"
# The passages still to queue after enabling (outbox.backfill_step): {"after", "upto"}.
BACKFILL_SETTING: Final = "outbox_backfill"
# This hub's own random id (made once, kept for good): the centre records which hub
# owns an estate code so that a second hub given the same code cannot overwrite it.
HUB_ID_SETTING: Final = "central_hub_id"
DEFAULT_RETENTION_DAYS: Final = 365
ESTATE_KEY: Final = "estate"


class OutboxKind(StrEnum):
    PASSAGE = "passage"
    ALERT = "alert"
    PERSON = "person"
    UNIT = "unit"
    GATE = "gate"
    DEVICE = "device"
    ERASE = "erase"
    ESTATE = "estate"


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    kind: OutboxKind
    key: str
    payload: dict[str, Any]
    ts: float


@dataclass(frozen=True)
class SharePolicy:
    """What the operator lets cross the line beyond ids and codes."""

    names: bool = False


# ----------------------------------------------------------------- card tokens
def card_token(key: bytes, normalised_id: str) -> str:
    """An ID card's token under the operator's shared key: the same card gives the
    same token at every estate of that operator; the number cannot be read back.
    ``normalised_id`` is ``credentials.normalise(ID_CARD, value)``."""
    msg = b"community_gate central id card v1\x00" + normalised_id.encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


# -------------------------------------------------------------------- payloads
def passage_payload(c: sqlite3.Connection, p: Passage) -> dict[str, Any]:
    card = None
    if p.method is Method.ID_CARD and p.credential_id is not None:
        row = c.execute(
            "SELECT card_token FROM credentials WHERE id=?", (p.credential_id,)
        ).fetchone()
        card = row[0] if row else None
    return {
        "id": p.id,
        "ts": p.ts,
        "last_seen": p.last_seen,
        "count": p.count,
        "gate_id": p.gate_id,
        "direction": p.direction.value,
        "method": p.method.value,
        "allowed": p.allowed,
        "reason": p.reason.value,
        "person_id": p.person_id,
        "unit_id": p.unit_id,
        # A stranger's cluster id: an opaque local label, no face data.
        "cluster_id": p.cluster_id,
        "flags": list(p.flags),
        "card": card,
    }


def person_payload(p: Person, share: SharePolicy) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id,
        "unit_id": p.unit_id,
        "role": p.role.value,
        "special_attention": p.special_attention,
        "lives_alone": p.lives_alone,
        "blocked": p.blocked,
        "valid_from": p.valid_from,
        "valid_until": p.valid_until,
        "allowed_gates": sorted(p.allowed_gates),
    }
    if share.names:
        out["name"] = p.display_name
    return out


def unit_payload(u: Unit) -> dict[str, Any]:
    return {
        "id": u.id,
        "building": u.building,
        "number": u.number,
        "rent_arrears": u.rent_arrears,
        "lease_until": u.lease_until,
    }


def gate_payload(g: Gate) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "kind": g.kind.value,
        "direction": g.direction.value,
        "building": g.building,
    }


ALERT_COLS: Final = (
    "id, ts, rule, subject_kind, subject_id, gate_id, evidence, state, acknowledged_at, resolved_at"
)


def alert_payload(c: sqlite3.Connection, alert_id: int) -> dict[str, Any]:
    """The alert row as the centre keeps it (who acknowledged it stays local)."""
    r = c.execute(f"SELECT {ALERT_COLS} FROM alerts WHERE id=?", (alert_id,)).fetchone()
    return {
        "id": r[0],
        "ts": r[1],
        "rule": r[2],
        "subject_kind": r[3],
        "subject_id": r[4],
        "gate_id": r[5],
        "evidence": json.loads(r[6]),
        "state": r[7],
        "acknowledged_at": r[8],
        "resolved_at": r[9],
    }


# ----------------------------------------------------------------- writing rows
def emit(c: sqlite3.Connection, kind: OutboxKind, key: str, payload: dict[str, Any]) -> None:
    """Queue one row inside the caller's transaction."""
    c.execute(
        "INSERT INTO outbox (kind, key, payload, ts) VALUES (?,?,?,?)",
        (kind.value, key, json.dumps(payload, separators=(",", ":")), _time.time()),
    )


def emit_passages(c: sqlite3.Connection, ids: Iterable[int]) -> None:
    """Queue the current state of passages changed by a bulk update (a cluster merge
    or assignment), read back inside the same transaction."""
    for pid in ids:
        row = c.execute(f"SELECT {PASSAGE_COLS} FROM passages WHERE id=?", (pid,)).fetchone()
        if row is not None:
            p = passage_from_row(row)
            emit(c, OutboxKind.PASSAGE, str(p.id), passage_payload(c, p))


def scrub_erased(c: sqlite3.Connection, person_id: str, alias: str) -> None:
    """An erased person leaves the queue too: rows not shipped yet would otherwise
    carry the id (and a shared name) to the centre after the erasure."""
    c.execute("DELETE FROM outbox WHERE kind='person' AND key=?", (person_id,))
    c.execute(
        "UPDATE outbox SET payload=json_set(payload, '$.person_id', ?)"
        " WHERE kind='passage' AND json_extract(payload, '$.person_id')=?",
        (alias, person_id),
    )
    c.execute(
        "UPDATE outbox SET payload=json_set(payload, '$.subject_id', ?)"
        " WHERE kind='alert' AND json_extract(payload, '$.subject_id')=?",
        (alias, person_id),
    )
    c.execute(
        "UPDATE outbox SET payload=json_set(payload, '$.evidence.person_id', ?)"
        " WHERE kind='alert' AND json_extract(payload, '$.evidence.person_id')=?",
        (alias, person_id),
    )


def ever_queued(c: sqlite3.Connection) -> bool:
    """Whether this file has ever queued an outbox row, i.e. a centre may hold its
    data (AUTOINCREMENT keeps the highest seq in ``sqlite_sequence`` even after acks
    and after turning replication off)."""
    row = c.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
    return bool(row and row[0])


def load_share(conn: sqlite3.Connection) -> SharePolicy | None:
    """The policy stored by ``enable_outbox``; None when writing is off."""
    row = conn.execute("SELECT value FROM settings WHERE key=?", (SETTING,)).fetchone()
    if row is None:
        return None
    return SharePolicy(names=bool(json.loads(row[0]).get("names", False)))
