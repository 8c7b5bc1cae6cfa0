"""Someone else's face with a resident's card at a card + face gate: the face's row is
flagged ``card_face_mismatch`` (the card holder is carried in memory only), each such
row stays a row of its own, and ``card_face_mismatch`` is raised per card holder at the
count, once while open. Real SQLite, no mocks."""

from __future__ import annotations

from custom_components.community_gate.core.alerts import Rule, SubjectKind
from custom_components.community_gate.core.episodes import MAX_WINDOW_S
from custom_components.community_gate.core.model import (
    Decision,
    Direction,
    Method,
    Passage,
    Person,
    Reason,
    Role,
)
from custom_components.community_gate.core.rules import RuleEngine, RuleParams
from custom_components.community_gate.core.store import Store
from custom_components.community_gate.core.two_factor import (
    MISMATCH_FLAG,
    OTHER_FACTOR,
    FactorPairing,
    mismatched,
)

T0 = 1_800_000_000.0


def face(
    ts: float,
    holders: frozenset[str],
    *,
    cluster: str | None = "k1",
    person: str | None = None,
    reason: Reason = Reason.UNKNOWN_CREDENTIAL,
    gate: str = "b3",
) -> Passage:
    """A face refused at a card + face gate, flagged when it carries card holders (as
    the hub builds it)."""
    return Passage(
        ts=ts,
        gate_id=gate,
        direction=Direction.IN,
        method=Method.FACE,
        allowed=False,
        reason=reason,
        person_id=person,
        cluster_id=cluster,
        flags=(MISMATCH_FLAG,) if holders else (),
        card_holders=holders,
    )


def seen(store: Store, engine: RuleEngine, p: Passage) -> list[str]:
    """Write ``p`` as the journal does (episodes on), run the rules on the result and
    say whom the card_face_mismatch alerts it raised are about (a stranger's face also
    raises unknown_face, as it did before)."""
    saved = store.add_passage(p, episode_window=MAX_WINDOW_S)
    alerts = engine.on_passage(saved)
    return sorted(a.subject_id for a in alerts if a.rule is Rule.CARD_FACE_MISMATCH)


# ------------------------------------------------------------------- the pairing side
def test_a_face_that_is_not_the_waiting_card_holder_is_a_mismatch() -> None:
    pairing = FactorPairing(window_s=30)
    card = Decision(True, Reason.GRANTED, person_id="p-wang")
    pairing.decide("b3", card, Method.CARD, 100.0)
    waiting = pairing.waiting("b3", OTHER_FACTOR, 110.0)
    assert mismatched(waiting, None) == {"p-wang"}  # a stranger's face
    assert mismatched(waiting, "p-li") == {"p-wang"}  # another resident's face (flagged)
    assert mismatched(waiting, "p-wang") == frozenset()  # verified 1:1: no mismatch
    # Nobody's card in (a face-only gate never asks; or the card's half went stale).
    assert mismatched(frozenset(), None) == frozenset()
    assert mismatched(pairing.waiting("b3", OTHER_FACTOR, 131.0), None) == frozenset()


def test_the_holder_stays_in_memory_and_never_reaches_the_row(estate: Store) -> None:
    saved = estate.add_passage(face(T0, frozenset({"p-wang"})))
    assert saved.card_holders == {"p-wang"}  # the rules see it ...
    stored = estate.get_passage(saved.id or 0)
    assert stored is not None
    assert stored.flags == (MISMATCH_FLAG,)
    assert stored.card_holders == frozenset()  # ... the log does not
    assert stored.person_id is None


def test_flagged_faces_are_never_folded(estate: Store) -> None:
    holders = frozenset({"p-wang"})
    for i in range(3):
        estate.add_passage(face(T0 + i, holders), episode_window=MAX_WINDOW_S)
    assert [p.count for p in estate.recent_passages(limit=10)] == [1, 1, 1]
    # An unflagged stranger still folds as before.
    for i in range(3):
        estate.add_passage(face(T0 + 10 + i, frozenset(), cluster="k2"), episode_window=60)
    assert [p.count for p in estate.recent_passages(limit=10)] == [3, 1, 1, 1]


# ------------------------------------------------------------------------- the rule
def test_raised_at_the_count_for_the_card_holder_once_while_open(estate: Store) -> None:
    estate.add_person(Person("p-wang", Role.TENANT, unit_id="b201"))
    engine = RuleEngine(estate)  # defaults: 2 within 10 minutes
    holders = frozenset({"p-wang"})
    assert seen(estate, engine, face(T0, holders)) == []
    got = engine.on_passage(estate.add_passage(face(T0 + 60, holders)))
    got = [a for a in got if a.rule is Rule.CARD_FACE_MISMATCH]
    assert [(a.rule, a.subject_kind, a.subject_id, a.gate_id) for a in got] == [
        (Rule.CARD_FACE_MISMATCH, SubjectKind.PERSON, "p-wang", "b3")
    ]
    evidence = got[0].evidence
    assert evidence["card_person_id"] == "p-wang"
    assert evidence["count"] == 2
    assert evidence["cluster_id"] == "k1"
    assert len(evidence["passage_ids"]) == 2
    # Ids and counts only.
    assert set(evidence) == {
        "card_person_id",
        "gate_id",
        "count",
        "minutes",
        "passage_ids",
        "cluster_id",
    }
    # Open: a third mismatch raises nothing more.
    assert seen(estate, engine, face(T0 + 120, holders)) == []
    assert [a.rule for a in engine.list_alerts()].count(Rule.CARD_FACE_MISMATCH) == 1


def test_counted_per_holder_and_within_the_window(estate: Store) -> None:
    engine = RuleEngine(
        estate, RuleParams(card_face_mismatch_count=3, card_face_mismatch_minutes=5)
    )
    wang, li = frozenset({"p-wang"}), frozenset({"p-li"})
    assert seen(estate, engine, face(T0, wang)) == []
    assert seen(estate, engine, face(T0 + 10, li)) == []  # another holder's card
    assert seen(estate, engine, face(T0 + 3 * 60, wang)) == []
    assert seen(estate, engine, face(T0 + 6 * 60, wang)) == []  # the first fell out
    # Another resident's face after the card: flagged, but two people at one door is
    # no sign of a card in other hands, so it does not count.
    assert seen(estate, engine, face(T0 + 6 * 60 + 30, wang, cluster=None, person="p-li")) == []
    got = seen(estate, engine, face(T0 + 7 * 60, wang, cluster="k9"))
    assert got == ["p-wang"]
    alert = engine.list_alerts(rule=Rule.CARD_FACE_MISMATCH)[0]
    assert alert.evidence["cluster_id"] == "k9"  # the stranger whose face it was


def test_not_for_a_verified_face_an_attack_or_a_face_only_gate(estate: Store) -> None:
    engine = RuleEngine(estate, RuleParams(card_face_mismatch_count=1))
    # A face that verified as the holder carries no holders (``mismatched``), nor does
    # any face at a face-only gate (nothing waits there).
    assert seen(estate, engine, face(T0, frozenset(), cluster=None, person="p-wang")) == []
    assert seen(estate, engine, face(T0 + 1, frozenset(), gate="east")) == []
    # A presentation attack is spoof_attempt's, whatever it carried.
    attack = face(T0 + 2, frozenset({"p-wang"}), reason=Reason.PRESENTATION_ATTACK)
    assert seen(estate, engine, attack) == []
    assert engine.list_alerts(rule=Rule.CARD_FACE_MISMATCH) == []


def test_several_waiting_holders_each_count(estate: Store) -> None:
    engine = RuleEngine(estate, RuleParams(card_face_mismatch_count=1))
    assert seen(estate, engine, face(T0, frozenset({"p-wang", "p-li"}))) == ["p-li", "p-wang"]


def test_one_card_presentation_counts_once(estate: Store) -> None:
    """A visitor in view while the resident fumbles: the camera decides the visitor's
    face again and again while her card waits, but that is one presentation of her
    card, not several. A second presentation after the pairing window counts."""
    engine = RuleEngine(estate)  # defaults: 2 within 10 minutes
    wang = frozenset({"p-wang"})
    assert seen(estate, engine, face(T0, wang)) == []
    assert seen(estate, engine, face(T0 + 10, wang)) == []
    assert seen(estate, engine, face(T0 + 25, wang)) == []
    # At another card + face gate it is another presentation of the card.
    assert seen(estate, engine, face(T0 + 26, wang, gate="b5")) == ["p-wang"]
    # The same gate after the pairing window: another presentation (another holder
    # here, as p-wang's alert is open and is not raised twice).
    li = frozenset({"p-li"})
    assert seen(estate, engine, face(T0 + 100, li)) == []
    assert seen(estate, engine, face(T0 + 100 + 31, li)) == ["p-li"]
