"""The staff panel's back end in a real HA instance: the sidebar panel and its static
module, and every websocket command (admin only, validated, paged, live)."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)
from yarl import URL

from custom_components.community_gate.const import DOMAIN
from custom_components.community_gate.panel import PANEL_PATH, STATIC_URL
from tests.ha.helpers import call, hub_of, present_credential, private


@pytest.fixture
async def people(hass: HomeAssistant, estate: MockConfigEntry) -> MockConfigEntry:
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    await call(hass, "add_unit", {"unit_id": "5-0301", "building": "5", "number": "0301"})
    for pid, name, role, unit, extra in (
        ("p-wang", "Wang Fang", "tenant", "3-1201", {}),
        ("p-li", "Li Ming", "co_resident", "3-1201", {}),
        ("p-chen", "Chen Jie", "tenant", "5-0301", {"special_attention": True}),
    ):
        await private(
            hass,
            "add_person",
            {"person_id": pid, "name": name, "role": role, "unit_id": unit, **extra},
        )
    await private(hass, "add_credential", {"person_id": "p-wang", "kind": "card", "value": "10001"})
    return estate


async def ws(client: Any, msg: dict[str, Any]) -> dict[str, Any]:
    await client.send_json_auto_id(msg)
    return await client.receive_json()


async def _estate_with_frontend(hass: HomeAssistant, db_path: Any) -> None:
    """An estate in a HA instance that runs the frontend (the panel registers only then)."""
    assert await async_setup_component(hass, "frontend", {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="E",
        data={"name": "E", "db_path": str(db_path)},
        unique_id="e",
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()


async def test_panel_is_registered_for_admins_with_its_module(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, db_path: Any
) -> None:
    await _estate_with_frontend(hass, db_path)
    panel = hass.data["frontend_panels"][PANEL_PATH]
    assert panel.require_admin is True
    assert panel.sidebar_title == "Estate gate"  # the hub's language is English here
    assert panel.sidebar_icon == "mdi:gate"
    module = panel.config["_panel_custom"]["module_url"]
    assert module.startswith(f"{STATIC_URL}/community-gate-panel.js?v=")
    client = await hass_client()
    resp = await client.get(module)
    assert resp.status == HTTPStatus.OK
    text = await resp.text()
    assert 'customElements.define("community-gate-panel"' in text
    # Only the panel's folder is served: no way up into the integration's Python files.
    for path in ("%2e%2e/manifest.json", "..%2fmanifest.json", "%2e%2e%2f__init__.py"):
        resp = await client.get(URL(f"{STATIC_URL}/{path}", encoded=True))
        assert resp.status in (400, 403, 404), path
        assert "community_gate" not in await resp.text()


async def test_people_search_and_person_record(
    hass: HomeAssistant, people: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    r = await ws(client, {"type": "community_gate/people", "search": "wang"})
    assert r["success"], r
    assert [p["person_id"] for p in r["result"]["people"]] == ["p-wang"]
    assert r["result"]["total"] == 1
    r = await ws(client, {"type": "community_gate/people", "flag": "special_attention"})
    assert [p["person_id"] for p in r["result"]["people"]] == ["p-chen"]
    r = await ws(client, {"type": "community_gate/people", "limit": 2, "offset": 2})
    assert (len(r["result"]["people"]), r["result"]["total"]) == (1, 3)

    r = await ws(client, {"type": "community_gate/person", "person_id": "p-wang"})
    assert r["success"], r
    rec = r["result"]
    assert rec["person"]["display_name"] == "Wang Fang"
    [card] = rec["credentials"]
    assert card["kind"] == "card"
    # Never the number, nor its hash.
    assert "10001" not in str(rec)
    assert "secret" not in str(rec)
    assert rec["face_references"] == {"plain": 0, "masked": 0}
    assert rec["last_seen"] is None

    r = await ws(client, {"type": "community_gate/person", "person_id": "ghost"})
    assert (r["success"], r["error"]["code"]) == (False, "unknown_person")
    r = await ws(client, {"type": "community_gate/units"})
    assert [u["unit_id"] for u in r["result"]] == ["3-1201", "5-0301"]


@pytest.mark.parametrize(
    "msg",
    [
        {"type": "community_gate/people", "limit": 0},
        {"type": "community_gate/people", "limit": 10_000},
        {"type": "community_gate/people", "role": "king"},
        {"type": "community_gate/people", "flag": "rich"},
        {"type": "community_gate/people", "offset": -1},
        {"type": "community_gate/passages", "method": "telepathy"},
        {"type": "community_gate/passages", "allowed": "maybe"},
        {"type": "community_gate/passages", "cursor": "x" * 65},
        {"type": "community_gate/person"},
        {"type": "community_gate/qr", "data": ""},
        {"type": "community_gate/qr", "data": "x" * 513},
    ],
)
async def test_bad_requests_are_refused_by_schema(
    hass: HomeAssistant,
    people: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    msg: dict[str, Any],
) -> None:
    client = await hass_ws_client(hass)
    r = await ws(client, msg)
    assert r["success"] is False
    assert r["error"]["code"] == "invalid_format"


async def test_bad_values_are_coded_errors(
    hass: HomeAssistant, people: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    r = await ws(client, {"type": "community_gate/passages", "cursor": "not-a-cursor"})
    assert (r["success"], r["error"]["code"]) == (False, "invalid_value")
    r = await ws(client, {"type": "community_gate/passages", "since": "yesterday"})
    assert (r["success"], r["error"]["code"]) == (False, "invalid_format")
    r = await ws(client, {"type": "community_gate/people", "config_entry_id": "nope"})
    assert (r["success"], r["error"]["code"]) == (False, "entry_not_loaded")


async def test_non_admins_get_nothing(
    hass: HomeAssistant,
    people: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    client = await hass_ws_client(hass, hass_read_only_access_token)
    for msg in (
        {"type": "community_gate/estates"},
        {"type": "community_gate/people"},
        {"type": "community_gate/person", "person_id": "p-wang"},
        {"type": "community_gate/passages"},
        {"type": "community_gate/gates"},
        {"type": "community_gate/strangers"},
        {"type": "community_gate/units"},
        {"type": "community_gate/qr", "data": "x"},
        {"type": "community_gate/subscribe_passages"},
        {"type": "community_gate/alerts"},
    ):
        r = await ws(client, msg)
        assert (r["success"], r["error"]["code"]) == (False, "unauthorized"), msg


async def test_passage_log_pages_and_live_feed(
    hass: HomeAssistant, people: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    sub = await ws(client, {"type": "community_gate/subscribe_passages"})
    assert sub["success"], sub
    for value in ("10001", "99999", "10001", "55555", "10001"):
        await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": value})
    # The live feed carried all five, in order, ids and codes only.
    live = [await client.receive_json() for _ in range(5)]
    assert [m["id"] for m in live] == [sub["id"]] * 5
    assert [m["event"]["allowed"] for m in live] == [True, False, True, False, True]
    assert all("10001" not in str(m) for m in live)

    seen: list[int] = []
    cursor = None
    while True:
        msg: dict[str, Any] = {"type": "community_gate/passages", "limit": 2}
        if cursor:
            msg["cursor"] = cursor
        r = await ws(client, msg)
        assert r["success"], r
        seen += [p["passage_id"] for p in r["result"]["passages"]]
        cursor = r["result"]["cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == 5
    r = await ws(client, {"type": "community_gate/passages", "allowed": False})
    assert [p["reason"] for p in r["result"]["passages"]] == ["unknown_credential"] * 2
    r = await ws(client, {"type": "community_gate/passages", "person_id": "p-wang"})
    assert len(r["result"]["passages"]) == 3
    r = await ws(
        client, {"type": "community_gate/passages", "method": "card", "gate_id": "north_door"}
    )
    assert r["result"] == {"passages": [], "cursor": None}


async def test_gates_and_qr(
    hass: HomeAssistant, people: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await call(hass, "open_gate", {"gate_id": "north_door", "reason": "delivery"})
    r = await ws(client, {"type": "community_gate/gates"})
    assert r["success"], r
    gates = {g["gate_id"]: g for g in r["result"]["gates"]}
    assert set(gates) == {"east_gate", "north_door"}
    assert gates["north_door"]["last_passage"]["method"] == "remote"
    assert gates["east_gate"]["last_passage"] is None
    assert gates["east_gate"]["online"] is True
    assert r["result"]["emergency"] is False
    assert r["result"]["lockdown"] is False
    assert set(r["result"]["faces"]) == {"ready", "error", "engine", "references", "reenroll"}
    assert r["result"]["faces"]["engine"] == "ncnn_sface_2021dec"

    r = await ws(client, {"type": "community_gate/qr", "data": "VP-abc123"})
    assert r["success"], r
    svg = r["result"]["svg"]
    assert svg.startswith("<?xml") or svg.startswith("<svg")
    assert "<path" in svg


async def test_estates_lists_the_loaded_estate(
    hass: HomeAssistant, people: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    r = await ws(client, {"type": "community_gate/estates"})
    assert r["result"] == [{"entry_id": people.entry_id, "title": "Maple Court", "loaded": True}]


async def test_read_only_user_fixture_is_not_admin(hass_read_only_user: MockUser) -> None:
    assert not hass_read_only_user.is_admin


async def test_alerts_listed_for_the_panel(
    hass: HomeAssistant, people: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """A real alert (an unknown card is not one; a fever report is) shows in the panel's
    list until it is resolved; non-admins get nothing."""
    client = await hass_ws_client(hass)
    r = await ws(client, {"type": "community_gate/alerts"})
    assert r["result"] == {"alerts": [], "open": 0}
    out = await call(hass, "report_temperature", {"gate_id": "east_gate", "celsius": 38.6})
    alert_id = out["alert_id"]
    assert alert_id is not None
    r = await ws(client, {"type": "community_gate/alerts"})
    [alert] = r["result"]["alerts"]
    assert (alert["alert_id"], alert["rule"], alert["state"]) == (alert_id, "fever", "new")
    assert r["result"]["open"] == 1
    r = await ws(client, {"type": "community_gate/alerts", "rule": "tailgating"})
    assert r["result"]["alerts"] == []
    await call(hass, "resolve_alert", {"alert_id": alert_id})
    r = await ws(client, {"type": "community_gate/alerts"})
    assert r["result"]["alerts"] == []
    r = await ws(client, {"type": "community_gate/alerts", "include_resolved": True})
    assert [a["state"] for a in r["result"]["alerts"]] == ["resolved"]
    r = await ws(client, {"type": "community_gate/alerts", "rule": "gossip"})
    assert r["error"]["code"] == "invalid_format"


async def test_panel_title_follows_a_chinese_hub(hass: HomeAssistant, db_path: Any) -> None:
    hass.config.language = "zh-Hans"
    await _estate_with_frontend(hass, db_path)
    assert hass.data["frontend_panels"][PANEL_PATH].sidebar_title == "小区门禁"


async def test_staff_read_names_in_the_log_and_alerts(
    hass: HomeAssistant, people: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """The panel is admin-only: staff read "Wang Fang (3-1201)" and "East gate", not
    p-wang and east_gate (issue 17, item 1), in the log, the live feed and the alerts,
    and find a person's passages by name. Events, states and the logbook keep ids."""
    client = await hass_ws_client(hass)
    sub = await ws(client, {"type": "community_gate/subscribe_passages"})
    assert sub["success"], sub
    await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": "10001"})
    await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": "99999"})
    live = [(await client.receive_json())["event"] for _ in range(2)]
    assert [(p["gate_name"], p["person_name"]) for p in live] == [
        ("East Gate", "Wang Fang"),
        ("East Gate", None),
    ]
    r = await ws(client, {"type": "community_gate/passages"})
    rows = r["result"]["passages"]
    assert [(p["person_id"], p["person_name"], p["unit_id"]) for p in rows] == [
        (None, None, None),
        ("p-wang", "Wang Fang", "3-1201"),
    ]
    assert {p["gate_name"] for p in rows} == {"East Gate"}
    # Search by (part of) a name, as staff type it.
    r = await ws(client, {"type": "community_gate/passages", "person_name": "wang"})
    assert [p["person_id"] for p in r["result"]["passages"]] == ["p-wang"]
    r = await ws(client, {"type": "community_gate/passages", "person_name": "Li Ming"})
    assert r["result"]["passages"] == []
    r = await ws(client, {"type": "community_gate/passages", "person_name": "%"})
    assert r["result"]["passages"] == []  # a wildcard is a character, not "everyone"
    # An alert about a person names them for staff.
    await call(
        hass,
        "report_temperature",
        {"gate_id": "east_gate", "celsius": 38.6, "person_id": "p-wang"},
    )
    r = await ws(client, {"type": "community_gate/alerts"})
    [alert] = r["result"]["alerts"]
    assert (alert["rule"], alert["subject_id"]) == ("fever", "p-wang")
    assert (alert["gate_name"], alert["subject_name"], alert["subject_unit"]) == (
        "East Gate",
        "Wang Fang",
        "3-1201",
    )
    # An alert about a gate (a fever nobody could be named for) names the gate.
    await call(hass, "report_temperature", {"gate_id": "east_gate", "celsius": 39.1})
    r = await ws(client, {"type": "community_gate/alerts"})
    gate_alert = next(a for a in r["result"]["alerts"] if a["subject_kind"] == "gate")
    assert (gate_alert["subject_id"], gate_alert["subject_name"]) == ("east_gate", "East Gate")
    assert gate_alert["subject_unit"] is None
    # Events keep ids only.
    assert "Wang Fang" not in repr(hass.states.async_all())


# ------------------------------------- a person's access, edited in the panel (issue 17)
async def _decide(hass: HomeAssistant, gate_id: str) -> str:
    out = await present_credential(hass, {"gate_id": gate_id, "kind": "card", "value": "10001"})
    return str(out["reason"])


async def test_staff_edit_allowed_gates_and_schedule(
    hass: HomeAssistant,
    people: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_admin_user: MockUser,
) -> None:
    """Staff edit a person's allowed gates and weekly schedule with the panel's
    person/update command (the update_person action's handler, checks and audit); the
    record reads back as edited, and the gate obeys it."""
    client = await hass_ws_client(hass)

    async def update(**fields: Any) -> dict[str, Any]:
        return await ws(
            client, {"type": "community_gate/person/update", "person_id": "p-wang", **fields}
        )

    async def record() -> dict[str, Any]:
        r = await ws(client, {"type": "community_gate/person", "person_id": "p-wang"})
        assert r["success"], r
        person: dict[str, Any] = r["result"]["person"]
        return person

    assert (await record())["schedule"] == []
    # Only the building door: the estate gate refuses the card.
    r = await update(allowed_gates=["north_door"])
    assert r["success"], r
    assert (await record())["allowed_gates"] == ["north_door"]
    assert await _decide(hass, "east_gate") == "gate_not_allowed"
    assert await _decide(hass, "north_door") == "granted"

    # A schedule without today (the estate's day): refused at any hour of it.
    today = dt_util.now().isoweekday()
    others = [d for d in range(1, 8) if d != today]
    r = await update(schedule=[{"days": others, "start": "00:00", "end": "24:00"}])
    assert r["success"], r
    assert await _decide(hass, "north_door") == "outside_schedule"

    # An overnight window (ends before it starts) that holds now: admitted.
    now = dt_util.now()
    start = (now + timedelta(hours=2)).strftime("%H:%M")
    end = (now + timedelta(hours=1)).strftime("%H:%M")
    window = {"days": [1, 2, 3, 4, 5, 6, 7], "start": start, "end": end}
    r = await update(schedule=[window, {"days": [6, 7], "start": "22:00", "end": "06:00"}])
    assert r["success"], r
    assert (await record())["schedule"] == [
        window,
        {"days": [6, 7], "start": "22:00", "end": "06:00"},
    ]
    assert await _decide(hass, "north_door") == "granted"

    # Cleared: the role's gates, any time.
    r = await update(allowed_gates=[], schedule=None)
    assert r["success"], r
    person = await record()
    assert (person["allowed_gates"], person["schedule"]) == ([], [])
    assert await _decide(hass, "east_gate") == "granted"

    # Every change is an audit row, by the staff member, on the person.
    store = hub_of(people).store
    entries = await hub_of(people).db(
        lambda: store.query_audit(action="update_person", subject="p-wang")
    )
    assert [(e.user_id, e.outcome) for e in entries] == [(hass_admin_user.id, "ok")] * 4


@pytest.mark.parametrize(
    ("fields", "code", "text"),
    [
        (
            {"schedule": [{"days": [1], "start": "07:00", "end": "07:00"}]},
            "invalid_schedule",
            "Invalid schedule",
        ),
        (
            {"schedule": [{"days": [8], "start": "07:00", "end": "09:00"}]},
            "invalid_schedule",
            "Invalid schedule",
        ),
        (
            {"schedule": [{"days": [1], "start": "7pm", "end": "09:00"}]},
            "invalid_schedule",
            "Invalid schedule",
        ),
        ({"schedule": [{"days": []}]}, "invalid_schedule", "Invalid schedule"),
        ({"schedule": ["monday"]}, "invalid_schedule", "Invalid schedule"),
        ({"allowed_gates": ["moon_gate"]}, "unknown_gate", "moon_gate"),
        ({"schedule": "weekdays"}, "invalid_format", None),
        ({"schedule": [{}] * 101}, "invalid_format", None),
        ({"allowed_gates": ["x" * 65]}, "invalid_format", None),
    ],
)
async def test_bad_access_edits_are_translated_refusals(
    hass: HomeAssistant,
    people: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    fields: dict[str, Any],
    code: str,
    text: str | None,
) -> None:
    client = await hass_ws_client(hass)
    msg = {"type": "community_gate/person/update", "person_id": "p-wang", **fields}
    r = await ws(client, msg)
    assert r["success"] is False
    assert r["error"]["code"] == code
    if text is not None:
        # The integration's own refusal: translated (the panel shows it in zh-Hans from
        # the exception translations, by this key and these placeholders).
        assert r["error"]["translation_key"] == code
        assert r["error"]["translation_domain"] == DOMAIN
        assert text in r["error"]["message"]
    r = await ws(client, {"type": "community_gate/person", "person_id": "p-wang"})
    person = r["result"]["person"]
    assert (person["allowed_gates"], person["schedule"]) == ([], [])


async def test_non_admins_cannot_edit_access(
    hass: HomeAssistant,
    people: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    client = await hass_ws_client(hass, hass_read_only_access_token)
    for fields in (
        {"allowed_gates": ["north_door"]},
        {"schedule": [{"days": [1], "start": "07:00", "end": "09:00"}]},
    ):
        msg = {"type": "community_gate/person/update", "person_id": "p-wang", **fields}
        r = await ws(client, msg)
        assert (r["success"], r["error"]["code"]) == (False, "unauthorized"), fields
    person = await hub_of(people).db(hub_of(people).store.get_person, "p-wang")
    assert (person.allowed_gates, person.schedule) == (frozenset(), ())
    store = hub_of(people).store
    refused = await hub_of(people).db(
        lambda: store.query_audit(action="update_person", subject="p-wang")
    )
    assert [e.outcome for e in refused] == ["unauthorized"] * 2
