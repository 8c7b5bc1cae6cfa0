"""Privacy rules on a real SQLite store: guardian consent for children, erasure with
pseudonymised history, subject access export, retention purge, the audit log and
sealed photos."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from pathlib import Path
import sqlite3

import numpy as np
import pytest

from custom_components.community_gate.core import errors
from custom_components.community_gate.core.access import AccessControl
from custom_components.community_gate.core.crypto import DecryptError, Hasher
from custom_components.community_gate.core.model import (
    CONSENT_FACE,
    Consent,
    CredentialKind,
    Direction,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    StoredCluster,
    Unit,
)
from custom_components.community_gate.core.privacy import (
    DAY,
    GuardianConsentRequiredError,
    PhotoVault,
    Retention,
    audit_entry,
    check_birth_year,
    erase_person,
    export_person,
    may_be_minor,
    photo_sealer,
    purge,
    record_face_consent,
)
from custom_components.community_gate.core.store import Store
from custom_components.community_gate.core.templates import TemplateVault, template_sealer
from tests.core.conftest import KEY

# 25 November 2026, noon UTC.
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp()
NAME = "Wang Fang"
CARD = "0012345678"
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "privacy.db", durable=False)
    s.add_unit(Unit("u1", "3", "1201"))
    s.add_person(Person("p1", Role.TENANT, NAME, "u1", birth_year=1980))
    s.add_person(Person("kid", Role.CO_RESIDENT, "Wang Xiaoming", "u1", birth_year=2015))
    s.add_person(Person("p2", Role.CO_RESIDENT, "Li", "u1"))
    return s


@pytest.fixture
def vault(store: Store) -> TemplateVault:
    return TemplateVault(store, template_sealer(KEY))


def vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, 128).astype(np.float32)


def passage(ts: float, person_id: str | None, **kw: object) -> Passage:
    return Passage(
        ts=ts,
        gate_id="east_gate",
        direction=Direction.IN,
        method=Method.CARD,
        allowed=person_id is not None,
        reason=Reason.GRANTED if person_id else Reason.UNKNOWN_CREDENTIAL,
        person_id=person_id,
        unit_id="u1" if person_id else None,
        **kw,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------- minors
@pytest.mark.parametrize(
    ("birth_year", "minor"),
    [(None, False), (1980, False), (2011, False), (2012, True), (2015, True), (2026, True)],
)
def test_may_be_minor_is_conservative_with_only_the_year(
    birth_year: int | None, minor: bool
) -> None:
    # In 2026 someone born in 2012 is 13 or 14: until the birthday is known, a minor.
    assert may_be_minor(Person("x", Role.TENANT, birth_year=birth_year), NOW) is minor


@pytest.mark.parametrize("year", [1899, 2027, True, "1980", 3.5])
def test_birth_year_out_of_range_is_refused(year: object) -> None:
    with pytest.raises(errors.InvalidValueError) as exc:
        check_birth_year(year, NOW)  # type: ignore[arg-type]
    assert exc.value.placeholders == {"field": "birth_year"}


def test_child_needs_guardian_consent(store: Store, vault: TemplateVault) -> None:
    with pytest.raises(GuardianConsentRequiredError) as exc:
        record_face_consent(store, "kid", notice_version="v1", operator="admin", guardian=False)
    assert exc.value.code == "guardian_consent_required"
    assert exc.value.placeholders == {"person_id": "kid"}
    assert store.list_consents("kid") == []
    consent = record_face_consent(
        store, "kid", notice_version="v1", operator="admin", guardian=True
    )
    assert consent.guardian is True
    assert vault.enroll("kid", vec(1)).person_id == "kid"


def test_enrollment_refused_when_a_child_consented_alone(
    store: Store, vault: TemplateVault
) -> None:
    """A birth year added after an adult-style consent: enrollment still asks for the
    guardian."""
    store.update_person("p2", birth_year=2016)
    store.add_consent(Consent("p2", CONSENT_FACE, "v1", NOW, "admin"))
    with pytest.raises(GuardianConsentRequiredError):
        vault.enroll("p2", vec(2))
    assert store.list_face_templates("p2") == []


def test_adult_consent_and_enrollment(store: Store, vault: TemplateVault) -> None:
    c = record_face_consent(store, "p1", notice_version="v1", operator="admin", guardian=False)
    assert (c.purpose, c.notice_version, c.operator) == (CONSENT_FACE, "v1", "admin")
    vault.enroll("p1", vec(3))
    assert len(store.list_face_templates("p1")) == 1


def test_birth_year_round_trips(store: Store) -> None:
    assert store.get_person("kid").birth_year == 2015
    assert store.update_person("kid", birth_year=None).birth_year is None
    assert store.get_person("kid").birth_year is None


# --------------------------------------------------------------------- erasure
def test_erase_person_removes_identity_and_keeps_pseudonymous_history(
    store: Store, vault: TemplateVault, tmp_path: Path
) -> None:
    ac = AccessControl(store, Hasher(KEY))
    card, _ = ac.add_credential("p1", CredentialKind.CARD, CARD)
    ac.add_credential("p1", CredentialKind.ID_CARD, ID_NUMBER)
    record_face_consent(store, "p1", notice_version="v1", operator="admin", guardian=False)
    vault.enroll("p1", vec(4))
    photos = PhotoVault(store, photo_sealer(KEY))
    photos.keep("p1", b"\xff\xd8raw-jpeg", days=7, now=NOW)
    store.add_passages(
        [passage(NOW - 10, "p1", credential_id=card.id), passage(NOW - 5, "p2"), passage(NOW, None)]
    )
    store.add_audit(audit_entry("admin", "add_person", "p1", now=NOW - 100))
    store.add_audit(audit_entry("admin", "add_person", "p2", now=NOW - 90))

    alias, counts = erase_person(store, "p1")

    assert alias.startswith("erased-")
    assert counts == {
        "face_templates": 1,
        "credentials": 2,
        "photos": 1,
        "consents": 1,
        "passages_pseudonymised": 1,
        "audit_pseudonymised": 1,
    }
    with pytest.raises(errors.UnknownPersonError):
        store.get_person("p1")
    assert store.find_person(alias) is None
    # History stays countable, but under the alias and without the credential.
    mine = store.recent_passages(person_id=alias)
    assert [(p.person_id, p.credential_id, p.unit_id) for p in mine] == [(alias, None, "u1")]
    assert store.count_passages() == 3
    assert [a.subject for a in store.query_audit()] == ["p2", alias]
    # The card no longer opens anything; the other person is untouched.
    assert store.find_credential(CredentialKind.CARD, card.secret_hash) is None
    assert store.get_person("p2").display_name == "Li"
    # Nothing of the person is left in the file: not in live rows, not in free pages
    # (secure_delete), not in the WAL (checkpointed).
    raw = (tmp_path / "privacy.db").read_bytes()
    wal = tmp_path / "privacy.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert NAME.encode() not in raw
    store.close()
    conn = sqlite3.connect(tmp_path / "privacy.db")
    dump = "\n".join(conn.iterdump())
    conn.close()
    assert NAME not in dump
    assert "'p1'" not in dump
    assert card.secret_hash not in dump


def test_erase_unknown_person(store: Store) -> None:
    with pytest.raises(errors.UnknownPersonError):
        erase_person(store, "nobody")
    with pytest.raises(errors.InvalidIdError):
        erase_person(store, "../etc")


def test_two_erasures_get_unlinkable_aliases(store: Store) -> None:
    a, _ = erase_person(store, "p1")
    b, _ = erase_person(store, "p2")
    assert a != b


# -------------------------------------------------------------- subject access
def test_export_holds_everything_and_no_secret(store: Store, vault: TemplateVault) -> None:
    ac = AccessControl(store, Hasher(KEY))
    card, _ = ac.add_credential("p1", CredentialKind.CARD, CARD)
    record_face_consent(store, "p1", notice_version="v7", operator="admin", guardian=False)
    tpl = vault.enroll("p1", vec(5))
    photo = PhotoVault(store, photo_sealer(KEY)).keep("p1", b"jpeg", days=7, now=NOW)
    store.add_passages([passage(NOW - 60, "p1"), passage(NOW - 30, "p2")])
    store.add_audit(audit_entry("admin", "add_credential", "p1", now=NOW))

    out = export_person(store, "p1")

    json.dumps(out)  # plain data: a service response
    assert out["person"]["name"] == NAME
    assert out["person"]["unit"] == {"building": "3", "number": "1201"}
    assert out["person"]["birth_year"] == 1980
    assert [c["notice_version"] for c in out["consents"]] == ["v7"]
    assert out["credentials"][0]["credential_id"] == card.id
    assert out["credentials"][0]["stored_as"] == "keyed_hash"
    assert [t["template_id"] for t in out["face_templates"]] == [tpl.id]
    assert [p["photo_id"] for p in out["photos"]] == [photo.id]
    assert len(out["passages"]) == 1
    assert out["audit"][0]["action"] == "add_credential"
    text = json.dumps(out)
    assert CARD not in text
    assert card.secret_hash not in text
    assert "sealed" not in {k for t in out["face_templates"] for k in t}


# ------------------------------------------------------------------- retention
def test_purge_respects_each_retention(store: Store, vault: TemplateVault) -> None:
    store.add_passages([passage(NOW - 181 * DAY, "p1"), passage(NOW - 179 * DAY, "p1")])
    old = vault.seal_cluster("old", vec(6), 3, NOW - 40 * DAY, NOW - 31 * DAY, ())
    new = vault.seal_cluster("new", vec(7), 3, NOW - 40 * DAY, NOW - 29 * DAY, ())
    store.save_clusters([old, new])
    photos = PhotoVault(store, photo_sealer(KEY))
    photos.keep("p1", b"a", days=7, now=NOW - 8 * DAY)
    kept = photos.keep("p1", b"b", days=7, now=NOW - 6 * DAY)

    assert purge(store, Retention(), NOW) == {"passages": 1, "clusters": 1, "photos": 1}
    assert store.count_passages() == 1
    assert [c.id for c in store.iter_clusters()] == ["new"]
    assert [p.id for p in store.list_photos("p1")] == [kept.id]
    # Shorter settings purge more.
    assert purge(store, Retention(passages=1, clusters=1, photos=1), NOW) == {
        "passages": 1,
        "clusters": 1,
        "photos": 0,  # a photo keeps the expiry it was stored with
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"passages": 0}, "passages"),
        ({"clusters": 3651}, "clusters"),
        ({"photos": -1}, "photos"),
        ({"photos": 1.5}, "photos"),
        ({"passages": True}, "passages"),
    ],
)
def test_retention_out_of_range(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(errors.InvalidValueError) as exc:
        Retention(**kwargs)  # type: ignore[arg-type]
    assert exc.value.placeholders["field"] == field


# ----------------------------------------------------------------------- audit
def test_audit_log_filters_and_pages(store: Store) -> None:
    for i in range(5):
        store.add_audit(audit_entry(f"user{i % 2}", "add_person", f"p{i}", now=NOW + i))
    store.add_audit(audit_entry(None, "set_emergency", None, "unauthorized", now=NOW + 9))
    assert store.count_audit() == 6
    newest = store.query_audit(limit=2)
    assert [a.subject for a in newest] == [None, "p4"]
    assert newest[0].user_id == "system"
    assert newest[0].outcome == "unauthorized"
    assert [a.subject for a in store.query_audit(user_id="user1")] == ["p3", "p1"]
    assert [a.subject for a in store.query_audit(subject="p2")] == ["p2"]
    assert len(store.query_audit(action="add_person", since=NOW + 1, until=NOW + 4)) == 3
    older = store.query_audit(before_id=newest[-1].id, limit=10)
    assert [a.subject for a in older] == ["p3", "p2", "p1", "p0"]


# ---------------------------------------------------------------------- photos
def test_photos_are_sealed_and_bound_to_their_row(store: Store) -> None:
    vault = PhotoVault(store, photo_sealer(KEY))
    photo = vault.keep("p1", b"\xff\xd8 the raw photo", days=7, now=NOW)
    assert b"the raw photo" not in photo.sealed
    assert photo.expires_at == NOW + 7 * DAY
    stored = store.list_photos("p1")[0]
    assert vault.open(stored) == b"\xff\xd8 the raw photo"
    moved = type(stored)(stored.id, "p2", stored.purpose, stored.sealed, 0.0, 0.0)
    with pytest.raises(DecryptError):
        vault.open(moved)
    with pytest.raises(DecryptError):
        PhotoVault(store, photo_sealer(bytes(32))).open(stored)


def test_cluster_model_untouched_by_privacy_columns(store: Store) -> None:
    # The migration adds tables; existing rows keep their shape.
    store.save_clusters([StoredCluster("k1", b"\x01" * 40, 1, NOW, NOW, (1,))])
    assert next(store.iter_clusters()).days == (1,)
