"""Fixtures for tests against a real Home Assistant test instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.community_gate.const import (
    CONF_ACTUATOR,
    CONF_DB_PATH,
    CONF_DIRECTION,
    CONF_GATE_ID,
    CONF_GATE_KIND,
    CONF_PULSE_SECONDS,
    DOMAIN,
    SUBENTRY_GATE,
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/community_gate."""


@pytest.fixture(autouse=True)
def no_usage_reports(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """HA reports deprecated or wrong use by a custom integration under its name ("Detected
    that custom integration 'community_gate' ..."): on either HA release, none may appear."""
    yield
    reports = [
        r.getMessage()
        for r in caplog.get_records("call") + caplog.get_records("teardown")
        if "custom integration 'community_gate'" in r.getMessage()
    ]
    assert not reports, reports


def gate_subentry(gate_id: str, actuator: str, **extra: Any) -> ConfigSubentryData:
    data = {
        "name": gate_id.replace("_", " ").title(),
        CONF_GATE_ID: gate_id,
        CONF_GATE_KIND: "estate_gate",
        CONF_DIRECTION: "both",
        CONF_ACTUATOR: actuator,
        CONF_PULSE_SECONDS: 5,
        **extra,
    }
    return ConfigSubentryData(
        data=data, subentry_type=SUBENTRY_GATE, title=data["name"], unique_id=gate_id
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "estate.db"


RELAYS = ("east_relay", "north_relay")


@pytest.fixture
async def relay_calls(hass: HomeAssistant) -> list[tuple[str, str]]:
    """Real HA relays: template switches driving input_boolean "coils". A physical
    relay is the one part that cannot be real; the coil's state changes stand in for
    its clicks. Returns (switch entity, new coil state) in order."""
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {f"{r}_coil": {} for r in RELAYS}}
    )
    # Template entities in the `template:` integration's own YAML (the `switch:` platform
    # form was removed in HA 2026.6); the name gives the entity id.
    switches = [
        {
            "name": r,
            "unique_id": f"test_{r}",
            "state": f"{{{{ is_state('input_boolean.{r}_coil', 'on') }}}}",
            "turn_on": {
                "action": "input_boolean.turn_on",
                "target": {"entity_id": f"input_boolean.{r}_coil"},
            },
            "turn_off": {
                "action": "input_boolean.turn_off",
                "target": {"entity_id": f"input_boolean.{r}_coil"},
            },
        }
        for r in RELAYS
    ]
    assert await async_setup_component(hass, "template", {"template": [{"switch": switches}]})
    await hass.async_block_till_done()
    calls: list[tuple[str, str]] = []

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None and event.data["old_state"] is not None:
            relay = event.data["entity_id"].removeprefix("input_boolean.").removesuffix("_coil")
            calls.append((f"switch.{relay}", new.state))

    async_track_state_change_event(hass, [f"input_boolean.{r}_coil" for r in RELAYS], _changed)
    return calls


@pytest.fixture
async def estate(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]]
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        data={"name": "Maple Court", CONF_DB_PATH: str(db_path)},
        options={"retention_days": 180},
        unique_id=str(db_path),
        subentries_data=[
            gate_subentry("east_gate", "switch.east_relay"),
            gate_subentry("north_door", "switch.north_relay", kind="building_door", building="3"),
        ],
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return entry


def find_device(hass: HomeAssistant, identifier: tuple[str, str], entry_id: str) -> Any:
    """A device of the entry by identifier, through the lookup each HA release offers
    (``async_get_device`` is deprecated from 2026.10: identifiers are unique only per
    config entry)."""
    registry = dr.async_get(hass)
    by_identifier = getattr(registry, "async_get_device_by_identifier", None)
    if by_identifier is not None:
        return by_identifier(identifier, entry_id)
    return registry.async_get_device(identifiers={identifier})


def device_subentries(device: Any) -> dict[str, set[str | None]]:
    """Config entry id -> subentry ids of a device, on either side of HA 2026.10 (a device
    then belongs to one entry: ``config_entries_subentries`` is deprecated)."""
    if hasattr(device, "config_subentry_id"):
        return {device.config_entry_id: {device.config_subentry_id}}
    return dict(device.config_entries_subentries)
