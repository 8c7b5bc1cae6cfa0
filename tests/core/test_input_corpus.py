"""A corpus of bad inputs against the domain, table-driven: each gets its own error
code (and the placeholder that says which field or why), nothing crashes, and the
store is left exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
import io
from pathlib import Path
from typing import Any

from PIL import Image
import pytest

from custom_components.community_gate.core import errors
from custom_components.community_gate.core.access import AccessControl
from custom_components.community_gate.core.crypto import Hasher
from custom_components.community_gate.core.ids import check_id
from custom_components.community_gate.core.images import decode_image
from custom_components.community_gate.core.model import (
    CredentialKind,
    Person,
    Role,
    Unit,
)
from custom_components.community_gate.core.privacy import (
    Retention,
    check_birth_year,
    erase_person,
    export_person,
)
from custom_components.community_gate.core.schedule import schedule_from_obj
from custom_components.community_gate.core.store import Store
from tests.core.conftest import KEY


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height)).save(buf, "PNG")
    return buf.getvalue()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 100, 50)).save(buf, "JPEG")
    return buf.getvalue()


# (case id, call, expected code, expected placeholders subset)
Case = tuple[str, Callable[[Store, AccessControl], object], str, dict[str, str]]

CASES: list[Case] = [
    # ids: path traversal, separators, control characters, unicode, length
    ("id_traversal", lambda s, a: check_id("../../etc/passwd"), "invalid_id", {"field": "id"}),
    ("id_slash", lambda s, a: check_id("a/b"), "invalid_id", {}),
    ("id_newline", lambda s, a: check_id("p1\nINFO forged"), "invalid_id", {}),
    ("id_nul", lambda s, a: check_id("p1\x00"), "invalid_id", {}),
    ("id_unicode", lambda s, a: check_id("张伟"), "invalid_id", {}),
    ("id_too_long", lambda s, a: check_id("x" * 65), "invalid_id", {}),
    ("id_not_text", lambda s, a: check_id(12), "invalid_id", {}),
    (
        "person_traversal",
        lambda s, a: s.add_person(Person("../p", Role.STAFF)),
        "invalid_id",
        {"field": "person_id"},
    ),
    ("erase_traversal", lambda s, a: erase_person(s, "../p1"), "invalid_id", {}),
    ("export_unknown", lambda s, a: export_person(s, "ghost"), "unknown_person", {}),
    (
        "person_unknown_unit",
        lambda s, a: s.add_person(Person("p9", Role.TENANT, unit_id="nope")),
        "unknown_unit",
        {"unit_id": "nope"},
    ),
    (
        "person_window_backwards",
        lambda s, a: s.add_person(Person("p9", Role.STAFF, valid_from=10.0, valid_until=5.0)),
        "invalid_validity",
        {},
    ),
    (
        "unit_blank_building",
        lambda s, a: s.add_unit(Unit("u9", "  ", "1")),
        "invalid_value",
        {"field": "building"},
    ),
    ("unit_duplicate", lambda s, a: s.add_unit(Unit("u1", "3", "1201")), "duplicate_unit", {}),
    # credential values: injection, wrong shapes, wrong types, checksums
    (
        "card_sql",
        lambda s, a: a.add_credential("p1", CredentialKind.CARD, "1; DROP TABLE people"),
        "invalid_credential_value",
        {"kind": "card"},
    ),
    (
        "card_bool",
        lambda s, a: a.add_credential("p1", CredentialKind.CARD, True),
        "invalid_credential_value",
        {"why": "not text"},
    ),
    (
        "card_huge",
        lambda s, a: a.add_credential("p1", CredentialKind.CARD, "9" * 10_000),
        "invalid_credential_value",
        {"why": "too long"},
    ),
    (
        "id_card_checksum",
        lambda s, a: a.add_credential("p1", CredentialKind.ID_CARD, "110105194912310021"),
        "invalid_credential_value",
        {"why": "check digit mismatch"},
    ),
    (
        "pin_short",
        lambda s, a: a.add_credential("p1", CredentialKind.PIN, "12"),
        "invalid_credential_value",
        {"kind": "pin"},
    ),
    (
        "qr_control_chars",
        lambda s, a: a.add_credential("p1", CredentialKind.QR, "abc\x00defghijklmnopq"),
        "invalid_credential_value",
        {"kind": "qr"},
    ),
    (
        "face_typed",
        lambda s, a: a.add_credential("p1", CredentialKind.FACE, "x"),
        "invalid_credential_value",
        {"kind": "face"},
    ),
    (
        "credential_no_value",
        lambda s, a: a.add_credential("p1", CredentialKind.CARD, None),
        "invalid_credential_value",
        {"why": "empty"},
    ),
    (
        "credential_unknown_person",
        lambda s, a: a.add_credential("ghost", CredentialKind.CARD, "123"),
        "unknown_person",
        {},
    ),
    # schedules
    ("schedule_not_list", lambda s, a: schedule_from_obj("always"), "invalid_schedule", {}),
    ("schedule_day_8", lambda s, a: schedule_from_obj([{"days": [8]}]), "invalid_schedule", {}),
    (
        "schedule_bad_time",
        lambda s, a: schedule_from_obj([{"start": "25:00", "end": "26:00"}]),
        "invalid_schedule",
        {"why": "start and end must be HH:MM"},
    ),
    ("schedule_item_text", lambda s, a: schedule_from_obj(["x"]), "invalid_schedule", {}),
    # privacy settings
    ("birth_year_future", lambda s, a: check_birth_year(9999), "invalid_value", {}),
    ("birth_year_text", lambda s, a: check_birth_year("1980"), "invalid_value", {}),  # type: ignore[arg-type]
    ("retention_zero", lambda s, a: Retention(passages=0), "invalid_value", {"field": "passages"}),
    # images
    ("image_empty", lambda s, a: decode_image(b""), "image_invalid", {"why": "empty"}),
    (
        "image_text",
        lambda s, a: decode_image(b"<html>not a photo</html>"),
        "image_invalid",
        {"why": "not_an_image"},
    ),
    (
        "image_truncated",
        lambda s, a: decode_image(_jpeg()[:200]),
        "image_invalid",
        {"why": "corrupt"},
    ),
    (
        "image_too_many_pixels",
        lambda s, a: decode_image(_png(9000, 5000)),
        "image_invalid",
        {"why": "too_many_pixels"},
    ),
    (
        "image_too_many_bytes",
        lambda s, a: decode_image(b"\xff\xd8" + b"\x00" * 64, max_bytes=32),
        "image_invalid",
        {"why": "too_large_bytes"},
    ),
]


def _dump(store: Store) -> list[str]:
    return list(store.conn.iterdump())


@pytest.fixture
def estate(tmp_path: Path) -> tuple[Store, AccessControl]:
    s = Store.open(tmp_path / "hardened.db", durable=False)
    s.add_unit(Unit("u1", "3", "1201"))
    s.add_person(Person("p1", Role.TENANT, "Wang", "u1"))
    return s, AccessControl(s, Hasher(KEY))


@pytest.mark.parametrize(("case", "func", "code", "placeholders"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_its_error_and_changes_nothing(
    estate: tuple[Store, AccessControl],
    case: str,
    func: Callable[[Store, AccessControl], Any],
    code: str,
    placeholders: dict[str, str],
) -> None:
    store, ac = estate
    before = _dump(store)
    with pytest.raises(errors.CoreError) as exc:
        func(store, ac)
    assert exc.value.code == code, case
    assert exc.value.placeholders.items() >= placeholders.items(), exc.value.placeholders
    assert _dump(store) == before
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_corpus_covers_every_kind_of_input() -> None:
    prefixes = {c[0].split("_")[0] for c in CASES}
    assert prefixes >= {"id", "card", "schedule", "image", "birth", "retention", "erase"}
