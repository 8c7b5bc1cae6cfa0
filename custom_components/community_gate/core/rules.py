"""Alert rules over passages and their silences (DESIGN §4). No Home Assistant here.

Two kinds of input drive them:

* events: a committed passage (``on_passage``), a device heartbeat or online state, a
  door contact, an exit button, a temperature reading;
* silences: nobody seen for N hours is the *absence* of events, so ``sweep(now)`` looks
  for them on a timer (and for devices and doors that stayed down or open too long).

The engine keeps little in memory: the windows that matter live in the passage log
(indexed per person, unit, gate and stranger cluster), so a restart loses nothing. What
is in memory is what is live by nature (device and door states) and the index of open
and recent alerts that keeps the rules from flooding: one alert per rule and subject
while it is open, and at most one per ``repeat_hours`` after that.

Not thread-safe: like ``Store``, use it from the one database thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
import math
import time as _time
from typing import Any

from . import errors
from .alerts import Alert, AlertLog, AlertState, Rule, SubjectKind
from .episodes import FAILED_TRY_REASONS, MAX_WINDOW_S
from .model import RESIDENT_ROLES, Direction, Method, Passage, Reason, Role, StrangerIgnore
from .outbox import record_device
from .store import Store
from .throttle import FACE_FLOOD
from .two_factor import WINDOW_S as PAIRING_WINDOW_S

# Sightings of one stranger closer than this are one appearance (a face lingering in
# front of the camera, or trying the reader twice, is not two visits). Never shorter
# than the longest episode window: the sightings an episode row folded together are
# always one appearance, so counting rows by their first and last sighting counts
# what counting every sighting did.
SIGHTING_GAP_S = max(600.0, MAX_WINDOW_S)
# A failed try at a gate for the brute_force rule: a value nobody holds or no reader
# sends, or any try refused unexamined while its caller was locked out. The same set
# is never folded into an episode (core/episodes.py): each try stays a row to count.
FAILED_TRIES = tuple(sorted(r.value for r in FAILED_TRY_REASONS))
# The readings a body thermometer can honestly produce; anything else is a fault.
TEMPERATURE_RANGE = (25.0, 45.0)
# The alerts a stranger marked "known, do not alert" no longer raises.
IGNORED_RULES = (Rule.UNKNOWN_FACE, Rule.FREQUENT_STRANGER)
AUTO = "auto"  # who resolved an alert whose condition ended by itself
MAX_WINDOW_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class ParamSpec:
    default: float
    minimum: float
    maximum: float
    integer: bool = False


# name -> default and range (the options flow shows and checks the same).
PARAM_SPECS: dict[str, ParamSpec] = {
    "special_attention_hours": ParamSpec(48, 1, 24 * 365),
    "long_absence_days": ParamSpec(30, 1, 3650),
    "tailgating_seconds": ParamSpec(5, 1, 120),
    "tailgating_count": ParamSpec(3, 1, 1000, integer=True),
    "tailgating_days": ParamSpec(7, 1, 365),
    "frequent_stranger_count": ParamSpec(10, 2, 10_000, integer=True),
    "frequent_stranger_days": ParamSpec(30, 1, 365),
    "device_offline_minutes": ParamSpec(5, 1, 7 * 24 * 60),
    "door_held_open_seconds": ParamSpec(120, 5, 24 * 3600),
    "forced_open_grace_seconds": ParamSpec(15, 1, 600),
    "fever_celsius": ParamSpec(37.3, 35, 42),
    "brute_force_count": ParamSpec(20, 5, 10_000, integer=True),
    "brute_force_seconds": ParamSpec(60, 10, 3600),
    "repeat_hours": ParamSpec(24, 1, 24 * 365),
    "spoof_attempt_count": ParamSpec(3, 1, 1000, integer=True),
    "spoof_attempt_minutes": ParamSpec(10, 1, 24 * 60),
    "card_face_mismatch_count": ParamSpec(2, 1, 1000, integer=True),
    "card_face_mismatch_minutes": ParamSpec(10, 1, 24 * 60),
}


@dataclass(frozen=True, slots=True)
class RuleParams:
    """Every rule's parameters, defaults as DESIGN §4."""

    special_attention_hours: float = 48
    long_absence_days: float = 30
    tailgating_seconds: float = 5
    tailgating_count: int = 3
    tailgating_days: float = 7
    frequent_stranger_count: int = 10
    frequent_stranger_days: float = 30
    device_offline_minutes: float = 5
    door_held_open_seconds: float = 120
    forced_open_grace_seconds: float = 15
    fever_celsius: float = 37.3
    # Failed credentials (unknown, malformed, or refused during a lock-out) at one gate:
    # twice what one source may fail before it is locked out (core/throttle.py).
    brute_force_count: int = 20
    brute_force_seconds: float = 60
    # One alert per rule and subject per window: no flood.
    repeat_hours: float = 24
    # Photos, screens or replays refused for one subject at one gate (issue 15). One
    # refusal can be a resident's unlucky frames; three in ten minutes is someone trying.
    spoof_attempt_count: int = 3
    spoof_attempt_minutes: float = 10
    # A stranger's face with one holder's card at card + face gates. Once can be a
    # visitor walking in with the resident; twice in ten minutes is a card in other hands.
    card_face_mismatch_count: int = 2
    card_face_mismatch_minutes: float = 10

    def __post_init__(self) -> None:
        for f in fields(self):
            check_param(f.name, getattr(self, f.name))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RuleParams:
        """Build from stored settings; missing names take their defaults, unknown
        names are ignored (a setting from a newer version)."""
        checked: dict[str, Any] = {
            n: check_param(n, values.get(n, s.default)) for n, s in PARAM_SPECS.items()
        }
        return cls(**checked)

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def check_param(name: str, value: Any) -> float | int:
    """The value as the engine uses it, or ``InvalidRuleParameterError``."""
    spec = PARAM_SPECS[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise errors.InvalidRuleParameterError(
            f"{name} must be a number",
            field=name,
            min=_fmt(spec.minimum),
            max=_fmt(spec.maximum),
        )
    if not spec.minimum <= value <= spec.maximum or (spec.integer and value != int(value)):
        raise errors.InvalidRuleParameterError(
            f"{name} out of range",
            field=name,
            min=_fmt(spec.minimum),
            max=_fmt(spec.maximum),
        )
    return int(value) if spec.integer else float(value)


def _fmt(x: float) -> str:
    return str(int(x)) if x == int(x) else str(x)


@dataclass(slots=True)
class _Device:
    last_ok: float
    gate_id: str | None = None
    down_since: float | None = None
    # A device that reports a state (online until told otherwise) rather than beats.
    steady: bool = False
    # The state last told to the command centre (core/outbox.py); None: not yet.
    told: bool | None = None

    def offline_since(self) -> float | None:
        if self.down_since is not None:
            return self.down_since
        return None if self.steady else self.last_ok


class RuleEngine:
    """Runs the rules and keeps their alerts in the store's ``alerts`` table."""

    def __init__(self, store: Store, params: RuleParams | None = None) -> None:
        self.store = store
        self.log = AlertLog(store)
        self.params = params or RuleParams()
        self._conn = store.conn
        self._open: dict[tuple[Rule, str], int] = {}
        self._recent: dict[tuple[Rule, str], float] = {}
        self._devices: dict[str, _Device] = {}
        self._door_open: dict[str, float] = {}
        self._last_granted: dict[str, float] = {}
        self._last_exit: dict[str, float] = {}
        # Card holder -> (ts, passage id, gate) of the faces that were not theirs, within
        # the window. In memory: the log's rows carry the flag, not the holder (a restart
        # forgets at most one window's count; docs/architecture.md).
        self._mismatches: dict[str, list[tuple[float, int | None, str]]] = {}
        self.load(_time.time())

    def load(self, now: float) -> None:
        """Index the open alerts and the ones raised within the repeat window."""
        self._open = {a.key: a.id for a in self.log.iter_open()}
        self._recent = self.log.last_raised(now - self.params.repeat_hours * 3600)

    @property
    def open_count(self) -> int:
        return len(self._open)

    # ------------------------------------------------------------------ raising
    def _raise(
        self,
        ts: float,
        rule: Rule,
        kind: SubjectKind,
        subject: str,
        gate_id: str | None,
        evidence: dict[str, Any],
    ) -> Alert | None:
        key = (rule, subject)
        if key in self._open:
            return None
        last = self._recent.get(key)
        if last is not None and ts - last < self.params.repeat_hours * 3600:
            return None
        alert = self.log.add(ts, rule, kind, subject, gate_id, evidence)
        self._open[key] = alert.id
        self._recent[key] = ts
        return alert

    def _auto_resolve(self, rule: Rule, subject: str, ts: float) -> None:
        alert_id = self._open.pop((rule, subject), None)
        if alert_id is not None:
            self.log.resolve(alert_id, AUTO, ts)

    # ---------------------------------------------------------------- staff
    def acknowledge(self, alert_id: int, by: str, ts: float | None = None) -> Alert:
        return self.log.acknowledge(alert_id, by, _time.time() if ts is None else ts)

    def resolve(self, alert_id: int, by: str, ts: float | None = None) -> Alert:
        alert = self.log.resolve(alert_id, by, _time.time() if ts is None else ts)
        self._open.pop(alert.key, None)
        return alert

    def ignore_stranger(self, ignore: StrangerIgnore) -> int:
        """Staff mark a stranger "known, do not alert": the mark is stored, and its open
        unknown-face and frequent-stranger alerts are resolved by whoever marked it.
        Returns how many alerts that resolved."""
        self.store.set_stranger_ignore(ignore)
        resolved = 0
        for rule in IGNORED_RULES:
            alert_id = self._open.get((rule, ignore.cluster_id))
            if alert_id is not None:
                self.resolve(alert_id, ignore.created_by, ignore.created_at)
                resolved += 1
        return resolved

    def unignore_stranger(self, cluster_id: str) -> bool:
        """The stranger's mark is lifted: alerts about them come back from now on."""
        return self.store.remove_stranger_ignore(cluster_id)

    def list_alerts(
        self, *, include_resolved: bool = False, rule: Rule | None = None, limit: int = 100
    ) -> list[Alert]:
        states = (
            tuple(AlertState) if include_resolved else (AlertState.NEW, AlertState.ACKNOWLEDGED)
        )
        return self.log.list(states=states, rule=rule, limit=limit)

    # -------------------------------------------------------------- passages
    def on_passage(self, p: Passage) -> list[Alert]:
        """Rules that fire on a committed passage. Call it after the commit."""
        out: list[Alert | None] = []
        if p.reason is Reason.PRESENTATION_ATTACK:
            # A picture of someone is no sign of them: it neither resolves their
            # absence nor makes a stranger row; it counts towards spoof_attempt only.
            return [a for a in (self._spoof_attempt(p),) if a is not None]
        if p.card_holders and p.person_id is None:
            # Counted only for a face nobody is enrolled with: another resident's face
            # after a card is mostly two people at one door (the row keeps the flag).
            out.extend(self._card_face_mismatch(p))
        if p.person_id is not None:
            self._auto_resolve(Rule.SPECIAL_ATTENTION, p.person_id, p.ts)
        if p.unit_id is not None:
            self._auto_resolve(Rule.LONG_ABSENCE, p.unit_id, p.ts)
        if p.allowed:
            self._last_granted[p.gate_id] = p.ts
        if "rent_arrears" in p.flags and p.unit_id is not None:
            out.append(
                self._raise(
                    p.ts,
                    Rule.RENT_ARREARS,
                    SubjectKind.UNIT,
                    p.unit_id,
                    p.gate_id,
                    {"passage_id": p.id, "person_id": p.person_id},
                )
            )
        if p.reason.value in FAILED_TRIES and p.method is not Method.FACE:
            out.append(self._brute_force(p))
        if p.method is Method.FACE and not p.allowed and p.person_id is None:
            if FACE_FLOOD in p.flags:
                out.append(self._face_flood(p))
            elif p.reason is not Reason.METHOD_NOT_ACCEPTED:
                # A gate that takes no faces refused it unexamined: not a stranger.
                out.extend(self._unknown_face(p))
        elif (
            p.method is Method.ID_CARD
            and p.direction is not Direction.OUT
            and p.person_id is not None
            and self._is_visitor(p)
        ):
            out.append(self._frequent(p, "person_id", p.person_id, SubjectKind.PERSON))
        return [a for a in out if a is not None]

    def _unknown_face(self, p: Passage) -> list[Alert | None]:
        if p.cluster_id is None:
            # Unclustered (e.g. clustering off): the gate is the only subject we have.
            return [
                self._raise(
                    p.ts,
                    Rule.UNKNOWN_FACE,
                    SubjectKind.GATE,
                    p.gate_id,
                    p.gate_id,
                    {"passage_id": p.id},
                )
            ]
        if self.store.stranger_ignored(p.cluster_id, p.ts):
            # Staff know this face ("do not alert"): no unknown-face or frequent-stranger
            # alert while the mark holds. Tailgating is about behaviour, not about who:
            # a known postman slipping in behind residents is still worth a look.
            return [self._tailgating(p, p.cluster_id)]
        return [
            self._raise(
                p.ts,
                Rule.UNKNOWN_FACE,
                SubjectKind.CLUSTER,
                p.cluster_id,
                p.gate_id,
                {"passage_id": p.id, "cluster_id": p.cluster_id},
            ),
            self._tailgating(p, p.cluster_id),
            self._frequent(p, "cluster_id", p.cluster_id, SubjectKind.CLUSTER),
        ]

    def _brute_force(self, p: Passage) -> Alert | None:
        """A burst of failed tries at one gate, whoever made them: guessing spread over
        many callers (each under its own lock-out limit) adds up here."""
        if (Rule.BRUTE_FORCE, p.gate_id) in self._open:
            return None  # already raised: spare the count
        limit = self.params.brute_force_count
        rows = self._conn.execute(
            "SELECT id FROM passages WHERE gate_id=? AND ts>? AND ts<=? AND allowed=0"
            f" AND reason IN ({','.join('?' * len(FAILED_TRIES))}) AND method!='face'"
            " ORDER BY ts DESC LIMIT ?",
            (p.gate_id, p.ts - self.params.brute_force_seconds, p.ts, *FAILED_TRIES, limit),
        ).fetchall()
        if len(rows) < limit:
            return None
        # Ids, codes and counts: never a tried value (the log holds none anyway).
        return self._raise(
            p.ts,
            Rule.BRUTE_FORCE,
            SubjectKind.GATE,
            p.gate_id,
            p.gate_id,
            {
                "count": len(rows),
                "seconds": self.params.brute_force_seconds,
                "passage_ids": sorted(r[0] for r in rows)[-10:],
            },
        )

    def _spoof_attempt(self, p: Passage) -> Alert | None:
        """Presentation attacks for one subject (the person the picture shows, else the
        stranger cluster, else the gate) at one gate: episode rows count every try."""
        if p.person_id is not None:
            kind, subject, column = SubjectKind.PERSON, p.person_id, "person_id"
        elif p.cluster_id is not None:
            kind, subject, column = SubjectKind.CLUSTER, p.cluster_id, "cluster_id"
        else:
            kind, subject, column = SubjectKind.GATE, p.gate_id, "gate_id"
        if (Rule.SPOOF_ATTEMPT, subject) in self._open:
            return None
        since = p.ts - self.params.spoof_attempt_minutes * 60
        rows = self._conn.execute(
            "SELECT id, coalesce(count, 1) FROM passages WHERE gate_id=? AND reason=?"
            f" AND {column}=? AND coalesce(last_seen, ts)>? AND ts<=?",
            (p.gate_id, Reason.PRESENTATION_ATTACK.value, subject, since, p.ts),
        ).fetchall()
        tries = sum(int(r[1]) for r in rows)
        if tries < self.params.spoof_attempt_count:
            return None
        # Ids and counts only: never the picture (a snapshot, if kept, is the panel's).
        evidence: dict[str, Any] = {
            "count": tries,
            "minutes": self.params.spoof_attempt_minutes,
            "passage_ids": sorted(r[0] for r in rows)[-10:],
            column: subject,
        }
        return self._raise(p.ts, Rule.SPOOF_ATTEMPT, kind, subject, p.gate_id, evidence)

    def _card_face_mismatch(self, p: Passage) -> list[Alert | None]:
        """A stranger's face after the card holder's card, counted per holder (whichever
        gate): the holder's card in other hands. One card presentation counts once, however
        often the camera decides the face while the card waits (``PAIRING_WINDOW_S``): a
        visitor in view while the resident fumbles is one, not several."""
        since = p.ts - self.params.card_face_mismatch_minutes * 60
        out: list[Alert | None] = []
        for holder in sorted(p.card_holders):
            seen = [m for m in self._mismatches.get(holder, ()) if since < m[0] <= p.ts]
            if seen and seen[-1][2] == p.gate_id and p.ts - seen[-1][0] <= PAIRING_WINDOW_S:
                self._mismatches[holder] = seen
                continue
            seen.append((p.ts, p.id, p.gate_id))
            self._mismatches[holder] = seen
            if len(seen) < self.params.card_face_mismatch_count:
                continue
            # Ids and counts only: the face's person or stranger, never a name or card.
            evidence: dict[str, Any] = {
                "card_person_id": holder,
                "gate_id": p.gate_id,
                "count": len(seen),
                "minutes": self.params.card_face_mismatch_minutes,
                "passage_ids": [i for _, i, _ in seen if i is not None][-10:],
            }
            if p.cluster_id is not None:
                evidence["cluster_id"] = p.cluster_id
            out.append(
                self._raise(
                    p.ts, Rule.CARD_FACE_MISMATCH, SubjectKind.PERSON, holder, p.gate_id, evidence
                )
            )
        return out

    def _face_flood(self, p: Passage) -> Alert | None:
        """A terminal presented more unknown faces than its budget (core/throttle.py):
        one ``brute_force`` alert for the gate while it is open, not one alert and one
        stranger per random embedding."""
        return self._raise(
            p.ts,
            Rule.BRUTE_FORCE,
            SubjectKind.GATE,
            p.gate_id,
            p.gate_id,
            {"method": Method.FACE.value, "passage_ids": [p.id]},
        )

    def _is_visitor(self, p: Passage) -> bool:
        row = self._conn.execute("SELECT role FROM people WHERE id=?", (p.person_id,)).fetchone()
        return row is not None and row[0] == Role.VISITOR.value

    def _follows_resident(self, gate_id: str, ts: float) -> int | None:
        """The allowed resident passage at ``gate_id`` in the T seconds before ``ts``."""
        row = self._conn.execute(
            "SELECT p.id FROM passages p JOIN people pe ON pe.id = p.person_id"
            " WHERE p.gate_id=? AND p.ts>=? AND p.ts<=? AND p.allowed=1"
            f" AND pe.role IN ({','.join('?' * len(RESIDENT_ROLES))}) LIMIT 1",
            (gate_id, ts - self.params.tailgating_seconds, ts, *sorted(RESIDENT_ROLES)),
        ).fetchone()
        return None if row is None else int(row[0])

    def _tailgating(self, p: Passage, cluster: str) -> Alert | None:
        if self._follows_resident(p.gate_id, p.ts) is None:
            return None  # this sighting adds no tailgate: nothing new to count
        rows = self._conn.execute(
            "SELECT id, ts, gate_id FROM passages WHERE cluster_id=? AND ts>=? AND ts<=?"
            " AND allowed=0 ORDER BY ts LIMIT ?",
            (cluster, p.ts - self.params.tailgating_days * 86400, p.ts, MAX_WINDOW_ROWS),
        ).fetchall()
        tailgates = [r[0] for r in rows if self._follows_resident(r[2], r[1]) is not None]
        if len(tailgates) < self.params.tailgating_count:
            return None
        return self._raise(
            p.ts,
            Rule.TAILGATING,
            SubjectKind.CLUSTER,
            cluster,
            p.gate_id,
            {"cluster_id": cluster, "count": len(tailgates), "passage_ids": tailgates[-10:]},
        )

    def _frequent(self, p: Passage, column: str, subject: str, kind: SubjectKind) -> Alert | None:
        where = "cluster_id=?" if column == "cluster_id" else "person_id=? AND method='id_card'"
        # Arrivals only: leaving again an hour later is the same visit, not another one.
        # Each row with its first and last sighting (an episode holds several).
        rows = self._conn.execute(
            "SELECT ts, coalesce(last_seen, ts) FROM passages"
            f" WHERE {where} AND direction!='out' AND ts>=? AND ts<=? ORDER BY ts LIMIT ?",
            (subject, p.ts - self.params.frequent_stranger_days * 86400, p.ts, MAX_WINDOW_ROWS),
        ).fetchall()
        count = appearances(rows)
        if count < self.params.frequent_stranger_count:
            return None
        return self._raise(
            p.ts,
            Rule.FREQUENT_STRANGER,
            kind,
            subject,
            p.gate_id,
            {column: subject, "count": count, "days": self.params.frequent_stranger_days},
        )

    # ------------------------------------------------------- other inputs
    def heartbeat(self, device_id: str, ts: float, *, gate_id: str | None = None) -> None:
        """A device says it is alive (MQTT heartbeat); silent for N minutes = offline."""
        dev = self._devices.get(device_id)
        if dev is None:
            dev = self._devices[device_id] = _Device(ts, gate_id)
        else:
            dev.last_ok, dev.down_since, dev.steady = ts, None, False
            dev.gate_id = gate_id or dev.gate_id
        self._tell(device_id, dev, True, ts)
        self._auto_resolve(Rule.DEVICE_OFFLINE, device_id, ts)

    def _tell(self, device_id: str, dev: _Device, online: bool, ts: float) -> None:
        """The command centre hears each change of a device's state (not every beat)."""
        if dev.told is not online:
            dev.told = online
            record_device(self.store, device_id, dev.gate_id, online, ts)

    def device_state(
        self, device_id: str, online: bool, ts: float, *, gate_id: str | None = None
    ) -> None:
        """A device with a known state (an HA entity's availability, an MQTT LWT)."""
        dev = self._devices.setdefault(device_id, _Device(ts, gate_id, steady=True))
        dev.gate_id = gate_id or dev.gate_id
        self._tell(device_id, dev, online, ts)
        if online:
            dev.last_ok, dev.down_since, dev.steady = ts, None, True
            self._auto_resolve(Rule.DEVICE_OFFLINE, device_id, ts)
        elif dev.down_since is None:
            dev.down_since = ts

    def forget_device(self, device_id: str) -> None:
        self._devices.pop(device_id, None)

    def exit_request(self, gate_id: str, ts: float) -> None:
        """The exit button was pressed: the door opening next is not forced."""
        self._last_exit[gate_id] = ts

    def door(self, gate_id: str, is_open: bool, ts: float) -> list[Alert]:
        """A door contact changed. Opening with no granted passage (or exit request)
        just before is forced; staying open too long is held open."""
        out: list[Alert | None] = []
        if is_open:
            if gate_id in self._door_open:
                return []
            self._door_open[gate_id] = ts
            grace = self.params.forced_open_grace_seconds
            authorised = max(
                self._last_granted.get(gate_id, -1e18), self._last_exit.get(gate_id, -1e18)
            )
            if ts - authorised > grace and not self._granted_in_log(gate_id, ts - grace, ts):
                out.append(
                    self._raise(
                        ts,
                        Rule.FORCED_OPEN,
                        SubjectKind.GATE,
                        gate_id,
                        gate_id,
                        {"opened_at": ts},
                    )
                )
        else:
            since = self._door_open.pop(gate_id, None)
            if since is not None:
                out.append(self._held_open(gate_id, since, ts))
        return [a for a in out if a is not None]

    def _granted_in_log(self, gate_id: str, start: float, end: float) -> bool:
        # After a restart the in-memory mark is gone; the log still knows.
        return (
            self._conn.execute(
                "SELECT 1 FROM passages WHERE gate_id=? AND ts>=? AND ts<=? AND allowed=1 LIMIT 1",
                (gate_id, start, end),
            ).fetchone()
            is not None
        )

    def _held_open(self, gate_id: str, since: float, now: float) -> Alert | None:
        seconds = now - since
        if seconds < self.params.door_held_open_seconds:
            return None
        return self._raise(
            now,
            Rule.DOOR_HELD_OPEN,
            SubjectKind.GATE,
            gate_id,
            gate_id,
            {"opened_at": since, "seconds": round(seconds)},
        )

    def temperature(
        self, gate_id: str, celsius: float, ts: float, *, person_id: str | None = None
    ) -> list[Alert]:
        """A terminal measured someone's temperature at a gate."""
        low, high = TEMPERATURE_RANGE
        if (
            isinstance(celsius, bool)
            or not isinstance(celsius, int | float)
            or not low <= celsius <= high
        ):
            raise errors.InvalidReadingError(
                "temperature out of range", field="celsius", min=str(low), max=str(high)
            )
        if celsius < self.params.fever_celsius:
            return []
        kind, subject = (
            (SubjectKind.PERSON, person_id) if person_id else (SubjectKind.GATE, gate_id)
        )
        alert = self._raise(
            ts,
            Rule.FEVER,
            kind,
            subject,
            gate_id,
            {"celsius": round(float(celsius), 1), "person_id": person_id},
        )
        return [alert] if alert else []

    # ---------------------------------------------------------------- silences
    def sweep(self, now: float, *, silences: bool = True) -> list[Alert]:
        """Devices down and doors open too long; with ``silences``, also the people and
        units nobody has seen for too long (the heavier part: run it less often)."""
        out: list[Alert | None] = []
        limit = self.params.device_offline_minutes * 60
        for device_id, dev in self._devices.items():
            since = dev.offline_since()
            if since is not None and now - since >= limit:
                self._tell(device_id, dev, False, since)
                out.append(
                    self._raise(
                        now,
                        Rule.DEVICE_OFFLINE,
                        SubjectKind.DEVICE,
                        device_id,
                        dev.gate_id,
                        {"device_id": device_id, "offline_since": since},
                    )
                )
        for gate_id, since in list(self._door_open.items()):
            out.append(self._held_open(gate_id, since, now))
        since = now - self.params.card_face_mismatch_minutes * 60
        self._mismatches = {h: s for h, s in self._mismatches.items() if s[-1][0] > since}
        if silences:
            out.extend(self._absences(now))
            horizon = now - self.params.repeat_hours * 3600
            self._recent = {k: t for k, t in self._recent.items() if t >= horizon}
        return [a for a in out if a is not None]

    def _absences(self, now: float) -> list[Alert | None]:
        out: list[Alert | None] = []
        # One indexed look-up of the latest row per watched person and per occupied
        # unit (its last sighting: an episode's is later than its ts): no log scan.
        hours = self.params.special_attention_hours
        for pid, created, last in self._conn.execute(
            "SELECT id, created_at, (SELECT coalesce(last_seen, ts) FROM passages"
            " WHERE person_id=people.id AND reason!='presentation_attack'"
            " ORDER BY ts DESC LIMIT 1)"
            " FROM people WHERE special_attention=1 AND blocked=0"
            " AND (valid_until IS NULL OR valid_until>?)",
            (now,),
        ):
            since = last if last is not None else created
            if now - since >= hours * 3600:
                out.append(
                    self._raise(
                        now,
                        Rule.SPECIAL_ATTENTION,
                        SubjectKind.PERSON,
                        pid,
                        None,
                        {"person_id": pid, "last_seen": last, "hours": round((now - since) / 3600)},
                    )
                )
        days = self.params.long_absence_days
        roles = sorted(RESIDENT_ROLES)
        for uid, created, last in self._conn.execute(
            "SELECT id, created_at, (SELECT coalesce(last_seen, ts) FROM passages"
            " WHERE unit_id=units.id AND reason!='presentation_attack'"
            " ORDER BY ts DESC LIMIT 1)"
            " FROM units WHERE EXISTS (SELECT 1 FROM people WHERE people.unit_id=units.id"
            f" AND role IN ({','.join('?' * len(roles))}))",
            roles,
        ):
            since = last if last is not None else created
            if now - since >= days * 86400:
                out.append(
                    self._raise(
                        now,
                        Rule.LONG_ABSENCE,
                        SubjectKind.UNIT,
                        uid,
                        None,
                        {"unit_id": uid, "last_seen": last, "days": round((now - since) / 86400)},
                    )
                )
        return out


def appearances(spans: Iterable[tuple[float, float]]) -> int:
    """Sightings collapsed into visits ``SIGHTING_GAP_S`` apart. Each span is a row's
    first and last sighting (the same time for a row of one presentation), in order of
    first sighting: a new visit starts when a row begins that long after every
    sighting before it."""
    count = 0
    last: float | None = None
    for first, latest in spans:
        if last is None or first - last >= SIGHTING_GAP_S:
            count += 1
        last = latest if last is None else max(last, latest)
    return count
