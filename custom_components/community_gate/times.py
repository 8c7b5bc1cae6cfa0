"""The two time conversions every service, view and command needs: HA's datetimes in,
epoch seconds in the store; epoch seconds out, ISO 8601 (UTC) in responses."""

from __future__ import annotations

from datetime import datetime

from homeassistant.util import dt as dt_util


def to_epoch(value: datetime | None) -> float | None:
    """A datetime from a service call as epoch seconds; a naive one is in HA's zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    return value.timestamp()


def to_iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC, for responses and events."""
    return None if ts is None else dt_util.utc_from_timestamp(ts).isoformat()
