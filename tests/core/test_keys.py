"""Sealing-key rotation on a real store and real key files: every template, cluster and
photo moves to the new key in one transaction; a crash at any point leaves a set of
rows that the key on disk opens; the hash key (cards, IDs, PINs) never changes."""

from __future__ import annotations

from pathlib import Path
import stat

import numpy as np
import pytest

from custom_components.community_gate.core.access import AccessControl
from custom_components.community_gate.core.crypto import (
    DecryptError,
    Hasher,
    KeyFileError,
    load_or_create_key,
)
from custom_components.community_gate.core.keys import (
    SETTING_SEAL_FP,
    fingerprint,
    load_sealing_root,
    pending_key_path,
    rotate_sealing_key,
    seal_key_path,
)
from custom_components.community_gate.core.model import (
    CONSENT_FACE,
    Consent,
    CredentialKind,
    Person,
    Role,
    Unit,
)
from custom_components.community_gate.core.privacy import PhotoVault, photo_sealer
from custom_components.community_gate.core.store import Store
from custom_components.community_gate.core.templates import TemplateVault, template_sealer

NOW = 1_795_000_000.0
CARD = "0012345678"


def vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, 128).astype(np.float32)


class Estate:
    """A store with a hash key file, two templates, a cluster and a photo."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.hash_key = load_or_create_key(db.with_name(db.name + ".key"))
        self.store = Store.open(db, durable=False)
        self.root = load_sealing_root(db, self.store, self.hash_key)
        self.vault = TemplateVault(self.store, template_sealer(self.root))
        self.photos = PhotoVault(self.store, photo_sealer(self.root))

    def populate(self) -> None:
        s = self.store
        s.add_unit(Unit("u1", "3", "1201"))
        for pid in ("p1", "p2"):
            s.add_person(Person(pid, Role.TENANT, unit_id="u1"))
            s.add_consent(Consent(pid, CONSENT_FACE, "v1", NOW, "admin"))
        self.vault.enroll("p1", vec(1))
        self.vault.enroll("p2", vec(2))
        s.save_clusters([self.vault.seal_cluster("k1", vec(3), 4, NOW, NOW, (1,))])
        self.photos.keep("p1", b"raw photo bytes", days=7, now=NOW)
        AccessControl(s, Hasher(self.hash_key)).add_credential("p1", CredentialKind.CARD, CARD)

    def readable(self) -> dict[str, object]:
        """Opens everything with the vaults' current key (raises if any row does not)."""
        vault = TemplateVault(self.store, template_sealer(self.root))
        photos = PhotoVault(self.store, photo_sealer(self.root))
        return {
            "templates": {t.id: vault.open(t).tolist() for t in self.store.iter_face_templates()},
            "clusters": {c.id: vault.open_cluster(c).tolist() for c in self.store.iter_clusters()},
            "photos": {p.id: photos.open(p) for p in self.store.iter_photos()},
        }

    def reopen(self) -> None:
        self.store.close()
        self.store = Store.open(self.db, durable=False)
        self.root = load_sealing_root(self.db, self.store, self.hash_key)
        self.vault = TemplateVault(self.store, template_sealer(self.root))
        self.photos = PhotoVault(self.store, photo_sealer(self.root))

    def card_known(self) -> bool:
        h = AccessControl(self.store, Hasher(self.hash_key)).secret_hash(CredentialKind.CARD, CARD)
        return self.store.find_credential(CredentialKind.CARD, h) is not None


@pytest.fixture
def estate(tmp_path: Path) -> Estate:
    e = Estate(tmp_path / "estate.db")
    e.populate()
    return e


def test_existing_estates_seal_with_the_hash_key_until_the_first_rotation(
    estate: Estate,
) -> None:
    assert estate.root == estate.hash_key
    assert not seal_key_path(estate.db).exists()


def test_rotation_reseals_everything_and_keeps_cards(estate: Estate) -> None:
    before = estate.readable()
    old_blobs = {t.id: t.sealed for t in estate.store.iter_face_templates()}

    root, report = rotate_sealing_key(estate.db, estate.store, estate.vault, estate.photos, now=NOW)

    assert (report.templates, report.clusters, report.photos, report.unreadable) == (2, 1, 1, 0)
    assert root != estate.hash_key
    key_file = seal_key_path(estate.db)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not pending_key_path(estate.db).exists()
    assert estate.store.get_setting(SETTING_SEAL_FP) == fingerprint(root) == report.fingerprint
    # Every blob changed; the old key opens none of them; the new one opens all.
    for t in estate.store.iter_face_templates():
        assert t.sealed != old_blobs[t.id]
        with pytest.raises(DecryptError):
            TemplateVault(estate.store, template_sealer(estate.hash_key)).open(t)
    # The live vaults switched over: enrolling after rotation uses the new key.
    estate.store.add_consent(Consent("p2", CONSENT_FACE, "v2", NOW, "admin"))
    estate.vault.enroll("p2", vec(9), template_id="face_after")
    estate.reopen()
    assert estate.root == root
    after = estate.readable()
    assert after["clusters"] == before["clusters"]
    assert after["photos"] == before["photos"]
    templates = dict(after["templates"])  # type: ignore[call-overload]
    assert templates.pop("face_after")
    assert templates == before["templates"]
    assert estate.card_known()


def test_second_rotation(estate: Estate) -> None:
    first, _ = rotate_sealing_key(estate.db, estate.store, estate.vault, estate.photos, now=NOW)
    estate.root = first
    snapshot = estate.readable()
    second, report = rotate_sealing_key(
        estate.db, estate.store, estate.vault, estate.photos, now=NOW + 1
    )
    assert second != first
    assert report.templates == 2
    estate.reopen()
    assert estate.root == second
    assert estate.readable() == snapshot


def test_crash_before_commit_keeps_the_old_key(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = estate.readable()

    def boom(*_a: object, **_k: object) -> None:
        raise OSError("power cut")

    # The new key file is on disk; the transaction never commits.
    monkeypatch.setattr(Store, "reseal", boom)
    with pytest.raises(OSError, match="power cut"):
        rotate_sealing_key(estate.db, estate.store, estate.vault, estate.photos, now=NOW)
    monkeypatch.undo()
    assert pending_key_path(estate.db).exists()
    estate.reopen()
    assert not pending_key_path(estate.db).exists()  # discarded
    assert not seal_key_path(estate.db).exists()
    assert estate.root == estate.hash_key
    assert estate.readable() == before


def test_crash_after_commit_finishes_the_rotation(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_components.community_gate.core import keys

    before = estate.readable()
    real_replace = keys.os.replace

    def crash(*_a: object, **_k: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(keys.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        rotate_sealing_key(estate.db, estate.store, estate.vault, estate.photos, now=NOW)
    monkeypatch.setattr(keys.os, "replace", real_replace)
    assert pending_key_path(estate.db).exists()
    assert not seal_key_path(estate.db).exists()
    estate.reopen()  # the database already names the new key: the rename completes
    assert seal_key_path(estate.db).exists()
    assert not pending_key_path(estate.db).exists()
    assert estate.root != estate.hash_key
    assert estate.readable() == before


def test_missing_or_wrong_seal_key_is_refused(estate: Estate) -> None:
    rotate_sealing_key(estate.db, estate.store, estate.vault, estate.photos, now=NOW)
    key_file = seal_key_path(estate.db)
    saved = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(KeyFileError, match="missing"):
        load_sealing_root(estate.db, estate.store, estate.hash_key)
    key_file.write_bytes(bytes(32).hex().encode())
    with pytest.raises(KeyFileError, match="does not match"):
        load_sealing_root(estate.db, estate.store, estate.hash_key)
    key_file.write_bytes(b"not hex")
    with pytest.raises(KeyFileError, match="not valid hex"):
        load_sealing_root(estate.db, estate.store, estate.hash_key)
    key_file.write_bytes(saved)
    assert load_sealing_root(estate.db, estate.store, estate.hash_key) != estate.hash_key


def test_unreadable_rows_are_counted_and_left(estate: Estate) -> None:
    bad = TemplateVault(estate.store, template_sealer(bytes(32)))
    estate.store.add_consent(Consent("p2", CONSENT_FACE, "v3", NOW, "admin"))
    bad.enroll("p2", vec(5), template_id="face_bad")
    _, report = rotate_sealing_key(estate.db, estate.store, estate.vault, estate.photos, now=NOW)
    assert report.unreadable == 1
    assert report.templates == 2
