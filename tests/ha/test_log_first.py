"""The passage is logged before the gate moves (issue 13, item 5). A granted entry is
written through the journal first and only then actuated; when the log cannot be
written an entry stays shut (fail-secure) while an exit and an emergency open anyway
(fail-safe) and say so in the HA log. The database is write-locked for real: a second
SQLite connection holds ``BEGIN IMMEDIATE`` on the estate's file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
import sqlite3

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_track_state_change_event
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.community_gate.const import EVENT_PASSAGE
from tests.ha.helpers import CARD, NAME, call, entity_id, hub_of, present_credential

# The hub waits this long for a busy database in these tests (10 s in production).
BUSY_MS = 50


@pytest.fixture
async def passages_seen(hass: HomeAssistant) -> list[Event]:
    events: list[Event] = []
    hass.bus.async_listen(EVENT_PASSAGE, events.append)
    return events


@pytest.fixture
async def write_lock(
    hass: HomeAssistant, tenant: MockConfigEntry, db_path: Path
) -> AsyncIterator[None]:
    """Another process holds the estate's write lock for the whole test."""
    hub = hub_of(tenant)
    await hub.db(hub.store.conn.execute, f"PRAGMA busy_timeout = {BUSY_MS}")

    def _lock() -> sqlite3.Connection:
        conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
        return conn

    locker = await hass.async_add_executor_job(_lock)
    yield
    await hass.async_add_executor_job(locker.close)


async def test_row_is_durable_before_the_relay_clicks(
    hass: HomeAssistant, tenant: MockConfigEntry, db_path: Path, relay_calls: list
) -> None:
    """When the relay's coil changes, an independent connection already reads the row."""
    reader = await hass.async_add_executor_job(
        lambda: sqlite3.connect(db_path, check_same_thread=False)
    )
    rows_at_click: list[int] = []

    @callback
    def _clicked(event: Event[EventStateChangedData]) -> None:
        # A read of a small local WAL file: fast enough for a test's event loop.
        rows_at_click.append(reader.execute("SELECT count(*) FROM passages").fetchone()[0])

    async_track_state_change_event(hass, ["input_boolean.east_relay_coil"], _clicked)
    resp = await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    await hass.async_block_till_done()
    await hass.async_add_executor_job(reader.close)
    assert resp["opened"] is True
    assert rows_at_click[:1] == [1]


@pytest.mark.usefixtures("write_lock")
async def test_entry_stays_shut_when_the_log_is_locked(
    hass: HomeAssistant,
    tenant: MockConfigEntry,
    relay_calls: list,
    passages_seen: list[Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(HomeAssistantError) as exc:
        await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    await hass.async_block_till_done()
    assert not isinstance(exc.value, ServiceValidationError)
    assert exc.value.translation_key == "database_error"
    assert relay_calls == []
    assert passages_seen == []
    assert "Passage NOT logged: gate east_gate, method card, reason granted" in caplog.text
    assert NAME not in caplog.text


@pytest.mark.usefixtures("write_lock")
async def test_remote_open_stays_shut_when_the_log_is_locked(
    hass: HomeAssistant, tenant: MockConfigEntry, relay_calls: list
) -> None:
    button = entity_id(hass, tenant, "button", "open", "east_gate")
    with pytest.raises(HomeAssistantError) as exc:
        await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
    await hass.async_block_till_done()
    assert exc.value.translation_key == "database_error"
    assert relay_calls == []


@pytest.mark.usefixtures("write_lock")
async def test_exit_opens_when_the_log_is_locked(
    hass: HomeAssistant,
    tenant: MockConfigEntry,
    relay_calls: list,
    passages_seen: list[Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nobody is kept in: the exit opens, the answer says the row is missing, and the HA
    log says so with codes only. No passage event: there is no durable row to tell of."""
    resp = await present_credential(
        hass,
        {"gate_id": "east_gate", "kind": "card", "value": CARD, "direction": "out"},
    )
    await hass.async_block_till_done()
    assert (resp["allowed"], resp["opened"], resp["passage_id"]) == (True, True, None)
    assert relay_calls[:1] == [("switch.east_relay", "on")]
    assert passages_seen == []
    assert "opened WITHOUT a passage row: gate east_gate, method card, direction out" in caplog.text
    assert NAME not in caplog.text
    assert CARD.lstrip("0") not in caplog.text


@pytest.mark.usefixtures("write_lock")
async def test_emergency_opens_every_gate_when_the_log_is_locked(
    hass: HomeAssistant,
    tenant: MockConfigEntry,
    relay_calls: list,
    caplog: pytest.LogCaptureFixture,
) -> None:
    switch = entity_id(hass, tenant, "switch", "emergency")
    await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True)
    await hass.async_block_till_done()
    assert hub_of(tenant).emergency is True
    assert sorted(relay_calls) == [("switch.east_relay", "on"), ("switch.north_relay", "on")]
    assert hass.states.get(switch).state == "on"
    assert "Emergency state NOT saved" in caplog.text


@pytest.mark.usefixtures("write_lock")
async def test_remote_exit_opens_and_says_the_row_is_missing(
    hass: HomeAssistant, tenant: MockConfigEntry, relay_calls: list
) -> None:
    """open_gate for a way out opens like any exit, then fails with a translated error
    that says the passage is not in the log."""
    with pytest.raises(HomeAssistantError) as exc:
        await call(hass, "open_gate", {"gate_id": "east_gate", "reason": "x", "direction": "out"})
    await hass.async_block_till_done()
    assert exc.value.translation_key == "opened_not_logged"
    assert relay_calls[:1] == [("switch.east_relay", "on")]
