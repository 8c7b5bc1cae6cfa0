"""The staff panel in the sidebar: served from the component's own files, admin only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from homeassistant.components import panel_custom
from homeassistant.components.http import StaticPathConfig
from homeassistant.core import HomeAssistant

from .const import DOMAIN

PANEL_PATH: Final = "community-gate"
STATIC_URL: Final = "/community_gate_static"
ELEMENT: Final = "community-gate-panel"
FRONTEND_DIR: Final = Path(__file__).parent / "frontend"
_VERSION: Final = json.loads((Path(__file__).parent / "manifest.json").read_text())["version"]
# The sidebar title, from the panel's generated strings (read once, at import).
_TITLES: Final = {
    lang: json.loads((FRONTEND_DIR / "strings" / f"{lang}.json").read_text(encoding="utf-8"))[
        "title"
    ]
    for lang in ("en", "zh-Hans")
}


async def async_register_panel(hass: HomeAssistant) -> None:
    """Once per Home Assistant start (the panel serves every estate). Skipped where the
    frontend is not loaded (headless test instances); every real install has it."""
    if hass.data.get(f"{DOMAIN}_panel") or "frontend" not in hass.config.components:
        return
    hass.data[f"{DOMAIN}_panel"] = True
    await hass.http.async_register_static_paths(
        [StaticPathConfig(STATIC_URL, str(FRONTEND_DIR), cache_headers=False)]
    )
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_PATH,
        webcomponent_name=ELEMENT,
        # The sidebar title is fixed at registration: the hub's language picks it.
        sidebar_title=_TITLES["zh-Hans" if hass.config.language.startswith("zh") else "en"],
        sidebar_icon="mdi:gate",
        # The version busts browser caches after an update.
        module_url=f"{STATIC_URL}/{ELEMENT}.js?v={_VERSION}",
        require_admin=True,
        config={},
    )
