"""Card + face gates (issue 15): the face and a second credential of the same person,
either order, within the window, each pair used once; refusals and staff actions pass by."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.community_gate.core.model import Decision, Method, Reason
from custom_components.community_gate.core.two_factor import (
    FACE_FACTOR,
    OTHER_FACTOR,
    TWO_FACTOR_FLAG,
    FactorPairing,
    factor_of,
)

GRANTED = Decision(True, Reason.GRANTED, person_id="p-wang", flags=("rent_arrears",))


def test_face_then_card_opens_once() -> None:
    pairing = FactorPairing(window_s=30)
    first = pairing.decide("b3", GRANTED, Method.FACE, 100.0)
    assert (first.allowed, first.reason, first.flags) == (
        False,
        Reason.SECOND_FACTOR_REQUIRED,
        (),
    )
    assert first.person_id == "p-wang"  # the log says whose half it was
    second = pairing.decide("b3", GRANTED, Method.CARD, 110.0)
    assert (second.allowed, second.reason) == (True, Reason.GRANTED)
    assert second.flags == ("rent_arrears", TWO_FACTOR_FLAG)
    # The pair is used: the next card alone waits for a face again.
    assert pairing.decide("b3", GRANTED, Method.CARD, 111.0).allowed is False


def test_card_then_face_and_the_window() -> None:
    pairing = FactorPairing(window_s=30)
    assert not pairing.decide("b3", GRANTED, Method.PIN, 0.0).allowed
    assert not pairing.decide("b3", GRANTED, Method.FACE, 31.0).allowed  # too late
    # ... but that face is now the first half: a card within 30 s completes it.
    assert pairing.decide("b3", GRANTED, Method.QR, 40.0).allowed


@pytest.mark.parametrize("second", [Method.FACE, Method.CARD])
def test_same_half_twice_does_not_open(second: Method) -> None:
    pairing = FactorPairing()
    pairing.decide("b3", GRANTED, second, 0.0)
    assert not pairing.decide("b3", GRANTED, second, 1.0).allowed


def test_other_person_or_gate_does_not_complete() -> None:
    pairing = FactorPairing()
    pairing.decide("b3", GRANTED, Method.FACE, 0.0)
    other = Decision(True, Reason.GRANTED, person_id="p-li")
    assert not pairing.decide("b3", other, Method.CARD, 1.0).allowed
    assert not pairing.decide("east", GRANTED, Method.CARD, 2.0).allowed


def test_refusals_and_staff_actions_pass_unchanged() -> None:
    pairing = FactorPairing()
    refused = Decision(False, Reason.PERSON_BLOCKED, person_id="p-wang")
    assert pairing.decide("b3", refused, Method.FACE, 0.0) is refused
    for method, reason in (
        (Method.REMOTE, Reason.REMOTE_OPEN),
        (Method.EMERGENCY, Reason.EMERGENCY_OPEN),
    ):
        d = Decision(True, reason)
        assert pairing.decide("b3", d, method, 0.0) is d
    assert factor_of(Method.FINGERPRINT) == "other"
    # A refused half never counts: a blocked card after a face still does not open.
    pairing.decide("b3", GRANTED, Method.FACE, 0.0)
    assert pairing.decide("b3", refused, Method.CARD, 1.0) is refused


def test_a_flood_of_halves_is_bounded() -> None:
    pairing = FactorPairing()
    for i in range(5000):
        pairing.decide("b3", Decision(True, Reason.GRANTED, person_id=f"p{i}"), Method.CARD, i)
    assert len(pairing._pending) <= 1024
    with pytest.raises(ValueError, match="window_s"):
        FactorPairing(window_s=0)


def test_waiting_names_the_fresh_holders_of_the_other_half() -> None:
    """A face arriving at a card + face gate is checked first against the people whose
    card (PIN, QR...) is already in there: only fresh halves, only that gate and factor."""
    pairing = FactorPairing(window_s=30)
    pairing.decide("b3", GRANTED, Method.CARD, 100.0)
    pairing.decide("b3", replace(GRANTED, person_id="p-li"), Method.FACE, 100.0)
    pairing.decide("b1", replace(GRANTED, person_id="p-zhao"), Method.PIN, 100.0)
    assert pairing.waiting("b3", OTHER_FACTOR, 120.0) == {"p-wang"}
    assert pairing.waiting("b3", FACE_FACTOR, 120.0) == {"p-li"}
    assert pairing.waiting("b1", OTHER_FACTOR, 120.0) == {"p-zhao"}
    assert pairing.waiting("b3", OTHER_FACTOR, 131.0) == frozenset()  # the window passed
    # Completed pairs are used up: nobody is waiting any more.
    pairing.decide("b1", replace(GRANTED, person_id="p-zhao"), Method.FACE, 110.0)
    assert pairing.waiting("b1", OTHER_FACTOR, 111.0) == frozenset()
