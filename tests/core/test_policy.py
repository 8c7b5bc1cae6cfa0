"""policy.decide: one stable reason per outcome, schedules, gates, directions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from custom_components.community_gate.core.model import (
    ALLOWING_REASONS,
    Credential,
    CredentialKind,
    Direction,
    Gate,
    GateKind,
    Person,
    Reason,
    Role,
    ScheduleWindow,
    Unit,
)
from custom_components.community_gate.core.policy import (
    decide,
    gate_admits,
    in_schedule,
    parse_hhmm,
)
from tests.core.conftest import CST, NOW

TS = NOW.timestamp()
HOUR = 3600.0
UNIT = Unit("a101", "A", "101")
TENANT = Person("alice", Role.TENANT, "Alice", unit_id="a101")
CARD = Credential("c1", "alice", CredentialKind.CARD, "h" * 64)
MAIN = Gate("main", "Main gate")
DOOR_A = Gate("door-a", "Door A", GateKind.BUILDING_DOOR, building="A")
DOOR_B = Gate("door-b", "Door B", GateKind.BUILDING_DOOR, building="B")
EXIT = Gate("exit", "Exit", direction=Direction.OUT)
OFFICE_HOURS = ScheduleWindow(frozenset({1, 2, 3, 4, 5}), time(8), time(18))


def run(**overrides: Any) -> Any:
    args: dict[str, Any] = {
        "now": NOW,
        "gate": MAIN,
        "direction": Direction.IN,
        "credential": CARD,
        "person": TENANT,
        "unit": UNIT,
    }
    args.update(overrides)
    return decide(**args)


# One case per reason that decide() produces. Reasons produced elsewhere:
NOT_FROM_DECIDE = {
    Reason.REMOTE_OPEN: "the HA hub's staff 'open' action, no credential involved",
    Reason.MALFORMED_CREDENTIAL: "AccessControl.evaluate, before any lookup (test_access.py)",
    Reason.METHOD_NOT_ACCEPTED: "EstateHub, from the gate methods (tests/ha/test_privacy.py)",
    Reason.THROTTLED: "EstateHub, from core/throttle.py (tests/ha/test_brute_force.py)",
    Reason.LOCKDOWN: "access.apply_lockdown, after decide (tests/core/test_lockdown_policy.py)",
    Reason.PRESENTATION_ATTACK: "the face pipeline's liveness check, before any match is decided",
    Reason.SECOND_FACTOR_REQUIRED: "core/two_factor.py at card + face gates (test_two_factor.py)",
}
CASES: list[tuple[Reason, dict[str, Any]]] = [
    (Reason.GRANTED, {}),
    (Reason.EMERGENCY_OPEN, {"emergency": True, "credential": None, "person": None}),
    (Reason.UNKNOWN_CREDENTIAL, {"credential": None, "person": None, "unit": None}),
    (Reason.CREDENTIAL_REVOKED, {"credential": replace(CARD, revoked_at=TS - HOUR)}),
    (Reason.CREDENTIAL_NOT_YET_VALID, {"credential": replace(CARD, valid_from=TS + 1)}),
    (Reason.CREDENTIAL_EXPIRED, {"credential": replace(CARD, valid_until=TS)}),
    (Reason.CREDENTIAL_USED_UP, {"credential": replace(CARD, max_uses=1, uses=1)}),
    (Reason.PERSON_BLOCKED, {"person": replace(TENANT, blocked=True)}),
    (Reason.PERSON_NOT_YET_VALID, {"person": replace(TENANT, valid_from=TS + HOUR)}),
    (Reason.PERSON_EXPIRED, {"person": replace(TENANT, valid_until=TS - HOUR)}),
    (Reason.LEASE_EXPIRED, {"unit": replace(UNIT, lease_until=TS - HOUR)}),
    (Reason.GATE_NOT_ALLOWED, {"gate": DOOR_B}),
    (Reason.DIRECTION_NOT_ALLOWED, {"gate": EXIT, "direction": Direction.IN}),
    (
        Reason.OUTSIDE_SCHEDULE,
        {"person": replace(TENANT, schedule=(OFFICE_HOURS,)), "now": NOW.replace(hour=7)},
    ),
]


def test_cases_cover_every_reason() -> None:
    covered = [reason for reason, _ in CASES]
    assert len(covered) == len(set(covered))
    assert set(covered) == set(Reason) - set(NOT_FROM_DECIDE)


@pytest.mark.parametrize(("reason", "overrides"), CASES, ids=[r.value for r, _ in CASES])
def test_each_reason(reason: Reason, overrides: dict[str, Any]) -> None:
    decision = run(**overrides)
    assert decision.reason is reason
    assert decision.allowed is (reason in ALLOWING_REASONS)
    if reason not in {Reason.UNKNOWN_CREDENTIAL, Reason.EMERGENCY_OPEN}:
        assert decision.person_id == "alice"
        assert decision.credential_id == "c1"
        assert decision.unit_id == "a101"


def test_unknown_credential_carries_no_identity() -> None:
    d = run(credential=None, person=None, unit=None)
    assert (d.person_id, d.credential_id, d.unit_id, d.flags) == (None, None, None, ())


def test_emergency_opens_even_for_a_blocked_person_and_keeps_identity() -> None:
    d = run(emergency=True, person=replace(TENANT, blocked=True))
    assert d.allowed
    assert d.reason is Reason.EMERGENCY_OPEN
    assert d.person_id == "alice"


def test_validity_bounds_are_half_open() -> None:
    assert run(credential=replace(CARD, valid_from=TS)).reason is Reason.GRANTED
    assert run(credential=replace(CARD, valid_until=TS + 0.001)).reason is Reason.GRANTED
    assert run(person=replace(TENANT, valid_from=TS)).reason is Reason.GRANTED
    assert run(person=replace(TENANT, valid_until=TS)).reason is Reason.PERSON_EXPIRED
    assert run(unit=replace(UNIT, lease_until=TS)).reason is Reason.LEASE_EXPIRED
    assert run(unit=replace(UNIT, lease_until=TS + 1)).reason is Reason.GRANTED


def test_uses_below_max_still_grant() -> None:
    assert run(credential=replace(CARD, max_uses=3, uses=2)).reason is Reason.GRANTED


def test_first_failing_check_names_the_reason() -> None:
    d = run(
        credential=replace(CARD, revoked_at=TS - 1),
        person=replace(TENANT, blocked=True),
        gate=DOOR_B,
    )
    assert d.reason is Reason.CREDENTIAL_REVOKED
    d = run(person=replace(TENANT, blocked=True), gate=DOOR_B)
    assert d.reason is Reason.PERSON_BLOCKED


def test_lease_applies_to_residents_only() -> None:
    expired = replace(UNIT, lease_until=TS - HOUR)
    visitor = Person("v", Role.VISITOR, unit_id="a101")
    staff = Person("s", Role.STAFF, unit_id="a101")
    assert run(person=visitor, unit=expired).reason is Reason.GRANTED
    assert run(person=staff, unit=expired).reason is Reason.GRANTED
    co = replace(TENANT, role=Role.CO_RESIDENT)
    assert run(person=co, unit=expired).reason is Reason.LEASE_EXPIRED


def test_rent_arrears_flag_and_gate_still_opens() -> None:
    d = run(unit=replace(UNIT, rent_arrears=True))
    assert d.allowed
    assert d.reason is Reason.GRANTED
    assert d.flags == ("rent_arrears",)
    assert run().flags == ()


def test_rent_arrears_flag_not_set_on_denial() -> None:
    d = run(unit=replace(UNIT, rent_arrears=True), gate=DOOR_B)
    assert not d.allowed
    assert d.flags == ()


# ---------------------------------------------------------------- building doors
@pytest.mark.parametrize(
    ("person", "gate", "allowed"),
    [
        (TENANT, DOOR_A, True),
        (TENANT, DOOR_B, False),
        (replace(TENANT, role=Role.CO_RESIDENT), DOOR_B, False),
        (Person("v", Role.VISITOR, unit_id="a101"), DOOR_A, True),
        (Person("v", Role.VISITOR, unit_id="a101"), DOOR_B, False),
        (Person("v", Role.VISITOR), DOOR_A, False),  # a visitor without a host unit
        (Person("s", Role.STAFF), DOOR_A, True),
        (Person("s", Role.STAFF), DOOR_B, True),
        (Person("c", Role.SERVICE, company="Courier"), DOOR_B, True),
        (TENANT, MAIN, True),
        (TENANT, Gate("door-x", "Door without building", GateKind.BUILDING_DOOR), True),
    ],
)
def test_building_door_rule(person: Person, gate: Gate, allowed: bool) -> None:
    unit = UNIT if person.unit_id == "a101" else None
    assert gate_admits(person, unit, gate) is allowed
    d = run(person=person, unit=unit, gate=gate)
    assert d.allowed is allowed
    assert d.reason is (Reason.GRANTED if allowed else Reason.GATE_NOT_ALLOWED)


def test_explicit_allowed_gates_override_the_building_rule() -> None:
    # A resident of A explicitly allowed through door B (e.g. a caretaker living in A).
    explicit = replace(TENANT, allowed_gates=frozenset({"door-b"}))
    assert run(person=explicit, gate=DOOR_B).reason is Reason.GRANTED
    # ... and the explicit list is exhaustive: their own door and the main gate are out.
    assert run(person=explicit, gate=DOOR_A).reason is Reason.GATE_NOT_ALLOWED
    assert run(person=explicit, gate=MAIN).reason is Reason.GATE_NOT_ALLOWED
    staff = Person("s", Role.STAFF, allowed_gates=frozenset({"main"}))
    assert run(person=staff, unit=None, gate=MAIN).reason is Reason.GRANTED
    assert run(person=staff, unit=None, gate=DOOR_A).reason is Reason.GATE_NOT_ALLOWED


# -------------------------------------------------------------------- direction
@pytest.mark.parametrize(
    ("gate_dir", "presented", "ok"),
    [
        (Direction.BOTH, Direction.IN, True),
        (Direction.BOTH, Direction.OUT, True),
        (Direction.IN, Direction.IN, True),
        (Direction.IN, Direction.OUT, False),
        (Direction.OUT, Direction.OUT, True),
        (Direction.OUT, Direction.IN, False),
        (Direction.OUT, Direction.BOTH, True),  # reader that does not know its side
    ],
)
def test_direction(gate_dir: Direction, presented: Direction, ok: bool) -> None:
    d = run(gate=Gate("g", "G", direction=gate_dir), direction=presented)
    assert d.allowed is ok
    assert d.reason is (Reason.GRANTED if ok else Reason.DIRECTION_NOT_ALLOWED)


# --------------------------------------------------------------------- schedules
def at(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """Estate-local time on the ISO weekday ``day`` of the week of 23 Nov 2026 (Mon)."""
    return datetime(2026, 11, 22 + day, hh, mm, ss, tzinfo=CST)


def test_reference_week() -> None:
    assert at(1, 0).isoweekday() == 1
    assert at(7, 0).isoweekday() == 7
    assert NOW.isoweekday() == 3


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (at(1, 8), True),  # start is inclusive
        (at(1, 17, 59, 59), True),
        (at(1, 18), False),  # end is exclusive
        (at(1, 7, 59), False),
        (at(5, 12), True),
        (at(6, 12), False),  # Saturday
        (at(7, 12), False),
    ],
)
def test_day_window(when: datetime, inside: bool) -> None:
    assert in_schedule((OFFICE_HOURS,), when) is inside


FRIDAY_NIGHT = ScheduleWindow(frozenset({5}), time(22), time(6))


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (at(5, 22), True),  # Friday evening
        (at(5, 23, 59, 59), True),
        (at(6, 0), True),  # past midnight: Saturday small hours belong to Friday's window
        (at(6, 5, 59), True),
        (at(6, 6), False),
        (at(5, 21, 59), False),
        (at(5, 3), False),  # Friday small hours belong to Thursday, not in the window
        (at(4, 23), False),  # Thursday evening
        (at(6, 23), False),  # Saturday evening
        (at(7, 2), False),
    ],
)
def test_overnight_window(when: datetime, inside: bool) -> None:
    assert in_schedule((FRIDAY_NIGHT,), when) is inside


def test_overnight_window_wraps_the_week() -> None:
    sunday_night = (ScheduleWindow(frozenset({7}), time(23), time(1)),)
    assert in_schedule(sunday_night, at(7, 23, 30))
    assert in_schedule(sunday_night, datetime(2026, 11, 30, 0, 30, tzinfo=CST))  # Monday
    assert in_schedule(sunday_night, at(1, 0, 30))  # weekly: every Monday's small hours
    assert not in_schedule(sunday_night, at(1, 1))
    assert not in_schedule(sunday_night, at(7, 0, 30))


def test_window_to_end_of_day() -> None:
    evening = (ScheduleWindow(frozenset({1}), time(20), parse_hhmm("24:00")),)
    assert in_schedule(evening, at(1, 23, 59, 59))
    assert not in_schedule(evening, at(2, 0))
    assert not in_schedule(evening, at(1, 19, 59))


def test_several_windows_and_empty_schedule() -> None:
    split = (
        ScheduleWindow(frozenset({1}), time(6), time(9)),
        ScheduleWindow(frozenset({1}), time(17), time(20)),
    )
    assert in_schedule(split, at(1, 7))
    assert in_schedule(split, at(1, 18))
    assert not in_schedule(split, at(1, 12))
    assert in_schedule((), at(3, 3))


def test_schedule_uses_estate_local_wall_time() -> None:
    worker = replace(TENANT, schedule=(OFFICE_HOURS,))
    # 09:00 in the estate is 01:00 UTC: the same instant, judged on estate time.
    local = at(3, 9)
    as_utc = local.astimezone(UTC)
    assert run(person=worker, now=local).reason is Reason.GRANTED
    assert local.timestamp() == as_utc.timestamp()
    assert run(person=worker, now=as_utc).reason is Reason.OUTSIDE_SCHEDULE


def test_naive_datetime_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(now=datetime(2026, 11, 25, 10, 0))


def test_naive_datetime_raises_even_in_emergency() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(now=datetime(2026, 11, 25, 10, 0), emergency=True)


# ------------------------------------------------------------------- parse_hhmm
@pytest.mark.parametrize(
    ("text", "expected"),
    [("00:00", time(0)), ("7:05", time(7, 5)), ("23:59", time(23, 59)), ("24:00", time.max)],
)
def test_parse_hhmm(text: str, expected: time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize("text", ["24:01", "25:00", "12:60", "12", "12:5", "ab:cd", "-1:00", ""])
def test_parse_hhmm_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"bad time|hour|minute"):
        parse_hhmm(text)


def test_cases_use_timezone_aware_now() -> None:
    assert NOW.utcoffset() == timedelta(hours=8)
