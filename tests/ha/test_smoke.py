"""End-to-end: a card presented at a gate opens it and is logged."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from custom_components.community_gate.const import DOMAIN, EVENT_PASSAGE


async def test_card_opens_gate(
    hass: HomeAssistant, estate, relay_calls: list[tuple[str, str]]
) -> None:
    assert estate.state is ConfigEntryState.LOADED
    await hass.services.async_call(
        DOMAIN, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"}, blocking=True
    )
    resp = await hass.services.async_call(
        DOMAIN,
        "add_person",
        {"person_id": "p1", "role": "tenant", "unit_id": "3-1201", "name": "Wang"},
        blocking=True,
        return_response=True,
    )
    assert resp == {"person_id": "p1"}
    await hass.services.async_call(
        DOMAIN,
        "add_credential",
        {"person_id": "p1", "kind": "card", "value": "0012345678"},
        blocking=True,
    )
    events = []
    hass.bus.async_listen(EVENT_PASSAGE, events.append)
    resp = await hass.services.async_call(
        DOMAIN,
        "present_credential",
        {"gate_id": "east_gate", "kind": "card", "value": "12345678"},
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done()
    assert resp["allowed"] is True
    assert resp["reason"] == "granted"
    assert relay_calls == [("switch.east_relay", "on")]
    assert events[0].data["person_id"] == "p1"
    assert "Wang" not in str(events[0].data)
    print(sorted(s.entity_id for s in hass.states.async_all()))
