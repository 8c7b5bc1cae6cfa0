"""Which kind of entry: an estate (every entry from before the centre existed) or the
command centre. One question, asked the same way everywhere."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import slugify

from .const import CONF_ENTRY_KIND, CONF_ESTATE_NAME, DOMAIN, ENTRY_KIND_CENTRE


def is_centre(entry: ConfigEntry[Any]) -> bool:
    return entry.data.get(CONF_ENTRY_KIND) == ENTRY_KIND_CENTRE


def loaded_estates(hass: HomeAssistant) -> list[ConfigEntry[Any]]:
    """The loaded estate entries (never the centre's)."""
    return [
        e
        for e in hass.config_entries.async_entries(DOMAIN)
        if e.state is ConfigEntryState.LOADED and not is_centre(e)
    ]


def estate_slug(name: str) -> str:
    """The ``<estate>`` MQTT topic segment: the estate's name, slugified."""
    slug = slugify(name) or "estate"
    return slug if slug != "unknown" else "estate"


def entry_topic(entry: ConfigEntry[Any]) -> str:
    """An estate entry's topic segment (its name; the title for the oldest entries)."""
    return estate_slug(entry.data.get(CONF_ESTATE_NAME) or entry.title)


def topic_holder(
    entries: Iterable[ConfigEntry[Any]], slug: str, *, exclude: str | None = None
) -> ConfigEntry[Any] | None:
    """The estate entry among ``entries`` (other than ``exclude``) whose topic segment is
    ``slug``: two estates on one broker must not share a topic tree ("Maple Court" and
    "maple-court" both give ``maple_court``)."""
    for other in entries:
        if other.entry_id != exclude and not is_centre(other) and entry_topic(other) == slug:
            return other
    return None
