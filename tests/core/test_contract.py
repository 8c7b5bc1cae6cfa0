"""The MQTT contract: signing, verification, schemas, device keys and counters."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from custom_components.community_gate.core import contract as c
from custom_components.community_gate.core.devices import DeviceKeys, device_sealer
from custom_components.community_gate.core.errors import UnknownGateError
from custom_components.community_gate.core.model import Gate, GateKind
from custom_components.community_gate.core.store import Store
from tests.core.conftest import KEY

DEV_KEY = bytes(range(100, 132))
TOPIC = "community_gate/maple/east_gate/card"
NOW = 1_764_000_000.0


def _roundtrip(payload: bytes, topic: str = TOPIC, key: bytes = DEV_KEY) -> c.Message:
    body, sig = c.unsigned_body(payload)
    c.verify(key, topic, body, sig)
    gate, leaf = c.split_topic("maple", topic)
    return c.parse(gate, leaf, body, now=NOW)


def test_signature_is_hmac_over_topic_newline_body_as_documented() -> None:
    body = b'{"v":1,"dev":"gc-east","ctr":7,"ts":0,"value":"1234"}'
    expected = hmac.new(DEV_KEY, TOPIC.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    payload = c.sign(DEV_KEY, TOPIC, json.loads(body))
    assert payload == body[:-1] + f',"sig":"{expected}"}}'.encode()
    assert json.loads(payload)["sig"] == expected


def test_a_signed_card_parses() -> None:
    payload = c.device_message(
        DEV_KEY, TOPIC, device="gc-east", ctr=7, ts=NOW, value="0012345678", dir="in"
    )
    msg = _roundtrip(payload)
    assert msg.gate == "east_gate"
    assert msg.leaf is c.Leaf.CARD
    assert msg.envelope == c.Envelope("gc-east", 7, NOW)
    assert msg.fields == {"value": "0012345678", "dir": "in"}


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda p: p.replace(b"0012345678", b"0012345679"), "bad_signature"),
        (lambda p: p[:-3] + b'0"}', "bad_signature"),
        (lambda p: p.split(b',"sig"')[0] + b"}", "unsigned"),
        (lambda p: p + b"x" * c.MAX_PAYLOAD_BYTES, "too_large"),
    ],
)
def test_tampered_payloads_are_refused(mutate: object, code: str) -> None:
    payload = c.device_message(DEV_KEY, TOPIC, device="gc-east", ctr=7, ts=NOW, value="0012345678")
    with pytest.raises(c.ContractError) as err:
        _roundtrip(mutate(payload))  # type: ignore[operator]
    assert err.value.code == code


def test_a_message_signed_for_another_topic_is_refused() -> None:
    # The topic is inside the MAC: a card read at the back door cannot open the front.
    payload = c.device_message(
        DEV_KEY, "community_gate/maple/back/card", device="gc", ctr=1, ts=0, value="1"
    )
    with pytest.raises(c.ContractError, match="bad_signature"):
        _roundtrip(payload)


def test_wrong_key_is_refused() -> None:
    payload = c.device_message(DEV_KEY, TOPIC, device="gc", ctr=1, ts=0, value="1")
    with pytest.raises(c.ContractError, match="bad_signature"):
        _roundtrip(payload, key=KEY)


@pytest.mark.parametrize(
    ("leaf", "fields", "code"),
    [
        (c.Leaf.CARD, {"value": 12345678}, "wrong_type"),
        (c.Leaf.CARD, {"value": ""}, "wrong_type"),
        (c.Leaf.CARD, {"value": "1", "dir": "sideways"}, "wrong_type"),
        (c.Leaf.DOOR, {"open": "yes"}, "wrong_type"),
        (c.Leaf.TEMPERATURE, {"c": 400}, "wrong_type"),
        (c.Leaf.TEMPERATURE, {"c": True}, "wrong_type"),
        (c.Leaf.FIRE, {}, "wrong_type"),
        (c.Leaf.STATUS, {"state": "offline"}, "wrong_type"),
        (c.Leaf.FACE, {"emb": [0.1] * 127}, "wrong_type"),
        # A number no float holds overflowed the finite check (a traceback in HA's MQTT
        # callback); values far outside any embedding are refused with it.
        (c.Leaf.FACE, {"emb": [10**400] + [0.1] * 127}, "wrong_type"),
        (c.Leaf.FACE, {"emb": [1e300] + [0.1] * 127}, "wrong_type"),
        (c.Leaf.FACE, {"emb": [True] * 128}, "wrong_type"),
        (c.Leaf.FACE, {"emb": [0.1] * 128, "name": "x"}, "forbidden_field"),
        (c.Leaf.FACE, {"emb": [0.1] * 128, "image": "..."}, "forbidden_field"),
    ],
)
def test_wrong_types_are_refused(leaf: c.Leaf, fields: dict[str, object], code: str) -> None:
    t = c.topic("maple", "east_gate", leaf)
    payload = c.device_message(DEV_KEY, t, device="gc", ctr=1, ts=0, **fields)
    with pytest.raises(c.ContractError) as err:
        _roundtrip(payload, topic=t)
    assert err.value.code == code


@pytest.mark.parametrize(
    ("envelope", "code"),
    [
        ({"v": 2, "dev": "gc", "ctr": 1, "ts": 0}, "bad_version"),
        ({"v": 1, "dev": "g c", "ctr": 1, "ts": 0}, "bad_device_id"),
        ({"v": 1, "dev": "gc", "ctr": 0, "ts": 0}, "wrong_type"),
        ({"v": 1, "dev": "gc", "ctr": "5", "ts": 0}, "wrong_type"),
        ({"v": 1, "dev": "gc", "ctr": 1, "ts": NOW - 3600}, "stale"),
    ],
)
def test_envelope_is_checked(envelope: dict[str, object], code: str) -> None:
    payload = c.sign(DEV_KEY, TOPIC, {**envelope, "value": "1"})
    with pytest.raises(c.ContractError) as err:
        _roundtrip(payload)
    assert err.value.code == code


@pytest.mark.parametrize(
    "body",
    [b"not json}", b'{"v":1,"dev":"gc",}', b'{"v":1,"x":NaN}', b'{"a":' * 1000 + b"1}"],
)
def test_malformed_json_is_refused(body: bytes) -> None:
    sig = c.signature(DEV_KEY, TOPIC, body)
    with pytest.raises(c.ContractError) as err:
        _roundtrip(body[:-1] + f',"sig":"{sig}"}}'.encode())
    assert err.value.code in {"malformed_json", "too_large"}


@pytest.mark.parametrize(
    "topic",
    [
        "community_gate/other/east_gate/card",
        "community_gate/maple/east_gate/relay/set",
        "community_gate/maple/east_gate/decision",
        "community_gate/maple/East/card",
        "community_gate/maple/east_gate/card/x",
    ],
)
def test_topics_outside_the_inbound_contract_are_refused(topic: str) -> None:
    with pytest.raises(c.ContractError, match="bad_topic"):
        c.split_topic("maple", topic)


def test_relay_command_verifies_like_device_messages() -> None:
    t = c.topic("maple", "east_gate", c.Leaf.RELAY_SET)
    payload = c.relay_command(DEV_KEY, t, device="gc", ctr=9, ts=NOW, pulse_ms=5000)
    body, sig = c.unsigned_body(payload)
    c.verify(DEV_KEY, t, body, sig)
    assert json.loads(body) == {
        "v": 1,
        "dev": "gc",
        "ctr": 9,
        "ts": int(NOW),
        "pulse_ms": 5000,
        "hold": False,
    }


def test_counter_window_never_reuses_a_counter_across_restarts() -> None:
    frozen = lambda: 0.0  # noqa: E731  (a clock at 1970: only the high-water mark counts)
    w = c.CounterWindow(0, block=3, clock=frozen)
    assert w.take() == (1, 3)  # persist 3 before sending 1
    assert w.take() == (2, None)
    assert w.take() == (3, None)
    assert w.take() == (4, 6)
    # Restart from the persisted high-water mark: continues above anything sent.
    w2 = c.CounterWindow(6, block=3, clock=frozen)
    assert w2.take() == (7, 9)


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_counter_window_follows_the_clock_and_writes_once_a_block() -> None:
    clock = _Clock(1_764_000_000.0)
    w = c.CounterWindow(5, clock=clock)  # an old, small mark (before the clock floor)
    first, mark = w.take()
    assert first == 1_764_000_000_000_000  # the clock in microseconds
    assert mark == first + c.TX_BLOCK_US - 1  # one write covers 10 s of counters
    clock.t += 1.5
    second, mark = w.take()
    assert (second, mark) == (1_764_000_001_500_000, None)
    # Two commands within one microsecond still differ.
    assert w.take() == (second + 1, None)
    clock.t += 11
    third, mark = w.take()
    assert third == 1_764_000_012_500_000
    assert mark is not None
    assert third < c.MAX_CTR  # JSON-safe


def test_a_restored_database_does_not_lower_the_counters() -> None:
    """The estate database comes back from last week's backup: its high-water mark is
    old, but the next relay command's counter is above everything the controller
    accepted since (sent by the clock), so the gate obeys at once."""
    clock = _Clock(1_764_000_000.0)
    before = c.CounterWindow(0, clock=clock)
    backup_mark = before.take()[1]
    assert backup_mark is not None
    clock.t += 3600
    sent = [before.take()[0] for _ in range(5000)]  # a busy week, after the backup
    clock.t += 86_400 * 7
    restored = c.CounterWindow(backup_mark, clock=clock)
    assert restored.take()[0] > max(sent)


def test_a_clock_set_back_never_reuses_a_counter() -> None:
    """A hub without a battery clock boots in the past: the mark keeps counters growing."""
    clock = _Clock(1_764_000_000.0)
    w = c.CounterWindow(0, clock=clock)
    last, mark = w.take()
    assert mark is not None
    clock.t -= 86_400 * 365  # booted a year in the past, before NTP answers
    after_restart = c.CounterWindow(mark, clock=clock)
    assert after_restart.take()[0] > last


def test_device_keys_are_sealed_and_counters_persist(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "e.db", durable=False)
    store.upsert_gate(Gate("east_gate", "East", GateKind.ESTATE_GATE))
    keys = DeviceKeys(store, device_sealer(KEY))
    dev = keys.provision("gc-east", "east_gate")
    assert len(dev.key) == 32
    assert dev.key not in store.get_device("gc-east").sealed_key
    assert store.claim_device_counter("gc-east", 5)
    assert not store.claim_device_counter("gc-east", 5)  # replay
    assert not store.claim_device_counter("gc-east", 4)
    store.reserve_device_counter("gc-east", 1000)
    store.close()

    store = Store.open(tmp_path / "e.db", durable=False)
    loaded, bad = DeviceKeys(store, device_sealer(KEY)).load()
    assert bad == []
    assert loaded["gc-east"].key == dev.key
    assert (loaded["gc-east"].rx_ctr, loaded["gc-east"].tx_reserved) == (5, 1000)
    assert not store.claim_device_counter("gc-east", 5)  # still refused after restart
    # Re-keying (a wiped or replaced controller) starts the device's counter afresh, and
    # an old message cannot come back: it is signed with the old key.
    new = DeviceKeys(store, device_sealer(KEY)).provision("gc-east", "east_gate")
    assert new.key != dev.key
    assert (new.rx_ctr, new.tx_reserved) == (0, 1000)  # the hub's own counter only grows
    old_message = c.device_message(
        dev.key, "community_gate/e/east_gate/card", device="gc-east", ctr=6, ts=0, value="1"
    )
    with pytest.raises(c.ContractError):
        c.verify(new.key, "community_gate/e/east_gate/card", *c.unsigned_body(old_message))
    assert store.claim_device_counter("gc-east", 1)
    # Another estate key cannot open the sealed key: the device is refused, not trusted.
    loaded, bad = DeviceKeys(store, device_sealer(bytes(32))).load()
    assert (loaded, bad) == ({}, ["gc-east"])
    keys2 = DeviceKeys(store, device_sealer(KEY))
    with pytest.raises(UnknownGateError):
        keys2.provision("gc-x", "no_such_gate")
    store.close()


def test_the_documented_test_vector_holds() -> None:
    """docs/mqtt.md gives installers a vector to check their firmware against."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "mqtt.md").read_text()
    body = b'{"v":1,"dev":"gc-east","ctr":7,"ts":0,"value":"1234"}'
    sig = c.signature(bytes(range(32)), "community_gate/maple_court/east_gate/card", body)
    assert f"`{sig}`" in doc
    assert body[:-1].decode() + f',"sig":"{sig}"}}' in doc
