"""The one place where an error becomes what a user sees.

Every path a person reaches the estate through (actions, entities, the panel's websocket
commands, the HTTP views) raises or answers through here, so the same fault reads the
same everywhere: a mistake of the caller is a ``ServiceValidationError``, a failure of
the estate or its devices a ``HomeAssistantError``, both with a translation key from
``strings.json`` and placeholders that never hold a name or a credential value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

from homeassistant.core import Context
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized

from .const import DOMAIN
from .core import errors

# Failures of the estate or its devices, not of the caller's input. Every other code
# is the caller's to fix.
FAILURES = frozenset(
    {
        "camera_unavailable",
        "mqtt_unavailable",
        "emergency_not_opened",
        "opened_not_logged",
        errors.EstateClosedError.code,
        errors.FaceUnavailableError.code,
        errors.FaceEngineFailedError.code,
        errors.StoreError.code,
        errors.StoreUnavailableError.code,
        errors.StoreCorruptError.code,
        errors.StoreTooNewError.code,
    }
)


class AdminRequired(Unauthorized):
    """A non-admin called an admin action: still ``Unauthorized`` (a REST caller gets
    401, a script logs "Unauthorized", neither with a traceback), with a translated
    message naming the action instead of the bare class name."""

    def __init__(self, context: Context | None, action: str) -> None:
        super().__init__(context=context)
        self.translation_domain = DOMAIN
        self.translation_key = "admin_required"
        self.translation_placeholders = {"action": action}
        self.generate_message = True  # str() is the translated message


def is_failure(code: str) -> bool:
    # Actuator codes (actuator_missing, actuator_timeout, ...) are all failures.
    return code in FAILURES or code.startswith("actuator_")


# The longest placeholder a message quotes: ids are 64, a SQLite reason about 200.
MAX_PLACEHOLDER = 200


def _quotable(value: object) -> str:
    """A placeholder as a message may quote it: Home Assistant logs the message of a
    failed call, and a placeholder can hold the caller's input (an unknown id). Control
    characters are escaped, so a newline cannot forge a log line, and it is shortened."""
    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= MAX_PLACEHOLDER else text[: MAX_PLACEHOLDER - 1] + "…"


def ha_error(code: str, **placeholders: object) -> HomeAssistantError:
    """The translated error for ``code``."""
    cls = HomeAssistantError if is_failure(code) else ServiceValidationError
    return cls(
        translation_domain=DOMAIN,
        translation_key=code,
        translation_placeholders={k: _quotable(v) for k, v in placeholders.items()},
    )


def from_core(err: errors.CoreError, store_path: Path | None = None) -> HomeAssistantError:
    """A domain error as a user sees it. A database failure also names the file and
    SQLite's reason (neither carries personal data)."""
    placeholders: dict[str, object] = {}
    if isinstance(err, errors.StoreError) and store_path is not None:
        placeholders = {"path": store_path, "error": str(err)[:200]}
    return ha_error(err.code, **(placeholders | err.placeholders))


@contextmanager
def translated(store_path: Path | None = None) -> Iterator[None]:
    """Run a block whose domain errors reach a user: they leave it translated."""
    try:
        yield
    except errors.CoreError as err:
        raise from_core(err, store_path) from err


def not_opened(code: str, gate_id: str, passage_id: int | None) -> HomeAssistantError:
    """A gate that was to open did not: the passage is already written, and the
    message names it."""
    return ha_error(code, gate_id=gate_id, passage_id=passage_id)


def raise_if_not_opened(failed_gate_ids: Iterable[str]) -> None:
    """Emergency open-all stays on when some gates did not open (the others did, and
    the state decides "open" for every later credential), but the caller must hear
    which gates need a person. Every attempt is already a passage row."""
    failed = sorted(failed_gate_ids)
    if failed:
        raise ha_error("emergency_not_opened", gate_ids=", ".join(failed))


def http_status(err: HomeAssistantError) -> HTTPStatus:
    """The HTTP status a view answers ``err`` with."""
    if not isinstance(err, ServiceValidationError):
        return HTTPStatus.SERVICE_UNAVAILABLE
    code = err.translation_key or ""
    if code.startswith("unknown_") or code in {"no_estate", "entry_not_loaded"}:
        return HTTPStatus.NOT_FOUND
    return HTTPStatus.BAD_REQUEST


def error_body(err: HomeAssistantError) -> dict[str, Any]:
    """The JSON body of an error answer: the code and its placeholders."""
    return {"error": err.translation_key or "error", "details": err.translation_placeholders or {}}
