"""Alerts: what a rule raised, about whom (ids only), and where staff are with it.

``AlertLog`` keeps them in the estate database, on the Store's own connection (and so
on the Store's one thread): new -> acknowledged -> resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import json
import sqlite3
from typing import Any, Final

from . import errors, outbox_rows as ob
from .store import Store


class Rule(StrEnum):
    """The rules of DESIGN §4. The value is the HA event type and translation key."""

    SPECIAL_ATTENTION = "special_attention"
    LONG_ABSENCE = "long_absence"
    TAILGATING = "tailgating"
    FREQUENT_STRANGER = "frequent_stranger"
    RENT_ARREARS = "rent_arrears"
    UNKNOWN_FACE = "unknown_face"
    DEVICE_OFFLINE = "device_offline"
    DOOR_HELD_OPEN = "door_held_open"
    FORCED_OPEN = "forced_open"
    FEVER = "fever"
    BRUTE_FORCE = "brute_force"
    SPOOF_ATTEMPT = "spoof_attempt"  # repeated photos, screens or replays at a face gate
    # A resident's card (or PIN...) in at a card + face gate with someone else's face.
    CARD_FACE_MISMATCH = "card_face_mismatch"


class SubjectKind(StrEnum):
    """What an alert is about: a person, a unit, a stranger cluster, a gate, a device."""

    PERSON = "person"
    UNIT = "unit"
    CLUSTER = "cluster"
    GATE = "gate"
    DEVICE = "device"


# Subjects every Home Assistant user may see named (entity states, the logbook): the
# estate's own equipment. Who an alert is about (a person, a unit, a stranger) is for
# staff: the panel and the alert event their automations receive.
PUBLIC_SUBJECTS = frozenset({SubjectKind.GATE, SubjectKind.DEVICE})


def subject_names[K](
    kind: str,
    key: K,
    people: Mapping[K, str],
    units: Mapping[K, str],
    gate_name: Callable[[K], str | None],
) -> dict[str, str | None]:
    """What staff call an alert's subject, for the admin-only views (the estate's panel
    and the command centre's): a person by name and unit, a gate by its name; the id
    stays beside it. ``key`` is how those lookups know the subject (its id, or estate
    and id at the centre)."""
    if kind == SubjectKind.PERSON:
        return {"subject_name": people.get(key), "subject_unit": units.get(key)}
    if kind == SubjectKind.GATE:
        return {"subject_name": gate_name(key), "subject_unit": None}
    return {"subject_name": None, "subject_unit": None}


# Rules that tell something private about whoever just passed (money owed, a fever) or
# about who is vulnerable or away (an elderly resident unseen, a unit empty for weeks: a
# burglar's list). They never reach entity states or the logbook, which every Home
# Assistant user reads; staff get them in the bus event, the panel and ``list_alerts``.
STAFF_ONLY_RULES: Final = frozenset(
    {Rule.RENT_ARREARS, Rule.FEVER, Rule.SPECIAL_ATTENTION, Rule.LONG_ABSENCE}
)


class AlertState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    ts: float
    rule: Rule
    subject_kind: SubjectKind
    subject_id: str
    gate_id: str | None = None
    # Ids, codes, counts and times only: it goes into HA events as it is.
    evidence: dict[str, Any] = field(default_factory=dict)
    state: AlertState = AlertState.NEW
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None

    @property
    def key(self) -> tuple[Rule, str]:
        return (self.rule, self.subject_id)


_COLS = (
    "id, ts, rule, subject_kind, subject_id, gate_id, evidence, state,"
    " acknowledged_at, acknowledged_by, resolved_at, resolved_by"
)


def _alert(r: Sequence[Any]) -> Alert:
    return Alert(
        id=r[0],
        ts=r[1],
        rule=Rule(r[2]),
        subject_kind=SubjectKind(r[3]),
        subject_id=r[4],
        gate_id=r[5],
        evidence=json.loads(r[6]),
        state=AlertState(r[7]),
        acknowledged_at=r[8],
        acknowledged_by=r[9],
        resolved_at=r[10],
        resolved_by=r[11],
    )


class AlertLog:
    """Alert rows in the estate database. Same thread rules as ``Store``."""

    def __init__(self, store: Store) -> None:
        # The Store's connection and transactions, so alerts share its file, WAL and
        # single thread.
        self._conn: sqlite3.Connection = store.conn
        self._tx = store.transaction
        self._store = store

    def _emit(self, c: sqlite3.Connection, alert_id: int) -> None:
        """Each step of the lifecycle reaches the centre, in the step's transaction."""
        if self._store.outbox_share is not None:
            ob.emit(c, ob.OutboxKind.ALERT, str(alert_id), ob.alert_payload(c, alert_id))

    def add(
        self,
        ts: float,
        rule: Rule,
        subject_kind: SubjectKind,
        subject_id: str,
        gate_id: str | None,
        evidence: dict[str, Any],
    ) -> Alert:
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO alerts (ts, rule, subject_kind, subject_id, gate_id, evidence, state)"
                " VALUES (?,?,?,?,?,?,'new')",
                (ts, rule.value, subject_kind.value, subject_id, gate_id, json.dumps(evidence)),
            )
            assert cur.lastrowid is not None
            self._emit(c, cur.lastrowid)
        assert cur.lastrowid is not None
        return Alert(cur.lastrowid, ts, rule, subject_kind, subject_id, gate_id, evidence)

    def get(self, alert_id: int) -> Alert:
        row = self._conn.execute(f"SELECT {_COLS} FROM alerts WHERE id=?", (alert_id,)).fetchone()
        if row is None:
            raise errors.UnknownAlertError("no such alert", alert_id=str(alert_id))
        return _alert(row)

    def acknowledge(self, alert_id: int, by: str, ts: float) -> Alert:
        alert = self.get(alert_id)
        if alert.state is AlertState.RESOLVED:
            raise errors.AlertAlreadyResolvedError("alert resolved", alert_id=str(alert_id))
        if alert.state is AlertState.ACKNOWLEDGED:
            return alert  # a second tap on the notification button changes nothing
        with self._tx() as c:
            c.execute(
                "UPDATE alerts SET state='acknowledged', acknowledged_at=?, acknowledged_by=?"
                " WHERE id=?",
                (ts, by, alert_id),
            )
            self._emit(c, alert_id)
        return self.get(alert_id)

    def resolve(self, alert_id: int, by: str, ts: float) -> Alert:
        alert = self.get(alert_id)
        if alert.state is AlertState.RESOLVED:
            raise errors.AlertAlreadyResolvedError("alert resolved", alert_id=str(alert_id))
        with self._tx() as c:
            c.execute(
                "UPDATE alerts SET state='resolved', resolved_at=?, resolved_by=? WHERE id=?",
                (ts, by, alert_id),
            )
            self._emit(c, alert_id)
        return self.get(alert_id)

    def list(
        self,
        *,
        states: Sequence[AlertState] = (AlertState.NEW, AlertState.ACKNOWLEDGED),
        rule: Rule | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Newest first."""
        marks = ",".join("?" * len(states))
        sql = f"SELECT {_COLS} FROM alerts WHERE state IN ({marks})"
        args: list[Any] = [s.value for s in states]
        if rule is not None:
            sql += " AND rule=?"
            args.append(rule.value)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [_alert(r) for r in self._conn.execute(sql, args)]

    def iter_open(self) -> Iterator[Alert]:
        for r in self._conn.execute(f"SELECT {_COLS} FROM alerts WHERE state != 'resolved'"):
            yield _alert(r)

    def last_raised(self, since: float) -> dict[tuple[Rule, str], float]:
        """When each (rule, subject) last raised an alert, for alerts since ``since``."""
        rows = self._conn.execute(
            "SELECT rule, subject_id, max(ts) FROM alerts WHERE ts>=? GROUP BY rule, subject_id",
            (since,),
        )
        return {(Rule(r[0]), r[1]): float(r[2]) for r in rows}

    def count_open(self) -> int:
        return int(
            self._conn.execute("SELECT count(*) FROM alerts WHERE state != 'resolved'").fetchone()[
                0
            ]
        )
