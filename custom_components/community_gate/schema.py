"""The schema library of the running Home Assistant, as ``vol``.

HA 2026.9 moved its validation (config_validation, selectors, service and flow schemas)
from voluptuous to probatio, whose API is a superset of the parts used here. Schemas
built with the library HA itself uses type-check against its signatures and raise the
errors HA catches; voluptuous stays only for the releases before the move.
"""

from __future__ import annotations

from collections.abc import Callable
import math
from typing import Any

try:
    import probatio as vol
except ImportError:  # Home Assistant before 2026.9
    import voluptuous as vol  # type: ignore[no-redef]

__all__ = ["ENTRY_ID", "MAX_ROW_ID", "finite_float", "int_between", "vol"]

# A config entry id as Home Assistant makes them (a ULID, or 32 hex digits before):
# nothing that could break a log line, and short.
ENTRY_ID = vol.All(str, vol.Length(min=1, max=64), vol.Match(r"^[0-9A-Za-z_-]+$"))

# SQLite's largest INTEGER: a row id beyond it never reaches the database (it raised
# OverflowError there, answered as "unknown error").
MAX_ROW_ID = 2**63 - 1


def int_between(lo: int, hi: int) -> Callable[[Any], int]:
    """An integer in ``lo..hi``. Unlike ``vol.Coerce(int)``, infinity (OverflowError)
    is refused as invalid instead of escaping the schema."""

    def check(value: Any) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError) as err:
            raise vol.Invalid("expected an integer") from err
        if not lo <= number <= hi:
            raise vol.Invalid(f"must be between {lo} and {hi}")
        return number

    return check


def finite_float(value: Any) -> float:
    """A finite float. A huge integer (OverflowError), NaN or infinity is invalid."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise vol.Invalid("expected a number") from err
    if not math.isfinite(number):
        raise vol.Invalid("expected a finite number")
    return number
