"""Which kind of entry: an estate (every entry from before the centre existed) or the
command centre. One question, asked the same way everywhere."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant

from .const import CONF_ENTRY_KIND, DOMAIN, ENTRY_KIND_CENTRE


def is_centre(entry: ConfigEntry[Any]) -> bool:
    return entry.data.get(CONF_ENTRY_KIND) == ENTRY_KIND_CENTRE


def loaded_estates(hass: HomeAssistant) -> list[ConfigEntry[Any]]:
    """The loaded estate entries (never the centre's)."""
    return [
        e
        for e in hass.config_entries.async_entries(DOMAIN)
        if e.state is ConfigEntryState.LOADED and not is_centre(e)
    ]
