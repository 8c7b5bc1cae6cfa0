"""Who may open a gate from afar (issue 13, item 1): admins, and the HA users a gate's
subentry names as its openers. Every remote path (the Open button, the open_gate action,
the emergency switch) checks it and leaves an audit row: who, which gate, how it ended.
Automations and scripts (no user in the context) keep the system's authority."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.auth.models import User
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.community_gate.const import SUBENTRY_GATE
from tests.ha.helpers import add_estate, call, entity_id, gate_subentry, hub_of

# The gate subentry's list of HA user ids that may open the gate remotely.
OPENERS = "openers"


@pytest.fixture
async def tenant_user(hass: HomeAssistant, hass_owner_user: MockUser) -> User:
    """A plain (non-admin) Home Assistant user, in HA's "Users" group as the UI makes
    them (a user in no group may control no entity at all). HA makes the first user it
    creates the owner, so the instance's owner exists first, as on a real hub."""
    user = await hass.auth.async_create_user("tenant", group_ids=[GROUP_ID_USER])
    assert not user.is_admin
    return user


@pytest.fixture
async def guard_estate(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]], tenant_user: User
) -> MockConfigEntry:
    """East gate names the tenant user as an opener; the north door names nobody."""
    return await add_estate(
        hass,
        db_path,
        gate_subentry("east_gate", "switch.east_relay", **{OPENERS: [tenant_user.id]}),
        gate_subentry("north_door", "switch.north_relay", kind="building_door", building="3"),
    )


async def _audit(hub: Any) -> list[tuple[str, str, str | None, str]]:
    """The audit rows, oldest first, as (user, action, subject, outcome)."""
    rows = await hub.db(hub.store.query_audit)
    return [(e.user_id, e.action, e.subject, e.outcome) for e in reversed(rows)]


async def _press(hass: HomeAssistant, button: str, context: Context | None) -> None:
    await hass.services.async_call(
        "button", "press", {ATTR_ENTITY_ID: button}, blocking=True, context=context
    )
    await hass.async_block_till_done()


async def test_plain_user_cannot_press_open(
    hass: HomeAssistant,
    estate: MockConfigEntry,
    relay_calls: list[tuple[str, str]],
    tenant_user: User,
) -> None:
    """A user who is neither admin nor an opener of the gate: refused, audited, shut."""
    button = entity_id(hass, estate, "button", "open", "north_door")
    with pytest.raises(Unauthorized):
        await _press(hass, button, Context(user_id=tenant_user.id))
    assert relay_calls == []
    hub = hub_of(estate)
    assert await hub.db(hub.store.count_passages) == 0
    assert await _audit(hub) == [(tenant_user.id, "open_button", "north_door", "unauthorized")]


async def test_admin_and_automation_presses_are_audited(
    hass: HomeAssistant,
    estate: MockConfigEntry,
    relay_calls: list[tuple[str, str]],
    hass_admin_user: MockUser,
) -> None:
    button = entity_id(hass, estate, "button", "open", "north_door")
    await _press(hass, button, Context(user_id=hass_admin_user.id))
    await _press(hass, button, None)  # an automation: the system's authority
    assert relay_calls[0] == ("switch.north_relay", "on")
    hub = hub_of(estate)
    assert await hub.db(hub.store.count_passages) == 2
    assert await _audit(hub) == [
        (hass_admin_user.id, "open_button", "north_door", "ok"),
        ("system", "open_button", "north_door", "ok"),
    ]


async def test_opener_opens_only_the_gates_that_name_them(
    hass: HomeAssistant,
    guard_estate: MockConfigEntry,
    relay_calls: list[tuple[str, str]],
    tenant_user: User,
) -> None:
    guard = Context(user_id=tenant_user.id)
    east = entity_id(hass, guard_estate, "button", "open", "east_gate")
    north = entity_id(hass, guard_estate, "button", "open", "north_door")

    await _press(hass, east, guard)
    assert relay_calls == [("switch.east_relay", "on")]
    resp = await call(hass, "open_gate", {"gate_id": "east_gate", "reason": "parcel"}, guard)
    assert resp["passage_id"] is not None

    with pytest.raises(Unauthorized):
        await _press(hass, north, guard)
    with pytest.raises(Unauthorized):
        await call(hass, "open_gate", {"gate_id": "north_door", "reason": "parcel"}, guard)
    assert all(relay == "switch.east_relay" for relay, _ in relay_calls)

    hub = hub_of(guard_estate)
    passages = await hub.db(hub.store.recent_passages)
    assert sorted(p.gate_id for p in passages) == ["east_gate", "east_gate"]
    assert await _audit(hub) == [
        (tenant_user.id, "open_button", "east_gate", "ok"),
        (tenant_user.id, "open_gate", "east_gate", "ok"),
        (tenant_user.id, "open_button", "north_door", "unauthorized"),
        (tenant_user.id, "open_gate", "north_door", "unauthorized"),
    ]
    # Opening a gate does not make an opener an admin of anything else.
    with pytest.raises(Unauthorized):
        await call(hass, "set_emergency", {"active": True}, guard)


async def test_emergency_switch_is_for_admins(
    hass: HomeAssistant,
    guard_estate: MockConfigEntry,
    relay_calls: list[tuple[str, str]],
    tenant_user: User,
    hass_admin_user: MockUser,
) -> None:
    """Even a gate's opener may not open every gate: the switch is admin-only, both ways."""
    switch = entity_id(hass, guard_estate, "switch", "emergency")
    hub = hub_of(guard_estate)
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            "switch",
            "turn_on",
            {ATTR_ENTITY_ID: switch},
            blocking=True,
            context=Context(user_id=tenant_user.id),
        )
    await hass.async_block_till_done()
    assert hub.emergency is False
    assert relay_calls == []
    assert hass.states.get(switch).state == "off"

    admin = Context(user_id=hass_admin_user.id)
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True, context=admin
    )
    await hass.async_block_till_done()
    assert hub.emergency is True
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            "switch",
            "turn_off",
            {ATTR_ENTITY_ID: switch},
            blocking=True,
            context=Context(user_id=tenant_user.id),
        )
    assert hub.emergency is True
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: switch}, blocking=True, context=admin
    )
    assert hub.emergency is False
    assert await _audit(hub) == [
        (tenant_user.id, "emergency_switch_on", None, "unauthorized"),
        (hass_admin_user.id, "emergency_switch_on", None, "ok"),
        (tenant_user.id, "emergency_switch_off", None, "unauthorized"),
        (hass_admin_user.id, "emergency_switch_off", None, "ok"),
    ]


async def test_gate_subentry_names_its_openers(
    hass: HomeAssistant, estate: MockConfigEntry, tenant_user: User
) -> None:
    """The gate form offers the HA users; the chosen ids are stored with the gate."""
    result = await hass.config_entries.subentries.async_init(
        (estate.entry_id, SUBENTRY_GATE), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    assert OPENERS in {str(k) for k in result["data_schema"].schema}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "South gate",
            "kind": "estate_gate",
            "direction": "both",
            "actuator": "switch.east_relay",
            "pulse_seconds": 5,
            "methods": ["card"],
            OPENERS: [tenant_user.id],
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the new gate reloads the estate
    [sub] = [s for s in estate.subentries.values() if s.unique_id == "south_gate"]
    assert sub.data[OPENERS] == [tenant_user.id]
