"""Strangers staff mark "known, do not alert": stored (schema 6, migrated from 5), no
unknown_face / frequent_stranger alert while the mark holds, alerts again after it ends,
and the mark follows the cluster through merges, assignment and retention."""

from __future__ import annotations

from pathlib import Path
import sqlite3
import time

import pytest

from custom_components.community_gate.core import errors
from custom_components.community_gate.core.alerts import AlertState, Rule
from custom_components.community_gate.core.model import (
    Direction,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    StoredCluster,
    StrangerIgnore,
)
from custom_components.community_gate.core.rules import RuleEngine
from custom_components.community_gate.core.schema import MIGRATIONS, SCHEMA_VERSION
from custom_components.community_gate.core.store import Store

D = 86400.0


@pytest.fixture
def t0() -> float:
    return time.time()


def cluster(store: Store, cid: str, ts: float) -> None:
    # The sealed centroid is opaque to the store; the face service seals real ones.
    store.save_clusters([StoredCluster(cid, b"sealed", 1, ts, ts)])


def mark(cid: str, at: float, days: float = 30) -> StrangerIgnore:
    return StrangerIgnore(cid, "postman, comes at 10", at, "admin-1", at + days * D)


def seen(store: Store, ts: float, cid: str) -> Passage:
    return store.add_passage(
        Passage(
            ts, "main", Direction.IN, Method.FACE, False, Reason.UNKNOWN_CREDENTIAL, cluster_id=cid
        )
    )


def rules(alerts: list) -> list[Rule]:  # type: ignore[type-arg]
    return [a.rule for a in alerts]


def test_version_5_database_migrates_to_the_ignore_table(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        "BEGIN;\n" + "\n".join(MIGRATIONS[:5]) + "\nPRAGMA user_version = 5;\nCOMMIT;"
    )
    conn.execute("INSERT INTO stranger_clusters VALUES ('stranger_a', x'00', 2, 1, 2, '')")
    conn.close()
    store = Store.open(path)
    try:
        assert store.schema_version == SCHEMA_VERSION >= 6
        assert [c.id for c in store.iter_clusters()] == ["stranger_a"]
        assert store.list_stranger_ignores() == []
        store.set_stranger_ignore(mark("stranger_a", 10.0))
        assert store.stranger_ignored("stranger_a", 11.0)
    finally:
        store.close()


def test_mark_needs_a_known_cluster_and_an_end(estate: Store, t0: float) -> None:
    with pytest.raises(errors.UnknownStrangerError):
        estate.set_stranger_ignore(mark("stranger_nope", t0))
    cluster(estate, "k1", t0)
    with pytest.raises(errors.InvalidValidityError):
        estate.set_stranger_ignore(StrangerIgnore("k1", "", t0, "a", t0))
    estate.set_stranger_ignore(mark("k1", t0, days=1))
    assert estate.get_stranger_ignore("k1") == mark("k1", t0, days=1)
    assert estate.stranger_ignored("k1", t0 + 60)
    assert not estate.stranger_ignored("k1", t0 + D)  # expired
    assert not estate.stranger_ignored("k1", t0 - 60)  # before it was marked
    assert estate.remove_stranger_ignore("k1")
    assert not estate.remove_stranger_ignore("k1")
    # The nightly sweep deletes ended marks (and their notes), not running ones.
    estate.set_stranger_ignore(mark("k1", t0, days=1))
    assert estate.purge_stranger_ignores(t0 + 60) == 0
    assert estate.purge_stranger_ignores(t0 + D) == 1
    assert estate.list_stranger_ignores() == []


def test_ignored_stranger_raises_no_alerts_until_the_mark_ends(estate: Store, t0: float) -> None:
    engine = RuleEngine(estate)
    cluster(estate, "post", t0)
    engine.ignore_stranger(mark("post", t0, days=20))
    raised: list[Rule] = []
    for day in range(15):  # daily for 15 days: frequent enough for frequent_stranger
        raised += rules(engine.on_passage(seen(estate, t0 + day * D + 60, "post")))
    assert raised == []
    # Another stranger at the same time still raises both.
    other: list[Rule] = []
    for day in range(10):
        other += rules(engine.on_passage(seen(estate, t0 + day * D + 90, "other")))
    assert other == [Rule.UNKNOWN_FACE, Rule.FREQUENT_STRANGER]
    # After the mark expires the same face is an unknown face again.
    after = engine.on_passage(seen(estate, t0 + 21 * D, "post"))
    assert set(rules(after)) == {Rule.UNKNOWN_FACE, Rule.FREQUENT_STRANGER}


def test_lifting_the_mark_restores_alerts(estate: Store, t0: float) -> None:
    engine = RuleEngine(estate)
    cluster(estate, "k1", t0)
    engine.ignore_stranger(mark("k1", t0))
    assert engine.on_passage(seen(estate, t0 + 60, "k1")) == []
    assert engine.unignore_stranger("k1")
    assert rules(engine.on_passage(seen(estate, t0 + 120, "k1"))) == [Rule.UNKNOWN_FACE]


def test_marking_resolves_the_strangers_open_alerts(estate: Store, t0: float) -> None:
    engine = RuleEngine(estate)
    cluster(estate, "k1", t0)
    (alert,) = engine.on_passage(seen(estate, t0, "k1"))
    assert engine.open_count == 1
    assert engine.ignore_stranger(mark("k1", t0 + 60)) == 1
    assert engine.open_count == 0
    done = engine.list_alerts(include_resolved=True)[0]
    assert (done.id, done.state, done.resolved_by) == (alert.id, AlertState.RESOLVED, "admin-1")


def test_tailgating_still_alerts_for_an_ignored_stranger(estate: Store, t0: float) -> None:
    """Who the face is does not excuse following residents through the gate."""
    engine = RuleEngine(estate)
    estate.add_person(Person("res", Role.TENANT, unit_id="a101"))
    cluster(estate, "k1", t0)
    engine.ignore_stranger(mark("k1", t0))
    raised: list[Rule] = []
    for day in range(3):
        estate.add_passage(
            Passage(
                t0 + day * D + 10,
                "main",
                Direction.IN,
                Method.CARD,
                True,
                Reason.GRANTED,
                person_id="res",
                unit_id="a101",
            )
        )
        raised += rules(engine.on_passage(seen(estate, t0 + day * D + 12, "k1")))
    assert raised == [Rule.TAILGATING]


def test_mark_follows_merges_and_goes_with_assignment_and_retention(
    estate: Store, t0: float
) -> None:
    for cid in ("a", "b", "c", "d"):
        cluster(estate, cid, t0)
    estate.set_stranger_ignore(mark("b", t0))
    # b merged into a: a is the same person, so the mark holds for a now.
    estate.save_clusters([], removed=["b"], relabel=[("a", "b")])
    assert [i.cluster_id for i in estate.list_stranger_ignores()] == ["a"]
    # Assigned to a person: no stranger any more, no mark.
    estate.set_stranger_ignore(mark("c", t0))
    estate.assign_cluster("c", "alice", "a101")
    assert [i.cluster_id for i in estate.list_stranger_ignores()] == ["a"]
    # Retention forgets the cluster and its mark together.
    estate.save_clusters([StoredCluster("d", b"sealed", 1, t0, t0 + 100)])
    estate.set_stranger_ignore(mark("d", t0))
    assert estate.purge_clusters(before_ts=t0 + 50) == 2  # a and c, not d
    assert [i.cluster_id for i in estate.list_stranger_ignores()] == ["d"]
