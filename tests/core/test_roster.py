"""The fast scope (``scope.Roster``) gives exactly the policy's answer (``who_may_pass``,
which runs ``policy.decide`` for every person) for every gate at every time tried."""

from __future__ import annotations

from datetime import datetime, time, timedelta
import random
from zoneinfo import ZoneInfo

from custom_components.community_gate.core.model import (
    Gate,
    GateKind,
    Person,
    Role,
    ScheduleWindow,
    Unit,
)
from custom_components.community_gate.core.scope import Roster, who_may_pass

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 0, 0, tzinfo=TZ)  # a Tuesday


def _people(rng: random.Random, n: int, units: dict[str, Unit]) -> list[Person]:
    unit_ids = [*units, None]
    people = []
    for i in range(n):
        timed = rng.random() < 0.3
        t0 = START.timestamp()
        start = t0 + rng.uniform(-86400, 86400) if timed and rng.random() < 0.5 else None
        end = t0 + rng.uniform(0, 3 * 86400) if timed and rng.random() < 0.5 else None
        people.append(
            Person(
                id=f"p{i}",
                role=rng.choice(list(Role)),
                unit_id=rng.choice(unit_ids),
                blocked=rng.random() < 0.1,
                valid_from=start,
                valid_until=end,
                allowed_gates=frozenset({"east"}) if rng.random() < 0.1 else frozenset(),
                schedule=(
                    (
                        ScheduleWindow(
                            frozenset(rng.sample(range(1, 8), 3)),
                            time(rng.randrange(24), 0),
                            time(rng.randrange(24), 30),
                        ),
                    )
                    if timed and rng.random() < 0.5
                    else ()
                ),
            )
        )
    return people


def test_roster_answers_as_the_policy_does() -> None:
    rng = random.Random(14)
    units = {
        f"u{i}": Unit(
            id=f"u{i}",
            building=str(i % 4),
            number=str(i),
            lease_until=START.timestamp() + 86400 if i % 7 == 0 else None,
        )
        for i in range(40)
    }
    people = _people(rng, 600, units)
    gates = [
        Gate(id="east", name="East", kind=GateKind.ESTATE_GATE),
        Gate(id="door3", name="Door 3", kind=GateKind.BUILDING_DOOR, building="3"),
        Gate(id="door1", name="Door 1", kind=GateKind.BUILDING_DOOR, building="1"),
    ]
    roster = Roster(1, people, units)
    assert len(roster) == len(people)
    checked = 0
    for hours in range(0, 72, 5):
        now = START + timedelta(hours=hours, minutes=17)
        for gate in gates:
            expected = who_may_pass(people, units, gate, now)
            assert roster.who_may_pass(gate, now) == expected, (gate.id, now)
            checked += len(expected)
    assert checked > 1000  # the comparison was not between empty sets
