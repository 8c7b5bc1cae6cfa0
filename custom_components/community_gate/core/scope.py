"""Who may pass a gate now: the people a face there is accepted for, and how many.

A gate does not open for "whoever in the estate the face is nearest to at a loose
threshold": with 100,000 people enrolled, most strangers would be near *someone*. The
face is still searched against everyone (so a resident at the wrong door is named in
the refusal), but the threshold that opens the gate is set for the number of people who
may pass it now (``engines.EngineSpec.threshold_for``): a few hundred at a building door
is a far looser bar than a few thousand at the estate gate.

"May pass" is the access policy itself (``policy.decide`` for a face, either direction),
so the scope and the decision cannot disagree about who is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from .model import Credential, CredentialKind, Direction, Gate, Person, Unit
from .policy import decide, gate_admits

# A scope is recomputed each minute (schedules are in whole minutes) or when the store
# changes people, units or gates (``Store.generation``).
SCOPE_SECONDS = 60


def may_pass(person: Person, unit: Unit | None, gate: Gate, now: datetime) -> bool:
    """Whether a recognised face of ``person`` would be let through ``gate`` at ``now``."""
    face = Credential(id="face", person_id=person.id, kind=CredentialKind.FACE, secret_hash="")
    return decide(
        now=now, gate=gate, direction=Direction.BOTH, credential=face, person=person, unit=unit
    ).allowed


def who_may_pass(
    people: Iterable[Person], units: Mapping[str, Unit], gate: Gate, now: datetime
) -> frozenset[str]:
    return frozenset(p.id for p in people if may_pass(p, units.get(p.unit_id or ""), gate, now))


def _timed(person: Person, unit: Unit | None) -> bool:
    """Whether the person's standing can change with the clock alone: a validity
    window, a lease end or a weekly schedule. Everyone else's does not."""
    return (
        person.valid_from is not None
        or person.valid_until is not None
        or bool(person.schedule)
        or (unit is not None and unit.lease_until is not None)
    )


class Roster:
    """Everyone, read once per store generation, split for fast scopes: at 100,000
    people a full policy pass per gate each minute costs over a second of the face
    thread. A person whose standing cannot change with the clock is decided once per
    generation (``may_pass`` at any time gives the same answer); only the timed few
    are decided again each minute. Same answers as ``who_may_pass``, by construction
    and by test."""

    def __init__(
        self, generation: int, people: Iterable[Person], units: Mapping[str, Unit]
    ) -> None:
        self.generation = generation
        self._units = dict(units)
        self._steady: list[Person] = []
        self._timed: list[Person] = []
        for person in people:
            unit = self._units.get(person.unit_id or "")
            (self._timed if _timed(person, unit) else self._steady).append(person)
        self._steady_by_gate: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._steady) + len(self._timed)

    def who_may_pass(self, gate: Gate, now: datetime) -> frozenset[str]:
        steady = self._steady_by_gate.get(gate.id)
        if steady is None:
            # For someone with no validity, lease end or schedule, ``decide`` comes down
            # to these two checks (a face has no validity of its own): ten times cheaper
            # than the full decision at 100,000 people.
            units = self._units
            steady = self._steady_by_gate[gate.id] = frozenset(
                p.id
                for p in self._steady
                if not p.blocked and gate_admits(p, units.get(p.unit_id or ""), gate)
            )
        if not self._timed:
            return steady
        return steady | who_may_pass(self._timed, self._units, gate, now)


@dataclass(frozen=True, slots=True)
class Scope:
    """The people who may pass one gate, as of ``generation`` and ``minute``."""

    gate_id: str
    people: frozenset[str]
    generation: int
    minute: int

    def fresh(self, generation: int, minute: int) -> bool:
        return self.generation == generation and self.minute == minute


class ScopeCache:
    """The last scope of each gate. Not thread-safe: use from one thread."""

    def __init__(self) -> None:
        self._scopes: dict[str, Scope] = {}

    def get(self, gate_id: str, generation: int, ts: float) -> Scope | None:
        scope = self._scopes.get(gate_id)
        if scope is not None and scope.fresh(generation, int(ts // SCOPE_SECONDS)):
            return scope
        return None

    def put(self, gate_id: str, people: frozenset[str], generation: int, ts: float) -> Scope:
        scope = Scope(gate_id, people, generation, int(ts // SCOPE_SECONDS))
        self._scopes[gate_id] = scope
        return scope

    def clear(self) -> None:
        self._scopes.clear()
