"""Card + face gates: a face and a second credential of the same person, either order.

A gate in ``card_and_face`` mode opens only when the face and one other credential (card,
ID card, QR, PIN, fingerprint) of the **same** person were each accepted at that gate
within ``window_s`` of each other. The first of the two is refused with
``second_factor_required`` (logged, and the terminal asks for the other); the second
completes the pair and opens. A pair is used once: a lingering face does not let the
next card through twice. Emergency and remote openings are not credentials and pass by.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from .model import Decision, Method, Reason

WINDOW_S: Final = 30.0
MAX_PENDING: Final = 1024  # a flood of half pairs is bounded, oldest dropped
TWO_FACTOR_FLAG: Final = "card_and_face"
# A face that passed presentation-attack detection while someone's card was in at the
# gate, and was not that card holder's: a lent or stolen card (docs/security.md).
MISMATCH_FLAG: Final = "card_face_mismatch"
FACE_FACTOR: Final = "face"
OTHER_FACTOR: Final = "other"  # a card, ID card, QR code, PIN or fingerprint


def factor_of(method: Method) -> str | None:
    """``face``, ``other`` (a credential), or None (remote, emergency: not a factor)."""
    if method is Method.FACE:
        return FACE_FACTOR
    if method in (Method.REMOTE, Method.EMERGENCY):
        return None
    return OTHER_FACTOR


@dataclass(frozen=True, slots=True)
class _Half:
    factor: str
    ts: float


def mismatched(waiting: frozenset[str], face_person_id: str | None) -> frozenset[str]:
    """The card holders a face at a card + face gate turned out not to be: everyone
    whose other half was waiting (``FactorPairing.waiting``), unless the face verified
    as one of them. Empty when no card was in."""
    if face_person_id is not None and face_person_id in waiting:
        return frozenset()
    return waiting


class FactorPairing:
    """Pending first factors per (gate, person). The event loop owns it."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be > 0")
        self.window_s = window_s
        self._pending: dict[tuple[str, str], _Half] = {}

    def decide(self, gate_id: str, decision: Decision, method: Method, ts: float) -> Decision:
        """The decision a card + face gate makes of an accepted credential."""
        factor = factor_of(method)
        if not decision.allowed or decision.reason is not Reason.GRANTED or factor is None:
            return decision
        if decision.person_id is None:  # a granted credential always names its holder
            return replace(decision, allowed=False, reason=Reason.SECOND_FACTOR_REQUIRED)
        key = (gate_id, decision.person_id)
        half = self._pending.get(key)
        if half is not None and half.factor != factor and 0 <= ts - half.ts <= self.window_s:
            del self._pending[key]
            return replace(decision, flags=(*decision.flags, TWO_FACTOR_FLAG))
        # The first half (or the same half again, which restarts the wait).
        self._pending.pop(key, None)
        self._pending[key] = _Half(factor, ts)
        if len(self._pending) > MAX_PENDING:
            del self._pending[next(iter(self._pending))]
        return replace(decision, allowed=False, reason=Reason.SECOND_FACTOR_REQUIRED, flags=())

    def waiting(self, gate_id: str, factor: str, now: float) -> frozenset[str]:
        """The people at ``gate_id`` whose ``factor`` half is in and still fresh: a face
        arriving now is checked 1:1 against them first (the card named the person)."""
        return frozenset(
            person
            for (gate, person), half in self._pending.items()
            if gate == gate_id and half.factor == factor and 0 <= now - half.ts <= self.window_s
        )

    def forget(self, now: float) -> None:
        """Drop halves older than the window (called now and then)."""
        self._pending = {k: h for k, h in self._pending.items() if now - h.ts <= self.window_s}
