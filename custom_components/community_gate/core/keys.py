"""The sealing key and its rotation.

Two keys with two jobs:

* the *hash key* (``<db>.key``, see ``crypto.load_or_create_key``) makes the keyed
  hashes of card, ID, PIN and QR values. It never rotates: the clear values are not
  kept, so rows hashed under an old key could never be re-hashed and every card would
  become "unknown".
* the *sealing root* encrypts what can be re-encrypted: face templates, stranger
  centroids and kept photos (each under its own HKDF subkey). Until the first rotation
  it is the hash key itself (how existing estates were sealed); afterwards it is a
  random key in ``<db>.seal.key`` (0600), whose fingerprint the database records.

Rotation is crash-safe: the new key is written to ``<db>.seal.key.new`` first, every
row is re-sealed and the new fingerprint recorded in ONE transaction, and only then
is the file renamed over the old one. ``load_sealing_root`` finishes or discards an
interrupted rotation by comparing the pending file's fingerprint with the database.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import hmac
import os
from pathlib import Path
import secrets

from .crypto import KEY_BYTES, DecryptError, KeyFileError
from .privacy import PhotoVault, photo_sealer
from .store import Store
from .templates import TemplateVault, template_sealer

SETTING_SEAL_FP = "seal_key_fingerprint"
SETTING_SEAL_ROTATED = "seal_key_rotated_at"


def seal_key_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".seal.key")


def pending_key_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".seal.key.new")


def fingerprint(key: bytes) -> str:
    """Names a key without revealing it (safe in the database and in diagnostics)."""
    return hmac.new(key, b"community_gate seal key fingerprint", hashlib.sha256).hexdigest()[:32]


def _read_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_bytes().decode().strip())
    except (ValueError, UnicodeDecodeError) as err:
        raise KeyFileError(f"key file {path.name} is not valid hex") from err
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"key file {path.name} has the wrong length")
    return key


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new_key(path: Path, key: bytes) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.hex().encode())
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(path.parent)


def load_sealing_root(db_path: Path, store: Store, hash_key: bytes) -> bytes:
    """The current sealing root, after finishing or discarding an interrupted rotation.
    Raises ``KeyFileError`` when the key file does not match the database."""
    current, pending = seal_key_path(db_path), pending_key_path(db_path)
    recorded = store.get_setting(SETTING_SEAL_FP)
    if pending.exists():
        new = _read_key(pending)
        if recorded == fingerprint(new):
            os.replace(pending, current)  # the transaction committed: finish
            _fsync_dir(current.parent)
        else:
            pending.unlink()  # it never committed: the old key is still the one
    if current.exists():
        root = _read_key(current)
        if recorded != fingerprint(root):
            raise KeyFileError(f"key file {current.name} does not match the database")
        return root
    if recorded is not None:
        raise KeyFileError(f"key file {current.name} is missing")
    return hash_key


@dataclass(frozen=True, slots=True)
class RotationReport:
    templates: int
    clusters: int
    photos: int
    unreadable: int  # rows that did not open with the old key: left as they were
    fingerprint: str


def rotate_sealing_key(
    db_path: Path,
    store: Store,
    templates: TemplateVault,
    photos: PhotoVault,
    *,
    now: float,
    new_root: bytes | None = None,
) -> tuple[bytes, RotationReport]:
    """Re-seal every template, cluster and photo under a fresh root; switch the vaults
    over once committed. Run on the store's thread (nothing else may seal meanwhile)."""
    root = new_root or secrets.token_bytes(KEY_BYTES)
    new_tpl, new_photo = template_sealer(root), photo_sealer(root)
    unreadable = 0
    rows: dict[str, list[tuple[str, bytes]]] = {"templates": [], "clusters": [], "photos": []}
    for tpl in store.iter_face_templates():
        try:
            rows["templates"].append((tpl.id, templates.reseal(tpl, new_tpl)))
        except DecryptError:
            unreadable += 1
    for cl in store.iter_clusters():
        try:
            rows["clusters"].append((cl.id, templates.reseal_cluster(cl, new_tpl)))
        except DecryptError:
            unreadable += 1
    for ph in store.iter_photos():
        try:
            rows["photos"].append((ph.id, photos.reseal(ph, new_photo)))
        except DecryptError:
            unreadable += 1

    fp = fingerprint(root)
    pending = pending_key_path(db_path)
    _write_new_key(pending, root)  # before the commit: a crash after it can finish
    store.reseal(
        rows["templates"],
        rows["clusters"],
        rows["photos"],
        {SETTING_SEAL_FP: fp, SETTING_SEAL_ROTATED: f"{now:.0f}"},
    )
    os.replace(pending, seal_key_path(db_path))
    _fsync_dir(db_path.parent)
    templates.rekey(new_tpl)
    photos.rekey(new_photo)
    report = RotationReport(
        len(rows["templates"]), len(rows["clusters"]), len(rows["photos"]), unreadable, fp
    )
    return root, report
