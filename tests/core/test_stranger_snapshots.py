"""Stranger snapshots in the store and the vault: real SQLite, real sealing, real crops.

The best crop per stranger cluster (schema 8): kept sealed, replaced only by a better
one, moved or dropped on a merge, deleted with its cluster (retention, assignment,
removal), purged by its own expiry, resealed by a key rotation; and the migration from
the schema before it, with rows in it."""

from __future__ import annotations

import io
from pathlib import Path
import sqlite3

import numpy as np
from PIL import Image, ImageFilter
import pytest

from custom_components.community_gate.core import errors
from custom_components.community_gate.core.crypto import load_or_create_key
from custom_components.community_gate.core.faces import Face, FaceBox
from custom_components.community_gate.core.images import decode_image
from custom_components.community_gate.core.keys import load_sealing_root, rotate_sealing_key
from custom_components.community_gate.core.model import Person, Role, Unit
from custom_components.community_gate.core.privacy import (
    PHOTO_STRANGER,
    PhotoVault,
    Retention,
    photo_sealer,
    purge,
)
from custom_components.community_gate.core.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    STRANGER_SNAPSHOTS_VERSION,
)
from custom_components.community_gate.core.snapshots import CROP_PX, crop_quality, face_crop
from custom_components.community_gate.core.store import Store
from custom_components.community_gate.core.templates import TemplateVault, template_sealer
from tests.core.photos import largest_face, needs_package_photos, package_photo

NOW = 1_795_000_000.0
DAY = 86400.0


def jpeg(seed: int, size: int = 96) -> bytes:
    """A small distinct JPEG (the bytes a crop would be)."""
    rgb = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=80)
    return out.getvalue()


class Estate:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.hash_key = load_or_create_key(db.with_name(db.name + ".key"))
        self.store = Store.open(db, durable=False)
        root = load_sealing_root(db, self.store, self.hash_key)
        self.vault = TemplateVault(self.store, template_sealer(root))
        self.photos = PhotoVault(self.store, photo_sealer(root))

    def cluster(self, cid: str, last_seen: float = NOW) -> None:
        centroid = np.full(128, 0.01 * len(cid), dtype=np.float32)
        sealed = self.vault.seal_cluster(cid, centroid, 3, NOW - 10, last_seen, (1,))
        self.store.save_clusters([sealed])

    def rows(self) -> int:
        return int(self.store.conn.execute("SELECT count(*) FROM photos").fetchone()[0])


@pytest.fixture
def estate(tmp_path: Path) -> Estate:
    return Estate(tmp_path / "estate.db")


def test_the_best_crop_is_kept_sealed_and_replaced_only_by_a_better_one(estate: Estate) -> None:
    estate.cluster("stranger_a")
    first, worse, better = jpeg(1), jpeg(2), jpeg(3)
    assert estate.photos.keep_snapshot("stranger_a", first, 0.5, days=7, now=NOW)
    kept = estate.store.get_snapshot("stranger_a")
    assert kept is not None
    assert (kept.purpose, kept.person_id, kept.expires_at) == (PHOTO_STRANGER, None, NOW + 7 * DAY)
    assert first not in kept.sealed
    assert first[200:260] not in kept.sealed
    assert not estate.photos.keep_snapshot("stranger_a", worse, 0.4, days=7, now=NOW + 1)
    assert not estate.photos.keep_snapshot("stranger_a", worse, 0.5, days=7, now=NOW + 1)
    assert estate.photos.open_snapshot("stranger_a") == first
    assert estate.photos.keep_snapshot("stranger_a", better, 0.9, days=7, now=NOW + 2)
    assert estate.photos.open_snapshot("stranger_a") == better
    assert estate.rows() == 1  # one per cluster
    assert estate.store.snapshot_clusters() == {"stranger_a": NOW + 2}
    # Neither the first nor the replaced crop is anywhere in the database file.
    estate.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = estate.db.read_bytes()
    for crop in (first, better):
        assert crop[200:260] not in raw
    # Another person's row cannot be made to open it: the seal is bound to its photo id.
    assert estate.store.list_photos("nobody") == []
    with pytest.raises(errors.InvalidIdError):
        estate.photos.keep_snapshot("../etc", first, 1.0, days=7)


def test_deleted_with_the_cluster_expired_removed_or_assigned(estate: Estate) -> None:
    estate.store.add_unit(Unit("u1", "3", "1201"))
    estate.store.add_person(Person("p1", Role.TENANT, unit_id="u1"))
    for cid in ("stranger_old", "stranger_gone", "stranger_named", "stranger_live"):
        estate.cluster(cid, last_seen=NOW - 40 * DAY if cid == "stranger_old" else NOW)
        estate.photos.keep_snapshot(cid, jpeg(len(cid)), 0.5, days=7, now=NOW)
    assert estate.rows() == 4
    estate.store.save_clusters([], removed=["stranger_gone"])  # the face service expired it
    estate.store.assign_cluster("stranger_named", "p1", "u1")  # staff named the stranger
    estate.store.purge_clusters(NOW - 30 * DAY)  # the cluster retention on disk
    assert set(estate.store.snapshot_clusters()) == {"stranger_live"}
    # The snapshot's own retention: gone after 7 days while its cluster stays 30.
    out = purge(estate.store, Retention(clusters=30), now=NOW + 8 * DAY)
    assert out["photos"] == 1
    assert estate.rows() == 0
    assert "stranger_live" in {c.id for c in estate.store.iter_clusters()}  # the cluster stays


def test_no_crop_is_kept_for_a_cluster_already_gone(estate: Estate) -> None:
    """The crop is sealed after the face was seen; staff may name (or the sweep expire)
    the stranger meanwhile. A crop arriving after its cluster must not be kept: nothing
    would ever show it or delete it with the cluster."""
    estate.cluster("stranger_a")
    estate.store.save_clusters([], removed=["stranger_a"])
    assert not estate.photos.keep_snapshot("stranger_a", jpeg(1), 0.9, days=7, now=NOW)
    assert not estate.photos.keep_snapshot("stranger_never", jpeg(2), 0.9, days=7, now=NOW)
    assert estate.rows() == 0


def test_a_merge_keeps_the_better_crop(estate: Estate) -> None:
    for cid in ("stranger_k1", "stranger_g1", "stranger_k2", "stranger_g2", "stranger_k3"):
        estate.cluster(cid)
    estate.cluster("stranger_g3")
    estate.photos.keep_snapshot("stranger_k1", jpeg(1), 0.3, days=7, now=NOW)
    estate.photos.keep_snapshot("stranger_g1", jpeg(2), 0.8, days=7, now=NOW)  # better
    estate.photos.keep_snapshot("stranger_k2", jpeg(3), 0.8, days=7, now=NOW)
    estate.photos.keep_snapshot("stranger_g2", jpeg(4), 0.3, days=7, now=NOW)  # worse
    estate.photos.keep_snapshot("stranger_g3", jpeg(5), 0.3, days=7, now=NOW)  # k3 has none
    estate.store.save_clusters(
        [],
        removed=["stranger_g1", "stranger_g2", "stranger_g3"],
        relabel=[
            ("stranger_k1", "stranger_g1"),
            ("stranger_k2", "stranger_g2"),
            ("stranger_k3", "stranger_g3"),
        ],
    )
    assert estate.photos.open_snapshot("stranger_k1") == jpeg(2)
    assert estate.photos.open_snapshot("stranger_k2") == jpeg(3)
    assert estate.photos.open_snapshot("stranger_k3") == jpeg(5)
    assert set(estate.store.snapshot_clusters()) == {"stranger_k1", "stranger_k2", "stranger_k3"}


def test_key_rotation_reseals_snapshots(estate: Estate) -> None:
    estate.cluster("stranger_a")
    estate.photos.keep_snapshot("stranger_a", jpeg(7), 0.5, days=7, now=NOW)
    before = estate.store.get_snapshot("stranger_a")
    assert before is not None
    _root, report = rotate_sealing_key(
        estate.db, estate.store, estate.vault, estate.photos, now=NOW
    )
    assert (report.photos, report.unreadable) == (1, 0)
    after = estate.store.get_snapshot("stranger_a")
    assert after is not None
    assert after.sealed != before.sealed
    assert estate.photos.open_snapshot("stranger_a") == jpeg(7)  # the vault has the new key
    assert estate.store.snapshot_quality("stranger_a") == 0.5  # still the best so far


def test_option_off_removes_every_snapshot_but_no_enrollment_photo(estate: Estate) -> None:
    estate.store.add_unit(Unit("u1", "3", "1201"))
    estate.store.add_person(Person("p1", Role.TENANT, unit_id="u1"))
    estate.photos.keep("p1", b"enrollment photo", days=7, now=NOW)
    estate.cluster("stranger_a")
    estate.photos.keep_snapshot("stranger_a", jpeg(1), 0.5, days=7, now=NOW)
    assert estate.store.remove_snapshots() == 1
    assert [p.purpose for p in estate.store.iter_photos()] == ["enrollment"]


def test_migration_from_the_schema_before_keeps_rows(tmp_path: Path) -> None:
    """A database at the schema before stranger snapshots, with a kept photo and a
    cluster in it, opens at the current version with both intact."""
    db = tmp_path / "old.db"
    before = STRANGER_SNAPSHOTS_VERSION - 1
    conn = sqlite3.connect(db, isolation_level=None)
    for script in MIGRATIONS[:before]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {before}")
    conn.execute("INSERT INTO units VALUES ('u1', '3', '1201', 0, NULL, 1, 1)")
    conn.execute(
        "INSERT INTO people (id, unit_id, role, created_at, updated_at)"
        " VALUES ('p1', 'u1', 'tenant', 1, 1)"
    )
    conn.execute("INSERT INTO photos VALUES ('photo_1', 'p1', 'enrollment', x'0102', 1, 2)")
    conn.execute("INSERT INTO stranger_clusters VALUES ('stranger_a', x'03', 2, 1, 2, '1')")
    conn.close()

    estate = Estate(db)
    assert estate.store.schema_version == SCHEMA_VERSION >= STRANGER_SNAPSHOTS_VERSION
    [photo] = estate.store.iter_photos()
    assert (photo.id, photo.person_id, photo.sealed) == ("photo_1", "p1", b"\x01\x02")
    assert estate.store.snapshot_clusters() == {}  # an old photo belongs to no stranger
    assert [c.id for c in estate.store.iter_clusters()] == ["stranger_a"]
    assert estate.photos.keep_snapshot("stranger_a", jpeg(1), 0.5, days=7, now=NOW)
    assert estate.rows() == 2


@needs_package_photos
def test_crop_is_small_and_a_blurred_face_scores_lower() -> None:
    path = package_photo("biden.jpg")
    rgb = decode_image(path.read_bytes())
    face = largest_face(path)
    crop = face_crop(rgb, face.box)
    im = Image.open(io.BytesIO(crop))
    assert im.format == "JPEG"
    assert max(im.size) <= CROP_PX
    assert min(im.size) >= 64
    assert len(crop) < 20_000
    sharp = crop_quality(rgb, face)
    blurred = np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(6)))
    assert crop_quality(blurred, face) < sharp
    tiny = Face(FaceBox(0, 40, 40, 0), face.landmarks, face.encoding, face.score)
    assert crop_quality(rgb, tiny) < sharp
