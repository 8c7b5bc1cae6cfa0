"""Issue 15's alert: repeated presentation attacks raise ``spoof_attempt`` per subject
(the person a photo shows, else the stranger, else the gate), counting folded episode
rows by their count; a photo of someone is no sign of them for the absence rules."""

from __future__ import annotations

from dataclasses import replace
import time

from custom_components.community_gate.core.alerts import Rule, SubjectKind
from custom_components.community_gate.core.model import (
    Direction,
    Method,
    Passage,
    Person,
    Reason,
    Role,
)
from custom_components.community_gate.core.rules import RuleEngine, RuleParams
from custom_components.community_gate.core.store import Store

H = 3600.0


def attack(
    store: Store, ts: float, *, person: str | None = None, cluster: str | None = None
) -> Passage:
    return store.add_passage(
        Passage(
            ts=ts,
            gate_id="b3",
            direction=Direction.IN,
            method=Method.FACE,
            allowed=False,
            reason=Reason.PRESENTATION_ATTACK,
            person_id=person,
            unit_id="b201" if person else None,
            cluster_id=cluster,
        )
    )


def test_three_attacks_on_one_resident_raise_one_alert(estate: Store) -> None:
    estate.add_person(Person("gran", Role.TENANT, unit_id="b201", special_attention=True))
    engine = RuleEngine(estate)
    t0 = time.time()
    assert engine.on_passage(attack(estate, t0, person="gran")) == []
    assert engine.on_passage(attack(estate, t0 + 60, person="gran")) == []
    got = engine.on_passage(attack(estate, t0 + 120, person="gran"))
    assert [(a.rule, a.subject_kind, a.subject_id) for a in got] == [
        (Rule.SPOOF_ATTEMPT, SubjectKind.PERSON, "gran")
    ]
    assert got[0].evidence["count"] == 3
    assert got[0].gate_id == "b3"
    # Open: a fourth try adds no second alert.
    assert engine.on_passage(attack(estate, t0 + 180, person="gran")) == []
    # No stranger, no unknown-face alert came of any of them.
    assert {a.rule for a in engine.list_alerts()} == {Rule.SPOOF_ATTEMPT}


def test_tries_outside_the_window_do_not_add_up(estate: Store) -> None:
    engine = RuleEngine(estate, RuleParams(spoof_attempt_count=2, spoof_attempt_minutes=5))
    t0 = time.time()
    assert engine.on_passage(attack(estate, t0, cluster="stranger_a")) == []
    assert engine.on_passage(attack(estate, t0 + 6 * 60, cluster="stranger_a")) == []
    # Another stranger's try is not this one's.
    assert engine.on_passage(attack(estate, t0 + 7 * 60, cluster="stranger_b")) == []
    got = engine.on_passage(attack(estate, t0 + 8 * 60, cluster="stranger_a"))
    assert [(a.subject_kind, a.subject_id) for a in got] == [(SubjectKind.CLUSTER, "stranger_a")]


def test_an_episode_row_counts_every_try_it_folded(estate: Store) -> None:
    engine = RuleEngine(estate)
    t0 = time.time()
    row = attack(estate, t0)
    assert row.id is not None
    # Three tries folded into one row (core/episodes.py): count 3, last seen later.
    estate.conn.execute("UPDATE passages SET count=3, last_seen=? WHERE id=?", (t0 + 20, row.id))
    got = engine.on_passage(replace(row, count=3, last_seen=t0 + 20))
    assert [(a.subject_kind, a.subject_id, a.evidence["count"]) for a in got] == [
        (SubjectKind.GATE, "b3", 3)
    ]


def test_a_photo_of_her_does_not_end_her_absence(estate: Store) -> None:
    estate.add_person(Person("gran", Role.TENANT, unit_id="b201", special_attention=True))
    engine = RuleEngine(estate)
    t0 = time.time()
    raised = engine.sweep(t0 + 49 * H)
    assert [a.rule for a in raised] == [Rule.SPECIAL_ATTENTION]
    # Someone holds her photo to the door camera: refused, and she is still unseen.
    engine.on_passage(attack(estate, t0 + 50 * H, person="gran"))
    assert engine.open_count == 1
    assert engine.log.get(raised[0].id).state.value == "new"
    # Staff close it; an hour later (past the repeat window) the sweep looks again:
    # had the attack row counted as her sighting, she would be 2 h unseen, not 52 h.
    engine.resolve(raised[0].id, "staff", t0 + 50 * H)
    fresh = RuleEngine(estate, RuleParams(repeat_hours=1))
    fresh.load(t0 + 52 * H)
    again = fresh.sweep(t0 + 52 * H)
    assert [(a.rule, a.evidence["last_seen"]) for a in again] == [(Rule.SPECIAL_ATTENTION, None)]
