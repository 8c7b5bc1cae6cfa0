"""Passage episodes: one log row per presence, not one per presentation.

A stranger standing at a camera door is refused every few seconds (the face debounce),
and a person whose card stopped working tries it again and again: without episodes a
minute of that is six rows and the real passages scroll out of staff's view. A refusal
*folds* into the row of the same presence instead of adding one; the row then says how
many presentations it holds (``count``), the first (``ts``) and the latest
(``last_seen``).

What folds, and why only that (docs/architecture.md, "Passage episodes"):

* a refusal with a subject: a stranger cluster, or a known person refused;
* into that subject's latest row, when it is the same presence: same gate, direction,
  method, reason, person, cluster, credential and flags, itself a refusal, last seen
  less than the window ago;
* and no one passed that gate since (a granted row in between). An opening is the
  moment a stranger may slip in behind someone: the next sighting starts a new row, so
  the tailgating rule finds it next to the opening, as it did before episodes.

Never folded: a granted passage (each opening is a real event), a refusal without
a subject, among them every failed card or PIN try (unknown or malformed value,
throttled): ``brute_force`` counts those one by one; and a face flagged
``card_face_mismatch``: each is its own row for the rule that counts them, and keeps
the card holders it carries in memory (a folded row is re-read from the log).

No Home Assistant here; the store calls ``fold_target`` inside the transaction that
writes the row, so folding is as durable as an insert.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from .model import Method, Passage, Reason
from .rows import PASSAGE_COLS, passage_from_row
from .two_factor import MISMATCH_FLAG

# The default window, and its bounds in the options flow. 0 turns folding off.
DEFAULT_WINDOW_S: Final = 60.0
# At most the rules' sighting gap (core/rules.py SIGHTING_GAP_S): sightings folded
# into one row are always closer than what the frequent-stranger rule calls one
# visit, so counting rows (with their first and last sighting) counts what counting
# every sighting counted.
MAX_WINDOW_S: Final = 600.0
# Refusals the brute_force rule counts one by one: never folded, whatever they carry.
FAILED_TRY_REASONS: Final = frozenset(
    {Reason.UNKNOWN_CREDENTIAL, Reason.MALFORMED_CREDENTIAL, Reason.THROTTLED}
)


def subject(p: Passage) -> tuple[str, str] | None:
    """The column and value that say whose presence a refusal is, or None when it
    must stay a row of its own."""
    if p.allowed:
        return None
    if p.reason in FAILED_TRY_REASONS and p.method is not Method.FACE:
        return None
    if MISMATCH_FLAG in p.flags:
        return None
    if p.cluster_id is not None:
        return ("cluster_id", p.cluster_id)
    if p.person_id is not None:
        return ("person_id", p.person_id)
    return None


def same_presence(row: Passage, p: Passage) -> bool:
    """Whether ``p`` repeats the refusal ``row`` records (window aside)."""
    return (
        not row.allowed
        and (row.gate_id, row.direction, row.method, row.reason)
        == (p.gate_id, p.direction, p.method, p.reason)
        and (row.person_id, row.unit_id, row.cluster_id, row.credential_id)
        == (p.person_id, p.unit_id, p.cluster_id, p.credential_id)
        and row.flags == p.flags
    )


def fold_target(conn: sqlite3.Connection, p: Passage, window: float) -> Passage | None:
    """The open episode ``p`` folds into, or None when ``p`` is a new row."""
    if window <= 0:
        return None
    who = subject(p)
    if who is None:
        return None
    column, value = who
    # The subject's latest row: another gate or another outcome in between ends the
    # presence. Walks the per-person or per-cluster time index from the end.
    row = conn.execute(
        f"SELECT {PASSAGE_COLS} FROM passages WHERE {column}=? ORDER BY ts DESC, id DESC LIMIT 1",
        (value,),
    ).fetchone()
    if row is None:
        return None
    last = passage_from_row(row)
    if not same_presence(last, p) or not 0 <= p.ts - last.seen < window:
        return None
    opened = conn.execute(
        "SELECT 1 FROM passages WHERE gate_id=? AND ts>? AND ts<=? AND allowed=1 LIMIT 1",
        (p.gate_id, last.seen, p.ts),
    ).fetchone()
    return None if opened is not None else last
