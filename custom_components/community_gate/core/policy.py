"""The access decision: pure, deterministic, one stable reason code per outcome.

Checks run from the credential outwards (credential, person, unit, gate, time) so the
reason names the first thing an administrator has to fix.
"""

from __future__ import annotations

from datetime import datetime, time

from .model import (
    RESIDENT_ROLES,
    Credential,
    Decision,
    Direction,
    Gate,
    GateKind,
    Person,
    Reason,
    Role,
    ScheduleWindow,
    Unit,
)


def in_schedule(schedule: tuple[ScheduleWindow, ...], local_now: datetime) -> bool:
    """True when ``local_now`` (estate-local wall time) falls in any window."""
    if not schedule:
        return True
    day = local_now.isoweekday()
    prev_day = 7 if day == 1 else day - 1
    now_t = local_now.time().replace(tzinfo=None)
    for win in schedule:
        if win.start <= win.end:
            if day in win.days and win.start <= now_t < win.end:
                return True
        else:
            # Overnight window: the evening part belongs to the start day,
            # the small hours to the day after it.
            if day in win.days and now_t >= win.start:
                return True
            if prev_day in win.days and now_t < win.end:
                return True
    return False


def gate_admits(person: Person, unit: Unit | None, gate: Gate) -> bool:
    """Whether the person may use this gate at all (ignoring time)."""
    if person.allowed_gates:
        return gate.id in person.allowed_gates
    # Residents and their visitors only enter their own building; staff and
    # service people need an explicit gate list to be limited.
    if (
        gate.kind is GateKind.BUILDING_DOOR
        and gate.building
        and (person.role in RESIDENT_ROLES or person.role is Role.VISITOR)
    ):
        return unit is not None and unit.building == gate.building
    return True


def _direction_ok(gate: Gate, direction: Direction) -> bool:
    return (
        gate.direction is Direction.BOTH
        or direction is Direction.BOTH
        or gate.direction is direction
    )


def decide(
    *,
    now: datetime,
    gate: Gate,
    direction: Direction,
    credential: Credential | None,
    person: Person | None,
    unit: Unit | None,
    emergency: bool = False,
) -> Decision:
    """Decide one presentation. ``now`` must be timezone-aware, in estate-local time."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ts = now.timestamp()
    pid = person.id if person else None
    cid = credential.id if credential else None
    uid = unit.id if unit else (person.unit_id if person else None)

    def deny(reason: Reason) -> Decision:
        return Decision(False, reason, pid, cid, uid)

    if emergency:
        return Decision(True, Reason.EMERGENCY_OPEN, pid, cid, uid)
    if credential is None or person is None:
        return Decision(False, Reason.UNKNOWN_CREDENTIAL)
    if credential.revoked_at is not None:
        return deny(Reason.CREDENTIAL_REVOKED)
    if credential.valid_from is not None and ts < credential.valid_from:
        return deny(Reason.CREDENTIAL_NOT_YET_VALID)
    if credential.valid_until is not None and ts >= credential.valid_until:
        return deny(Reason.CREDENTIAL_EXPIRED)
    if credential.max_uses is not None and credential.uses >= credential.max_uses:
        return deny(Reason.CREDENTIAL_USED_UP)
    if person.blocked:
        return deny(Reason.PERSON_BLOCKED)
    if person.valid_from is not None and ts < person.valid_from:
        return deny(Reason.PERSON_NOT_YET_VALID)
    if person.valid_until is not None and ts >= person.valid_until:
        return deny(Reason.PERSON_EXPIRED)
    if (
        person.role in RESIDENT_ROLES
        and unit is not None
        and unit.lease_until is not None
        and ts >= unit.lease_until
    ):
        return deny(Reason.LEASE_EXPIRED)
    if not gate_admits(person, unit, gate):
        return deny(Reason.GATE_NOT_ALLOWED)
    if not _direction_ok(gate, direction):
        return deny(Reason.DIRECTION_NOT_ALLOWED)
    if not in_schedule(person.schedule, now):
        return deny(Reason.OUTSIDE_SCHEDULE)
    flags: tuple[str, ...] = ()
    if unit is not None and unit.rent_arrears:
        # Arrears never lock anyone out (DESIGN §4): the gate opens, staff get a nudge.
        flags = ("rent_arrears",)
    return Decision(True, Reason.GRANTED, pid, cid, uid, flags)


def parse_hhmm(text: str) -> time:
    """Parse "HH:MM" (24 h); "24:00" means end of day."""
    hh, _, mm = text.partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
        raise ValueError(f"bad time {text!r}")
    h, m = int(hh), int(mm)
    if (h, m) == (24, 0):
        return time.max
    return time(h, m)
