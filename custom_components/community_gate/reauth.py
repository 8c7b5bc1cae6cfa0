"""Closing a reauthentication flow nobody needs: the stored password works again (an
operator put the old one back at the server), so the flow would ask for nothing."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntry
from homeassistant.core import HomeAssistant, callback


@callback
def async_abort_reauth(hass: HomeAssistant, entry: ConfigEntry[Any]) -> int:
    """Abort the entry's reauthentication flows in progress; how many there were.

    As Home Assistant's own reload does it: only flows past their first step (aborting
    one still starting would fail that start). Home Assistant removes the flow's
    "needs attention" repair issue with it."""
    flows = hass.config_entries.flow
    stale = [
        flow["flow_id"]
        for flow in flows.async_progress_by_handler(
            entry.domain, match_context={"entry_id": entry.entry_id, "source": SOURCE_REAUTH}
        )
    ]
    for flow_id in stale:
        flows.async_abort(flow_id)
    return len(stale)
