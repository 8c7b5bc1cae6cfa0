"""One row per presence (issue 17, item 2) in a real Home Assistant: a stranger refused
again and again at a gate, or a person refused again and again, is one passage row
(first/last seen, count) while every presentation still fires its event; granted
passages and failed PIN guesses stay a row each (brute_force still fires); the panel's
log shows the episode; the window is an estate option (0 = off)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.community_gate.const import EVENT_ALERT, EVENT_PASSAGE
from custom_components.community_gate.core.model import Passage
from tests.ha.helpers import (
    CARD,
    call,
    entity_id,
    hub_of,
    present,
    present_credential,
    settle,
)


@pytest.fixture
def told(hass: HomeAssistant) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    @callback
    def _on(event: Event) -> None:
        seen.append(dict(event.data))

    hass.bus.async_listen(EVENT_PASSAGE, _on)
    return seen


async def _stranger(
    hass: HomeAssistant, entry: MockConfigEntry, cluster: str = "stranger_a"
) -> Passage:
    """The stranger's face at the east gate, through the hub's face path."""
    outcome = await hub_of(entry).async_present_face(
        "east_gate", person_id=None, template_id=None, distance=0.7, cluster_id=cluster
    )
    await settle(hass)
    return outcome.passage


async def _rows(entry: MockConfigEntry) -> list[Passage]:
    hub = hub_of(entry)
    return list(reversed(await hub.db(lambda: hub.store.recent_passages(limit=100))))


async def _later(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    await hass.async_block_till_done()


# Noon in the test instance's time zone (US/Pacific): "passages today" must not roll
# over at local midnight in the middle of the test.
@pytest.mark.freeze_time("2026-12-02T20:00:00+00:00")
async def test_a_loitering_stranger_is_one_row_and_every_try_is_told(
    hass: HomeAssistant,
    tenant: MockConfigEntry,
    told: list[dict[str, Any]],
    freezer: FrozenDateTimeFactory,
    hass_ws_client: WebSocketGenerator,
) -> None:
    alerts: list[Event] = []
    hass.bus.async_listen(EVENT_ALERT, alerts.append)
    await present(hass, "east_gate")  # the tenant passes first: a row of its own
    await _later(hass, freezer, 30)
    for _ in range(6):  # a minute in front of the camera, refused every 10 s
        await _stranger(hass, tenant)
        await _later(hass, freezer, 10)

    rows = await _rows(tenant)
    assert [(p.allowed, p.count) for p in rows] == [(True, 1), (False, 6)]
    episode = rows[1]
    assert episode.last_seen is not None
    assert episode.last_seen - episode.ts == pytest.approx(50, abs=0.5)
    # Six events for six tries, all naming the one row, counting up; each with its own time.
    mine = [e for e in told if e["cluster_id"] == "stranger_a"]
    assert [e["passage_id"] for e in mine] == [episode.id] * 6
    assert [e["count"] for e in mine] == [1, 2, 3, 4, 5, 6]
    assert len({e["time"] for e in mine}) == 6
    assert {e["first_seen"] for e in mine} == {mine[0]["time"]}
    # One unknown_face alert about the stranger, as before.
    about = [a.data["rule"] for a in alerts if a.data["subject_id"] == "stranger_a"]
    assert about == ["unknown_face"]

    # The gate's last-passage sensor shows the latest try; passages today counts rows.
    last = hass.states.get(entity_id(hass, tenant, "sensor", "last_passage", "east_gate"))
    when = dt_util.parse_datetime(last.state)
    assert when is not None
    assert when.timestamp() == pytest.approx(episode.seen, abs=1)
    assert last.attributes["allowed"] is False
    today = [s for s in hass.states.async_all("sensor") if s.entity_id.endswith("passages_today")]
    assert [s.state for s in today] == ["2"]
    # The gate's passage event entity says how many tries the row holds.
    event_entity = entity_id(hass, tenant, "event", "passage", "east_gate")
    assert hass.states.get(event_entity).attributes["count"] == 6

    # The panel's log: one row with first seen, last seen and count.
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "community_gate/passages"})
    resp = await client.receive_json()
    assert resp["success"], resp
    shown = resp["result"]["passages"]
    assert [(p["allowed"], p["count"]) for p in shown] == [(False, 6), (True, 1)]
    assert shown[0]["passage_id"] == episode.id
    assert dt_util.parse_datetime(shown[0]["first_seen"]).timestamp() == pytest.approx(
        episode.ts, abs=0.01
    )
    assert dt_util.parse_datetime(shown[0]["time"]).timestamp() == pytest.approx(
        episode.seen, abs=0.01
    )

    # After the window (60 s by default) the stranger's next try is a new row.
    await _later(hass, freezer, 61)
    again = await _stranger(hass, tenant)
    assert (again.count, again.id != episode.id) == (1, True)


async def test_an_opening_between_tries_starts_a_new_row(
    hass: HomeAssistant, tenant: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Someone passed: the stranger's next try may be a tailgate, logged next to it."""
    await _stranger(hass, tenant)
    await _later(hass, freezer, 10)
    await present(hass, "east_gate")
    await _later(hass, freezer, 2)
    await _stranger(hass, tenant)
    await _later(hass, freezer, 10)
    await _stranger(hass, tenant)
    rows = await _rows(tenant)
    assert [(p.allowed, p.count) for p in rows] == [(False, 1), (True, 1), (False, 2)]


async def test_a_refused_person_is_one_row_per_presence(
    hass: HomeAssistant,
    tenant: MockConfigEntry,
    told: list[dict[str, Any]],
    freezer: FrozenDateTimeFactory,
) -> None:
    await call(hass, "update_person", {"person_id": "p1", "blocked": True})
    for _ in range(3):
        assert (await present(hass, "east_gate"))["allowed"] is False
        await _later(hass, freezer, 8)
    # The same card at another gate: another presence.
    await present(hass, "north_door")
    rows = await _rows(tenant)
    assert [(p.gate_id, p.reason.value, p.count) for p in rows] == [
        ("east_gate", "person_blocked", 3),
        ("north_door", "person_blocked", 1),
    ]
    assert [e["count"] for e in told] == [1, 2, 3, 1]
    # Unblocked, the card opens: granted passages are never folded.
    await call(hass, "update_person", {"person_id": "p1", "blocked": False})
    for _ in range(2):
        assert (await present(hass, "east_gate"))["allowed"] is True
        await _later(hass, freezer, 8)
    assert [p.count for p in await _rows(tenant)][-2:] == [1, 1]


async def test_bad_pins_are_a_row_each_and_brute_force_still_fires(
    hass: HomeAssistant, tenant: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Guesses from many callers (each under its own lock-out) at one gate: each a row,
    so the brute_force rule counts them all."""
    alerts: list[Event] = []
    hass.bus.async_listen(EVENT_ALERT, alerts.append)
    count = tenant.runtime_data.alerts.params.brute_force_count
    for i in range(count):
        await present_credential(hass, {"gate_id": "east_gate", "kind": "pin", "value": f"{i:06d}"})
        await _later(hass, freezer, 1)
    await settle(hass)
    rows = await _rows(tenant)
    assert len(rows) == count
    assert {p.count for p in rows} == {1}
    assert [a.data["rule"] for a in alerts] == ["brute_force"]


async def test_the_window_is_an_estate_option_and_zero_turns_it_off(
    hass: HomeAssistant, tenant: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    result = await hass.config_entries.options.async_init(tenant.entry_id)
    assert result["data_schema"]({})["episode_window"] == 60
    done = await hass.config_entries.options.async_configure(
        result["flow_id"], {"episode_window": 0}
    )
    assert done["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert tenant.options["episode_window"] == 0
    for _ in range(3):
        await _stranger(hass, tenant)
        await _later(hass, freezer, 5)
    assert [p.count for p in await _rows(tenant)] == [1, 1, 1]


async def test_erasing_a_person_covers_their_episodes(
    hass: HomeAssistant, tenant: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await call(hass, "update_person", {"person_id": "p1", "blocked": True})
    for _ in range(3):
        await present(hass, "east_gate", CARD)
        await _later(hass, freezer, 5)
    resp = await call(hass, "erase_person", {"person_id": "p1"})
    assert resp["passages_pseudonymised"] == 1
    [row] = await _rows(tenant)
    assert (row.person_id, row.credential_id, row.count) == (resp["alias"], None, 3)
