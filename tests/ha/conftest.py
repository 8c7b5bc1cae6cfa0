"""Fixtures for tests against a real Home Assistant test instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from tests.ha.helpers import add_estate, add_tenant, gate_subentry


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/community_gate."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots through HA's serializer (registry entries and states without ids and
    times), kept in tests/ha/snapshots/ as HA core keeps them. phcc defines the same
    fixture in its plugin, but syrupy's own plugin fixture shadows it there."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


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
    return await add_estate(
        hass,
        db_path,
        gate_subentry("east_gate", "switch.east_relay"),
        gate_subentry("north_door", "switch.north_relay", kind="building_door", building="3"),
    )


@pytest.fixture
async def tenant(hass: HomeAssistant, estate: MockConfigEntry) -> MockConfigEntry:
    """The estate with tenant p1 (NAME) holding CARD; entities caught up."""
    await add_tenant(hass, settle=True)
    return estate
