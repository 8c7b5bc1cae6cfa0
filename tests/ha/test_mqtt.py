"""Field devices over a real mosquitto, through Home Assistant's own mqtt integration.

The simulated controller (``tools.broker.FieldDevice``) is a separate paho client on its
own thread, as a real ESP32 would be a separate client: what it sees is what a relay
would see on the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from datetime import timedelta
from http import HTTPStatus
import json
import logging
from pathlib import Path
import queue
import socket
import sqlite3
from typing import Any

from homeassistant.components import mqtt
from homeassistant.components.mqtt import client as mqtt_client
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.community_gate.const import (
    DOMAIN,
    EVENT_ALERT,
    EVENT_DEVICE_STATUS,
    EVENT_DOOR,
    EVENT_EMERGENCY,
    EVENT_TEMPERATURE,
)
from custom_components.community_gate.core import contract as c
from custom_components.community_gate.core.throttle import (
    FACE_FLOOD,
    UNKNOWN_FACE_BUDGET,
    ThrottleLimits,
)
from custom_components.community_gate.mqtt_issue import mqtt_issue_id
from devtools.broker import FieldDevice, Mosquitto, find_mosquitto
from tests.ha.helpers import Terminal, add_estate, add_tenant, call, gate_subentry

MOSQUITTO = find_mosquitto()
pytestmark = pytest.mark.skipif(
    MOSQUITTO is None, reason="mosquitto not installed (scripts/setup installs it as root)"
)
ESTATE = "maple_court"
CARD = "0012345678"


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    assert MOSQUITTO is not None
    b = Mosquitto(tmp_path, MOSQUITTO)
    b.start()
    yield b
    b.stop()


@pytest.fixture
async def mqtt_ready(
    hass: HomeAssistant,
    socket_enabled: None,
    mock_hass_config: None,
    broker: Mosquitto,
    monkeypatch: pytest.MonkeyPatch,
) -> MockConfigEntry:
    """HA's mqtt integration, configured like a user would in the UI: a broker host and
    port (an empty configuration.yaml, as HA's own mqtt tests do)."""
    return await _set_up_mqtt(hass, broker, monkeypatch)


async def _set_up_mqtt(
    hass: HomeAssistant, broker: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> MockConfigEntry:
    monkeypatch.setattr(mqtt_client, "RECONNECT_INTERVAL_SECONDS", 0.5)
    entry = MockConfigEntry(
        domain="mqtt",
        data={"broker": "127.0.0.1", "port": broker.port, "discovery": False},
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert await mqtt.async_wait_for_mqtt_client(hass)
    await wait_for(lambda: mqtt.is_connected(hass))
    return entry


def _controller_gates() -> list[Any]:
    """Two gates whose relays are MQTT controllers (no HA actuator entity)."""
    east = gate_subentry("east_gate", "", mqtt_device="gc-east")
    north = gate_subentry(
        "north_door", "", mqtt_device="gc-north", kind="building_door", building="3"
    )
    for sub in (east, north):
        sub["data"] = {k: v for k, v in sub["data"].items() if k != "actuator"}
    return [east, north]


@pytest.fixture
async def mqtt_estate(
    hass: HomeAssistant, mqtt_ready: MockConfigEntry, db_path: Path
) -> MockConfigEntry:
    """Two gates whose relays are MQTT controllers (no HA actuator entity)."""
    entry = await add_estate(hass, db_path, *_controller_gates())
    await wait_for(lambda: entry.runtime_data.mqtt is not None and entry.runtime_data.mqtt.ready)
    await wait_subscribed(hass, entry)
    await add_tenant(hass, "A", CARD)
    return entry


@pytest.fixture
async def devices(
    hass: HomeAssistant, mqtt_estate: MockConfigEntry, broker: Mosquitto
) -> AsyncGenerator[dict[str, FieldDevice]]:
    out: dict[str, FieldDevice] = {}
    try:
        for dev_id, gate in (("gc-east", "east_gate"), ("gc-north", "north_door")):
            resp = await call(hass, "provision_device", {"device_id": dev_id, "gate_id": gate})
            assert resp["topic"] == f"community_gate/{ESTATE}/{gate}"
            dev = FieldDevice(broker.port, dev_id, bytes.fromhex(resp["key"]), ESTATE, gate)
            out[dev_id] = dev
            await hass.async_add_executor_job(dev.start)
            dev.send("status", state="online", uptime=1)
        link = mqtt_estate.runtime_data.mqtt
        await wait_for(lambda: link.device_online("gc-east") and link.device_online("gc-north"))
        yield out
    finally:
        for dev in out.values():
            await hass.async_add_executor_job(dev.stop)


# --------------------------------------------------------------------- helpers
async def wait_for(predicate: Callable[[], object], limit: float = 15.0) -> None:
    """Wait for something that travels through real sockets and other threads (not a
    timing assertion: the limit only turns a hang into a failure)."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - state set by sockets/threads, no Event
            await asyncio.sleep(0.02)


async def wait_subscribed(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """HA batches subscriptions (a short cooldown): probe until the link's
    subscription is live at the broker, then forget the probes."""
    link = entry.runtime_data.mqtt
    async with asyncio.timeout(20):
        while not link.stats.rejected["unknown_gate"]:
            await mqtt.async_publish(hass, f"community_gate/{ESTATE}/probe/card", b"probe", qos=1)
            await asyncio.sleep(0.1)
    link.stats.rejected.clear()


async def next_message(
    hass: HomeAssistant, dev: FieldDevice, leaf: str, limit: float = 15.0
) -> tuple[str, dict[str, Any]]:
    """The next message the device receives on ``leaf``; verifies the hub's signature
    with the device key exactly as the controller firmware does."""
    async with asyncio.timeout(limit):
        while True:
            try:
                topic, payload, _t = dev.received.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.02)
                continue
            if not topic.endswith("/" + leaf):
                continue
            body, sig = c.unsigned_body(payload)
            c.verify(dev.key, topic, body, sig)
            return topic, json.loads(body)


def drain(dev: FieldDevice) -> list[tuple[str, bytes]]:
    out = []
    while True:
        try:
            topic, payload, _t = dev.received.get_nowait()
        except queue.Empty:
            return out
        out.append((topic, payload))


def passages(db_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT gate_id, method, allowed, reason, person_id, flags FROM passages ORDER BY id"
        ).fetchall()


def presented(db_path: Path) -> int:
    """Presentations logged: a stranger's repeats at a gate fold into one row (an
    episode, core/episodes.py) whose count says how many it holds."""
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT coalesce(sum(count), 0) FROM passages").fetchone()[0])


def no_delay_set(hass: HomeAssistant) -> bool:
    """HA's MQTT socket has TCP_NODELAY (set by the link; see mqtt_link.no_delay)."""
    from homeassistant.components.mqtt.models import DATA_MQTT

    sock = hass.data[DATA_MQTT].client._mqttc.socket()
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def listen(hass: HomeAssistant, event_type: str) -> list[Event]:
    seen: list[Event] = []

    @callback
    def _on(event: Event) -> None:
        seen.append(event)

    hass.bus.async_listen(event_type, _on)
    return seen


# ----------------------------------------------------------------------- tests
async def test_mqtt_set_up_after_the_estate_brings_its_gates_up(
    hass: HomeAssistant,
    socket_enabled: None,
    mock_hass_config: None,
    broker: Mosquitto,
    monkeypatch: pytest.MonkeyPatch,
    db_path: Path,
) -> None:
    """The installer adds the estate first and MQTT after it, as the repair tells them:
    the estate reloads by itself, the repair goes, and the controllers are heard. Also
    when MQTT was removed and is added again (its component stays loaded)."""
    entry = await add_estate(hass, db_path, *_controller_gates())
    issues = ir.async_get(hass)

    async def _waits_for_mqtt() -> None:
        assert entry.runtime_data.mqtt is not None
        await wait_for(lambda: entry.runtime_data.mqtt.mqtt_missing)
        issue = issues.async_get_issue(DOMAIN, mqtt_issue_id(entry.entry_id))
        assert issue is not None
        assert issue.translation_placeholders == {"gates": "East Gate, North Door"}

    async def _mqtt_added_and_linked() -> MockConfigEntry:
        before = entry.runtime_data
        mqtt_entry = await _set_up_mqtt(hass, broker, monkeypatch)

        def _reloaded_and_linked() -> bool:
            estate = getattr(entry, "runtime_data", None)  # absent while it reloads
            return estate is not None and estate is not before and bool(estate.mqtt.ready)

        await wait_for(_reloaded_and_linked)
        await hass.async_block_till_done()
        assert issues.async_get_issue(DOMAIN, mqtt_issue_id(entry.entry_id)) is None
        return mqtt_entry

    await _waits_for_mqtt()
    first = await _mqtt_added_and_linked()
    # MQTT removed (the estate reloaded by hand says so), then added again.
    assert await hass.config_entries.async_remove(first.entry_id)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await _waits_for_mqtt()
    await _mqtt_added_and_linked()
    await wait_subscribed(hass, entry)
    resp = await call(hass, "provision_device", {"device_id": "gc-east", "gate_id": "east_gate"})
    dev = FieldDevice(broker.port, "gc-east", bytes.fromhex(resp["key"]), ESTATE, "east_gate")
    await hass.async_add_executor_job(dev.start)
    try:
        dev.send("status", state="online", uptime=1)
        await wait_for(lambda: entry.runtime_data.mqtt.device_online("gc-east"))
    finally:
        await hass.async_add_executor_job(dev.stop)


async def test_card_read_sends_signed_relay_command_and_logs_passage(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
) -> None:
    east = devices["gc-east"]
    assert no_delay_set(hass)  # relay commands are not held back by Nagle
    # MQTT is set up: no repair asks for it.
    assert ir.async_get(hass).async_get_issue(DOMAIN, mqtt_issue_id(mqtt_estate.entry_id)) is None
    east.send("card", value=CARD, dir="in")
    topic, cmd = await next_message(hass, east, "relay/set")
    assert topic == f"community_gate/{ESTATE}/east_gate/relay/set"
    assert cmd["dev"] == "gc-east"
    assert cmd["pulse_ms"] == 5000
    assert cmd["hold"] is False
    assert cmd["ctr"] >= 1
    _topic, decision = await next_message(hass, east, "decision")
    assert decision["allowed"] is True
    assert decision["reason"] == "granted"
    assert decision["display"] == "Welcome"
    await wait_for(lambda: len(passages(db_path)) == 1)
    assert passages(db_path) == [("east_gate", "card", 1, "granted", "p1", "")]

    # An unknown card: logged as denied, no relay command, the terminal hears "denied".
    east.send("card", value="999")
    _topic, decision = await next_message(hass, east, "decision")
    assert decision["allowed"] is False
    assert decision["reason"] == "unknown_credential"
    assert decision["display"] == "Not recognised"  # the reason's own screen text
    assert passages(db_path)[-1][:4] == ("east_gate", "card", 0, "unknown_credential")
    assert not [t for t, _ in drain(east) if t.endswith("relay/set")]

    # The hub's counters grow: the controller can refuse a replayed command too.
    east.send("card", value=CARD)
    _topic, cmd2 = await next_message(hass, east, "relay/set")
    assert cmd2["ctr"] > cmd["ctr"]
    # Device and gate diagnostics name no secrets.
    diag = mqtt_estate.runtime_data.mqtt.diagnostics()
    assert diag["accepted"] >= 4
    assert "gc-east" in diag["online"]
    assert east.key.hex() not in json.dumps(diag)


async def test_forged_replayed_and_malformed_messages_open_nothing(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    east, north = devices["gc-east"], devices["gc-north"]
    link = mqtt_estate.runtime_data.mqtt
    good = east.signed("card", value=CARD)
    east.publish("card", good)
    await next_message(hass, east, "relay/set")
    await wait_for(lambda: len(passages(db_path)) == 1)
    drain(east)
    before = link.stats.accepted

    caplog.set_level(logging.WARNING, logger="custom_components.community_gate.mqtt_link")
    forged = c.device_message(
        bytes(32), east.topic("card"), device="gc-east", ctr=10_000, ts=0, value=CARD
    )
    tampered = good.replace(CARD.encode(), b"0012345679").replace(b'"ctr":', b'"ctr":9')
    oversized = east.signed("card", value=CARD, pad="x" * c.MAX_PAYLOAD_BYTES)
    malformed_body = b'{"v":1,"dev":"gc-east","ctr":20000,"ts":0,"value":}'
    sig = c.signature(east.key, east.topic("card"), malformed_body)
    malformed = malformed_body[:-1] + f',"sig":"{sig}"}}'.encode()
    attacks: list[tuple[str, bytes, str | None, str]] = [
        ("card", good, None, "replay"),  # the very message that opened the gate
        ("card", forged, None, "bad_signature"),
        ("card", tampered, None, "bad_signature"),
        ("card", b"{not json", None, "unsigned"),
        ("card", malformed, None, "malformed_json"),
        ("card", east.signed("card", value=12345678), None, "wrong_type"),
        ("door", east.signed("door", open="yes"), None, "wrong_type"),
        ("card", oversized, None, "too_large"),
        ("card", east.signed("card", value=CARD, ctr=1), None, "replay"),  # old counter
        ("card", east.signed("card", value=CARD, ts=1), None, "stale"),
        # gc-north's valid message replayed onto the east gate's topic.
        ("card", north.signed("card", value=CARD), "east_gate", "bad_signature"),
        # gc-north signing correctly for a gate it is not bound to.
        ("card", north.signed("card", value=CARD, gate="east_gate"), "east_gate", "wrong_gate"),
        ("fire", east.signed("fire", active="yes"), None, "wrong_type"),
    ]
    expected: dict[str, int] = {}
    for leaf, payload, gate, code in attacks:
        sender = north if gate else east
        sender.publish(leaf, payload, gate=gate)
        expected[code] = expected.get(code, 0) + 1
    await wait_for(lambda: sum(link.stats.rejected.values()) >= len(attacks))
    assert dict(link.stats.rejected) == expected
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == len(attacks)
    ours = [r for r in caplog.records if r.name.startswith("custom_components.community_gate")]
    assert all(CARD not in r.getMessage() for r in ours)

    # Nothing opened, nothing logged as a passage, no emergency; the link still works.
    assert passages(db_path) == [("east_gate", "card", 1, "granted", "p1", "")]
    assert link.stats.accepted == before
    assert not mqtt_estate.runtime_data.hub.emergency
    assert not [t for t, _ in drain(east) if t.endswith("relay/set")]
    east.send("card", value=CARD)
    await next_message(hass, east, "relay/set")
    await wait_for(lambda: len(passages(db_path)) == 2)


async def test_replay_refused_after_a_restart(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
) -> None:
    """The accepted counter is persisted: a reload (or a hub restart) does not reopen
    the replay window, and the hub's own counters continue above what it sent."""
    east = devices["gc-east"]
    good = east.signed("card", value=CARD)
    east.publish("card", good)
    _t, first = await next_message(hass, east, "relay/set")
    await hass.config_entries.async_reload(mqtt_estate.entry_id)
    await hass.async_block_till_done()
    link = mqtt_estate.runtime_data.mqtt
    await wait_for(lambda: link is not None and link.ready)
    await wait_subscribed(hass, mqtt_estate)
    east.publish("card", good)
    await wait_for(lambda: link.stats.rejected["replay"] == 1)
    assert len(passages(db_path)) == 1
    east.send("status", state="online")
    east.send("card", value=CARD)
    _t, second = await next_message(hass, east, "relay/set")
    assert second["ctr"] > first["ctr"]


async def test_a_database_restored_from_a_backup_still_moves_the_relay(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The estate database comes back from a backup taken before a run of relay
    commands: its counter mark is old, but the controller (which keeps the last counter
    it accepted) still gets a counter above every one it saw, so the gate opens.

    A restore comes minutes after the last command, past the 10 s a counter mark
    reaches ahead of the clock (core/contract.py CounterWindow); this test restores
    within a second, so its marks reach 1 µs ahead instead of waiting 10 s."""
    monkeypatch.setattr(c, "TX_BLOCK_US", 1)
    east = devices["gc-east"]

    async def start() -> None:
        assert await hass.config_entries.async_setup(mqtt_estate.entry_id)
        await hass.async_block_till_done()
        link = mqtt_estate.runtime_data.mqtt
        await wait_for(lambda: link is not None and link.ready)
        await wait_subscribed(hass, mqtt_estate)

    # Started again, so the counter windows take the test's block.
    assert await hass.config_entries.async_unload(mqtt_estate.entry_id)
    await start()
    east.send("card", value=CARD)
    _t, first = await next_message(hass, east, "relay/set")
    assert await hass.config_entries.async_unload(mqtt_estate.entry_id)
    # Closed and checkpointed: the one file is the database.
    backup = await hass.async_add_executor_job(db_path.read_bytes)
    await start()
    seen = [first["ctr"]]
    for _ in range(3):
        east.send("card", value=CARD)
        _t, cmd = await next_message(hass, east, "relay/set")
        seen.append(cmd["ctr"])
    assert await hass.config_entries.async_unload(mqtt_estate.entry_id)

    def restore() -> None:
        for leftover in db_path.parent.glob(db_path.name + "-*"):
            leftover.unlink()  # a restore brings back the one file, not today's journal
        db_path.write_bytes(backup)

    await hass.async_add_executor_job(restore)
    await start()
    east.send("status", state="online")
    east.send("card", value=CARD)
    _t, after = await next_message(hass, east, "relay/set")
    # What the controller checks before it moves the relay (community_gate.h).
    assert after["ctr"] > max(seen)


async def test_a_wiped_controller_is_provisioned_again_under_its_own_id(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
) -> None:
    """A controller whose flash was wiped counts from 1 again. Provisioned again (a new
    key), it is heard under its old id; anything it signed with the old key is not."""
    east = devices["gc-east"]
    east.ctr = 500
    east.send("card", value=CARD)
    await next_message(hass, east, "relay/set")
    old_key, captured = east.key, east.signed("card", value=CARD)  # never sent: ctr 501
    resp = await call(hass, "provision_device", {"device_id": "gc-east", "gate_id": "east_gate"})
    east.key, east.ctr = bytes.fromhex(resp["key"]), 0
    assert east.key != old_key
    link = mqtt_estate.runtime_data.mqtt
    east.send("card", value=CARD)  # ctr 1, the new key
    await next_message(hass, east, "relay/set")
    east.publish("card", captured)
    await wait_for(lambda: link.stats.rejected["bad_signature"] == 1)
    assert [p[2] for p in passages(db_path)] == [1, 1]  # allowed, twice: no third row


async def test_a_removed_device_is_heard_no_more_and_a_relay_cannot_be_removed(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
    hass_read_only_user: Any,
) -> None:
    """A reader taken down, a terminal stolen: staff remove the device and whatever it
    signs is refused (as a device never provisioned), audited. A gate's own relay is
    refused with a reason, and so is a non-admin."""
    terminal = await call(
        hass, "provision_device", {"device_id": "term-east", "gate_id": "east_gate"}
    )
    east = devices["gc-east"]
    stolen = FieldDevice(
        east.port, "term-east", bytes.fromhex(terminal["key"]), ESTATE, "east_gate"
    )
    with pytest.raises(Unauthorized):
        await call(
            hass,
            "remove_device",
            {"device_id": "term-east"},
            Context(user_id=hass_read_only_user.id),
        )
    out = await call(hass, "remove_device", {"device_id": "term-east"})
    assert out == {"device_id": "term-east", "removed": True}
    link = mqtt_estate.runtime_data.mqtt
    await hass.async_add_executor_job(stolen.start)
    try:
        stolen.send("card", value=CARD)
        await wait_for(lambda: link.stats.rejected["unknown_device"] == 1)
    finally:
        await hass.async_add_executor_job(stolen.stop)
    assert passages(db_path) == []
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "remove_device", {"device_id": "term-east"})
    assert err.value.translation_key == "unknown_device"
    # The east gate's relay is gc-east: removing it would leave the gate shut.
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "remove_device", {"device_id": "gc-east"})
    assert err.value.translation_key == "device_in_use"
    assert err.value.translation_placeholders == {"device_id": "gc-east", "gate_id": "east_gate"}
    east.send("card", value=CARD)
    await next_message(hass, east, "relay/set")  # still the gate's relay
    store = mqtt_estate.runtime_data.hub.store
    rows = await hass.async_add_executor_job(lambda: store.query_audit(action="remove_device"))
    assert [(r.subject, r.outcome) for r in reversed(rows)] == [
        ("term-east", "unauthorized"),
        ("term-east", "ok"),
        ("term-east", "unknown_device"),
        ("gc-east", "device_in_use"),
    ]


async def test_broker_restart_reconnects_without_losing_passages(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    broker: Mosquitto,
    db_path: Path,
) -> None:
    east = devices["gc-east"]
    east.send("card", value=CARD)
    await next_message(hass, east, "relay/set")

    await hass.async_add_executor_job(broker.stop)
    await wait_for(lambda: not mqtt.is_connected(hass))
    # Staff open the gate while the broker is down: logged, flagged, never queued to
    # reach the relay minutes later, and the action fails.
    with pytest.raises(HomeAssistantError) as exc:
        await call(hass, "open_gate", {"gate_id": "east_gate", "reason": "broker test"})
    assert exc.value.translation_key == "actuator_unavailable"

    await hass.async_add_executor_job(broker.start)
    await wait_for(lambda: mqtt.is_connected(hass))
    await wait_subscribed(hass, mqtt_estate)  # HA re-subscribed by itself
    await wait_for(lambda: no_delay_set(hass))  # set again on the new socket
    await wait_for(east.client.is_connected)
    east.send("status", state="online")
    east.send("card", value=CARD)
    await next_message(hass, east, "relay/set")
    await wait_for(lambda: len(passages(db_path)) == 3)
    rows = passages(db_path)
    assert rows[0] == ("east_gate", "card", 1, "granted", "p1", "")
    assert rows[1] == ("east_gate", "remote", 1, "remote_open", None, "actuator_unavailable")
    assert rows[-1] == ("east_gate", "card", 1, "granted", "p1", "")
    assert len(rows) == 3


async def test_heartbeat_stops_device_goes_offline(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
) -> None:
    status = listen(hass, EVENT_DEVICE_STATUS)
    alerts = listen(hass, EVENT_ALERT)
    online = "binary_sensor.east_gate_online"
    assert hass.states.get(online).state == "on"

    # No heartbeat for longer than the timeout (shortened: the test waits for real),
    # then the watchdog runs: offline, and an event for the rule engine.
    link = mqtt_estate.runtime_data.mqtt
    link.heartbeat_timeout = 0.2
    await asyncio.sleep(0.3)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=20))
    await hass.async_block_till_done()
    assert hass.states.get(online).state == "off"
    offline = [e.data for e in status if not e.data["online"]]
    assert {(d["device_id"], d["gate_id"]) for d in offline} == {
        ("gc-east", "east_gate"),
        ("gc-north", "north_door"),
    }
    # ...and once they stay down longer than the rule's minutes (the sweep is run here
    # as the minute timer would, five minutes on), device_offline alerts each of them.
    service = mqtt_estate.runtime_data.alerts
    later = dt_util.utcnow().timestamp() + 6 * 60
    await service._call(lambda: service.engine.sweep(later, silences=False))
    await wait_for(lambda: len([e for e in alerts if e.data["rule"] == "device_offline"]) >= 2)
    assert {e.data["subject_id"] for e in alerts if e.data["rule"] == "device_offline"} == {
        "gc-east",
        "gc-north",
    }

    # A heartbeat brings it back.
    devices["gc-east"].send("status", state="online")
    await wait_for(lambda: hass.states.get(online).state == "on")
    assert status[-1].data["online"] is True

    # The broker's last will ("offline", unsigned by nature) marks it offline at once.
    devices["gc-east"].publish("status", c.OFFLINE)
    await wait_for(lambda: hass.states.get(online).state == "off")
    # ...and a relay command to an offline controller is still sent but flagged (and
    # the action fails: the gate may not have opened).
    with pytest.raises(HomeAssistantError) as exc:
        await call(hass, "open_gate", {"gate_id": "east_gate", "reason": "test"})
    assert exc.value.translation_key == "actuator_unavailable"


async def test_heartbeat_loss_and_return_are_logged_once(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A controller going silent is one line, its return another: not one per watchdog
    run, heartbeat or failed opening in between."""
    caplog.set_level(logging.DEBUG, logger="custom_components.community_gate")
    link = mqtt_estate.runtime_data.mqtt
    east = devices["gc-east"]
    link.heartbeat_timeout = 0.2
    await asyncio.sleep(0.3)
    for step in (1, 2, 3):  # the watchdog keeps running while they stay silent
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=20 * step))
        await hass.async_block_till_done()
    assert not link.device_online("gc-east")
    with pytest.raises(HomeAssistantError):
        await call(hass, "open_gate", {"gate_id": "east_gate", "reason": "test"})

    link.heartbeat_timeout = 90
    east.send("status", state="online")
    await wait_for(lambda: link.device_online("gc-east"))
    east.send("status", state="online")
    east.send("card", value=CARD)
    await next_message(hass, east, "relay/set")
    await next_message(hass, east, "decision")  # the card is fully handled

    ours = [r for r in caplog.records if r.name.startswith("custom_components.community_gate")]
    down = sorted(r.getMessage() for r in ours if "is unavailable" in r.getMessage())
    back = [r for r in ours if "available again" in r.getMessage()]
    assert down == [
        "MQTT device gc-east at gate east_gate is unavailable",
        "MQTT device gc-north at gate north_door is unavailable",
    ]
    assert [(r.levelno, r.getMessage()) for r in back] == [
        (logging.INFO, "MQTT device gc-east at gate east_gate is available again")
    ]
    # The failed opening is the caller's error and a passage flag, not a log warning.
    assert sorted(r.getMessage() for r in ours if r.levelno >= logging.WARNING) == down
    assert all(CARD not in r.getMessage() for r in ours)


async def test_fire_alarm_opens_every_gate_and_is_logged(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
) -> None:
    emergency = listen(hass, EVENT_EMERGENCY)
    devices["gc-north"].send("fire", active=True)
    for dev in devices.values():
        _t, cmd = await next_message(hass, dev, "relay/set")
        assert cmd["hold"] is True  # held open until staff reset the emergency
    await wait_for(lambda: len(passages(db_path)) == 2)
    assert sorted(passages(db_path)) == [
        ("east_gate", "emergency", 1, "emergency_open", None, ""),
        ("north_door", "emergency", 1, "emergency_open", None, ""),
    ]
    assert mqtt_estate.runtime_data.hub.emergency
    assert [e.data["active"] for e in emergency] == [True]

    # A controller that drops off and comes back during the emergency is held open again.
    north = devices["gc-north"]
    north.publish("status", c.OFFLINE)
    await wait_for(lambda: not mqtt_estate.runtime_data.mqtt.device_online("gc-north"))
    north.send("status", state="online")
    _t, cmd = await next_message(hass, north, "relay/set")
    assert cmd["hold"] is True

    # The fire input releasing does not end the emergency; staff do.
    devices["gc-north"].send("fire", active=False)
    devices["gc-north"].send("status", state="online")
    await wait_for(lambda: mqtt_estate.runtime_data.mqtt.stats.accepted >= 6)
    assert mqtt_estate.runtime_data.hub.emergency
    await call(hass, "set_emergency", {"active": False})
    for dev in devices.values():
        _t, cmd = await next_message(hass, dev, "relay/set")
        assert cmd["hold"] is False
        assert cmd["pulse_ms"] == 0


async def test_door_temperature_and_exit_reach_the_hub(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
) -> None:
    door = listen(hass, EVENT_DOOR)
    temps = listen(hass, EVENT_TEMPERATURE)
    alerts = listen(hass, EVENT_ALERT)
    east = devices["gc-east"]
    east.send("door", open=True)
    east.send("temperature", c=37.8)
    east.send("exit")
    await wait_for(lambda: door and temps)
    assert door[0].data | {"ts": 0} == {
        "entry_id": mqtt_estate.entry_id,
        "kind": EVENT_DOOR,
        "device_id": "gc-east",
        "gate_id": "east_gate",
        "open": True,
        "ts": 0,
    }
    assert temps[0].data["celsius"] == 37.8
    # The same inputs reach the alert rules: a door opened with no passage before it is
    # forced; 37.8 °C is over the 37.3 °C fever threshold.
    await wait_for(lambda: {e.data["rule"] for e in alerts} >= {"forced_open", "fever"})
    assert {e.data["gate_id"] for e in alerts} == {"east_gate"}
    # None of these is a passage, and none opens anything.
    assert passages(db_path) == []
    assert not [t for t, _ in drain(east) if t.endswith("relay/set")]


async def test_terminal_embedding_gets_a_signed_decision(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
) -> None:
    """A terminal sends an embedding (no image, no name). Whether or not the face
    models are loaded, the terminal hears a signed decision and nothing opens for a
    stranger."""
    east = devices["gc-east"]
    face = mqtt_estate.runtime_data.face
    await wait_for(lambda: face.ready or face.error, limit=60)  # models load in the background
    east.send("face", emb=[0.01] * 128, dir="in")
    _t, decision = await next_message(hass, east, "decision")
    assert decision["allowed"] is False
    assert not [t for t, _ in drain(east) if t.endswith("relay/set")]
    if face.ready:
        # Matched against an empty gallery: a stranger, logged as a denied face passage.
        assert decision["reason"] == "unknown_credential"
        assert decision["display"] == "Lower mask or use card"  # a face, not a card
        await wait_for(lambda: len(passages(db_path)) == 1)
        assert passages(db_path)[0][:4] == ("east_gate", "face", 0, "unknown_credential")
    else:
        assert decision["reason"] == "face_unavailable"
        assert decision["display"] == "Access denied"  # not a decision reason: generic
        assert passages(db_path) == []
    # An image or a name is refused outright.
    east.send("face", emb=[0.01] * 128, name="someone")
    link = mqtt_estate.runtime_data.mqtt
    await wait_for(lambda: link.stats.rejected["forbidden_field"] == 1)


async def test_a_database_failure_is_logged_and_opens_nothing(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A disk that fails cannot be made real on demand: the counter claim raises as
    SQLite would. The card is refused with a reason, never a traceback, never a gate."""
    hub = mqtt_estate.runtime_data.hub
    east = devices["gc-east"]

    def _broken(device_id: str, ctr: int) -> bool:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(hub.store, "claim_device_counter", _broken)
    east.send("card", value=CARD)
    link = mqtt_estate.runtime_data.mqtt
    assert link is not None
    await wait_for(lambda: link.stats.failed["database_error"] == 1)
    assert "not handled: database_error" in caplog.text
    assert "Traceback" not in caplog.text
    assert passages(db_path) == []
    assert not [t for t, _ in drain(east) if t.endswith("relay/set")]


async def test_a_reader_guessing_over_mqtt_is_locked_out(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
) -> None:
    """The throttle sits on the hub's one decision path: a field reader is a caller of
    its own, and once locked out even the right card opens nothing and says only why."""
    east = devices["gc-east"]
    for i in range(ThrottleLimits().failures):
        east.send("card", value=str(4_000_000_000 + i))
        _topic, decision = await next_message(hass, east, "decision")
        assert decision["reason"] == "unknown_credential"
    east.send("card", value=CARD)
    _topic, decision = await next_message(hass, east, "decision")
    assert (decision["allowed"], decision["reason"]) == (False, "throttled")
    assert not [t for t, _ in drain(east) if t.endswith("relay/set")]
    await wait_for(lambda: passages(db_path)[-1][3] == "throttled")
    assert passages(db_path)[-1] == ("east_gate", "card", 0, "throttled", None, "")


async def test_a_terminal_on_both_channels_has_one_counter_and_one_budget(
    hass: HomeAssistant,
    mqtt_estate: MockConfigEntry,
    devices: dict[str, FieldDevice],
    db_path: Path,
    hass_client_no_auth: Any,
) -> None:
    """A device that talks MQTT and posts to the HTTP terminal endpoint is one device:
    a counter used on one channel is refused on the other, and its unknown faces on both
    channels spend one budget."""
    face = mqtt_estate.runtime_data.face
    await wait_for(lambda: face.ready or face.error, limit=60)
    if not face.ready:
        pytest.skip(f"face models not loaded: {face.error}")
    link = mqtt_estate.runtime_data.mqtt
    east = devices["gc-east"]
    http = Terminal(east.device_id, "east_gate", east.key)
    client = await hass_client_no_auth()
    emb = [0.01] * 128
    east.publish("face", east.signed("face", ctr=100, emb=emb))
    _t, decision = await next_message(hass, east, "decision")
    assert decision["allowed"] is False
    r = await http.post(client, emb, ctr=100)
    assert (r.status, (await r.json())["error"]) == (HTTPStatus.FORBIDDEN, "terminal_replay")
    r = await http.post(client, emb, ctr=101)
    assert r.status == HTTPStatus.OK
    east.publish("face", east.signed("face", ctr=101, emb=emb))
    await wait_for(lambda: link.stats.rejected["replay"] == 1)
    # The budget: two unknown faces are spent; the rest over HTTP, the next over MQTT.
    rng = np.random.default_rng(3)
    http.ctr = 101
    for _ in range(UNKNOWN_FACE_BUDGET.failures - 2):
        r = await http.post(client, [float(x) for x in rng.normal(0, 0.1, 128)])
        assert r.status == HTTPStatus.OK
    drain(east)
    east.publish(
        "face", east.signed("face", ctr=1000, emb=[float(x) for x in rng.normal(0, 0.1, 128)])
    )
    _t, decision = await next_message(hass, east, "decision")
    assert decision["allowed"] is False
    # The first face came on both channels: one stranger twice, one row (an episode).
    await wait_for(lambda: presented(db_path) == UNKNOWN_FACE_BUDGET.failures + 1)
    assert passages(db_path)[-1][5] == FACE_FLOOD
