"""The sensors: a gate's last passage and method, and the estate's people enrolled and
passages today, updated by real passages and read back after a restart."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from syrupy.assertion import SnapshotAssertion

from tests.ha.helpers import (
    assert_no_names,
    call,
    entity_id,
    present,
    snapshot_platform,
    state_of,
)


async def test_sensor_entities_snapshot(
    hass: HomeAssistant, estate: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """Registry entries and states of every sensor entity of the estate."""
    snapshot_platform(hass, snapshot, estate, "sensor")


async def test_last_passage_sensors(hass: HomeAssistant, tenant: MockConfigEntry) -> None:
    last = entity_id(hass, tenant, "sensor", "last_passage", "east_gate")
    method = entity_id(hass, tenant, "sensor", "last_method", "east_gate")
    assert hass.states.get(last).state == STATE_UNKNOWN
    assert hass.states.get(method).state == STATE_UNKNOWN
    assert hass.states.get(last).attributes["device_class"] == "timestamp"
    assert hass.states.get(method).attributes["options"] == [
        "face",
        "card",
        "id_card",
        "qr",
        "pin",
        "fingerprint",
        "remote",
        "emergency",
    ]

    await present(hass, "east_gate")
    state = hass.states.get(last)
    when = dt_util.parse_datetime(state.state)
    assert when is not None
    hub = tenant.runtime_data.hub
    [p] = await hub.db(hub.store.recent_passages)
    assert when.timestamp() == pytest.approx(p.ts, abs=1)
    extra = {
        k: v for k, v in state.attributes.items() if k not in ("device_class", "friendly_name")
    }
    assert extra == {"method": "card", "allowed": True, "reason": "granted"}
    assert hass.states.get(method).state == "card"

    await call(hass, "open_gate", {"gate_id": "east_gate", "reason": "x"}, settle=True)
    assert hass.states.get(method).state == "remote"
    assert hass.states.get(last).attributes["reason"] == "remote_open"
    # The door's sensors only follow the door.
    assert state_of(hass, tenant, "sensor", "last_method", "north_door").state == STATE_UNKNOWN
    assert_no_names(hass)

    # After a restart the last passage is read back from the database.
    assert await hass.config_entries.async_reload(tenant.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(method).state == "remote"
    assert hass.states.get(last).attributes["reason"] == "remote_open"


async def test_people_enrolled(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    def people() -> str:
        return str(state_of(hass, estate, "sensor", "people_enrolled").state)

    assert people() == "0"
    assert state_of(hass, estate, "sensor", "people_enrolled").attributes["state_class"] == (
        "measurement"
    )
    await call(
        hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"}, settle=True
    )
    await call(
        hass, "add_person", {"person_id": "p1", "role": "tenant", "unit_id": "3-1201"}, settle=True
    )
    assert people() == "1"
    await call(hass, "add_person", {"person_id": "s1", "role": "staff"}, settle=True)
    assert people() == "2"
    await call(hass, "issue_visitor_pass", {"unit_id": "3-1201"}, settle=True)
    assert people() == "3"
    await call(hass, "remove_person", {"person_id": "s1"}, settle=True)
    assert people() == "2"


async def test_passages_today(
    hass: HomeAssistant, tenant: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    def today() -> str:
        return str(state_of(hass, tenant, "sensor", "passages_today").state)

    assert today() == "0"
    await present(hass, "east_gate")
    assert today() == "1"
    await present(hass, "east_gate", "999")  # denials count too
    assert today() == "2"
    await call(hass, "open_gate", {"gate_id": "north_door", "reason": "x"}, settle=True)
    assert today() == "3"
    await call(hass, "set_emergency", {"active": True}, settle=True)
    assert today() == "5"
    await call(hass, "set_emergency", {"active": False}, settle=True)
    # A restart counts today's passages from the database.
    assert await hass.config_entries.async_reload(tenant.entry_id)
    await hass.async_block_till_done()
    assert today() == "5"
    # Local midnight starts a new day.
    midnight = dt_util.start_of_local_day() + timedelta(days=1)
    freezer.move_to(midnight)
    async_fire_time_changed(hass, midnight)
    await hass.async_block_till_done()
    assert today() == "0"
