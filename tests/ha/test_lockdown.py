"""Lockdown (issue 17, item 5) in a real Home Assistant: the estate switch and the
set_lockdown action refuse every credential but staff ones (reason ``lockdown``), an
emergency still opens everything, remote opening is for administrators only, only an
administrator may switch it, each change is audited and fires ``community_gate_lockdown``,
and the state survives a reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.auth.models import User
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.exceptions import Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.community_gate.const import EVENT_LOCKDOWN
from tests.ha.helpers import (
    CARD,
    add_estate,
    call,
    entity_id,
    gate_subentry,
    hub_of,
    present,
    private,
)

STAFF_CARD = "0087654321"


@pytest.fixture
async def tenant_user(hass: HomeAssistant, hass_owner_user: MockUser) -> User:
    """A plain Home Assistant user (the owner exists first, as on a real hub)."""
    user = await hass.auth.async_create_user("tenant", group_ids=[GROUP_ID_USER])
    assert not user.is_admin
    return user


@pytest.fixture
async def staffed(hass: HomeAssistant, tenant: MockConfigEntry) -> MockConfigEntry:
    """The estate with tenant p1 (CARD) and a property staff member (STAFF_CARD)."""
    await private(hass, "add_person", {"person_id": "s1", "role": "staff", "name": "Guard Zhou"})
    await private(hass, "add_credential", {"person_id": "s1", "kind": "card", "value": STAFF_CARD})
    return tenant


@pytest.fixture
def lockdown_events(hass: HomeAssistant) -> list[Event]:
    events: list[Event] = []
    hass.bus.async_listen(EVENT_LOCKDOWN, events.append)
    return events


async def _switch(hass: HomeAssistant, entity: str, on: bool, context: Context | None) -> None:
    await hass.services.async_call(
        "switch",
        "turn_on" if on else "turn_off",
        {ATTR_ENTITY_ID: entity},
        blocking=True,
        context=context,
    )
    await hass.async_block_till_done()


async def _audit(entry: MockConfigEntry) -> list[tuple[str, str, str | None, str]]:
    hub = hub_of(entry)
    rows = await hub.db(hub.store.query_audit)
    return [(e.user_id, e.action, e.subject, e.outcome) for e in reversed(rows)]


async def test_lockdown_refuses_residents_and_admits_staff(
    hass: HomeAssistant,
    staffed: MockConfigEntry,
    relay_calls: list[tuple[str, str]],
    hass_admin_user: MockUser,
    lockdown_events: list[Event],
) -> None:
    admin = Context(user_id=hass_admin_user.id)
    switch = entity_id(hass, staffed, "switch", "lockdown")
    assert hass.states.get(switch).state == STATE_OFF

    await _switch(hass, switch, True, admin)
    assert hass.states.get(switch).state == STATE_ON
    assert hub_of(staffed).lockdown is True

    resident = await present(hass, "east_gate", CARD)
    assert (resident["allowed"], resident["reason"], resident["person_id"]) == (
        False,
        "lockdown",
        "p1",
    )
    assert relay_calls == []
    # Every user may read why the gate stayed shut: the estate's state, not the person's.
    last = hass.states.get(entity_id(hass, staffed, "event", "passage", "east_gate"))
    assert last is not None
    assert last.attributes["reason"] == "lockdown"
    staff = await present(hass, "east_gate", STAFF_CARD)
    assert (staff["allowed"], staff["reason"], staff["person_id"]) == (True, "granted", "s1")
    assert relay_calls == [("switch.east_relay", "on")]
    # A face is refused the same way, and the passage log keeps the reason.
    hub = hub_of(staffed)
    face = await hub.async_present_face(
        "north_door", person_id="p1", template_id="tpl", distance=0.3, cluster_id=None
    )
    assert (face.passage.allowed, face.passage.reason.value) == (False, "lockdown")
    logged = await hub.db(hub.store.get_passage, resident["passage_id"])
    assert (logged.allowed, logged.reason.value) == (False, "lockdown")

    # Lifted by the action: the resident passes again.
    out = await call(hass, "set_lockdown", {"active": False}, admin, settle=True)
    assert out == {"active": False, "changed": True}
    assert hass.states.get(switch).state == STATE_OFF
    assert (await present(hass, "east_gate", CARD))["allowed"] is True

    # Audited (who and when), and each change is one event, ids only.
    assert [a for a in await _audit(staffed) if "lockdown" in a[1]] == [
        (hass_admin_user.id, "lockdown_switch_on", None, "ok"),
        (hass_admin_user.id, "set_lockdown", None, "ok"),
    ]
    hub = hub_of(staffed)
    rows = [e for e in await hub.db(hub.store.query_audit) if "lockdown" in e.action]
    assert all(e.ts > 0 for e in rows)
    assert [(e.data, e.context.user_id) for e in lockdown_events] == [
        ({"entry_id": staffed.entry_id, "active": True}, hass_admin_user.id),
        ({"entry_id": staffed.entry_id, "active": False}, hass_admin_user.id),
    ]
    # Setting the state it already has changes nothing and fires nothing.
    assert await call(hass, "set_lockdown", {"active": False}) == {
        "active": False,
        "changed": False,
    }
    assert len(lockdown_events) == 2


async def test_emergency_still_opens_everything_during_lockdown(
    hass: HomeAssistant, staffed: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    await call(hass, "set_lockdown", {"active": True})
    out = await call(hass, "set_emergency", {"active": True, "reason": "fire"}, settle=True)
    assert sorted(out["gates_opened"]) == ["east_gate", "north_door"]
    during = await present(hass, "east_gate", CARD)
    assert (during["allowed"], during["reason"]) == (True, "emergency_open")
    # Emergency over, lockdown still on: refused again.
    await call(hass, "set_emergency", {"active": False}, settle=True)
    after = await present(hass, "east_gate", CARD)
    assert (after["allowed"], after["reason"]) == (False, "lockdown")


async def test_only_admins_switch_lockdown(
    hass: HomeAssistant,
    staffed: MockConfigEntry,
    tenant_user: User,
    lockdown_events: list[Event],
) -> None:
    plain = Context(user_id=tenant_user.id)
    switch = entity_id(hass, staffed, "switch", "lockdown")
    with pytest.raises(Unauthorized):
        await _switch(hass, switch, True, plain)
    with pytest.raises(Unauthorized):
        await call(hass, "set_lockdown", {"active": True}, plain)
    assert hub_of(staffed).lockdown is False
    assert hass.states.get(switch).state == STATE_OFF
    assert lockdown_events == []
    assert [a for a in await _audit(staffed) if "lockdown" in a[1]] == [
        (tenant_user.id, "lockdown_switch_on", None, "unauthorized"),
        (tenant_user.id, "set_lockdown", None, "unauthorized"),
    ]
    # Once locked down by an admin, the plain user cannot lift it either.
    await call(hass, "set_lockdown", {"active": True})
    with pytest.raises(Unauthorized):
        await _switch(hass, switch, False, plain)
    assert hub_of(staffed).lockdown is True


async def test_lockdown_survives_a_reload(
    hass: HomeAssistant, staffed: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    await call(hass, "set_lockdown", {"active": True}, settle=True)
    assert await hass.config_entries.async_reload(staffed.entry_id)
    await hass.async_block_till_done()
    assert hub_of(staffed).lockdown is True
    assert hass.states.get(entity_id(hass, staffed, "switch", "lockdown")).state == STATE_ON
    refused = await present(hass, "east_gate", CARD)
    assert (refused["allowed"], refused["reason"]) == (False, "lockdown")
    assert relay_calls == []


async def test_remote_openers_are_refused_during_lockdown(
    hass: HomeAssistant,
    db_path: Path,
    relay_calls: list[tuple[str, str]],
    tenant_user: User,
    hass_admin_user: MockUser,
) -> None:
    """A gate's named opener opens it normally, not during a lockdown; an administrator
    (and an automation) still does."""
    entry = await add_estate(
        hass, db_path, gate_subentry("east_gate", "switch.east_relay", openers=[tenant_user.id])
    )
    guard = Context(user_id=tenant_user.id)
    data: dict[str, Any] = {"gate_id": "east_gate", "reason": "parcel"}
    assert (await call(hass, "open_gate", data, guard))["passage_id"] is not None
    await call(hass, "set_lockdown", {"active": True})
    with pytest.raises(Unauthorized):
        await call(hass, "open_gate", data, guard)
    button = entity_id(hass, entry, "button", "open", "east_gate")
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            "button", "press", {ATTR_ENTITY_ID: button}, blocking=True, context=guard
        )
    admin_open = await call(hass, "open_gate", data, Context(user_id=hass_admin_user.id))
    assert admin_open["passage_id"] is not None
    assert (await call(hass, "open_gate", data))["passage_id"] is not None  # automation
    hub = hub_of(entry)
    passages = await hub.db(hub.store.recent_passages)
    assert [p.reason.value for p in passages] == ["remote_open"] * 3
    assert [a for a in await _audit(entry) if a[1] in ("open_gate", "open_button")][1:3] == [
        (tenant_user.id, "open_gate", "east_gate", "unauthorized"),
        (tenant_user.id, "open_button", "east_gate", "unauthorized"),
    ]
