"""The entities and devices of an estate: found through the registries by unique id,
updated by real passages, and never showing a name."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNKNOWN, EntityCategory
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.community_gate.const import DOMAIN, EVENT_EMERGENCY
from tests.ha.conftest import device_subentries, find_device, gate_subentry

GATES = ("east_gate", "north_door")
NAME = "Wang Fang"
CARD = "0012345678"


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    resp = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    await hass.async_block_till_done()
    return resp


def entity_id(
    hass: HomeAssistant, entry: MockConfigEntry, platform: str, key: str, gate: str | None = None
) -> str:
    unique_id = f"{entry.entry_id}-{gate}-{key}" if gate else f"{entry.entry_id}-{key}"
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def state_of(
    hass: HomeAssistant, entry: MockConfigEntry, platform: str, key: str, gate: str | None = None
) -> Any:
    state = hass.states.get(entity_id(hass, entry, platform, key, gate))
    assert state is not None
    return state


@pytest.fixture
async def tenant(hass: HomeAssistant, estate: MockConfigEntry) -> MockConfigEntry:
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    await call(
        hass, "add_person", {"person_id": "p1", "role": "tenant", "unit_id": "3-1201", "name": NAME}
    )
    await call(hass, "add_credential", {"person_id": "p1", "kind": "card", "value": CARD})
    return estate


async def present(hass: HomeAssistant, gate: str, value: str = CARD) -> dict[str, Any]:
    resp: dict[str, Any] = await call(
        hass, "present_credential", {"gate_id": gate, "kind": "card", "value": value}
    )
    return resp


def assert_no_names(hass: HomeAssistant) -> None:
    for state in hass.states.async_all():
        if state.entity_id.split(".")[1].startswith(("east_gate", "north_door", "maple_court")):
            assert NAME not in state.state
            assert NAME not in repr(state.attributes)
            assert CARD.lstrip("0") not in repr(state.attributes)


# ------------------------------------------------------------------------ registry
async def test_entities_have_entity_names(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    reg = er.async_get(hass)
    subentry_of = {sub.data["gate_id"]: sub.subentry_id for sub in estate.subentries.values()}
    expected = {
        ("button", "open"): "button.{gate}_open",
        ("event", "passage"): "event.{gate}_passage",
        ("sensor", "last_passage"): "sensor.{gate}_last_passage",
        ("sensor", "last_method"): "sensor.{gate}_last_method",
        ("binary_sensor", "online"): "binary_sensor.{gate}_online",
    }
    for gate in GATES:
        for (platform, key), pattern in expected.items():
            eid = entity_id(hass, estate, platform, key, gate)
            assert eid == pattern.format(gate=gate)
            entry = reg.async_get(eid)
            assert entry is not None
            assert entry.has_entity_name is True
            assert entry.translation_key == key
            assert entry.config_entry_id == estate.entry_id
            assert entry.config_subentry_id == subentry_of[gate]
            assert hass.states.get(eid) is not None
    estate_wide = {
        ("sensor", "people_enrolled"): "sensor.maple_court_people_enrolled",
        ("sensor", "passages_today"): "sensor.maple_court_passages_today",
        ("switch", "emergency"): "switch.maple_court_emergency_open_all",
        ("event", "alerts"): "event.maple_court_alert",
        ("sensor", "open_alerts"): "sensor.maple_court_open_alerts",
    }
    for (platform, key), eid in estate_wide.items():
        assert entity_id(hass, estate, platform, key) == eid
        entry = reg.async_get(eid)
        assert entry is not None
        assert entry.has_entity_name is True
        assert entry.config_subentry_id is None
    assert len(er.async_entries_for_config_entry(reg, estate.entry_id)) == 5 * 2 + 5
    # Device name + translated entity name.
    assert state_of(hass, estate, "button", "open", "east_gate").name == "East Gate Open"
    assert state_of(hass, estate, "switch", "emergency").name == "Maple Court Emergency open-all"
    online = reg.async_get(entity_id(hass, estate, "binary_sensor", "online", "east_gate"))
    assert online is not None
    assert online.entity_category is EntityCategory.DIAGNOSTIC


async def test_devices(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    devices = dr.async_get(hass)
    ents = er.async_get(hass)
    hub_device = find_device(hass, (DOMAIN, estate.entry_id), estate.entry_id)
    assert hub_device is not None
    assert hub_device.name == "Maple Court"
    assert hub_device.via_device_id is None
    assert device_subentries(hub_device) == {estate.entry_id: {None}}
    gate_devices = [
        d for d in dr.async_entries_for_config_entry(devices, estate.entry_id) if d != hub_device
    ]
    assert len(gate_devices) == len(GATES)
    for sub in estate.subentries.values():
        gate = sub.data["gate_id"]
        device = find_device(hass, (DOMAIN, f"{estate.entry_id}-{gate}"), estate.entry_id)
        assert device is not None
        assert device.name == sub.title
        assert device.via_device_id == hub_device.id
        assert device_subentries(device) == {estate.entry_id: {sub.subentry_id}}
        on_device = {e.unique_id for e in er.async_entries_for_device(ents, device.id)}
        assert on_device == {
            f"{estate.entry_id}-{gate}-{key}"
            for key in ("open", "passage", "last_passage", "last_method", "online")
        }
    assert (
        find_device(hass, (DOMAIN, f"{estate.entry_id}-north_door"), estate.entry_id).model
        == "Building door"
    )
    on_hub = {e.unique_id for e in er.async_entries_for_device(ents, hub_device.id)}
    assert on_hub == {
        f"{estate.entry_id}-{key}"
        for key in ("people_enrolled", "passages_today", "emergency", "alerts", "open_alerts")
    }


async def test_new_gate_gets_its_device(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    sub = ConfigSubentry(**gate_subentry("car_park", "switch.east_relay"))
    hass.config_entries.async_add_subentry(estate, sub)
    await hass.async_block_till_done()
    device = find_device(hass, (DOMAIN, f"{estate.entry_id}-car_park"), estate.entry_id)
    assert device is not None
    assert device_subentries(device) == {estate.entry_id: {sub.subentry_id}}
    assert state_of(hass, estate, "button", "open", "car_park").state == STATE_UNKNOWN


# ------------------------------------------------------------------- gate entities
async def test_open_button(
    hass: HomeAssistant, estate: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    button = entity_id(hass, estate, "button", "open", "north_door")
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
    await hass.async_block_till_done()
    assert relay_calls == [("switch.north_relay", "on")]
    hub = estate.runtime_data.hub
    [p] = await hub.db(hub.store.recent_passages)
    assert (p.gate_id, p.reason.value, p.method.value, p.note, p.allowed) == (
        "north_door",
        "remote_open",
        "remote",
        "button",
        True,
    )
    assert dt_util.parse_datetime(hass.states.get(button).state) is not None


async def test_passage_event_entity(hass: HomeAssistant, tenant: MockConfigEntry) -> None:
    east = entity_id(hass, tenant, "event", "passage", "east_gate")
    north = entity_id(hass, tenant, "event", "passage", "north_door")
    assert hass.states.get(east).state == STATE_UNKNOWN
    assert hass.states.get(east).attributes["event_types"] == ["granted", "denied"]

    resp = await present(hass, "east_gate")
    state = hass.states.get(east)
    assert dt_util.parse_datetime(state.state) is not None
    assert state.attributes["event_type"] == "granted"
    assert state.attributes["method"] == "card"
    assert state.attributes["reason"] == "granted"
    assert state.attributes["direction"] == "in"
    assert state.attributes["passage_id"] == resp["passage_id"]
    assert state.attributes["flags"] == []
    assert hass.states.get(north).state == STATE_UNKNOWN  # another gate's event

    resp = await present(hass, "east_gate", "999")
    state = hass.states.get(east)
    assert state.attributes["event_type"] == "denied"
    assert state.attributes["reason"] == "unknown_credential"
    assert state.attributes["passage_id"] == resp["passage_id"]
    assert_no_names(hass)


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

    await call(hass, "open_gate", {"gate_id": "east_gate", "reason": "x"})
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


async def test_gate_online(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    online = entity_id(hass, estate, "binary_sensor", "online", "east_gate")
    assert hass.states.get(online).state == STATE_ON
    hass.states.async_set("switch.east_relay", "unavailable")
    await hass.async_block_till_done()
    assert hass.states.get(online).state == STATE_OFF
    assert state_of(hass, estate, "binary_sensor", "online", "north_door").state == STATE_ON
    hass.states.async_set("switch.east_relay", "off")
    await hass.async_block_till_done()
    assert hass.states.get(online).state == STATE_ON
    hass.states.async_remove("switch.east_relay")
    await hass.async_block_till_done()
    assert hass.states.get(online).state == STATE_OFF


async def test_gate_with_missing_actuator_is_offline(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    hass.config_entries.async_add_subentry(
        estate, ConfigSubentry(**gate_subentry("side_gate", "switch.not_there"))
    )
    await hass.async_block_till_done()
    assert state_of(hass, estate, "binary_sensor", "online", "side_gate").state == STATE_OFF


# ------------------------------------------------------------------ estate entities
async def test_people_enrolled(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    def people() -> str:
        return str(state_of(hass, estate, "sensor", "people_enrolled").state)

    assert people() == "0"
    assert state_of(hass, estate, "sensor", "people_enrolled").attributes["state_class"] == (
        "measurement"
    )
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    await call(hass, "add_person", {"person_id": "p1", "role": "tenant", "unit_id": "3-1201"})
    assert people() == "1"
    await call(hass, "add_person", {"person_id": "s1", "role": "staff"})
    assert people() == "2"
    await call(hass, "issue_visitor_pass", {"unit_id": "3-1201"})
    assert people() == "3"
    await call(hass, "remove_person", {"person_id": "s1"})
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
    await call(hass, "open_gate", {"gate_id": "north_door", "reason": "x"})
    assert today() == "3"
    await call(hass, "set_emergency", {"active": True})
    assert today() == "5"
    await call(hass, "set_emergency", {"active": False})
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


async def test_emergency_switch(
    hass: HomeAssistant, estate: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    switch = entity_id(hass, estate, "switch", "emergency")
    events: list[Event] = []
    hass.bus.async_listen(EVENT_EMERGENCY, events.append)
    assert hass.states.get(switch).state == STATE_OFF

    await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True)
    await hass.async_block_till_done()
    assert hass.states.get(switch).state == STATE_ON
    hub = estate.runtime_data.hub
    assert hub.emergency is True
    assert sorted(relay_calls) == [("switch.east_relay", "on"), ("switch.north_relay", "on")]
    passages = await hub.db(hub.store.recent_passages)
    assert sorted((p.gate_id, p.reason.value, p.method.value, p.note) for p in passages) == [
        ("east_gate", "emergency_open", "emergency", "switch"),
        ("north_door", "emergency_open", "emergency", "switch"),
    ]
    assert [e.data["active"] for e in events] == [True]
    for gate in GATES:
        assert state_of(hass, estate, "sensor", "last_method", gate).state == "emergency"

    await hass.services.async_call("switch", "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True)
    await hass.async_block_till_done()
    assert hass.states.get(switch).state == STATE_OFF
    assert hub.emergency is False
    assert await hub.db(hub.store.get_setting, "emergency") == "0"
    assert [e.data["active"] for e in events] == [True, False]
    assert await hub.db(hub.store.count_passages) == 2

    # The action drives the same state.
    await call(hass, "set_emergency", {"active": True})
    assert hass.states.get(switch).state == STATE_ON
