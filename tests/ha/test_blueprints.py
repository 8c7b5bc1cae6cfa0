"""Every blueprint is valid for Home Assistant, and an automation made from it acts on a
real alert: notifications with a working "Acknowledge" button, extra actions, rule
filter, gate filter and quiet hours."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util, yaml as yaml_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.community_gate.const import EVENT_CHALLENGE
from custom_components.community_gate.core.alerts import Rule
from custom_components.community_gate.core.display import LANGUAGES, challenge_prompt
from tests.ha.helpers import call, settle

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "blueprints" / "automation" / "community_gate"
BLUEPRINTS = sorted(SOURCE.glob("*.yaml"))


def test_there_are_blueprints() -> None:
    assert {p.name for p in BLUEPRINTS} == {
        "notify_alert.yaml",
        "alert_action.yaml",
        "lockdown_action.yaml",
        "notify_centre_alert.yaml",
        "gate_prompt.yaml",
    }


@pytest.mark.parametrize("path", BLUEPRINTS, ids=[p.name for p in BLUEPRINTS])
def test_blueprint_schema(path: Path) -> None:
    data = yaml_util.load_yaml_dict(path)
    bp = models.Blueprint(
        data, expected_domain="automation", path=path.name, schema=AUTOMATION_BLUEPRINT_SCHEMA
    )
    meta = bp.metadata
    assert meta["source_url"].endswith(f"blueprints/automation/community_gate/{path.name}")
    assert meta["homeassistant"]["min_version"] == "2026.3.0"
    assert meta["description"]
    assert bp.inputs
    for name, spec in bp.inputs.items():
        assert spec["name"], name
        assert spec["description"], name
        assert "selector" in spec, name
        assert "default" in spec, name
    if path.name in ("lockdown_action.yaml", "gate_prompt.yaml"):
        return  # no rules: they act on the lockdown and challenge events
    rules = bp.inputs["rules"]
    values = [o["value"] for o in rules["selector"]["select"]["options"]]
    assert values == [r.value for r in Rule]
    if path.name == "notify_centre_alert.yaml":
        # The command centre's duty officer: special attention unless chosen otherwise.
        assert rules["default"] == ["special_attention"]
        return
    assert rules["default"] == values


@pytest.fixture
async def blueprints_ready(hass: HomeAssistant, tmp_path: Path) -> None:
    """The blueprints where HA looks for them: <config>/blueprints/automation/..."""
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / "community_gate"
    target.mkdir(parents=True)
    for path in BLUEPRINTS:
        shutil.copy(path, target / path.name)
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"siren": {}, "relay": {}}}
    )


@pytest.fixture
async def phone(hass: HomeAssistant) -> tuple[str, list[ServiceCall]]:
    """A phone as the mobile_app integration registers it, and its notify service."""
    entry = MockConfigEntry(domain="mobile_app", data={})
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("mobile_app", "duty-1")}, name="Duty phone"
    )
    calls: list[ServiceCall] = []

    @callback
    def _notify(call: ServiceCall) -> None:
        calls.append(call)

    hass.services.async_register("notify", "mobile_app_duty_phone", _notify)
    return device.id, calls


async def automations(hass: HomeAssistant, *configs: dict[str, Any]) -> None:
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "alias": f"a{i}",
                    "use_blueprint": {"path": f"community_gate/{c['path']}", "input": c["input"]},
                }
                for i, c in enumerate(configs)
            ]
        },
    )
    await hass.async_block_till_done()


async def open_alerts(hass: HomeAssistant) -> list[dict[str, Any]]:
    return list((await call(hass, "list_alerts", {}))["alerts"])


@pytest.mark.usefixtures("blueprints_ready")
async def test_notify_blueprint_notifies_and_acknowledges(
    hass: HomeAssistant, estate: MockConfigEntry, phone: tuple[str, list[ServiceCall]]
) -> None:
    device_id, notified = phone
    await automations(
        hass,
        {
            "path": "notify_alert.yaml",
            "input": {
                "notify_devices": [device_id],
                "extra_action": [
                    {
                        "action": "input_boolean.turn_on",
                        "target": {"entity_id": "input_boolean.siren"},
                    }
                ],
            },
        },
    )
    await call(hass, "report_temperature", {"gate_id": "east_gate", "celsius": 38.6})
    await settle(hass)

    (alert,) = await open_alerts(hass)
    assert len(notified) == 1
    data = notified[0].data
    assert data["title"] == "Estate alert"
    assert data["message"] == f"Fever: gate east_gate (alert {alert['alert_id']})"
    (button,) = data["data"]["actions"]
    assert button == {
        "action": f"CG_ACK_{estate.entry_id}_{alert['alert_id']}",
        "title": "Acknowledge",
    }
    assert hass.states.get("input_boolean.siren").state == "on"

    # Someone presses "Acknowledge" on the phone: the mobile app fires this event.
    hass.bus.async_fire("mobile_app_notification_action", {"action": button["action"]})
    await settle(hass)
    (acked,) = await open_alerts(hass)
    assert acked["state"] == "acknowledged"
    # Other apps' buttons are not ours.
    hass.bus.async_fire("mobile_app_notification_action", {"action": "OPEN_GARAGE"})
    await settle(hass)
    assert len(notified) == 1


@pytest.mark.usefixtures("blueprints_ready")
async def test_rule_filter(
    hass: HomeAssistant, estate: MockConfigEntry, phone: tuple[str, list[ServiceCall]]
) -> None:
    device_id, notified = phone
    await automations(
        hass,
        {
            "path": "notify_alert.yaml",
            "input": {"notify_devices": [device_id], "rules": ["tailgating", "unknown_face"]},
        },
    )
    await call(hass, "report_temperature", {"gate_id": "east_gate", "celsius": 38.6})
    await settle(hass)
    assert notified == []
    hub = estate.runtime_data.hub
    await hub.async_present_face(
        "east_gate", person_id=None, template_id=None, distance=None, cluster_id="k-9"
    )
    await settle(hass)
    assert [c.data["message"].split(":")[0] for c in notified] == ["Unknown face"]


@pytest.mark.usefixtures("blueprints_ready")
async def test_action_blueprint_gate_filter_and_quiet_hours(
    hass: HomeAssistant, estate: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await automations(
        hass,
        {
            "path": "alert_action.yaml",
            "input": {
                "gates": ["north_door"],
                "quiet_start": "22:00:00",
                "quiet_end": "07:00:00",
                "urgent_rules": ["fever"],
                "action": [
                    {
                        "action": "input_boolean.toggle",
                        "target": {"entity_id": "input_boolean.relay"},
                    }
                ],
            },
        },
    )
    relay = "input_boolean.relay"
    # Day time, wrong gate: nothing.
    freezer.move_to(datetime(2026, 11, 25, 14, 0, tzinfo=dt_util.get_default_time_zone()))
    await call(hass, "report_temperature", {"gate_id": "east_gate", "celsius": 38.6})
    await settle(hass)
    assert hass.states.get(relay).state == "off"
    # Day time, right gate: the action runs.
    await call(hass, "report_temperature", {"gate_id": "north_door", "celsius": 38.6})
    await settle(hass)
    assert hass.states.get(relay).state == "on"
    # 03:00 is quiet: a non-urgent rule stays silent, the urgent one still acts.
    freezer.move_to(datetime(2026, 11, 26, 3, 0, tzinfo=dt_util.get_default_time_zone()))
    # Forced open.
    await estate.runtime_data.alerts.async_door("north_door", True, dt_util.utcnow().timestamp())
    await settle(hass)
    assert [(a["rule"], a["gate_id"]) for a in await open_alerts(hass)] == [
        ("forced_open", "north_door"),
        ("fever", "north_door"),
        ("fever", "east_gate"),
    ]
    assert hass.states.get(relay).state == "on"  # forced_open is not urgent here
    # A feverish reading at night at the north door: urgent, acts. (The first alert of
    # that gate is resolved first: one alert per subject while it is open.)
    (fever,) = [
        a for a in await open_alerts(hass) if (a["rule"], a["gate_id"]) == ("fever", "north_door")
    ]
    await call(hass, "resolve_alert", {"alert_id": fever["alert_id"]})
    freezer.move_to(datetime(2026, 11, 27, 3, 30, tzinfo=dt_util.get_default_time_zone()))
    await call(hass, "report_temperature", {"gate_id": "north_door", "celsius": 39.0})
    await settle(hass)
    assert hass.states.get(relay).state == "off"  # toggled again


@pytest.mark.usefixtures("blueprints_ready")
async def test_lockdown_blueprint_acts_on_start_and_end(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    def turn(what: str, entity: str) -> list[dict[str, Any]]:
        return [{"action": f"input_boolean.turn_{what}", "target": {"entity_id": entity}}]

    await automations(
        hass,
        {
            "path": "lockdown_action.yaml",
            "input": {
                "on_start": turn("on", "input_boolean.siren"),
                "on_end": turn("off", "input_boolean.siren"),
            },
        },
    )
    await call(hass, "set_lockdown", {"active": True})
    await settle(hass)
    assert hass.states.get("input_boolean.siren").state == "on"
    await call(hass, "set_lockdown", {"active": False})
    await settle(hass)
    assert hass.states.get("input_boolean.siren").state == "off"


@pytest.mark.usefixtures("blueprints_ready")
async def test_centre_blueprint_tells_the_duty_officer_of_special_attention(
    hass: HomeAssistant, phone: tuple[str, list[ServiceCall]]
) -> None:
    """The command centre's blueprint on the centre's bus event: special attention from
    any estate (or only the chosen estates) reaches the duty officer's phone."""
    device_id, calls = phone
    await automations(
        hass,
        {"path": "notify_centre_alert.yaml", "input": {"notify_devices": [device_id]}},
        {
            "path": "notify_centre_alert.yaml",
            "input": {
                "notify_devices": [device_id],
                "rules": ["forced_open"],
                "estates": ["maple-court"],
                "title": "Forced",
            },
        },
    )

    def alert(estate: str, rule: str, alert_id: int, state: str = "new") -> None:
        hass.bus.async_fire(
            "community_gate_central_alert",
            {
                "estate": estate,
                "alert_id": alert_id,
                "rule": rule,
                "subject_id": "p7",
                "state": state,
                "centre_entry_id": "x",
                "time": "2026-12-02T08:00:00+00:00",
            },
        )

    alert("maple-court", "special_attention", 1)
    alert("pine-gardens", "special_attention", 2)
    alert("pine-gardens", "device_offline", 3)  # not chosen
    alert("pine-gardens", "special_attention", 4, state="resolved")  # already closed
    alert("pine-gardens", "forced_open", 5)  # forced_open only for maple-court
    alert("maple-court", "forced_open", 6)
    await hass.async_block_till_done()

    messages = [(c.data["title"], c.data["message"]) for c in calls]
    assert messages == [
        (
            "Estate alert at the command centre",
            "maple-court: Special attention: not seen p7 (alert 1)",
        ),
        (
            "Estate alert at the command centre",
            "pine-gardens: Special attention: not seen p7 (alert 2)",
        ),
        ("Forced", "maple-court: Door forced open p7 (alert 6)"),
    ]


@pytest.mark.usefixtures("blueprints_ready")
async def test_prompt_blueprint_hands_the_chosen_language_to_the_action(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    """The challenge event as the face service fires it (texts in every language); the
    blueprint passes the chosen one to the installer's action, for the chosen gates."""
    assert await async_setup_component(
        hass, "input_text", {"input_text": {"door_screen": {"max": 255}}}
    )

    def show(entity: str) -> list[dict[str, Any]]:
        return [
            {
                "action": "input_text.set_value",
                "target": {"entity_id": entity},
                "data": {"value": "{{ gate_id }}: {{ display }} / {{ voice }}"},
            }
        ]

    await automations(
        hass,
        {
            "path": "gate_prompt.yaml",
            "input": {
                "gates": ["building_3_door"],
                "language": "zh-Hans",
                "action": show("input_text.door_screen"),
            },
        },
    )

    def fire(gate_id: str, challenge: str) -> None:
        texts = {lang: challenge_prompt(challenge, lang) for lang in LANGUAGES}
        hass.bus.async_fire(
            EVENT_CHALLENGE,
            {
                "entry_id": estate.entry_id,
                "gate_id": gate_id,
                "challenge": challenge,
                "display": {lang: p.text for lang, p in texts.items()},
                "voice": {lang: p.voice for lang, p in texts.items()},
            },
        )

    before = hass.states.get("input_text.door_screen").state
    fire("east_gate", "turn_left")  # not one of the chosen gates
    await settle(hass)
    assert hass.states.get("input_text.door_screen").state == before
    fire("building_3_door", "turn_left")
    await settle(hass)
    zh = challenge_prompt("turn_left", "zh-Hans")
    assert hass.states.get("input_text.door_screen").state == (
        f"building_3_door: {zh.text} / {zh.voice}"
    )
