"""Device authentication shared by the MQTT link and the HTTP terminal endpoint."""

from __future__ import annotations

import pytest

from custom_components.community_gate.core import contract as c
from custom_components.community_gate.core.device_auth import UNAUTHENTICATED, DeviceAuth
from custom_components.community_gate.core.devices import DeviceKey

KEY = bytes(range(32))
EMB = [0.01] * 128


def _auth() -> DeviceAuth:
    auth = DeviceAuth()
    auth.replace({"term-east": DeviceKey("term-east", "east_gate", KEY, 0, 3000)})
    return auth


def _face(topic: str, key: bytes = KEY, dev: str = "term-east") -> bytes:
    return c.device_message(key, topic, device=dev, ctr=1, ts=0, emb=EMB)


def test_the_http_string_names_the_gate_and_is_never_an_mqtt_topic() -> None:
    assert c.http_topic("east_gate") == "http:community_gate/east_gate/face"
    assert c.http_topic("east_gate") != c.topic("http", "east_gate", c.Leaf.FACE)
    with pytest.raises(c.ContractError):
        c.http_topic("east_gate/../north")


def test_a_bound_device_is_proven_on_either_channel() -> None:
    auth = _auth()
    mqtt_topic = c.topic("maple", "east_gate", c.Leaf.FACE)
    for topic in (mqtt_topic, c.http_topic("east_gate")):
        dev, body = auth.authenticate(topic, "east_gate", _face(topic))
        assert dev.id == "term-east"
        assert c.parse("east_gate", c.Leaf.FACE, body, now=0).fields["emb"] == EMB


@pytest.mark.parametrize(
    ("payload", "gate", "code"),
    [
        # signed for MQTT, presented over HTTP (and the reverse below)
        (_face(c.topic("maple", "east_gate", c.Leaf.FACE)), "east_gate", "bad_signature"),
        (_face(c.http_topic("north_door")), "east_gate", "bad_signature"),
        (_face(c.http_topic("east_gate"), key=bytes(32)), "east_gate", "bad_signature"),
        (_face(c.http_topic("east_gate"), dev="term-rogue"), "east_gate", "unknown_device"),
        (b'{"v":1,"dev":"term-east","ctr":1,"ts":0,"emb":[]}', "east_gate", "unsigned"),
        (_face(c.http_topic("north_door")), "north_door", "wrong_gate"),
    ],
)
def test_refusals_name_their_reason(payload: bytes, gate: str, code: str) -> None:
    with pytest.raises(c.ContractError) as err:
        _auth().authenticate(c.http_topic(gate), gate, payload)
    assert err.value.code == code
    # Only a proven device is named (wrong gate); the others are "unauthenticated".
    assert (code in UNAUTHENTICATED) == (code != "wrong_gate")
    if code == "wrong_gate":
        assert err.value.detail == "term-east"


def test_reprovisioning_replaces_the_key_and_keeps_the_counter_window() -> None:
    auth = _auth()
    before = auth.tx_window("term-east").take()[0]
    new_key = bytes(range(1, 33))
    auth.add(DeviceKey("term-east", "east_gate", new_key, 0, 3000))
    topic = c.http_topic("east_gate")
    with pytest.raises(c.ContractError):
        auth.authenticate(topic, "east_gate", _face(topic))
    assert auth.authenticate(topic, "east_gate", _face(topic, key=new_key))[0].key == new_key
    # The outbound counters go on from where they were (the store's mark, and the
    # clock), never back.
    after = auth.tx_window("term-east").take()[0]
    assert after > max(before, 3000)
