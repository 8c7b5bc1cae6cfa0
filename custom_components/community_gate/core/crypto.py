"""Keyed hashing of credential secrets.

Card, ID-card, PIN and QR values are stored only as HMAC-SHA256 under an estate key
kept in a 0600 file beside the database. Without the key a stolen database does not
reveal card or ID numbers, and a short PIN cannot be brute-forced offline.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
import secrets

KEY_BYTES = 32


class KeyFileError(OSError):
    """The key file exists but is unusable."""


def load_or_create_key(path: Path) -> bytes:
    """Read the estate key, creating it (mode 0600, never world-readable) if absent."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        key = secrets.token_bytes(KEY_BYTES)
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two starts racing must not write two different keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.hex().encode())
            fh.flush()
            os.fsync(fh.fileno())
        return key
    try:
        key = bytes.fromhex(data.decode().strip())
    except ValueError as err:
        raise KeyFileError(f"key file {path.name} is not valid hex") from err
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"key file {path.name} has the wrong length")
    return key


class Hasher:
    """Keyed one-way hash of normalised credential values."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("key too short")
        self._key = key

    def hash(self, kind: str, normalised: str) -> str:
        # The kind is part of the message: a PIN "1234" and a card "1234" differ.
        msg = f"{kind}\x00{normalised}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()


def new_token(nbytes: int = 18) -> str:
    """A URL-safe random token for QR visitor passes (24 chars for 18 bytes)."""
    return secrets.token_urlsafe(nbytes)


def derive_key(master: bytes, purpose: str, length: int = 32) -> bytes:
    """A separate subkey per purpose (hashing, embeddings, photos), so one leaked use
    does not expose the others. HKDF-SHA256 from ``cryptography`` (HA pins it)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode()).derive(
        master
    )


class DecryptError(ValueError):
    """Ciphertext failed authentication: wrong key, wrong row, or tampering."""


class Sealer:
    """AES-256-GCM sealing of small blobs (face embeddings, stranger centroids).

    The associated data binds a blob to its row (e.g. embedding id + person id): a blob
    copied onto another person's row does not decrypt. Output: version byte, 12-byte
    random nonce, ciphertext with tag.
    """

    VERSION = 1

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(key) != 32:
            raise ValueError("AES-256 needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return bytes([self.VERSION]) + nonce + self._aead.encrypt(nonce, plaintext, aad.encode())

    def open(self, blob: bytes, aad: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        if len(blob) < 1 + 12 + 16 or blob[0] != self.VERSION:
            raise DecryptError("not a sealed blob")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], aad.encode())
        except InvalidTag as err:
            raise DecryptError("authentication failed") from err
