"""credentials.normalise: one canonical form per credential, errors that never echo it."""

from __future__ import annotations

import pytest

from custom_components.community_gate.core.credentials import id_card_checksum_ok, normalise
from custom_components.community_gate.core.errors import InvalidCredentialValueError
from custom_components.community_gate.core.model import CredentialKind as K

VALID_ID = "11010519491231002X"  # GB 11643 sample, check character X


def make_id(first17: str) -> str:
    """An 18-character ID with a correct ISO 7064 MOD 11-2 check character."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def assert_rejected(kind: K, value: object) -> InvalidCredentialValueError:
    with pytest.raises(InvalidCredentialValueError) as info:
        normalise(kind, value)
    err = info.value
    assert err.code == "invalid_credential_value"
    assert err.placeholders["kind"] == kind.value
    if isinstance(value, str) and value.strip():
        # The clear value (an ID number, a PIN) must never reach a log or a UI.
        assert value.strip() not in str(err)
        assert value.strip() not in repr(err.args)
        assert all(value.strip() not in v for v in err.placeholders.values())
    return err


# ------------------------------------------------------------------------- card
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12345678", "12345678"),
        ("0012345678", "12345678"),  # Wiegand readers pad with zeros
        ("0000", "0"),
        (" 12345678 ", "12345678"),
        ("1234 5678", "12345678"),
        ("0xBC614E", "12345678"),
        ("0XbC614e", "12345678"),
        ("BC614E", "12345678"),  # hex without 0x: letters make it unambiguous
        ("bc614e", "12345678"),
        ("0x00BC614E", "12345678"),
        (12345678, "12345678"),
        ("9" * 20, "9" * 20),
    ],
)
def test_card_normalises_to_one_decimal_form(raw: object, expected: str) -> None:
    assert normalise(K.CARD, raw) == expected


def test_card_decimal_and_hex_forms_of_one_card_agree() -> None:
    forms = ["12345678", "0012345678", "0xBC614E", "bc614e"]
    assert {normalise(K.CARD, f) for f in forms} == {"12345678"}


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\t\n", "empty"),
        ("1" * 129, "too long"),
        ("9" * 21, "expected decimal digits or a hex number"),
        ("0x" + "f" * 17, "expected decimal digits or a hex number"),
        ("0x", "expected decimal digits or a hex number"),
        ("12AG34", "expected decimal digits or a hex number"),
        ("card-1234", "expected decimal digits or a hex number"),
        ("-1234", "expected decimal digits or a hex number"),
        ("12.5", "expected decimal digits or a hex number"),
        ("١٢٣٤", "expected decimal digits or a hex number"),  # Arabic-Indic digits
    ],
)
def test_card_rejects(raw: str, why: str) -> None:
    assert assert_rejected(K.CARD, raw).placeholders["why"] == why


# ---------------------------------------------------------------------- id card
def test_known_id_sample_is_valid() -> None:
    assert id_card_checksum_ok(VALID_ID)
    assert make_id(VALID_ID[:17]) == VALID_ID


@pytest.mark.parametrize("first17", ["11010519900307123", "44030419851020431", "31011519700101001"])
def test_id_card_with_computed_check_digit(first17: str) -> None:
    value = make_id(first17)
    assert normalise(K.ID_CARD, value) == value


def test_id_card_lowercase_x_is_uppercased() -> None:
    assert normalise(K.ID_CARD, VALID_ID.lower()) == VALID_ID
    assert normalise(K.ID_CARD, f"  {VALID_ID[:6]} {VALID_ID[6:]} ") == VALID_ID


def test_id_card_bad_check_digit() -> None:
    wrong = VALID_ID[:17] + "1"
    err = assert_rejected(K.ID_CARD, wrong)
    assert err.placeholders["why"] == "check digit mismatch"
    # A single changed digit in the body is caught too.
    body = "2" + VALID_ID[1:]
    assert_rejected(K.ID_CARD, body)


def test_id_card_legacy_15_digits() -> None:
    assert normalise(K.ID_CARD, "110105491231002") == "110105491231002"


@pytest.mark.parametrize(
    "raw",
    [
        "1101051949123100",  # 16
        "11010519491231002",  # 17
        "1101051949123100211",  # 19
        "11010519491231002Y",
        "X1010519491231002X",
        "11010519491231002XX",
    ],
)
def test_id_card_wrong_shapes(raw: str) -> None:
    assert_rejected(K.ID_CARD, raw)


# -------------------------------------------------------------------------- pin
@pytest.mark.parametrize("raw", ["1234", "0000", "12345678", "00123456", " 2468 "])
def test_pin_accepts_4_to_8_digits_keeping_leading_zeros(raw: str) -> None:
    assert normalise(K.PIN, raw) == raw.strip()


@pytest.mark.parametrize("raw", ["123", "123456789", "12a4", "12-34", "abcd", "", "١٢٣٤"])
def test_pin_rejects(raw: str) -> None:
    assert_rejected(K.PIN, raw)


# --------------------------------------------------------------------------- qr
@pytest.mark.parametrize("length", [16, 24, 128])
def test_qr_token_lengths_accepted(length: int) -> None:
    token = ("Ab9_-" * 40)[:length]
    assert normalise(K.QR, token) == token


@pytest.mark.parametrize(
    "raw", ["A" * 15, "A" * 129, "abc/def+ghi=jklmnop", "token with spaces inside!!"]
)
def test_qr_rejects(raw: str) -> None:
    assert_rejected(K.QR, raw)


def test_qr_is_case_sensitive() -> None:
    assert normalise(K.QR, "AbCdEfGhIjKlMnOp") == "AbCdEfGhIjKlMnOp"


# ------------------------------------------------------------------ fingerprint
@pytest.mark.parametrize("raw", ["7", "tpl-0001", "reader1:slot.42", "A" * 64])
def test_fingerprint_template_ids(raw: str) -> None:
    assert normalise(K.FINGERPRINT, raw) == raw


@pytest.mark.parametrize("raw", ["A" * 65, "tpl/1", "tpl#1"])
def test_fingerprint_rejects(raw: str) -> None:
    assert_rejected(K.FINGERPRINT, raw)


# ------------------------------------------------------------------ other input
def test_face_is_never_typed() -> None:
    err = assert_rejected(K.FACE, "0.1,0.2,0.3")
    assert "photos" in err.placeholders["why"]


@pytest.mark.parametrize("kind", list(K))
@pytest.mark.parametrize("raw", [None, True, False, ["1234"], {"v": "1234"}, b"1234", 12.0])
def test_non_text_input_is_rejected(kind: K, raw: object) -> None:
    assert_rejected(kind, raw)


def test_int_card_and_pin_are_accepted() -> None:
    assert normalise(K.CARD, 42) == "42"
    assert normalise(K.PIN, 4321) == "4321"


def test_error_never_contains_the_value_for_any_kind() -> None:
    secret = "110105194912310021"  # wrong check digit: a real-looking ID number
    for kind in K:
        with pytest.raises(InvalidCredentialValueError) as info:
            normalise(kind, secret + "!")
        assert secret not in str(info.value)
        assert all(secret not in v for v in info.value.placeholders.values())
