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
