"""Who may pass a gate (core/scope.py): the access policy itself decides, and the cached
scope is only reused within the same store generation and minute."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from custom_components.community_gate.core.model import (
    Gate,
    GateKind,
    Person,
    Role,
    ScheduleWindow,
    Unit,
)
from custom_components.community_gate.core.scope import (
    SCOPE_SECONDS,
    ScopeCache,
    may_pass,
    who_may_pass,
)

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # a Wednesday (ISO day 3)
TS = NOW.timestamp()
ESTATE = Gate(id="main", name="Main gate")
DOOR_3 = Gate(id="b3", name="Building 3", kind=GateKind.BUILDING_DOOR, building="3")
UNIT_3 = Unit(id="u3", building="3", number="301")
UNIT_5 = Unit(id="u5", building="5", number="502")
TENANT = Person(id="t", role=Role.TENANT, unit_id="u3")


def test_a_resident_in_good_standing_may_pass_their_gates() -> None:
    assert may_pass(TENANT, UNIT_3, ESTATE, NOW)
    assert may_pass(TENANT, UNIT_3, DOOR_3, NOW)


def test_blocked_expired_and_not_yet_valid_people_may_not_pass() -> None:
    assert not may_pass(replace(TENANT, blocked=True), UNIT_3, ESTATE, NOW)
    assert not may_pass(replace(TENANT, valid_until=TS - 1), UNIT_3, ESTATE, NOW)
    assert not may_pass(replace(TENANT, valid_from=TS + 60), UNIT_3, ESTATE, NOW)
    assert may_pass(replace(TENANT, valid_until=TS + 60), UNIT_3, ESTATE, NOW)


def test_a_resident_whose_lease_is_over_may_not_pass() -> None:
    assert not may_pass(TENANT, replace(UNIT_3, lease_until=TS), ESTATE, NOW)
    assert may_pass(TENANT, replace(UNIT_3, lease_until=TS + 3600), ESTATE, NOW)
    # Arrears never lock anyone out.
    assert may_pass(TENANT, replace(UNIT_3, rent_arrears=True), ESTATE, NOW)


def test_a_building_door_admits_its_own_residents_only() -> None:
    other = replace(TENANT, id="o", unit_id="u5")
    assert not may_pass(other, UNIT_5, DOOR_3, NOW)
    assert may_pass(other, UNIT_5, ESTATE, NOW)
    # Staff are not limited to a building unless given a gate list.
    staff = Person(id="s", role=Role.STAFF)
    assert may_pass(staff, None, DOOR_3, NOW)
    assert not may_pass(replace(staff, allowed_gates=frozenset({"main"})), None, DOOR_3, NOW)


def test_a_schedule_limits_when_a_person_may_pass() -> None:
    morning = ScheduleWindow(days=frozenset({3}), start=time(8, 0), end=time(10, 0))
    evening = ScheduleWindow(days=frozenset({3}), start=time(18, 0), end=time(20, 0))
    courier = Person(id="c", role=Role.SERVICE)
    assert may_pass(replace(courier, schedule=(morning,)), None, ESTATE, NOW)
    assert not may_pass(replace(courier, schedule=(evening,)), None, ESTATE, NOW)
    assert not may_pass(replace(courier, schedule=(morning,)), None, ESTATE, NOW + timedelta(1))


def test_who_may_pass_is_the_people_the_policy_admits() -> None:
    people = [
        TENANT,
        replace(TENANT, id="blocked", blocked=True),
        Person(id="five", role=Role.CO_RESIDENT, unit_id="u5"),
        Person(id="nounit", role=Role.TENANT, unit_id="gone"),
    ]
    units = {"u3": UNIT_3, "u5": UNIT_5}
    assert who_may_pass(people, units, DOOR_3, NOW) == frozenset({"t"})
    assert who_may_pass(people, units, ESTATE, NOW) == frozenset({"t", "five", "nounit"})


def test_scope_cache_is_fresh_for_one_generation_and_one_minute() -> None:
    cache = ScopeCache()
    minute_start = (TS // SCOPE_SECONDS) * SCOPE_SECONDS
    assert cache.get("b3", 7, minute_start) is None
    put = cache.put("b3", frozenset({"t"}), 7, minute_start)
    assert cache.get("b3", 7, minute_start + SCOPE_SECONDS - 0.001) is put
    assert cache.get("b3", 8, minute_start) is None  # the store changed
    assert cache.get("b3", 7, minute_start + SCOPE_SECONDS) is None  # the next minute
    assert cache.get("main", 7, minute_start) is None  # another gate
    cache.clear()
    assert cache.get("b3", 7, minute_start) is None
