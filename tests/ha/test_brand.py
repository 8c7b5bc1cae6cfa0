"""Brand images and icons as Home Assistant serves them: the ``brands`` proxy (2026.3+)
answers with the images in our ``brand/`` folder, without going to the CDN, and HA's
icon loader finds an icon for every action and every entity without a device class."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, icon
from homeassistant.loader import async_get_integration
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)
import yaml

from custom_components.community_gate.const import DOMAIN

COMP = Path(__file__).resolve().parents[2] / "custom_components" / "community_gate"
BRAND = COMP / "brand"
# Read here, not in the tests: file I/O in the event loop is a blocking call to HA.
IMAGES = {p.name: p.read_bytes() for p in sorted(BRAND.glob("*.png"))}
SERVICES = yaml.safe_load((COMP / "services.yaml").read_text(encoding="utf-8"))


@pytest.fixture
async def brands(hass: HomeAssistant) -> Path:
    """HA's brands proxy; returns its CDN cache folder, which must stay empty."""
    assert await async_setup_component(hass, "brands", {})
    return Path(hass.config.cache_path("brands"))


async def test_home_assistant_sees_our_brand_folder(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.has_branding
    assert len(IMAGES) == 8


@pytest.mark.parametrize("image", sorted(IMAGES))
async def test_brands_proxy_serves_our_image(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, brands: Path, image: str
) -> None:
    client = await hass_client()
    resp = await client.get(f"/api/brands/integration/{DOMAIN}/{image}")
    assert resp.status == HTTPStatus.OK
    assert resp.content_type == "image/png"
    assert await resp.read() == IMAGES[image]
    # Served from the integration folder: nothing fetched from the CDN or cached.
    assert not await hass.async_add_executor_job(brands.exists)


async def test_brands_proxy_with_the_frontend_token(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    brands: Path,
) -> None:
    """The frontend loads images as <img src="...?token=">, without a header."""
    client = await hass_client_no_auth()
    url = f"/api/brands/integration/{DOMAIN}/icon.png"
    assert (await client.get(url)).status == HTTPStatus.FORBIDDEN

    ws = await hass_ws_client(hass)
    await ws.send_json({"id": 1, "type": "brands/access_token"})
    msg = await ws.receive_json()
    assert msg["success"], msg
    resp = await client.get(url, params={"token": msg["result"]["token"]})
    assert resp.status == HTTPStatus.OK
    assert await resp.read() == IMAGES["icon.png"]
    assert not await hass.async_add_executor_job(brands.exists)


async def test_every_action_has_an_icon(hass: HomeAssistant) -> None:
    icons = await icon.async_get_icons(hass, "services", [DOMAIN])
    assert set(icons[DOMAIN]) == set(SERVICES)
    assert all(spec["service"].startswith("mdi:") for spec in icons[DOMAIN].values())


async def test_every_entity_has_an_icon_or_a_device_class(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    entries = er.async_entries_for_config_entry(er.async_get(hass), estate.entry_id)
    icons = (await icon.async_get_icons(hass, "entity", [DOMAIN]))[DOMAIN]
    keys = {entry.translation_key for entry in entries}
    # Both gates' and the estate's entities, the alert entities among them.
    assert {"alerts", "open_alerts", "passage", "emergency", "open"} <= keys
    bare = [
        entry.entity_id
        for entry in entries
        if entry.translation_key not in icons.get(entry.domain, {})
        and entry.original_device_class is None
    ]
    assert bare == []
