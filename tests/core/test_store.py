"""Store: real SQLite files in tmp_path; schema, persistence, failure modes, integrity."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
import json
import os
from pathlib import Path
import sqlite3
import stat

import pytest

from custom_components.community_gate.core import errors
from custom_components.community_gate.core.model import (
    Credential,
    CredentialKind,
    Direction,
    Gate,
    GateKind,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    ScheduleWindow,
    Unit,
)
from custom_components.community_gate.core.schedule import schedule_from_obj, schedule_to_json
from custom_components.community_gate.core.schema import MIGRATIONS, SCHEMA_VERSION
from custom_components.community_gate.core.store import Store

H1 = "1" * 64
H2 = "2" * 64


def card(cid: str, pid: str, secret: str = H1, **kw: object) -> Credential:
    return Credential(cid, pid, CredentialKind.CARD, secret, **kw)  # type: ignore[arg-type]


def passage(ts: float, **kw: object) -> Passage:
    args: dict[str, object] = {
        "ts": ts,
        "gate_id": "main",
        "direction": Direction.IN,
        "method": Method.CARD,
        "allowed": True,
        "reason": Reason.GRANTED,
    }
    args.update(kw)
    return Passage(**args)  # type: ignore[arg-type]


# -------------------------------------------------------------------- lifecycle
def test_fresh_file_is_migrated_to_current_version(db_path: Path) -> None:
    store = Store.open(db_path)
    try:
        assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    finally:
        store.close()
    conn = sqlite3.connect(db_path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables >= {"units", "people", "credentials", "gates", "passages"}
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        conn.close()


def test_wal_mode_is_on_and_sync_is_full(db_path: Path) -> None:
    store = Store.open(db_path)
    try:
        conn = sqlite3.connect(db_path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            conn.close()
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        store.close()
    bench = Store.open(db_path, durable=False)
    try:
        assert bench.conn.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF
    finally:
        bench.close()


def test_empty_existing_file_is_migrated(db_path: Path) -> None:
    db_path.write_bytes(b"")
    store = Store.open(db_path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        assert store.count_people() == 0
    finally:
        store.close()


def test_data_survives_reopen(db_path: Path) -> None:
    store = Store.open(db_path)
    store.add_unit(Unit("a101", "A", "101", rent_arrears=True, lease_until=2e9))
    store.add_person(Person("alice", Role.TENANT, "Alice", unit_id="a101", special_attention=True))
    store.add_credential(card("c1", "alice"))
    store.upsert_gate(Gate("door-a", "Door A", GateKind.BUILDING_DOOR, Direction.IN, "A"))
    stored = store.add_passage(passage(1000.0, person_id="alice", flags=("rent_arrears",)))
    store.close()

    again = Store.open(db_path)
    try:
        assert again.schema_version == SCHEMA_VERSION
        assert again.get_unit("a101") == Unit("a101", "A", "101", True, 2e9)
        assert again.get_person("alice").special_attention
        assert again.get_credential("c1").secret_hash == H1
        assert again.get_gate("door-a") == Gate(
            "door-a", "Door A", GateKind.BUILDING_DOOR, Direction.IN, "A"
        )
        assert again.get_passage(stored.id or 0) == stored
    finally:
        again.close()


def test_reopen_does_not_rerun_migrations(db_path: Path) -> None:
    Store.open(db_path).close()
    Store.open(db_path).close()
    store = Store.open(db_path)
    try:
        assert store.schema_version == SCHEMA_VERSION
    finally:
        store.close()


@pytest.mark.parametrize(
    "content",
    [
        b"this is certainly not an SQLite database\n" * 200,
        bytes(range(256)) * 64,
        b"SQLite format 2\x00" + b"\x00" * 4080,
    ],
)
def test_corrupt_file_raises_and_is_left_untouched(db_path: Path, content: bytes) -> None:
    db_path.write_bytes(content)
    with pytest.raises(errors.StoreCorruptError) as info:
        Store.open(db_path)
    assert info.value.code == "database_corrupt"
    assert db_path.read_bytes() == content  # nothing lost: an admin can still rescue it
    with pytest.raises(errors.StoreCorruptError):
        Store.open(db_path)
    assert db_path.read_bytes() == content


def test_foreign_sqlite_file_at_current_version_without_our_tables(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE other (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.commit()
    conn.close()
    with pytest.raises(errors.StoreCorruptError):
        Store.open(db_path)


def test_directory_path_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(errors.StoreUnavailableError) as info:
        Store.open(tmp_path)
    assert info.value.code == "database_unavailable"


def test_parent_is_a_regular_file(tmp_path: Path) -> None:
    parent = tmp_path / "not-a-dir"
    parent.write_text("x")
    with pytest.raises(errors.StoreUnavailableError):
        Store.open(parent / "estate.db")
    assert parent.read_text() == "x"


def test_missing_parent_directory(tmp_path: Path) -> None:
    with pytest.raises(errors.StoreUnavailableError):
        Store.open(tmp_path / "missing" / "estate.db")


def test_newer_schema_refused_and_untouched(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(errors.StoreTooNewError) as info:
        Store.open(db_path)
    assert info.value.placeholders == {
        "found": str(SCHEMA_VERSION + 5),
        "supported": str(SCHEMA_VERSION),
    }
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 5
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert names == {"future"}
    finally:
        conn.close()


def test_store_errors_are_core_errors() -> None:
    for cls in (errors.StoreCorruptError, errors.StoreUnavailableError, errors.StoreTooNewError):
        assert issubclass(cls, errors.StoreError)
        assert issubclass(cls, errors.CoreError)


# ---------------------------------------------------------------- units / people
def test_duplicate_unit_id_and_number(store: Store) -> None:
    store.add_unit(Unit("a101", "A", "101"))
    with pytest.raises(errors.DuplicateUnitError):
        store.add_unit(Unit("a101", "A", "999"))
    with pytest.raises(errors.DuplicateUnitError):
        store.add_unit(Unit("other", "A", "101"))  # same building and number
    store.add_unit(Unit("b101", "B", "101"))  # same number in another building is fine
    with pytest.raises(errors.DuplicateUnitError):
        store.update_unit("b101", building="A")
    assert store.count_units() == 2
    assert store.get_unit("b101").building == "B"


def test_unit_requires_building_and_number(store: Store) -> None:
    with pytest.raises(errors.InvalidValueError):
        store.add_unit(Unit("a1", " ", "101"))
    with pytest.raises(errors.InvalidValueError):
        store.add_unit(Unit("a1", "A", ""))


def test_update_unit(store: Store) -> None:
    store.add_unit(Unit("a101", "A", "101"))
    assert store.update_unit("a101", rent_arrears=True).rent_arrears
    assert store.get_unit("a101").rent_arrears
    with pytest.raises(errors.InvalidValueError):
        store.update_unit("a101", colour="red")
    assert store.list_units() == [Unit("a101", "A", "101", True)]


def test_duplicate_person(estate: Store) -> None:
    with pytest.raises(errors.DuplicatePersonError):
        estate.add_person(Person("alice", Role.VISITOR))
    assert estate.get_person("alice").role is Role.TENANT


def test_person_needs_an_existing_unit(store: Store) -> None:
    with pytest.raises(errors.UnknownUnitError):
        store.add_person(Person("bob", Role.TENANT, unit_id="nope"))
    assert store.count_people() == 0


def test_update_person(estate: Store) -> None:
    p = estate.update_person("alice", blocked=True, allowed_gates=frozenset({"main"}))
    assert p.blocked
    assert estate.get_person("alice") == p
    with pytest.raises(errors.UnknownUnitError):
        estate.update_person("alice", unit_id="nope")
    with pytest.raises(errors.InvalidValueError):
        estate.update_person("alice", id="bob")
    with pytest.raises(errors.InvalidValidityError):
        estate.update_person("alice", valid_from=10.0, valid_until=5.0)
    assert estate.get_person("alice") == p


def test_list_people_by_unit_and_paging(estate: Store) -> None:
    estate.add_person(Person("bob", Role.CO_RESIDENT, unit_id="a101"))
    estate.add_person(Person("carol", Role.TENANT, unit_id="b201"))
    assert [p.id for p in estate.list_people(unit_id="a101")] == ["alice", "bob"]
    assert [p.id for p in estate.list_people(limit=2)] == ["alice", "bob"]
    assert [p.id for p in estate.list_people(limit=2, offset=2)] == ["carol"]
    assert estate.count_people() == 3


def test_bulk_people_and_credentials(estate: Store) -> None:
    n = estate.add_people(Person(f"p{i}", Role.CO_RESIDENT, unit_id="a101") for i in range(50))
    assert n == 50
    m = estate.add_credentials(card(f"c{i}", f"p{i}", f"{i:064x}") for i in range(50))
    assert m == 50
    assert estate.count_people() == 51
    assert estate.count_credentials() == 50
    assert estate.find_credential(CredentialKind.CARD, f"{7:064x}").person_id == "p7"


# ------------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", ["", "-a", "_a", "a b", "a/b", "ü", "x" * 65, "a\n", None, 42])
def test_invalid_ids_rejected(store: Store, bad: object) -> None:
    with pytest.raises(errors.InvalidIdError):
        store.add_unit(Unit(bad, "A", "1"))  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidIdError):
        store.add_person(Person(bad, Role.STAFF))  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidIdError):
        store.upsert_gate(Gate(bad, "G"))  # type: ignore[arg-type]
    store.add_person(Person("ok", Role.STAFF))
    with pytest.raises(errors.InvalidIdError):
        store.add_credential(card(bad, "ok"))  # type: ignore[arg-type]
    assert store.count_units() == 0
    assert store.count_credentials(live_only=False) == 0


@pytest.mark.parametrize("good", ["a", "A-1", "unit_1.2", "0", "x" * 64])
def test_valid_ids_accepted(store: Store, good: str) -> None:
    assert store.add_unit(Unit(good, "A", "1")).id == good


@pytest.mark.parametrize(("start", "end"), [(100.0, 100.0), (100.0, 50.0)])
def test_validity_window_must_be_forward(estate: Store, start: float, end: float) -> None:
    with pytest.raises(errors.InvalidValidityError):
        estate.add_person(Person("v", Role.VISITOR, valid_from=start, valid_until=end))
    with pytest.raises(errors.InvalidValidityError):
        estate.add_credential(card("c1", "alice", valid_from=start, valid_until=end))
    assert estate.find_person("v") is None
    assert estate.count_credentials(live_only=False) == 0


def test_open_ended_windows_are_fine(estate: Store) -> None:
    estate.add_person(Person("v1", Role.VISITOR, valid_from=100.0))
    estate.add_person(Person("v2", Role.VISITOR, valid_until=100.0))
    assert estate.get_person("v2").valid_until == 100.0


def test_max_uses_must_be_positive(estate: Store) -> None:
    with pytest.raises(errors.InvalidValueError):
        estate.add_credential(card("c1", "alice", max_uses=0))


# -------------------------------------------------------------------- schedules
def test_schedule_json_round_trip_through_the_store(estate: Store) -> None:
    schedule = (
        ScheduleWindow(frozenset({1, 2, 3, 4, 5}), time(8), time(18, 30)),
        ScheduleWindow(frozenset({5}), time(22), time(6)),  # overnight
        ScheduleWindow(frozenset({6, 7}), time(20), time.max),  # "24:00"
    )
    estate.add_person(Person("night", Role.SERVICE, schedule=schedule))
    assert estate.get_person("night").schedule == schedule
    raw = json.loads(schedule_to_json(schedule))
    assert raw[2] == {"days": [6, 7], "start": "20:00", "end": "24:00"}
    assert raw[1] == {"days": [5], "start": "22:00", "end": "06:00"}
    assert schedule_from_obj(raw) == schedule


def test_schedule_from_obj_defaults() -> None:
    assert schedule_from_obj(None) == ()
    assert schedule_from_obj("") == ()
    assert schedule_from_obj([]) == ()
    (win,) = schedule_from_obj([{"start": "00:00", "end": "24:00"}])
    assert win.days == frozenset(range(1, 8))
    assert (win.start, win.end) == (time(0), time.max)


@pytest.mark.parametrize(
    "obj",
    [
        {"days": [1], "start": "08:00", "end": "18:00"},  # not a list
        "08:00-18:00",
        [["08:00", "18:00"]],
        [{"days": [], "start": "08:00", "end": "18:00"}],
        [{"days": [0], "start": "08:00", "end": "18:00"}],
        [{"days": [8], "start": "08:00", "end": "18:00"}],
        [{"days": [True], "start": "08:00", "end": "18:00"}],
        [{"days": ["1"], "start": "08:00", "end": "18:00"}],
        [{"days": 1, "start": "08:00", "end": "18:00"}],
        [{"days": [1], "start": "08:00"}],
        [{"days": [1], "end": "18:00"}],
        [{"days": [1], "start": "25:00", "end": "18:00"}],
        [{"days": [1], "start": "8h", "end": "18:00"}],
        [{"days": [1], "start": "08:00", "end": "08:00"}],
        [{"days": [1], "start": "24:00", "end": "24:00"}],
    ],
)
def test_invalid_schedules_rejected(obj: object) -> None:
    with pytest.raises(errors.InvalidScheduleError):
        schedule_from_obj(obj)


@pytest.mark.parametrize(
    "window",
    [
        ScheduleWindow(frozenset(), time(8), time(18)),
        ScheduleWindow(frozenset({0}), time(8), time(18)),
        ScheduleWindow(frozenset({8}), time(8), time(18)),
        ScheduleWindow(frozenset({1}), time(8), time(8)),
        ScheduleWindow(frozenset({1}), time(8, 0, 30), time(18)),  # seconds would be lost
    ],
)
def test_unreadable_schedule_is_refused_on_write(estate: Store, window: ScheduleWindow) -> None:
    # What the store accepts it must be able to read back: a bad window written once
    # would make the person unreadable (and every decision for them fail) for good.
    with pytest.raises(errors.InvalidScheduleError):
        estate.add_person(Person("bad", Role.STAFF, schedule=(window,)))
    assert estate.find_person("bad") is None
    with pytest.raises(errors.InvalidScheduleError):
        estate.update_person("alice", schedule=(window,))
    assert estate.get_person("alice").schedule == ()


# ------------------------------------------------------------------ credentials
def test_duplicate_credentials(estate: Store) -> None:
    estate.add_person(Person("bob", Role.CO_RESIDENT, unit_id="a101"))
    estate.add_credential(card("c1", "alice"))
    with pytest.raises(errors.DuplicateCredentialError) as same_id:
        estate.add_credential(card("c1", "bob", H2))
    assert same_id.value.code == "duplicate_credential"
    with pytest.raises(errors.DuplicateCredentialError):
        estate.add_credential(card("c2", "bob"))  # the same live card for a second person
    # The same secret under another kind is another credential.
    estate.add_credential(Credential("p1", "bob", CredentialKind.PIN, H1))
    assert estate.count_credentials() == 2


def test_unknown_ids_raise(estate: Store) -> None:
    with pytest.raises(errors.UnknownUnitError):
        estate.get_unit("nope")
    with pytest.raises(errors.UnknownUnitError):
        estate.update_unit("nope", rent_arrears=True)
    with pytest.raises(errors.UnknownUnitError):
        estate.remove_unit("nope")
    with pytest.raises(errors.UnknownPersonError):
        estate.get_person("nope")
    with pytest.raises(errors.UnknownPersonError):
        estate.update_person("nope", blocked=True)
    with pytest.raises(errors.UnknownPersonError):
        estate.remove_person("nope")
    with pytest.raises(errors.UnknownPersonError):
        estate.add_credential(card("c1", "nope"))
    with pytest.raises(errors.UnknownCredentialError):
        estate.get_credential("nope")
    with pytest.raises(errors.UnknownCredentialError):
        estate.revoke_credential("nope")
    with pytest.raises(errors.UnknownGateError):
        estate.get_gate("nope")
    assert estate.find_unit("nope") is None
    assert estate.find_unit(None) is None
    assert estate.find_person("nope") is None
    assert estate.find_person(None) is None
    assert estate.get_passage(12345) is None
    for cls in (errors.UnknownUnitError, errors.UnknownPersonError, errors.UnknownGateError):
        assert issubclass(cls, errors.NotFoundError)


def test_revoke_twice(estate: Store) -> None:
    estate.add_credential(card("c1", "alice"))
    revoked = estate.revoke_credential("c1", at=500.0)
    assert revoked.revoked_at == 500.0
    assert estate.get_credential("c1").revoked_at == 500.0
    with pytest.raises(errors.CredentialAlreadyRevokedError):
        estate.revoke_credential("c1")
    assert estate.get_credential("c1").revoked_at == 500.0
    assert estate.count_credentials() == 0
    assert estate.count_credentials(live_only=False) == 1


def test_revoked_card_can_be_reissued_and_live_one_wins(estate: Store) -> None:
    estate.add_person(Person("bob", Role.CO_RESIDENT, unit_id="a101"))
    estate.add_credential(card("old", "alice"))
    estate.revoke_credential("old", at=100.0)
    assert estate.find_credential(CredentialKind.CARD, H1).id == "old"
    estate.add_credential(card("new", "bob"))  # the card handed on to another person
    found = estate.find_credential(CredentialKind.CARD, H1)
    assert (found.id, found.person_id, found.revoked_at) == ("new", "bob", None)
    with pytest.raises(errors.DuplicateCredentialError):
        estate.add_credential(card("third", "alice"))
    estate.revoke_credential("new", at=200.0)
    assert estate.find_credential(CredentialKind.CARD, H1).id == "new"  # latest revoked
    estate.add_credential(card("third", "alice"))
    assert estate.find_credential(CredentialKind.CARD, H1).id == "third"
    assert estate.find_credential(CredentialKind.CARD, H2) is None
    assert estate.find_credential(CredentialKind.PIN, H1) is None


def test_list_credentials_of_a_person(estate: Store) -> None:
    estate.add_credential(card("c1", "alice", created_at=10.0))
    estate.add_credential(Credential("p1", "alice", CredentialKind.PIN, H2, created_at=20.0))
    assert [c.id for c in estate.list_credentials("alice")] == ["c1", "p1"]
    assert estate.list_credentials("nobody") == []


def test_remove_person_cascades_credentials(estate: Store) -> None:
    estate.add_credential(card("c1", "alice"))
    estate.add_credential(Credential("p1", "alice", CredentialKind.PIN, H2))
    estate.add_passage(passage(1.0, person_id="alice", credential_id="c1"))
    estate.remove_person("alice")
    assert estate.find_person("alice") is None
    assert estate.count_credentials(live_only=False) == 0
    with pytest.raises(errors.UnknownCredentialError):
        estate.get_credential("c1")
    assert estate.find_credential(CredentialKind.CARD, H1) is None
    # Passages are history: they keep the bare id until retention removes them.
    assert estate.recent_passages(person_id="alice")[0].credential_id == "c1"


def test_remove_unit_in_use(estate: Store) -> None:
    with pytest.raises(errors.UnitInUseError) as info:
        estate.remove_unit("a101")
    assert info.value.placeholders["count"] == "1"
    assert estate.get_unit("a101").id == "a101"
    estate.remove_person("alice")
    estate.remove_unit("a101")
    assert estate.find_unit("a101") is None
    estate.remove_unit("b201")
    assert estate.count_units() == 0


# ------------------------------------------------------------------------ gates
def test_gates_upsert_list_remove(store: Store) -> None:
    store.upsert_gate(Gate("main", "Main"))
    store.upsert_gate(Gate("main", "Main gate", direction=Direction.IN))
    store.upsert_gate(Gate("door", "Door", GateKind.BUILDING_DOOR, building="A"))
    assert store.list_gates() == [
        Gate("door", "Door", GateKind.BUILDING_DOOR, Direction.BOTH, "A"),
        Gate("main", "Main gate", GateKind.ESTATE_GATE, Direction.IN, None),
    ]
    store.remove_gate("door")
    assert [g.id for g in store.list_gates()] == ["main"]


# --------------------------------------------------------------------- passages
def test_passage_round_trip_all_fields(store: Store) -> None:
    p = Passage(
        ts=1234.5,
        gate_id="main",
        direction=Direction.OUT,
        method=Method.FACE,
        allowed=False,
        reason=Reason.UNKNOWN_CREDENTIAL,
        person_id=None,
        unit_id=None,
        credential_id=None,
        distance=0.71,
        cluster_id="k0001",
        note="tailgating?",
        flags=("a", "b"),
    )
    stored = store.add_passage(p)
    assert stored.id is not None
    assert stored == replace(p, id=stored.id)
    assert store.get_passage(stored.id) == stored


def test_recent_passages_paging(store: Store) -> None:
    ids = [
        store.add_passage(
            passage(float(i), gate_id="main" if i % 2 else "door", person_id=f"p{i % 3}")
        ).id
        for i in range(10)
    ]
    page1 = store.recent_passages(limit=4)
    assert [p.id for p in page1] == ids[::-1][:4]
    page2 = store.recent_passages(limit=4, before_id=page1[-1].id)
    assert [p.id for p in page2] == ids[::-1][4:8]
    page3 = store.recent_passages(limit=4, before_id=page2[-1].id)
    assert [p.id for p in page3] == ids[::-1][8:]
    assert store.recent_passages(limit=4, before_id=ids[0]) == []
    by_gate = store.recent_passages(gate_id="door")
    assert [p.ts for p in by_gate] == [8.0, 6.0, 4.0, 2.0, 0.0]
    by_both = store.recent_passages(gate_id="door", person_id="p0", limit=10)
    assert [p.ts for p in by_both] == [6.0, 0.0]
    assert [p.ts for p in store.recent_passages(person_id="p1", before_id=ids[7])] == [4.0, 1.0]


def test_count_passages_since(store: Store) -> None:
    store.add_passages(passage(float(t)) for t in range(100, 200))
    assert store.count_passages() == 100
    assert store.count_passages(since=150.0) == 50
    assert store.count_passages(since=150.5) == 49
    assert store.count_passages(since=1000.0) == 0


def test_last_seen_counts_only_allowed_passages(store: Store) -> None:
    assert store.last_seen("alice") is None
    store.add_passage(passage(100.0, person_id="alice"))
    store.add_passage(passage(300.0, person_id="alice"))
    store.add_passage(
        passage(400.0, person_id="alice", allowed=False, reason=Reason.PERSON_BLOCKED)
    )
    store.add_passage(passage(500.0, person_id="bob"))
    assert store.last_seen("alice") == 300.0
    assert store.last_seen("bob") == 500.0
    assert store.last_seen("carol") is None


def test_purge_passages_deletes_only_old_rows(store: Store) -> None:
    store.add_passages(passage(float(t), person_id="alice") for t in range(1, 101))
    deleted = store.purge_passages(51.0, batch=7)  # several batches, last one partial
    assert deleted == 50
    assert store.count_passages() == 50
    remaining = [p.ts for p in store.recent_passages(limit=100)]
    assert min(remaining) == 51.0
    assert max(remaining) == 100.0
    assert store.purge_passages(51.0) == 0
    assert store.purge_passages(0.0) == 0
    assert store.count_passages() == 50


def test_purge_exact_multiple_of_batch(store: Store) -> None:
    store.add_passages(passage(float(t)) for t in range(20))
    assert store.purge_passages(10.0, batch=5) == 10
    assert store.count_passages() == 10


def test_add_passage_count_use_increments_uses(estate: Store) -> None:
    estate.add_credential(card("c1", "alice"))
    estate.add_passage(passage(1.0, credential_id="c1"), count_use=True)
    estate.add_passage(passage(2.0, credential_id="c1"), count_use=True)
    estate.add_passage(passage(3.0, credential_id="c1"))  # not counted
    estate.add_passage(passage(4.0), count_use=True)  # no credential: nothing to count
    assert estate.get_credential("c1").uses == 2
    assert estate.count_passages() == 4


def test_failed_transaction_leaves_no_partial_write(estate: Store) -> None:
    estate.add_credential(card("c1", "alice"))
    with pytest.raises(sqlite3.Error):
        estate.add_passages(
            [passage(1.0), passage(None)]  # type: ignore[arg-type]  # ts is NOT NULL
        )
    assert estate.count_passages() == 0
    # The connection is usable afterwards (no transaction left open).
    estate.add_passage(passage(2.0))
    assert estate.count_passages() == 1


def test_database_files_are_private(tmp_path: Path) -> None:
    """Issue 13 h: the database (names, credential hashes, passages) is readable by its
    owner only, like the key file; SQLite gives -wal and -shm the database's mode."""
    old = os.umask(0o022)  # the usual umask, which made the file 0644
    try:
        path = tmp_path / "new.db"
        store = Store.open(path)
        store.add_unit(Unit(id="u1", building="3", number="1201"))
        for name in ("new.db", "new.db-wal", "new.db-shm"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
        store.close()
        # A database an earlier version created 0644 is made private when opened.
        os.chmod(path, 0o644)
        Store.open(path).close()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_people_are_paged_in_id_order(tmp_path: Path) -> None:
    from custom_components.community_gate.core.model import Person, Role

    store = Store.open(tmp_path / "paged.db")
    store.add_people(Person(id=f"p{i:02d}", role=Role.STAFF) for i in (5, 1, 3, 2, 4))
    generation = store.generation
    pages, after = [], None
    while page := store.people_page(after, 2):
        pages.append([p.id for p in page])
        after = page[-1].id
    assert pages == [["p01", "p02"], ["p03", "p04"], ["p05"]]
    assert store.generation == generation  # reading changes nothing
    store.update_person("p03", blocked=True)
    assert store.generation == generation + 1
    store.close()
