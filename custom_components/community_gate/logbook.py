"""Logbook lines for passages, emergencies and lockdowns: codes only, no names.

Alerts have no line of their own: every user reads the logbook, and a staff-only alert
(rent arrears...) written beside the passage that raised it would tell who it is about.
Alerts every user may see reach the logbook as their event entity's changes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from .const import DOMAIN, EVENT_EMERGENCY, EVENT_LOCKDOWN, EVENT_PASSAGE
from .core.model import public_flags, public_reason


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    @callback
    def _passage(event: Event) -> dict[str, str]:
        d: Mapping[str, Any] = event.data
        verdict = "granted" if d.get("allowed") else "denied"
        msg = f"{verdict} by {d.get('method')}, {d.get('direction')}"
        if d.get("reason") != "granted":
            msg += f": {public_reason(str(d.get('reason')))}"
        if flags := public_flags(d.get("flags") or ()):
            msg += f"; flags: {', '.join(flags)}"
        if (count := d.get("count") or 1) > 1:
            # A repeat folded into one passage row (an episode): the how-many-th try.
            msg += f" (×{count})"
        out = {LOGBOOK_ENTRY_NAME: f"Gate {d.get('gate_id')}", LOGBOOK_ENTRY_MESSAGE: msg}
        # Link the line to the gate's passage entity, so it shows on the gate's device.
        entity_id = er.async_get(hass).async_get_entity_id(
            "event", DOMAIN, f"{d.get('entry_id')}-{d.get('gate_id')}-passage"
        )
        if entity_id:
            out[LOGBOOK_ENTRY_ENTITY_ID] = entity_id
        return out

    @callback
    def _emergency(event: Event) -> dict[str, str]:
        state = "activated" if event.data.get("active") else "cleared"
        return {LOGBOOK_ENTRY_NAME: "Estate emergency", LOGBOOK_ENTRY_MESSAGE: f"open-all {state}"}

    @callback
    def _lockdown(event: Event) -> dict[str, str]:
        state = "started: only staff pass" if event.data.get("active") else "ended"
        return {LOGBOOK_ENTRY_NAME: "Estate lockdown", LOGBOOK_ENTRY_MESSAGE: state}

    async_describe_event(DOMAIN, EVENT_PASSAGE, _passage)
    async_describe_event(DOMAIN, EVENT_EMERGENCY, _emergency)
    async_describe_event(DOMAIN, EVENT_LOCKDOWN, _lockdown)
