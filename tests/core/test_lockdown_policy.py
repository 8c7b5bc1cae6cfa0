"""Lockdown in the pure decision path: every credential refused with ``lockdown`` except
staff ones; refusals keep their own reason; an emergency still opens everything."""

from __future__ import annotations

import pytest

from custom_components.community_gate.core.access import AccessControl, apply_lockdown
from custom_components.community_gate.core.model import (
    CredentialKind as K,
    Decision,
    Gate,
    Person,
    Reason,
    Role,
    Unit,
)
from tests.core.conftest import NOW

T = NOW.timestamp()


@pytest.fixture
def main(ac: AccessControl) -> Gate:
    ac.store.add_person(Person("guard", Role.STAFF, "Guard"))
    ac.store.add_person(Person("courier", Role.SERVICE, "Courier"))
    ac.add_credential("alice", K.CARD, "1001")
    ac.add_credential("guard", K.CARD, "2002")
    ac.add_credential("courier", K.PIN, "30033003")
    return ac.store.get_gate("main")


def test_residents_and_service_refused_staff_pass(ac: AccessControl, main: Gate) -> None:
    resident = ac.evaluate(main, K.CARD, "1001", NOW, lockdown=True)
    assert (resident.allowed, resident.reason, resident.person_id) == (
        False,
        Reason.LOCKDOWN,
        "alice",
    )
    courier = ac.evaluate(main, K.PIN, "30033003", NOW, lockdown=True)
    assert (courier.allowed, courier.reason) == (False, Reason.LOCKDOWN)
    staff = ac.evaluate(main, K.CARD, "2002", NOW, lockdown=True)
    assert (staff.allowed, staff.reason, staff.person_id) == (True, Reason.GRANTED, "guard")
    # Lifted: the resident passes again.
    assert ac.evaluate(main, K.CARD, "1001", NOW).reason is Reason.GRANTED


def test_emergency_opens_everything_during_lockdown(ac: AccessControl, main: Gate) -> None:
    for kind, value in ((K.CARD, "1001"), (K.CARD, "424242"), (K.CARD, "not a card!")):
        d = ac.evaluate(main, kind, value, NOW, lockdown=True, emergency=True)
        assert (d.allowed, d.reason) == (True, Reason.EMERGENCY_OPEN)
    face = ac.evaluate_face(main, "alice", "tpl", NOW, lockdown=True, emergency=True)
    assert face.reason is Reason.EMERGENCY_OPEN


def test_refusals_keep_their_own_reason(ac: AccessControl, main: Gate) -> None:
    """An unknown card is still a failed guess (the throttle and brute_force count it);
    a blocked staff member is still blocked."""
    assert ac.evaluate(main, K.CARD, "999999", NOW, lockdown=True).reason is (
        Reason.UNKNOWN_CREDENTIAL
    )
    assert ac.evaluate(main, K.CARD, "x!", NOW, lockdown=True).reason is (
        Reason.MALFORMED_CREDENTIAL
    )
    ac.store.update_person("guard", blocked=True)
    assert ac.evaluate(main, K.CARD, "2002", NOW, lockdown=True).reason is Reason.PERSON_BLOCKED


def test_faces_follow_the_same_rule(ac: AccessControl, main: Gate) -> None:
    resident = ac.evaluate_face(main, "alice", "tpl-a", NOW, lockdown=True)
    assert (resident.allowed, resident.reason) == (False, Reason.LOCKDOWN)
    staff = ac.evaluate_face(main, "guard", "tpl-g", NOW, lockdown=True)
    assert (staff.allowed, staff.reason) == (True, Reason.GRANTED)
    stranger = ac.evaluate_face(main, None, None, NOW, lockdown=True)
    assert stranger.reason is Reason.UNKNOWN_CREDENTIAL  # still an unknown face for the rules


def test_a_one_time_pass_refused_in_lockdown_is_not_used_up(ac: AccessControl, main: Gate) -> None:
    vp = ac.issue_visitor_pass(
        valid_from=T - 60, valid_until=T + 3600, host_unit_id="a101", max_uses=1
    )
    refused = ac.evaluate(main, K.QR, vp.token, NOW, lockdown=True)
    assert refused.reason is Reason.LOCKDOWN
    assert ac.store.get_credential(vp.credential.id).uses == 0
    assert ac.evaluate(main, K.QR, vp.token, NOW).reason is Reason.GRANTED


def test_a_refused_arrears_resident_raises_no_arrears_nudge(ac: AccessControl, main: Gate) -> None:
    ac.store.add_unit(Unit("c301", "C", "301", rent_arrears=True))
    ac.store.add_person(Person("bob", Role.TENANT, unit_id="c301"))
    ac.add_credential("bob", K.CARD, "3003")
    assert ac.evaluate(main, K.CARD, "3003", NOW).flags == ("rent_arrears",)
    d = ac.evaluate(main, K.CARD, "3003", NOW, lockdown=True)
    assert (d.reason, d.flags, d.unit_id) == (Reason.LOCKDOWN, (), "c301")


def test_apply_lockdown_is_pure() -> None:
    granted = Decision(True, Reason.GRANTED, "p", "c", "u", ("short_pin",))
    staff = Person("s", Role.STAFF)
    tenant = Person("t", Role.TENANT, unit_id="u")
    assert apply_lockdown(granted, staff) is granted
    assert apply_lockdown(granted, tenant) == Decision(False, Reason.LOCKDOWN, "p", "c", "u")
    assert apply_lockdown(granted, None).reason is Reason.LOCKDOWN
    remote = Decision(True, Reason.REMOTE_OPEN)
    assert apply_lockdown(remote, None) is remote  # who may open remotely is remote.py's
