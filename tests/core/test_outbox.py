"""The outbox to the command centre: every write path queues its row in the same
transaction, and nothing biometric, no credential material, no name (unless shared)
and nothing of an erased person is queued."""

from __future__ import annotations

import json
from pathlib import Path
import sqlite3

import pytest

from custom_components.community_gate.core import errors
from custom_components.community_gate.core.access import AccessControl
from custom_components.community_gate.core.alerts import AlertLog, Rule, SubjectKind
from custom_components.community_gate.core.crypto import Hasher
from custom_components.community_gate.core.model import (
    CredentialKind,
    Direction,
    Gate,
    Method,
    MqttDevice,
    Passage,
    Person,
    Reason,
    Role,
    StoredCluster,
    Unit,
)
from custom_components.community_gate.core.outbox import (
    OutboxKind,
    OutboxRow,
    SharePolicy,
    ack_outbox,
    backfill_pending,
    backfill_step,
    card_token,
    disable_outbox,
    enable_outbox,
    hub_instance_id,
    outbox_enabled,
    outbox_stats,
    read_outbox,
)
from custom_components.community_gate.core.privacy import Retention, erase_person, purge
from custom_components.community_gate.core.rules import RuleEngine
from custom_components.community_gate.core.store import Store

T0 = 1_780_000_000.0
ID_NUMBER = "11010519491231002X"


def rows(store: Store, kind: OutboxKind | None = None) -> list[OutboxRow]:
    out = read_outbox(store, 0, 100_000)
    return [r for r in out if kind is None or r.kind is kind]


def drain(store: Store) -> None:
    got = read_outbox(store, 0, 100_000)
    if got:
        ack_outbox(store, got[-1].seq)


def refusal(ts: float, cluster: str = "k1") -> Passage:
    return Passage(
        ts, "main", Direction.IN, Method.FACE, False, Reason.UNKNOWN_CREDENTIAL, cluster_id=cluster
    )


@pytest.fixture
def on(estate: Store) -> Store:
    enable_outbox(estate, SharePolicy())
    drain(estate)
    return estate


def test_off_by_default_and_nothing_queued(estate: Store) -> None:
    assert not outbox_enabled(estate)
    estate.add_passage(Passage(T0, "main", Direction.IN, Method.CARD, True, Reason.GRANTED))
    assert rows(estate) == []


def test_enable_backfills_directory_passages_and_alerts(estate: Store) -> None:
    estate.add_passage(Passage(T0, "main", Direction.IN, Method.CARD, True, Reason.GRANTED))
    AlertLog(estate).add(T0, Rule.TAILGATING, SubjectKind.CLUSTER, "k9", "main", {"count": 3})
    queued = enable_outbox(estate, SharePolicy())
    got = rows(estate)
    assert queued == len(got)
    kinds = [r.kind for r in got]
    assert kinds[0] is OutboxKind.ESTATE
    assert {r.key for r in got if r.kind is OutboxKind.GATE} == {"main", "door-a", "exit"}
    assert {r.key for r in got if r.kind is OutboxKind.UNIT} == {"a101", "b201"}
    assert [r.key for r in got if r.kind is OutboxKind.PERSON] == ["alice"]
    assert [r.kind for r in got[-2:]] == [OutboxKind.ALERT, OutboxKind.PASSAGE]
    assert outbox_enabled(estate)
    # The policy survives a restart (it is read back on open).
    estate.close()
    again = Store.open(estate.path, durable=False)
    try:
        assert outbox_enabled(again)
    finally:
        again.close()


def test_names_only_when_shared(estate: Store) -> None:
    enable_outbox(estate, SharePolicy(names=False))
    (alice,) = rows(estate, OutboxKind.PERSON)
    assert "name" not in alice.payload
    assert "Alice" not in json.dumps(alice.payload)
    drain(estate)
    enable_outbox(estate, SharePolicy(names=True))
    (alice,) = rows(estate, OutboxKind.PERSON)
    assert alice.payload["name"] == "Alice"


def test_directory_changes(on: Store) -> None:
    on.add_unit(Unit("c1", "C", "1"))
    on.update_unit("c1", rent_arrears=True)
    on.add_person(Person("bob", Role.TENANT, "Bob", unit_id="c1", special_attention=True))
    on.update_person("bob", blocked=True)
    on.add_people([Person("carol", Role.VISITOR, "Carol")])
    on.remove_person("bob")
    on.remove_unit("c1")
    on.upsert_gate(Gate("side", "Side gate"))
    on.remove_gate("side")
    got = [(r.kind.value, r.key, r.payload.get("removed", False)) for r in rows(on)]
    assert got == [
        ("unit", "c1", False),
        ("unit", "c1", False),
        ("person", "bob", False),
        ("person", "bob", False),
        ("person", "carol", False),
        ("person", "bob", True),
        ("unit", "c1", True),
        ("gate", "side", False),
        ("gate", "side", True),
    ]
    unit = rows(on, OutboxKind.UNIT)[1].payload
    assert unit["rent_arrears"] is True
    bob = rows(on, OutboxKind.PERSON)[1].payload
    assert bob["blocked"] is True
    assert bob["special_attention"] is True
    assert "Bob" not in json.dumps([r.payload for r in rows(on)])


def test_a_failed_change_queues_nothing(on: Store) -> None:
    with pytest.raises(errors.DuplicateUnitError):
        on.add_unit(Unit("a101", "A", "101"))
    with pytest.raises(sqlite3.IntegrityError):
        on.add_people([Person("alice", Role.TENANT)])
    assert rows(on) == []


def test_passages_new_folded_and_flagged(on: Store) -> None:
    first = on.add_passage(refusal(T0), episode_window=60)
    folded = on.add_passage(refusal(T0 + 10), episode_window=60)
    assert folded.id == first.id
    assert folded.count == 2
    on.set_passage_flags(first.id or 0, ["relay_failed"])
    on.add_passages_returning([refusal(T0 + 500, "k2")], episode_window=60)
    on.add_passages([Passage(T0 + 600, "main", Direction.IN, Method.CARD, True, Reason.GRANTED)])
    got = rows(on, OutboxKind.PASSAGE)
    assert [r.key for r in got[:3]] == [str(first.id)] * 3
    assert [r.payload["count"] for r in got[:3]] == [1, 2, 2]
    assert got[1].payload["last_seen"] == T0 + 10
    assert got[2].payload["flags"] == ["relay_failed"]
    assert len(got) == 5
    assert got[3].payload["cluster_id"] == "k2"
    assert got[4].payload["allowed"] is True
    # Never biometric or credential material: no distance, no note, no hash.
    for r in got:
        assert set(r.payload) >= {"id", "ts", "gate_id", "reason"}
        assert not {"distance", "note", "credential_id", "secret_hash"} & set(r.payload)


def test_cluster_merge_and_assignment_requeue_the_passages(on: Store) -> None:
    a = on.add_passage(refusal(T0, "k1"))
    b = on.add_passage(refusal(T0 + 900, "k2"))
    drain(on)
    cluster = StoredCluster("k1", b"sealed", 2, T0, T0 + 900, ())
    on.save_clusters([cluster], relabel=[("k1", "k2")])
    (moved,) = rows(on, OutboxKind.PASSAGE)
    assert moved.key == str(b.id)
    assert moved.payload["cluster_id"] == "k1"
    drain(on)
    on.assign_cluster("k1", "alice", "a101")
    got = rows(on, OutboxKind.PASSAGE)
    assert sorted(r.key for r in got) == sorted([str(a.id), str(b.id)])
    assert {r.payload["person_id"] for r in got} == {"alice"}
    assert {r.payload["cluster_id"] for r in got} == {None}


def test_alert_lifecycle(on: Store) -> None:
    log = AlertLog(on)
    alert = log.add(T0, Rule.SPECIAL_ATTENTION, SubjectKind.PERSON, "alice", None, {"days": 3})
    log.acknowledge(alert.id, "user-1", T0 + 60)
    log.resolve(alert.id, "user-1", T0 + 120)
    got = rows(on, OutboxKind.ALERT)
    assert [r.payload["state"] for r in got] == ["new", "acknowledged", "resolved"]
    assert got[2].payload["resolved_at"] == T0 + 120
    # Which staff member acted stays at the estate.
    assert "user-1" not in json.dumps([r.payload for r in got])


def test_device_state_changes_only(on: Store) -> None:
    engine = RuleEngine(on)
    engine.device_state("cam1", True, T0, gate_id="main")
    engine.device_state("cam1", True, T0 + 10, gate_id="main")
    engine.device_state("cam1", False, T0 + 20, gate_id="main")
    engine.device_state("cam1", False, T0 + 30, gate_id="main")
    engine.device_state("cam1", True, T0 + 40, gate_id="main")
    # A beating device: up with its first beat, down once the sweep finds it silent.
    engine.heartbeat("reader1", T0, gate_id="main")
    engine.heartbeat("reader1", T0 + 30, gate_id="main")
    engine.sweep(T0 + 3600)
    engine.heartbeat("reader1", T0 + 3700, gate_id="main")
    got = [(r.key, r.payload["online"]) for r in rows(on, OutboxKind.DEVICE)]
    assert [g for g in got if g[0] == "cam1"] == [("cam1", True), ("cam1", False), ("cam1", True)]
    assert [g for g in got if g[0] == "reader1"] == [
        ("reader1", True),
        ("reader1", False),
        ("reader1", True),
    ]
    on.save_device(MqttDevice("ctl1", "main", b"sealed", 0, 0, T0))
    on.remove_device("ctl1")
    assert rows(on, OutboxKind.DEVICE)[-1].payload == {"id": "ctl1", "removed": True}


def test_retention_policy_is_sent_when_it_changes(on: Store) -> None:
    purge(on, Retention(passages=90), now=T0)
    purge(on, Retention(passages=90), now=T0 + 86400)
    purge(on, Retention(passages=30), now=T0 + 2 * 86400)
    got = rows(on, OutboxKind.ESTATE)
    assert [r.payload["retention_days"] for r in got] == [90, 30]
    # Turned off and on again, the centre starts from the estate's policy, including a
    # change made while it was off.
    disable_outbox(on)
    purge(on, Retention(passages=45), now=T0 + 3 * 86400)
    assert rows(on) == []
    enable_outbox(on, SharePolicy())
    assert rows(on, OutboxKind.ESTATE)[0].payload == {"retention_days": 45}


def test_erasure_scrubs_the_queue_and_tells_the_centre(estate: Store) -> None:
    enable_outbox(estate, SharePolicy(names=True))
    estate.add_passage(
        Passage(T0, "main", Direction.IN, Method.CARD, True, Reason.GRANTED, person_id="alice")
    )
    AlertLog(estate).add(
        T0, Rule.LONG_ABSENCE, SubjectKind.PERSON, "alice", None, {"person_id": "alice"}
    )
    alias, _counts = erase_person(estate, "alice")
    got = rows(estate)
    text = json.dumps([r.payload for r in got if r.kind is not OutboxKind.ERASE])
    assert "alice" not in text
    assert "Alice" not in text
    assert alias in text
    assert got[-1].kind is OutboxKind.ERASE
    assert got[-1].payload == {"person_id": "alice", "alias": alias}


def test_an_erasure_while_replication_is_off_waits_for_the_centre(estate: Store) -> None:
    """A centre that once held the person must still forget them: the erasure stays
    queued while replication is off and is the first row when it is on again."""
    estate.add_person(Person("bob", Role.TENANT, "Bob Li", unit_id="a101"))
    enable_outbox(estate, SharePolicy(names=True))
    # Erased while on but not shipped yet (the link was down), then turned off.
    alias_b, _ = erase_person(estate, "bob")
    disable_outbox(estate)
    assert [(r.kind, r.key) for r in rows(estate)] == [(OutboxKind.ERASE, "bob")]
    estate.add_passage(
        Passage(T0, "main", Direction.IN, Method.CARD, True, Reason.GRANTED, person_id="alice")
    )
    AlertLog(estate).add(
        T0, Rule.LONG_ABSENCE, SubjectKind.PERSON, "alice", None, {"person_id": "alice"}
    )
    alias_a, _ = erase_person(estate, "alice")  # while off
    assert [(r.kind, r.payload) for r in rows(estate)] == [
        (OutboxKind.ERASE, {"person_id": "bob", "alias": alias_b}),
        (OutboxKind.ERASE, {"person_id": "alice", "alias": alias_a}),
    ]
    # The hub's alerts keep the history under the alias, like its passages: turned on
    # again, the alerts it re-sends do not bring the id back to the centre.
    assert estate.conn.execute("SELECT subject_id, evidence FROM alerts").fetchall() == [
        (alias_a, json.dumps({"person_id": alias_a}, separators=(",", ":")))
    ]
    enable_outbox(estate, SharePolicy(names=True))
    got = rows(estate)
    assert [r.kind for r in got[:2]] == [OutboxKind.ERASE, OutboxKind.ERASE]
    assert OutboxKind.ERASE not in {r.kind for r in got[2:]}
    later = json.dumps([r.payload for r in got[2:]])
    assert "alice" not in later
    assert "bob" not in later
    assert "Alice" not in later


def test_an_estate_that_never_replicated_keeps_no_erasure(estate: Store) -> None:
    """No centre ever held this estate's data: nothing links the id to the alias."""
    erase_person(estate, "alice")
    assert rows(estate) == []
    enable_outbox(estate, SharePolicy())
    assert OutboxKind.ERASE not in {r.kind for r in rows(estate)}


def test_the_hub_id_is_made_once_and_kept(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "hub.db")
    try:
        first = hub_instance_id(store)
        assert len(first) == 32
        assert hub_instance_id(store) == first
    finally:
        store.close()
    store = Store.open(tmp_path / "hub.db")
    try:
        assert hub_instance_id(store) == first
    finally:
        store.close()
    other = Store.open(tmp_path / "other.db")
    try:
        assert hub_instance_id(other) != first
    finally:
        other.close()


def test_card_token_same_card_same_token_across_estate_keys(on: Store) -> None:
    shared = bytes(range(32, 64))
    ac = AccessControl(on, Hasher(bytes(range(32))), card_key=shared)
    on.add_person(Person("v1", Role.VISITOR))
    cred, _ = ac.add_credential("v1", CredentialKind.ID_CARD, ID_NUMBER.lower())
    on.add_passage(
        Passage(
            T0,
            "main",
            Direction.IN,
            Method.ID_CARD,
            True,
            Reason.GRANTED,
            person_id="v1",
            credential_id=cred.id,
        )
    )
    (p,) = rows(on, OutboxKind.PASSAGE)
    assert p.payload["card"] == card_token(shared, ID_NUMBER)
    assert ID_NUMBER not in json.dumps([r.payload for r in rows(on)])
    # The estate's own credential hash (its own key) is not what crosses the line.
    assert p.payload["card"] != cred.secret_hash


def test_read_ack_stats_disable(on: Store) -> None:
    for i in range(5):
        on.add_passage(Passage(T0 + i, "main", Direction.IN, Method.CARD, True, Reason.GRANTED))
    n, oldest = outbox_stats(on)
    assert n == 5
    assert oldest is not None
    first = read_outbox(on, 0, 2)
    assert len(first) == 2
    assert [r.seq for r in read_outbox(on, first[-1].seq, 10)] == [r.seq for r in rows(on)[2:]]
    assert ack_outbox(on, first[-1].seq) == 2
    assert outbox_stats(on)[0] == 3
    disable_outbox(on)
    assert outbox_stats(on) == (0, None)
    assert not outbox_enabled(on)
    on.add_passage(Passage(T0 + 9, "main", Direction.IN, Method.CARD, True, Reason.GRANTED))
    assert rows(on) == []


def test_backfill_in_chunks_never_sends_a_passage_older_than_it_is(estate: Store) -> None:
    for i in range(25):
        estate.add_passage(refusal(T0 + i * 1000, f"k{i}"))
    estate.add_passage(refusal(T0 + 24 * 1000 + 5, "k24"), episode_window=60)  # folds
    queued = enable_outbox(estate, SharePolicy(), backfill_now=False)
    assert backfill_pending(estate)
    assert rows(estate, OutboxKind.PASSAGE) == []
    assert queued == len(rows(estate))
    assert backfill_step(estate, limit=10) == 10
    # Between two chunks the last passage's episode grows: the live row is queued now,
    # and the backfill, reaching it later, sends it as it is then (never older).
    estate.add_passage(refusal(T0 + 24 * 1000 + 9, "k24"), episode_window=60)
    assert backfill_step(estate, limit=10) == 10
    assert backfill_step(estate, limit=10) == 5
    assert not backfill_pending(estate)
    assert backfill_step(estate, limit=10) == 0
    got = rows(estate, OutboxKind.PASSAGE)
    assert len({r.key for r in got}) == 25
    last = [r.payload["count"] for r in got if r.payload["cluster_id"] == "k24"]
    assert last == [3, 3]
    # A passage written during the backfill is live, not part of it.
    estate.add_passage(refusal(T0 + 99_000, "new"))
    assert rows(estate, OutboxKind.PASSAGE)[-1].payload["cluster_id"] == "new"


def test_enabling_again_requeues_only_the_directory(on: Store) -> None:
    on.add_passage(refusal(T0))
    drain(on)
    enable_outbox(on, SharePolicy(names=True))
    kinds = {r.kind for r in rows(on)}
    assert kinds == {OutboxKind.GATE, OutboxKind.UNIT, OutboxKind.PERSON}
