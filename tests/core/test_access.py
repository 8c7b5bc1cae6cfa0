"""AccessControl: clear values in, keyed hashes stored, decisions and passages out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from custom_components.community_gate.core import errors
from custom_components.community_gate.core.access import AccessControl, default_direction, new_id
from custom_components.community_gate.core.crypto import Hasher
from custom_components.community_gate.core.model import (
    CredentialKind as K,
    Direction,
    Gate,
    GateKind,
    Method,
    Passage,
    Person,
    Reason,
    Role,
)
from custom_components.community_gate.core.store import Store
from tests.core.conftest import CST, NOW

T = NOW.timestamp()
HOUR = 3600.0
ID_NUMBER = "11010519491231002X"


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, CST)


@pytest.fixture
def main(ac: AccessControl) -> Gate:
    return ac.store.get_gate("main")


@pytest.fixture
def door_b(ac: AccessControl) -> Gate:
    return ac.store.upsert_gate(Gate("door-b", "Door B", GateKind.BUILDING_DOOR, building="B"))


# ------------------------------------------------------------------ credentials
def test_card_is_stored_as_a_keyed_hash_and_any_reader_format_matches(
    ac: AccessControl, hasher: Hasher, main: Gate
) -> None:
    cred, token = ac.add_credential("alice", K.CARD, "0012345678", credential_id="card-1")
    assert token is None
    assert cred.id == "card-1"
    assert cred.secret_hash == hasher.hash("card", "12345678")
    for presented in ("12345678", "0xBC614E", " 0012345678 ", 12345678):
        d = ac.evaluate(main, K.CARD, presented, NOW)
        assert (d.allowed, d.reason, d.person_id, d.credential_id, d.unit_id) == (
            True,
            Reason.GRANTED,
            "alice",
            "card-1",
            "a101",
        )


def test_clear_values_never_reach_the_database_file(
    ac: AccessControl, db_path: Path, main: Gate
) -> None:
    ac.add_credential("alice", K.ID_CARD, ID_NUMBER)
    ac.add_credential("alice", K.PIN, "73914628")
    ac.add_credential("alice", K.CARD, "987654321")
    ac.store.close()
    blob = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.is_file())
    for clear in (ID_NUMBER, "73914628", "987654321"):
        assert clear.encode() not in blob


def test_qr_without_value_generates_a_token_that_grants(ac: AccessControl, main: Gate) -> None:
    cred, token = ac.add_credential("alice", K.QR, None)
    assert token is not None
    assert len(token) == 24
    assert token not in cred.secret_hash
    assert cred.id.startswith("cred_")
    d = ac.evaluate(main, K.QR, token, NOW)
    assert (d.allowed, d.reason, d.credential_id) == (True, Reason.GRANTED, cred.id)
    other = ac.evaluate(main, K.QR, token[::-1] + "x", NOW)
    assert (other.allowed, other.reason) == (False, Reason.UNKNOWN_CREDENTIAL)
    _, second = ac.add_credential("alice", K.QR, "")
    assert second is not None
    assert second != token


def test_qr_with_a_given_value(ac: AccessControl, main: Gate) -> None:
    _, token = ac.add_credential("alice", K.QR, "PrintedPass-000001")
    assert token is None
    assert ac.evaluate(main, K.QR, "PrintedPass-000001", NOW).allowed


def test_missing_or_malformed_value_stores_nothing(ac: AccessControl) -> None:
    with pytest.raises(errors.InvalidCredentialValueError):
        ac.add_credential("alice", K.CARD, None)
    with pytest.raises(errors.InvalidCredentialValueError) as info:
        ac.add_credential("alice", K.ID_CARD, "110105194912310021")
    assert "110105194912310021" not in str(info.value)
    with pytest.raises(errors.InvalidCredentialValueError):
        ac.add_credential("alice", K.FACE, "0.1,0.2")
    with pytest.raises(errors.InvalidIdError):
        ac.add_credential("alice", K.CARD, "1", credential_id="bad id")
    assert ac.store.count_credentials(live_only=False) == 0


def test_same_card_for_two_people_is_a_duplicate(ac: AccessControl) -> None:
    ac.store.add_person(Person("bob", Role.CO_RESIDENT, unit_id="a101"))
    ac.add_credential("alice", K.CARD, "42")
    with pytest.raises(errors.DuplicateCredentialError):
        ac.add_credential("bob", K.CARD, "0x2A")
    # A PIN with the same digits is another credential.
    ac.add_credential("bob", K.PIN, "0042")


def test_secret_hash_normalises(ac: AccessControl) -> None:
    assert ac.secret_hash(K.ID_CARD, ID_NUMBER.lower()) == ac.secret_hash(K.ID_CARD, ID_NUMBER)
    assert ac.secret_hash(K.CARD, "42") != ac.secret_hash(K.PIN, "0042")


# -------------------------------------------------------------------- evaluate
def test_malformed_value_is_a_logged_denial_not_an_error(ac: AccessControl, main: Gate) -> None:
    for kind, garbage in ((K.CARD, "zz-not-a-card"), (K.PIN, "12"), (K.CARD, None), (K.FACE, "x")):
        d = ac.evaluate(main, kind, garbage, NOW)
        assert (d.allowed, d.reason, d.person_id) == (False, Reason.MALFORMED_CREDENTIAL, None)
        p = ac.record(d, gate=main, method=Method.CARD)
        assert p.reason is Reason.MALFORMED_CREDENTIAL
    assert ac.store.count_passages() == 4


def test_emergency_opens_for_malformed_and_unknown(ac: AccessControl, main: Gate) -> None:
    d = ac.evaluate(main, K.CARD, "zz-not-a-card", NOW, emergency=True)
    assert (d.allowed, d.reason) == (True, Reason.EMERGENCY_OPEN)
    d = ac.evaluate(main, K.CARD, "999", NOW, emergency=True)
    assert (d.allowed, d.reason) == (True, Reason.EMERGENCY_OPEN)


def test_unknown_and_revoked(ac: AccessControl, main: Gate) -> None:
    assert ac.evaluate(main, K.CARD, "777", NOW).reason is Reason.UNKNOWN_CREDENTIAL
    cred, _ = ac.add_credential("alice", K.CARD, "777")
    ac.store.revoke_credential(cred.id, at=T - HOUR)
    d = ac.evaluate(main, K.CARD, "777", NOW)
    assert (d.allowed, d.reason, d.person_id) == (False, Reason.CREDENTIAL_REVOKED, "alice")


def test_direction_defaults_to_the_gate_side(ac: AccessControl) -> None:
    ac.add_credential("alice", K.CARD, "1")
    exit_gate = ac.store.get_gate("exit")
    assert default_direction(exit_gate) is Direction.OUT
    assert default_direction(Gate("g", "G")) is Direction.IN
    assert ac.evaluate(exit_gate, K.CARD, "1", NOW).reason is Reason.GRANTED
    d = ac.evaluate(exit_gate, K.CARD, "1", NOW, direction=Direction.IN)
    assert d.reason is Reason.DIRECTION_NOT_ALLOWED


def test_rent_arrears_flag_recorded(ac: AccessControl, main: Gate) -> None:
    ac.store.update_unit("a101", rent_arrears=True)
    ac.add_credential("alice", K.CARD, "1")
    d = ac.evaluate(main, K.CARD, "1", NOW)
    assert d.allowed
    assert d.flags == ("rent_arrears",)
    p = ac.record(d, gate=main, method=Method.CARD, extra_flags=("tailgate_suspect",))
    assert ac.store.get_passage(p.id or 0).flags == ("rent_arrears", "tailgate_suspect")


def test_counted_use_makes_a_one_time_card_used_up(ac: AccessControl, main: Gate) -> None:
    cred, _ = ac.add_credential("alice", K.CARD, "5", max_uses=1)
    first = ac.evaluate(main, K.CARD, "5", NOW)
    assert first.reason is Reason.GRANTED
    ac.record(first, gate=main, method=Method.CARD)  # the use is counted with the row
    assert ac.store.get_credential(cred.id).uses == 1
    second = ac.evaluate(main, K.CARD, "5", NOW)
    assert (second.allowed, second.reason) == (False, Reason.CREDENTIAL_USED_UP)
    ac.record(second, gate=main, method=Method.CARD)  # a denial uses nothing
    assert ac.store.get_credential(cred.id).uses == 1


def test_one_time_pass_presented_twice_before_any_record_opens_once(
    ac: AccessControl, main: Gate
) -> None:
    vp = ac.issue_visitor_pass(
        valid_from=T - HOUR, valid_until=T + HOUR, host_unit_id="a101", max_uses=1
    )
    first = ac.evaluate(main, K.QR, vp.token, NOW)
    second = ac.evaluate(main, K.QR, vp.token, NOW)  # while the gate is still opening
    assert (first.allowed, first.reason) == (True, Reason.GRANTED)
    assert (second.allowed, second.reason) == (False, Reason.CREDENTIAL_USED_UP)
    assert ac.store.get_credential(vp.credential.id).uses == 1


def test_unlimited_credentials_keep_the_decision_read_only(
    ac: AccessControl, main: Gate, db_path: Path
) -> None:
    cred, _ = ac.add_credential("alice", K.CARD, "8")
    before = ac.store.conn.total_changes
    for _ in range(5):
        assert ac.evaluate(main, K.CARD, "8", NOW).allowed
    assert ac.store.conn.total_changes == before  # no write, so no fsync, per decision
    assert ac.store.get_credential(cred.id).uses == 0


def test_store_count_use_exhausts_the_credential(ac: AccessControl, main: Gate) -> None:
    cred, _ = ac.add_credential("alice", K.PIN, "2468", max_uses=2)
    for ts in (1.0, 2.0):
        ac.store.add_passage(
            Passage(ts, "main", Direction.IN, Method.PIN, True, Reason.GRANTED,
                    person_id="alice", credential_id=cred.id),
            count_use=True,
        )  # fmt: skip
    assert ac.store.get_credential(cred.id).uses == 2
    d = ac.evaluate(main, K.PIN, "2468", NOW)
    assert (d.allowed, d.reason) == (False, Reason.CREDENTIAL_USED_UP)


# ------------------------------------------------------------------ record
def test_record_writes_a_row_readable_after_reopen(
    ac: AccessControl, db_path: Path, hasher: Hasher, main: Gate
) -> None:
    cred, _ = ac.add_credential("alice", K.CARD, "31337", max_uses=5)
    d = ac.evaluate(main, K.CARD, "31337", NOW)
    p = ac.record(d, gate=main, method=Method.CARD, ts=T, note="first", distance=None)
    denied = ac.record(
        ac.evaluate(main, K.CARD, "404", NOW),
        gate=main,
        method=Method.FACE,
        direction=Direction.OUT,
        ts=T + 1,
        distance=0.72,
        cluster_id="k0007",
    )
    ac.store.close()

    again = Store.open(db_path)
    try:
        rows = again.recent_passages(gate_id="main")
        assert [r.id for r in rows] == [denied.id, p.id]
        row = rows[1]
        assert (row.ts, row.gate_id, row.direction, row.method) == (
            T,
            "main",
            Direction.IN,
            Method.CARD,
        )
        assert (row.allowed, row.reason, row.person_id, row.unit_id, row.credential_id) == (
            True,
            Reason.GRANTED,
            "alice",
            "a101",
            cred.id,
        )
        assert row.note == "first"
        stranger = rows[0]
        assert (stranger.allowed, stranger.reason, stranger.person_id) == (
            False,
            Reason.UNKNOWN_CREDENTIAL,
            None,
        )
        assert (stranger.direction, stranger.distance, stranger.cluster_id) == (
            Direction.OUT,
            0.72,
            "k0007",
        )
        assert again.last_seen("alice") == T
        assert again.get_credential(cred.id).uses == 1
        # The reopened store still decides.
        assert AccessControl(again, hasher).evaluate(main, K.CARD, "31337", NOW).allowed
    finally:
        again.close()


def test_record_defaults_ts_to_now(ac: AccessControl, main: Gate) -> None:
    import time

    before = time.time()
    p = ac.record(ac.evaluate(main, K.CARD, "1", NOW), gate=main, method=Method.CARD)
    assert before <= p.ts <= time.time()
    assert p.id is not None


# --------------------------------------------------------------- visitor passes
def test_visitor_pass_for_a_new_visitor_of_a_host_unit(
    ac: AccessControl, main: Gate, door_b: Gate
) -> None:
    people_before = ac.store.count_people()
    vp = ac.issue_visitor_pass(
        valid_from=T, valid_until=T + 4 * HOUR, host_unit_id="a101", display_name="Plumber"
    )
    assert ac.store.count_people() == people_before + 1
    v = ac.store.get_person(vp.person.id)
    assert v == vp.person
    assert v.id.startswith("visitor_")
    assert (v.role, v.unit_id, v.display_name) == (Role.VISITOR, "a101", "Plumber")
    assert (v.valid_from, v.valid_until) == (T, T + 4 * HOUR)
    assert (vp.credential.kind, vp.credential.person_id) == (K.QR, v.id)
    assert (vp.credential.valid_from, vp.credential.valid_until) == (T, T + 4 * HOUR)

    door_a = ac.store.get_gate("door-a")

    def reason(gate: Gate, ts: float) -> Reason:
        return ac.evaluate(gate, K.QR, vp.token, at(ts)).reason

    assert reason(main, T) is Reason.GRANTED
    assert reason(main, T + 4 * HOUR - 1) is Reason.GRANTED
    assert reason(door_a, T + HOUR) is Reason.GRANTED  # the host's building
    assert reason(door_b, T + HOUR) is Reason.GATE_NOT_ALLOWED  # another building
    assert reason(main, T - 1) is Reason.CREDENTIAL_NOT_YET_VALID
    assert reason(main, T + 4 * HOUR) is Reason.CREDENTIAL_EXPIRED
    assert reason(main, T + 48 * HOUR) is Reason.CREDENTIAL_EXPIRED


def test_visitor_pass_restricted_to_gates(ac: AccessControl, main: Gate) -> None:
    vp = ac.issue_visitor_pass(
        valid_from=T - HOUR,
        valid_until=T + HOUR,
        host_unit_id="b201",
        allowed_gates=frozenset({"main"}),
    )
    assert vp.person.allowed_gates == frozenset({"main"})
    assert ac.store.get_person(vp.person.id).allowed_gates == frozenset({"main"})
    assert ac.evaluate(main, K.QR, vp.token, NOW).reason is Reason.GRANTED
    door_a = ac.store.get_gate("door-a")
    assert ac.evaluate(door_a, K.QR, vp.token, NOW).reason is Reason.GATE_NOT_ALLOWED


def test_one_time_visitor_pass(ac: AccessControl, main: Gate) -> None:
    vp = ac.issue_visitor_pass(
        valid_from=T - HOUR, valid_until=T + HOUR, host_unit_id="a101", max_uses=1
    )
    d = ac.evaluate(main, K.QR, vp.token, NOW)
    assert d.allowed
    ac.record(d, gate=main, method=Method.QR)
    d2 = ac.evaluate(main, K.QR, vp.token, NOW)
    assert (d2.allowed, d2.reason) == (False, Reason.CREDENTIAL_USED_UP)


def test_visitor_pass_for_an_existing_person(ac: AccessControl, main: Gate) -> None:
    ac.store.add_person(Person("courier", Role.SERVICE, "Courier", company="Express"))
    vp = ac.issue_visitor_pass(valid_from=T - HOUR, valid_until=T + HOUR, person_id="courier")
    assert vp.person.id == "courier"
    assert vp.credential.person_id == "courier"
    assert ac.store.count_people() == 2  # nobody new
    d = ac.evaluate(main, K.QR, vp.token, NOW)
    assert (d.allowed, d.person_id) == (True, "courier")
    assert ac.evaluate(main, K.QR, vp.token, at(T + HOUR)).reason is Reason.CREDENTIAL_EXPIRED


def test_second_pass_for_a_returning_visitor_works(ac: AccessControl, main: Gate) -> None:
    first = ac.issue_visitor_pass(valid_from=T, valid_until=T + HOUR, host_unit_id="a101")
    day = 24 * HOUR
    second = ac.issue_visitor_pass(
        valid_from=T + 7 * day, valid_until=T + 7 * day + HOUR, person_id=first.person.id
    )
    assert second.person.id == first.person.id
    d = ac.evaluate(main, K.QR, second.token, at(T + 7 * day + 60))
    assert (d.allowed, d.reason) == (True, Reason.GRANTED)
    # The first pass stays bound to its own window.
    old = ac.evaluate(main, K.QR, first.token, at(T + 7 * day + 60))
    assert old.reason is Reason.CREDENTIAL_EXPIRED


def test_visitor_pass_errors(ac: AccessControl) -> None:
    people = ac.store.count_people()
    with pytest.raises(errors.UnknownUnitError):
        ac.issue_visitor_pass(valid_from=T, valid_until=T + HOUR, host_unit_id="nope")
    with pytest.raises(errors.UnknownGateError):
        ac.issue_visitor_pass(
            valid_from=T,
            valid_until=T + HOUR,
            host_unit_id="a101",
            allowed_gates=frozenset({"main", "nope"}),
        )
    with pytest.raises(errors.UnknownPersonError):
        ac.issue_visitor_pass(valid_from=T, valid_until=T + HOUR, person_id="nope")
    with pytest.raises(errors.InvalidValueError):
        ac.issue_visitor_pass(valid_from=T, valid_until=T + HOUR)
    with pytest.raises(errors.InvalidValidityError):
        ac.issue_visitor_pass(valid_from=T, valid_until=T, host_unit_id="a101")
    with pytest.raises(errors.UnknownGateError):
        ac.issue_visitor_pass(
            valid_from=T, valid_until=T + HOUR, person_id="alice", allowed_gates=frozenset({"x"})
        )
    # A failed issue leaves nothing behind: no half-made visitor, no credential.
    assert ac.store.count_people() == people
    assert ac.store.count_credentials(live_only=False) == 0
    assert ac.store.get_person("alice").allowed_gates == frozenset()


def test_new_id_shape() -> None:
    ids = {new_id("cred") for _ in range(100)}
    assert len(ids) == 100
    assert all(i.startswith("cred_") and len(i) == 17 for i in ids)


def test_visitor_pass_gate_limits_never_narrow_a_resident(ac: AccessControl, main: Gate) -> None:
    """A temporary QR for a resident must not rewrite the gates their card opens."""
    before = ac.store.get_person("alice")
    assert before.role is not Role.VISITOR
    with pytest.raises(errors.InvalidValueError) as exc:
        ac.issue_visitor_pass(
            valid_from=NOW.timestamp(),
            valid_until=NOW.timestamp() + 3600,
            person_id="alice",
            allowed_gates=frozenset({main.id}),
        )
    assert exc.value.placeholders == {"field": "allowed_gates"}
    assert ac.store.get_person("alice") == before
    assert ac.store.list_credentials("alice") == []
    # Without gate limits the resident may get a temporary pass.
    vp = ac.issue_visitor_pass(
        valid_from=NOW.timestamp(), valid_until=NOW.timestamp() + 3600, person_id="alice"
    )
    assert ac.evaluate(main, K.QR, vp.token, NOW).allowed
