"""Estate key file and keyed hashing."""

from __future__ import annotations

from pathlib import Path
import stat

import pytest

from custom_components.community_gate.core.credentials import normalise
from custom_components.community_gate.core.crypto import (
    KEY_BYTES,
    Hasher,
    KeyFileError,
    load_or_create_key,
    new_token,
)
from custom_components.community_gate.core.model import CredentialKind


def test_key_file_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "estate.key"
    key = load_or_create_key(path)
    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key.hex()
    assert load_or_create_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_two_key_files_differ(tmp_path: Path) -> None:
    assert load_or_create_key(tmp_path / "a.key") != load_or_create_key(tmp_path / "b.key")


@pytest.mark.parametrize(
    "content",
    [b"not hex at all", b"abcd", b"", b"\xff\xfe\x00garbage", ("00" * 33).encode()],
)
def test_corrupt_key_file_raises(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "estate.key"
    path.write_bytes(content)
    with pytest.raises(KeyFileError):
        load_or_create_key(path)
    assert path.read_bytes() == content  # never overwritten: the old hashes need it


def test_key_file_with_trailing_newline_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "estate.key"
    path.write_text("ab" * KEY_BYTES + "\n")
    assert load_or_create_key(path) == bytes([0xAB]) * KEY_BYTES


def test_hash_depends_on_kind_value_and_key() -> None:
    a = Hasher(b"k" * 32)
    b = Hasher(b"j" * 32)
    assert a.hash("card", "1234") == a.hash("card", "1234")
    assert a.hash("card", "1234") != a.hash("pin", "1234")
    assert a.hash("card", "1234") != a.hash("card", "1235")
    assert a.hash("card", "1234") != b.hash("card", "1234")
    digest = a.hash("card", "1234")
    assert len(digest) == 64
    assert "1234" not in digest


def test_hash_of_normalised_forms_agree() -> None:
    h = Hasher(b"k" * 32)
    forms = ["0012345678", "0xBC614E", "12345678"]
    assert len({h.hash("card", normalise(CredentialKind.CARD, f)) for f in forms}) == 1


def test_short_key_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        Hasher(b"short")


def test_new_token_is_a_valid_qr_value() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for t in tokens:
        assert len(t) == 24
        assert normalise(CredentialKind.QR, t) == t
