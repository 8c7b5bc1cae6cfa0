"""The entities and devices of an estate across platforms: names, registry entries and
devices. Each platform's behaviour is tested in its own file (test_<platform>.py)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import STATE_UNKNOWN, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.community_gate.const import DOMAIN
from tests.ha.helpers import (
    GATES,
    device_subentries,
    entity_id,
    find_device,
    gate_subentry,
    state_of,
)


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
        ("switch", "lockdown"): "switch.maple_court_lockdown",
        ("event", "alerts"): "event.maple_court_alert",
        ("sensor", "open_alerts"): "sensor.maple_court_open_alerts",
    }
    for (platform, key), eid in estate_wide.items():
        assert entity_id(hass, estate, platform, key) == eid
        entry = reg.async_get(eid)
        assert entry is not None
        assert entry.has_entity_name is True
        assert entry.config_subentry_id is None
    assert len(er.async_entries_for_config_entry(reg, estate.entry_id)) == 5 * 2 + 6
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
        for key in (
            "people_enrolled",
            "passages_today",
            "emergency",
            "lockdown",
            "alerts",
            "open_alerts",
        )
    }


async def test_new_gate_gets_its_device(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    sub = ConfigSubentry(**gate_subentry("car_park", "switch.east_relay"))
    hass.config_entries.async_add_subentry(estate, sub)
    await hass.async_block_till_done()
    device = find_device(hass, (DOMAIN, f"{estate.entry_id}-car_park"), estate.entry_id)
    assert device is not None
    assert device_subentries(device) == {estate.entry_id: {sub.subentry_id}}
    assert state_of(hass, estate, "button", "open", "car_park").state == STATE_UNKNOWN
