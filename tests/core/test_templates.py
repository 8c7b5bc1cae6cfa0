"""Face templates at rest: consent first, sealed, bound to their row, erasable."""

from __future__ import annotations

from pathlib import Path
import sqlite3

import numpy as np
import pytest

from custom_components.community_gate.core import errors
from custom_components.community_gate.core.crypto import DecryptError, Sealer, derive_key
from custom_components.community_gate.core.model import (
    CONSENT_FACE,
    Consent,
    Credential,
    CredentialKind,
    Direction,
    FaceVariant,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    Unit,
)
from custom_components.community_gate.core.schema import MIGRATIONS, SCHEMA_VERSION
from custom_components.community_gate.core.store import Store
from custom_components.community_gate.core.templates import TemplateVault, template_sealer
from tests.core.conftest import KEY


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "faces.db", durable=False)
    s.add_unit(Unit("u1", "3", "1201"))
    s.add_person(Person("p1", Role.TENANT, "Wang", "u1"))
    s.add_person(Person("p2", Role.CO_RESIDENT, "Li", "u1"))
    return s


@pytest.fixture
def vault(store: Store) -> TemplateVault:
    return TemplateVault(store, template_sealer(KEY))


def consent(store: Store, pid: str = "p1") -> Consent:
    return store.add_consent(
        Consent(pid, CONSENT_FACE, "notice-2026-11", 1_795_000_000.0, "admin-user-id")
    )


def vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, 128).astype(np.float32)


def test_sealer_round_trip_and_binding() -> None:
    s = Sealer(derive_key(KEY, "t"))
    blob = s.seal(b"secret", "row-1")
    assert b"secret" not in blob
    assert s.open(blob, "row-1") == b"secret"
    with pytest.raises(DecryptError):
        s.open(blob, "row-2")  # moved to another row
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(DecryptError):
        s.open(bytes(tampered), "row-1")
    with pytest.raises(DecryptError):
        Sealer(derive_key(KEY, "other purpose")).open(blob, "row-1")
    with pytest.raises(DecryptError):
        s.open(b"short", "row-1")


def test_subkeys_differ_by_purpose() -> None:
    assert derive_key(KEY, "a") != derive_key(KEY, "b")
    assert derive_key(KEY, "a") == derive_key(KEY, "a")


def test_enrollment_needs_consent(vault: TemplateVault, store: Store) -> None:
    with pytest.raises(errors.ConsentRequiredError) as exc:
        vault.enroll("p1", vec(1))
    assert exc.value.placeholders == {"person_id": "p1"}
    assert store.count_face_templates() == 0
    consent(store)
    tpl = vault.enroll("p1", vec(1), variant=FaceVariant.MASKED, quality=0.9)
    assert tpl.variant is FaceVariant.MASKED
    assert store.count_face_templates() == 1


def test_unknown_person_and_bad_vectors(vault: TemplateVault, store: Store) -> None:
    with pytest.raises(errors.UnknownPersonError):
        vault.enroll("nobody", vec(1))
    consent(store)
    for bad in (np.zeros(127, np.float32), np.full(128, np.nan, np.float32)):
        with pytest.raises(errors.InvalidValueError):
            vault.enroll("p1", bad)


def test_embeddings_are_not_in_the_file_in_clear(
    vault: TemplateVault, store: Store, tmp_path: Path
) -> None:
    consent(store)
    v = vec(7)
    vault.enroll("p1", v)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("faces.db"))
    assert v.tobytes() not in raw
    assert v.tobytes()[:16] not in raw


def test_load_all_returns_the_vectors_and_skips_tampered_rows(
    vault: TemplateVault, store: Store
) -> None:
    consent(store)
    consent(store, "p2")
    a, b = vault.enroll("p1", vec(1)), vault.enroll("p2", vec(2))
    loaded = {tid: (pid, v) for tid, pid, v in vault.load_all()}
    assert set(loaded) == {a.id, b.id}
    assert np.array_equal(loaded[a.id][1], vec(1))
    assert loaded[b.id][0] == "p2"
    # Re-label a's blob as p2's: it must not decrypt as p2's face.
    store.conn.execute("UPDATE face_templates SET person_id='p2' WHERE id=?", (a.id,))
    loaded = list(vault.load_all())
    assert [t[0] for t in loaded] == [b.id]
    assert (vault.last_load.loaded, vault.last_load.unreadable) == (1, 1)


def test_withdrawal_erases_faces_but_not_cards(vault: TemplateVault, store: Store) -> None:
    consent(store)
    vault.enroll("p1", vec(1))
    vault.enroll("p1", vec(2), variant=FaceVariant.MASKED)
    store.add_credential(Credential("card-1", "p1", CredentialKind.CARD, "h" * 64))
    assert vault.withdraw("p1", at=1_795_100_000.0) == 2
    assert store.list_face_templates("p1") == []
    assert store.active_consent("p1", CONSENT_FACE) is None
    assert store.list_consents("p1")[0].withdrawn_at == 1_795_100_000.0  # evidence kept
    assert [c.id for c in store.list_credentials("p1")] == ["card-1"]
    with pytest.raises(errors.ConsentRequiredError):
        vault.enroll("p1", vec(3))


def test_removing_a_person_cascades_templates_and_consents(
    vault: TemplateVault, store: Store
) -> None:
    consent(store)
    vault.enroll("p1", vec(1))
    store.remove_person("p1")
    assert store.count_face_templates() == 0
    assert store.list_consents("p1") == []


def test_clusters_sealed_round_trip_and_purge(vault: TemplateVault, store: Store) -> None:
    c1 = vault.seal_cluster("stranger_a", vec(5), 3, 100.0, 200.0, (20411, 20412))
    c2 = vault.seal_cluster("stranger_b", vec(6), 1, 50.0, 60.0, ())
    store.save_clusters([c1, c2])
    got = {c.id: c for c in store.iter_clusters()}
    assert got["stranger_a"].days == (20411, 20412)
    assert np.array_equal(vault.open_cluster(got["stranger_a"]), vec(5))
    store.save_clusters([], removed=["stranger_a"])
    assert [c.id for c in store.iter_clusters()] == ["stranger_b"]
    assert store.purge_clusters(before_ts=100.0) == 1
    assert list(store.iter_clusters()) == []


def test_merged_clusters_relabel_their_passages_atomically(
    vault: TemplateVault, store: Store
) -> None:
    def seen(cid: str, ts: float) -> Passage:
        return Passage(
            ts,
            "east_gate",
            Direction.IN,
            Method.FACE,
            False,
            Reason.UNKNOWN_CREDENTIAL,
            cluster_id=cid,
        )

    store.add_passages(
        [
            seen("stranger_a", 1),
            seen("stranger_b", 2),
            seen("stranger_c", 3),
            seen("stranger_x", 4),
            seen(None, 5),
        ]
    )  # type: ignore[arg-type]
    # A chain in merge order: b took c, then a took b.
    kept = vault.seal_cluster("stranger_a", vec(5), 3, 1.0, 3.0, ())
    relabelled = store.save_clusters(
        [kept],
        removed=["stranger_b", "stranger_c"],
        relabel=[("stranger_b", "stranger_c"), ("stranger_a", "stranger_b")],
    )
    assert relabelled == 3  # c -> b (1), then b -> a (2)
    ids = [p.cluster_id for p in sorted(store.recent_passages(limit=10), key=lambda p: p.ts)]
    assert ids == ["stranger_a", "stranger_a", "stranger_a", "stranger_x", None]
    assert [c.id for c in store.iter_clusters()] == ["stranger_a"]


def test_consent_needs_notice_and_operator(store: Store) -> None:
    with pytest.raises(errors.InvalidValueError):
        store.add_consent(Consent("p1", CONSENT_FACE, " ", 1.0, "admin"))
    with pytest.raises(errors.UnknownPersonError):
        store.add_consent(Consent("ghost", CONSENT_FACE, "n1", 1.0, "admin"))


def test_version_1_database_migrates_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(f"BEGIN;\n{MIGRATIONS[0]}\nPRAGMA user_version = 1;\nCOMMIT;")
    conn.execute("INSERT INTO units VALUES ('u1','3','1201',0,NULL,1,1)")
    conn.close()
    store = Store.open(path)
    assert store.schema_version == SCHEMA_VERSION >= 2
    assert store.get_unit("u1").number == "1201"
    assert store.count_face_templates() == 0
    store.close()
