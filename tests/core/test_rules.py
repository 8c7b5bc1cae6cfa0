"""Alert rules on a real SQLite store: each rule fires on its condition, stays quiet
just short of it, raises one alert per subject per window, and follows the lifecycle."""

from __future__ import annotations

import time

import pytest

from custom_components.community_gate.core import errors
from custom_components.community_gate.core.alerts import AlertState, Rule, SubjectKind
from custom_components.community_gate.core.model import (
    Direction,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    Unit,
)
from custom_components.community_gate.core.rules import (
    PARAM_SPECS,
    RuleEngine,
    RuleParams,
    appearances,
    check_param,
)
from custom_components.community_gate.core.schema import MIGRATIONS
from custom_components.community_gate.core.store import Store

H = 3600.0
D = 86400.0


@pytest.fixture
def t0() -> float:
    # People and units get created_at = now: the timeline starts there.
    return time.time()


@pytest.fixture
def engine(estate: Store) -> RuleEngine:
    estate.add_unit(Unit("c301", "C", "301", rent_arrears=True))
    estate.add_person(Person("bob", Role.TENANT, unit_id="c301"))
    estate.add_person(Person("gran", Role.TENANT, unit_id="b201", special_attention=True))
    estate.add_person(Person("vic", Role.VISITOR, unit_id="a101"))
    return RuleEngine(estate)


def passage(
    store: Store,
    ts: float,
    *,
    person: str | None = None,
    unit: str | None = None,
    gate: str = "main",
    allowed: bool = True,
    method: Method = Method.CARD,
    cluster: str | None = None,
    flags: tuple[str, ...] = (),
    out: bool = False,
) -> Passage:
    p = Passage(
        ts=ts,
        gate_id=gate,
        direction=Direction.OUT if out else Direction.IN,
        method=method,
        allowed=allowed,
        reason=Reason.GRANTED if allowed else Reason.UNKNOWN_CREDENTIAL,
        person_id=person,
        unit_id=unit,
        cluster_id=cluster,
        flags=flags,
    )
    return store.add_passage(p)


def stranger(store: Store, ts: float, cluster: str, gate: str = "main") -> Passage:
    return passage(store, ts, gate=gate, allowed=False, method=Method.FACE, cluster=cluster)


def rules(alerts: list) -> list[Rule]:  # type: ignore[type-arg]
    return [a.rule for a in alerts]


def test_migration_adds_alerts_table(store: Store) -> None:
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master")}
    assert "alerts" in tables
    assert store.schema_version == len(MIGRATIONS)


def test_rent_arrears_once_per_unit_per_window(engine: RuleEngine, t0: float) -> None:
    s = engine.store
    first = engine.on_passage(passage(s, t0, person="bob", unit="c301", flags=("rent_arrears",)))
    assert rules(first) == [Rule.RENT_ARREARS]
    a = first[0]
    assert (a.subject_kind, a.subject_id, a.gate_id) == (SubjectKind.UNIT, "c301", "main")
    assert a.evidence["person_id"] == "bob"
    # Open alert: no second one, even days later.
    p2 = passage(s, t0 + 2 * D, person="bob", unit="c301", flags=("rent_arrears",))
    assert engine.on_passage(p2) == []
    # Resolved: the next passage, 2 days after the alert, raises a new one; one soon after
    # it (within the 24 h repeat window) does not.
    engine.resolve(a.id, "staff", t0 + 2 * D)
    p3 = passage(s, t0 + 2 * D + H, person="bob", unit="c301", flags=("rent_arrears",))
    second = engine.on_passage(p3)
    assert rules(second) == [Rule.RENT_ARREARS]
    engine.resolve(second[0].id, "staff", t0 + 2 * D + 2 * H)
    p4 = passage(s, t0 + 2 * D + 3 * H, person="bob", unit="c301", flags=("rent_arrears",))
    assert engine.on_passage(p4) == []
    p4 = passage(s, t0 + 3 * D + 2 * H, person="bob", unit="c301", flags=("rent_arrears",))
    assert rules(engine.on_passage(p4)) == [Rule.RENT_ARREARS]


def test_unknown_face_per_cluster(engine: RuleEngine, t0: float) -> None:
    s = engine.store
    got = engine.on_passage(stranger(s, t0, "k1"))
    assert rules(got) == [Rule.UNKNOWN_FACE]
    assert (got[0].subject_kind, got[0].subject_id) == (SubjectKind.CLUSTER, "k1")
    assert engine.on_passage(stranger(s, t0 + 60, "k1")) == []
    assert rules(engine.on_passage(stranger(s, t0 + 120, "k2"))) == [Rule.UNKNOWN_FACE]
    # A face without a cluster: the gate is the subject.
    nocluster = passage(s, t0 + 200, allowed=False, method=Method.FACE)
    assert [(a.subject_kind, a.subject_id) for a in engine.on_passage(nocluster)] == [
        (SubjectKind.GATE, "main")
    ]


def test_tailgating_needs_k_times_within_t_seconds(engine: RuleEngine, t0: float) -> None:
    s = engine.store
    raised: list[Rule] = []
    for day in range(3):
        base = t0 + day * D
        passage(s, base, person="alice", unit="a101")
        raised += rules(engine.on_passage(stranger(s, base + 3, "tg")))
        # Not a tailgate: 30 s after the resident.
        passage(s, base + H, person="alice", unit="a101")
        raised += rules(engine.on_passage(stranger(s, base + H + 30, "slow")))
    assert raised.count(Rule.TAILGATING) == 1
    alert = engine.list_alerts(rule=Rule.TAILGATING)[0]
    assert alert.subject_id == "tg"
    assert alert.evidence["count"] == 3
    assert len(alert.evidence["passage_ids"]) == 3


def test_tailgating_window_days(engine: RuleEngine, t0: float) -> None:
    s = engine.store
    for day in (0, 4, 8):  # three tailgates, but never three within 7 days
        passage(s, t0 + day * D, person="alice", unit="a101")
        assert Rule.TAILGATING not in rules(engine.on_passage(stranger(s, t0 + day * D + 2, "x")))


def test_tailgating_after_a_visitor_is_not_counted(engine: RuleEngine, t0: float) -> None:
    s = engine.store
    for day in range(4):
        passage(s, t0 + day * D, person="vic", unit="a101")
        assert Rule.TAILGATING not in rules(engine.on_passage(stranger(s, t0 + day * D + 2, "y")))


def test_frequent_stranger_counts_visits_not_frames(engine: RuleEngine, t0: float) -> None:
    s = engine.store
    raised: list[Rule] = []
    # 30 frames within 5 minutes: one visit.
    for i in range(30):
        raised += rules(engine.on_passage(stranger(s, t0 + i * 10, "lurk")))
    assert Rule.FREQUENT_STRANGER not in raised
    for day in range(1, 10):
        raised += rules(engine.on_passage(stranger(s, t0 + day * D, "lurk")))
    assert raised.count(Rule.FREQUENT_STRANGER) == 1
    alert = engine.list_alerts(rule=Rule.FREQUENT_STRANGER)[0]
    assert alert.evidence == {"cluster_id": "lurk", "count": 10, "days": 30.0}


def test_frequent_visitor_id_card(engine: RuleEngine, t0: float) -> None:
    s = engine.store
    raised: list[Rule] = []
    for day in range(10):
        p = passage(s, t0 + day * D, person="vic", unit="a101", method=Method.ID_CARD)
        raised += rules(engine.on_passage(p))
        if day < 9:  # leaving an hour later is the same visit
            out = passage(
                s, t0 + day * D + H, person="vic", unit="a101", method=Method.ID_CARD, out=True
            )
            raised += rules(engine.on_passage(out))
    assert raised == [Rule.FREQUENT_STRANGER]
    # A tenant's ID card is no stranger.
    for day in range(12):
        p = passage(s, t0 + day * D, person="alice", unit="a101", method=Method.ID_CARD)
        assert engine.on_passage(p) == []


def test_special_attention_silence_and_return(engine: RuleEngine, t0: float) -> None:
    s = engine.store
    engine.on_passage(passage(s, t0 + H, person="gran", unit="b201"))
    assert engine.sweep(t0 + 48 * H) == []  # 47 h
    got = engine.sweep(t0 + 49 * H)
    assert rules(got) == [Rule.SPECIAL_ATTENTION]
    assert got[0].evidence["hours"] == 48
    assert engine.sweep(t0 + 50 * H) == []
    assert engine.open_count == 1
    # She comes back: the alert resolves itself.
    engine.on_passage(passage(s, t0 + 51 * H, person="gran", unit="b201"))
    assert engine.open_count == 0
    assert engine.log.get(got[0].id).resolved_by == "auto"


def test_special_attention_never_seen_counts_from_registration(
    engine: RuleEngine, t0: float
) -> None:
    assert engine.sweep(t0 + 47 * H) == []
    assert [a.subject_id for a in engine.sweep(t0 + 49 * H)] == ["gran"]


def test_long_absence_per_unit(engine: RuleEngine, t0: float) -> None:
    s = engine.store
    for day in range(0, 40, 5):
        engine.on_passage(passage(s, t0 + day * D, person="alice", unit="a101"))
    got = engine.sweep(t0 + 31 * D)
    # b201 (gran) and c301 (bob) were never seen; a101 every 5 days.
    assert {(a.rule, a.subject_id) for a in got} >= {
        (Rule.LONG_ABSENCE, "b201"),
        (Rule.LONG_ABSENCE, "c301"),
    }
    assert all(a.subject_id != "a101" for a in got)


def test_device_offline_heartbeat_and_state(engine: RuleEngine, t0: float) -> None:
    engine.heartbeat("reader-1", t0, gate_id="main")
    engine.device_state("camera.east", True, t0)
    assert engine.sweep(t0 + 4 * 60, silences=False) == []
    got = engine.sweep(t0 + 5 * 60, silences=False)
    assert [(a.rule, a.subject_id, a.gate_id) for a in got] == [
        (Rule.DEVICE_OFFLINE, "reader-1", "main")
    ]
    # The camera reports state, not beats: it is offline only once it says so.
    engine.device_state("camera.east", False, t0 + 6 * 60)
    assert engine.sweep(t0 + 10 * 60, silences=False) == []
    assert [a.subject_id for a in engine.sweep(t0 + 11 * 60, silences=False)] == ["camera.east"]
    engine.heartbeat("reader-1", t0 + 12 * 60)
    engine.device_state("camera.east", True, t0 + 12 * 60)
    assert engine.open_count == 0


def test_doors(engine: RuleEngine, t0: float) -> None:
    s = engine.store
    engine.on_passage(passage(s, t0, person="alice", unit="a101"))
    assert engine.door("main", True, t0 + 3) == []
    assert engine.door("main", False, t0 + 10) == []
    # Open with no passage: forced.
    assert rules(engine.door("main", True, t0 + 100)) == [Rule.FORCED_OPEN]
    assert engine.sweep(t0 + 100 + 119, silences=False) == []
    assert rules(engine.sweep(t0 + 100 + 120, silences=False)) == [Rule.DOOR_HELD_OPEN]
    assert engine.door("main", False, t0 + 400) == []  # already raised
    # An exit button authorises the next opening.
    engine.exit_request("exit", t0 + 500)
    assert engine.door("exit", True, t0 + 502) == []
    # Held open noticed at closing time too (no sweep in between).
    assert rules(engine.door("exit", False, t0 + 900)) == [Rule.DOOR_HELD_OPEN]


def test_fever(engine: RuleEngine, t0: float) -> None:
    assert engine.temperature("main", 36.8, t0, person_id="alice") == []
    got = engine.temperature("main", 37.3, t0 + 1, person_id="alice")
    assert [(a.rule, a.subject_kind, a.evidence["celsius"]) for a in got] == [
        (Rule.FEVER, SubjectKind.PERSON, 37.3)
    ]
    assert [a.subject_kind for a in engine.temperature("main", 38.5, t0 + 2)] == [SubjectKind.GATE]
    with pytest.raises(errors.InvalidReadingError) as err:
        engine.temperature("main", 80.0, t0)
    assert err.value.placeholders["field"] == "celsius"


def test_lifecycle_and_errors(engine: RuleEngine, t0: float) -> None:
    a = engine.temperature("main", 39.0, t0, person_id="alice")[0]
    assert a.state is AlertState.NEW
    acked = engine.acknowledge(a.id, "u1", t0 + 1)
    assert (acked.state, acked.acknowledged_by) == (AlertState.ACKNOWLEDGED, "u1")
    assert engine.acknowledge(a.id, "u2", t0 + 2).acknowledged_by == "u1"  # idempotent
    done = engine.resolve(a.id, "u1", t0 + 3)
    assert (done.state, done.resolved_at) == (AlertState.RESOLVED, t0 + 3)
    with pytest.raises(errors.AlertAlreadyResolvedError):
        engine.acknowledge(a.id, "u1")
    with pytest.raises(errors.AlertAlreadyResolvedError):
        engine.resolve(a.id, "u1")
    with pytest.raises(errors.UnknownAlertError) as err:
        engine.acknowledge(9999, "u1")
    assert err.value.placeholders == {"alert_id": "9999"}
    assert engine.list_alerts() == []
    assert [x.id for x in engine.list_alerts(include_resolved=True)] == [a.id]


def test_alerts_survive_restart(estate: Store, db_path: object, t0: float) -> None:
    engine = RuleEngine(estate)
    a = engine.temperature("main", 39.0, t0, person_id="alice")[0]
    estate.close()
    again = Store.open(str(db_path), durable=False)
    try:
        engine2 = RuleEngine(again)
        assert engine2.open_count == 1
        assert engine2.log.get(a.id).rule is Rule.FEVER
        # Still one alert per subject per window after the restart.
        assert engine2.temperature("main", 39.5, t0 + 60, person_id="alice") == []
    finally:
        again.close()


def test_params_validation() -> None:
    assert RuleParams() == RuleParams.from_mapping({"from_the_future": 1})
    p = RuleParams.from_mapping({"tailgating_count": 5.0, "fever_celsius": 37.5})
    assert (p.tailgating_count, p.fever_celsius) == (5, 37.5)
    assert isinstance(p.tailgating_count, int)
    assert RuleParams.from_mapping(p.as_dict()) == p
    for name, bad in (
        ("special_attention_hours", -1),
        ("tailgating_days", 0),
        ("tailgating_count", 2.5),
        ("fever_celsius", 80),
        ("long_absence_days", "x"),
        ("repeat_hours", True),
    ):
        with pytest.raises(errors.InvalidRuleParameterError) as err:
            check_param(name, bad)
        assert err.value.placeholders["field"] == name
        assert set(err.value.placeholders) == {"field", "min", "max"}
    with pytest.raises(errors.InvalidRuleParameterError):
        RuleParams(frequent_stranger_days=0)
    assert set(PARAM_SPECS) == set(RuleParams.__dataclass_fields__)


def test_appearances() -> None:
    assert appearances([]) == 0
    assert appearances([(t, t) for t in (0, 100, 500, 1200, 5000)]) == 3
