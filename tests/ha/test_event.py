"""The gate's passage event entity: one event per passage at that gate, with codes and
ids but never a name."""

from __future__ import annotations

from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import Event, HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.community_gate.const import EVENT_PASSAGE
from tests.ha.helpers import assert_no_names, call, entity_id, present, snapshot_platform


async def test_event_entities_snapshot(
    hass: HomeAssistant, estate: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """Registry entries and states of every event entity of the estate."""
    snapshot_platform(hass, snapshot, estate, "event")


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


async def test_a_persons_standing_is_not_in_entity_states(
    hass: HomeAssistant, tenant: MockConfigEntry
) -> None:
    """A blocked resident at the gate: every user reads "not permitted" on the gate's
    entities; the bus event (which non-admins cannot subscribe to) keeps the reason."""
    told: list[Event] = []
    hass.bus.async_listen(EVENT_PASSAGE, told.append)
    await call(hass, "update_person", {"person_id": "p1", "blocked": True})
    await present(hass, "east_gate")
    event = hass.states.get(entity_id(hass, tenant, "event", "passage", "east_gate"))
    assert (event.attributes["event_type"], event.attributes["reason"]) == (
        "denied",
        "not_permitted",
    )
    last = hass.states.get(entity_id(hass, tenant, "sensor", "last_passage", "east_gate"))
    assert last.attributes["reason"] == "not_permitted"
    assert [e.data["reason"] for e in told] == ["person_blocked"]
    assert "person_blocked" not in str(hass.states.async_all())
