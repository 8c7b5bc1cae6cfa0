"""What the benchmarks that run a real Home Assistant test instance share: the bench
estate with its one gate, and calling the integration's actions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

# The bench gate; each benchmark adds how it opens (an actuator entity or an MQTT device).
BENCH_GATE: dict[str, Any] = {
    "name": "Bench gate",
    "gate_id": "bench_gate",
    "kind": "estate_gate",
    "direction": "both",
    "pulse_seconds": 5,
}


async def async_bench_estate(
    hass: HomeAssistant, workdir: Path, opens_by: dict[str, Any]
) -> MockConfigEntry:
    """The estate "Bench Estate" on ``workdir/bench.db`` with the bench gate, set up."""
    from homeassistant.config_entries import ConfigSubentryData
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    gate = ConfigSubentryData(
        data=BENCH_GATE | opens_by,
        subentry_type="gate",
        title=BENCH_GATE["name"],
        unique_id=BENCH_GATE["gate_id"],
    )
    entry = MockConfigEntry(
        domain="community_gate",
        title="Bench Estate",
        data={"name": "Bench Estate", "db_path": str(workdir / "bench.db")},
        options={"retention_days": 180},
        subentries_data=[gate],
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "community_gate", {})
    await hass.async_block_till_done()
    return entry


async def async_call(hass: HomeAssistant, name: str, data: dict[str, Any]) -> Any:
    """A community_gate action, with its response."""
    return await hass.services.async_call(
        "community_gate", name, data, blocking=True, return_response=True
    )
