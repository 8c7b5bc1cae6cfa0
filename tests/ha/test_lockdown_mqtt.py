"""Lockdown at a field reader (issue 17, item 5): a resident's card swiped at an MQTT
controller's reader is refused with ``lockdown`` (the terminal gets a signed decision
with its own screen text, and no relay command), and an emergency still opens."""

from __future__ import annotations

from pathlib import Path

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from devtools.broker import FieldDevice
from tests.ha.helpers import call
from tests.ha.test_mqtt import (  # noqa: F401  (fixtures, and the module's broker skip)
    CARD,
    broker,
    devices,
    drain,
    mqtt_estate,
    mqtt_ready,
    next_message,
    passages,
    pytestmark,
    wait_for,
)


async def test_reader_card_refused_during_lockdown(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,  # noqa: F811
    devices: dict[str, FieldDevice],  # noqa: F811
    db_path: Path,
) -> None:
    east = devices["gc-east"]
    await call(hass, "set_lockdown", {"active": True})
    east.send("card", value=CARD, dir="in")
    _topic, decision = await next_message(hass, east, "decision")
    assert (decision["allowed"], decision["reason"]) == (False, "lockdown")
    assert decision["display"] == "Lockdown: staff only"
    await wait_for(lambda: len(passages(db_path)) == 1)
    assert passages(db_path) == [("east_gate", "card", 0, "lockdown", "p1", "")]
    assert not [t for t, _ in drain(east) if t.endswith("relay/set")]

    # A fire during the lockdown: every gate opens, the same card passes.
    await call(hass, "set_emergency", {"active": True})
    drain(east)
    east.send("card", value=CARD, dir="in")
    _topic, decision = await next_message(hass, east, "decision")
    assert (decision["allowed"], decision["reason"]) == (True, "emergency_open")
