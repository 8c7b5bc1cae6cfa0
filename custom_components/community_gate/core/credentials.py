"""Validation and normalisation of credential values as readers send them.

Readers disagree on formats (a Wiegand card arrives as "0012345678", "12345678" or
"0xBC614E"); normalising first means one card always hashes to one value.
"""

from __future__ import annotations

import re
import secrets

from .errors import InvalidCredentialValueError, PinTooShortError
from .model import CredentialKind

# The shortest PIN the format takes: an estate's minimum (EstateOptions) is at least this.
PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 8
GENERATED_PIN_MIN = 6  # a made PIN is never weaker than the default minimum

_DIGITS = re.compile(r"[0-9]{1,20}")
_HEX = re.compile(r"(?:0x)?([0-9a-f]{1,16})", re.IGNORECASE)
_PIN = re.compile(rf"[0-9]{{{PIN_MIN_DIGITS},{PIN_MAX_DIGITS}}}")
_QR = re.compile(r"[A-Za-z0-9_\-]{16,128}")
_FINGERPRINT = re.compile(r"[A-Za-z0-9_\-:.]{1,64}")
_ID18 = re.compile(r"[0-9]{17}[0-9X]")
_ID15 = re.compile(r"[0-9]{15}")

# GB 11643-1999 (ISO 7064 MOD 11-2) check digit weights for the 18-digit resident ID.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_checksum_ok(value: str) -> bool:
    total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def _bad(kind: CredentialKind, why: str) -> InvalidCredentialValueError:
    # The value itself is never put in the message: it may be an ID number.
    return InvalidCredentialValueError(f"invalid {kind} value: {why}", kind=kind.value, why=why)


def normalise(kind: CredentialKind, value: object) -> str:
    """Return the canonical form of ``value`` or raise ``InvalidCredentialValueError``."""
    if kind is CredentialKind.FACE:
        raise _bad(kind, "face credentials are enrolled from photos, not typed")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _bad(kind, "not text")
    text = str(value).strip().replace(" ", "")
    if not text:
        raise _bad(kind, "empty")
    if len(text) > 128:
        raise _bad(kind, "too long")
    match kind:
        case CredentialKind.CARD:
            if _DIGITS.fullmatch(text):
                return str(int(text))
            hexm = _HEX.fullmatch(text)
            if hexm and (text.lower().startswith("0x") or not text.isdigit()):
                return str(int(hexm.group(1), 16))
            raise _bad(kind, "expected decimal digits or a hex number")
        case CredentialKind.ID_CARD:
            upper = text.upper()
            if _ID18.fullmatch(upper):
                if not id_card_checksum_ok(upper):
                    raise _bad(kind, "check digit mismatch")
                return upper
            if _ID15.fullmatch(upper):
                return upper
            raise _bad(kind, "expected an 18-character resident ID number")
        case CredentialKind.PIN:
            if _PIN.fullmatch(text):
                return text
            raise _bad(kind, "expected 4 to 8 digits")
        case CredentialKind.QR:
            if _QR.fullmatch(text):
                return text
            raise _bad(kind, "expected a 16-128 character token")
        case CredentialKind.FINGERPRINT:
            if _FINGERPRINT.fullmatch(text):
                return text
            raise _bad(kind, "expected a reader template id")
    raise _bad(kind, "unsupported kind")  # pragma: no cover - enum is exhaustive


def new_pin(length: int) -> str:
    """A random PIN of ``length`` digits (at least six), for an action that may not carry
    one: Home Assistant records every action's data, so the hub makes the PIN and answers
    it once."""
    digits = min(max(length, GENERATED_PIN_MIN), PIN_MAX_DIGITS)
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def check_pin_length(normalised: str, minimum: int) -> None:
    """Refuse enrolling a PIN shorter than ``minimum``: a four-digit PIN is one guess in
    10,000, six digits one in a million."""
    if len(normalised) < minimum:
        raise PinTooShortError("PIN shorter than the estate's minimum", min=str(minimum))
