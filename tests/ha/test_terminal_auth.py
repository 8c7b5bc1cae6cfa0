"""The HTTP terminal endpoint trusts devices, not logins (issue 13, item 4).

Played as the attacker would against a real Home Assistant with the real face models: a
non-admin tenant (and an administrator) with a valid token, a forged, replayed, stale or
foreign-gate request, a message replayed between MQTT and HTTP, and a flood of random
embeddings. Only a provisioned terminal opens its own gate; every refusal is audited.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from pathlib import Path
import time
from typing import Any

from homeassistant.core import HomeAssistant
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry

from custom_components.community_gate.core import contract as c
from custom_components.community_gate.core.throttle import FACE_FLOOD, UNKNOWN_FACE_BUDGET
from tests.ha.helpers import (
    TERMINAL_URL,
    Terminal,
    add_estate,
    call,
    gate_subentry,
    provision_terminal,
    settle,
)

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ROOT / ".cache" / "test-photos"

pytestmark = pytest.mark.skipif(
    not (PHOTOS / "obama.jpg").exists(),
    reason="package photos missing: run scripts/fetch_photos (scripts/setup does)",
)


@pytest.fixture
async def gates(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]]
) -> MockConfigEntry:
    """East gate takes every method; the north door (no camera) takes cards and PINs
    only. Obama is enrolled; the face models are loaded."""
    entry = await add_estate(
        hass,
        db_path,
        gate_subentry("east_gate", "switch.east_relay"),
        gate_subentry("north_door", "switch.north_relay", methods=["card", "pin"]),
    )
    hass.config.allowlist_external_dirs.add(str(PHOTOS.resolve()))  # .cache may be a symlink
    face = entry.runtime_data.face
    await asyncio.wait_for(face.loaded.wait(), timeout=120)
    assert face.ready, face.error
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    await call(hass, "add_person", {"person_id": "obama", "role": "tenant", "unit_id": "3-1201"})
    await call(hass, "record_consent", {"person_id": "obama", "notice_version": "2026-11"})
    await call(hass, "enroll_face", {"person_id": "obama", "file_path": str(PHOTOS / "obama.jpg")})
    return entry


def resident(entry: MockConfigEntry) -> list[float]:
    """An embedding of the enrolled resident, as a terminal (or an attacker holding a
    public photo) computes it."""
    face = entry.runtime_data.face
    enc = face.worker.analyse((PHOTOS / "obama2.jpg").read_bytes())[0].encoding
    return [float(x) for x in enc]


async def audit_outcomes(hass: HomeAssistant) -> list[tuple[str, str | None, str]]:
    audit = await call(hass, "query_audit_log", {"action": "terminal_decision", "limit": 500})
    return [(e["user_id"], e["subject"], e["outcome"]) for e in reversed(audit["entries"])]


async def alerts(hass: HomeAssistant, rule: str) -> list[dict[str, Any]]:
    await settle(hass)
    return list((await call(hass, "list_alerts", {"rule": rule, "limit": 500}))["alerts"])


async def test_a_login_is_not_a_terminal(
    hass: HomeAssistant,
    gates: MockConfigEntry,
    hass_client: Any,
    hass_admin_user: Any,
    relay_calls: list[tuple[str, str]],
) -> None:
    """A tenant's valid token (and an administrator's) with the resident's embedding,
    in the old body or as an unsigned face message: refused, nothing opens, audited
    under the login."""
    tenant = await hass.auth.async_create_user("tenant", group_ids=["system-users"])
    refresh = await hass.auth.async_create_refresh_token(tenant, CLIENT_ID)
    clients = [
        await hass_client(hass.auth.async_create_access_token(refresh)),
        await hass_client(),
    ]
    emb = resident(gates)
    unsigned = c.sign(b"k" * 32, "x", {"v": 1, "dev": "term-east", "ctr": 1, "ts": 0, "emb": emb})
    unsigned = unsigned[: unsigned.rindex(b',"sig"')] + b"}"
    bodies = [
        {"json": {"gate_id": gate, "embedding": emb}} for gate in ("east_gate", "north_door")
    ] + [{"data": unsigned, "headers": {"Content-Type": "application/json"}}]
    for client in clients:
        for body in bodies:
            for gate in ("east_gate", "north_door"):
                r = await client.post(f"{TERMINAL_URL}?gate_id={gate}", **body)
                assert r.status == HTTPStatus.UNAUTHORIZED
                answer = await r.json()
                assert answer["error"] == "terminal_unauthenticated"
                assert "obama" not in str(answer)
    assert relay_calls == []
    assert gates.runtime_data.hub.store.count_passages() == 0
    outcomes = await audit_outcomes(hass)
    assert len(outcomes) == 2 * len(bodies) * 2
    assert {(u, o) for u, _s, o in outcomes} == {
        (tenant.id, "unsigned"),
        (hass_admin_user.id, "unsigned"),
    }


async def test_a_terminal_opens_only_its_own_gate(
    hass: HomeAssistant,
    gates: MockConfigEntry,
    hass_client_no_auth: Any,
    relay_calls: list[tuple[str, str]],
) -> None:
    """No login needed: the key is the terminal's identity. It opens its gate for the
    resident; the other gate, with a signature made for it or replayed from its own
    gate, opens nothing."""
    client = await hass_client_no_auth()
    east = await provision_terminal(hass, "east_gate", "term-east")
    emb = resident(gates)
    r = await east.post(client, emb, dir="in")
    assert r.status == HTTPStatus.OK
    assert (await r.json())["allowed"] is True
    await hass.async_block_till_done()
    assert ("switch.east_relay", "on") in relay_calls
    relay_calls.clear()
    # Signed correctly over the north door's topic, but the terminal is bound to east.
    r = await east.post(client, emb, gate_id="north_door")
    assert (r.status, (await r.json())["error"]) == (HTTPStatus.FORBIDDEN, "terminal_wrong_gate")
    # A request captured at the east gate, posted for the north door: not its signature.
    captured = east.sign(emb)
    r = await east.post(client, gate_id="north_door", body=captured)
    assert r.status == HTTPStatus.UNAUTHORIZED
    await hass.async_block_till_done()
    assert not [call for call in relay_calls if call[1] == "on"]
    passages = gates.runtime_data.hub.store.recent_passages(limit=10)
    assert [(p.gate_id, p.allowed) for p in passages] == [("east_gate", True)]
    assert (await audit_outcomes(hass))[-2:] == [
        ("device:term-east", "north_door", "wrong_gate"),
        ("anonymous", "north_door", "bad_signature"),
    ]


async def test_a_gate_without_face_refuses_every_terminal_face(
    hass: HomeAssistant,
    gates: MockConfigEntry,
    hass_client_no_auth: Any,
    relay_calls: list[tuple[str, str]],
) -> None:
    """The north door takes no faces: even its own provisioned terminal's face (the
    resident's, or a stranger's) is refused unexamined, made no stranger, raises nothing."""
    client = await hass_client_no_auth()
    north = await provision_terminal(hass, "north_door", "term-north")
    rng = np.random.default_rng(7)
    for emb in (resident(gates), list(rng.normal(0, 0.1, 128))):
        r = await north.post(client, emb)
        assert r.status == HTTPStatus.OK
        answer = await r.json()
        assert (answer["allowed"], answer["reason"]) == (False, "method_not_accepted")
    await hass.async_block_till_done()
    assert relay_calls == []
    assert len(gates.runtime_data.face.clusters) == 0
    assert await alerts(hass, "unknown_face") == []


async def test_forged_replayed_stale_and_unknown_requests_are_refused_and_audited(
    hass: HomeAssistant,
    gates: MockConfigEntry,
    hass_client_no_auth: Any,
    relay_calls: list[tuple[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await hass_client_no_auth()
    east = await provision_terminal(hass, "east_gate", "term-east")
    emb = resident(gates)
    forger = Terminal("term-east", "east_gate", b"\x00" * 32, ctr=100)
    stranger_device = Terminal("term-rogue", "east_gate", b"\x01" * 32)
    cases: list[tuple[Any, HTTPStatus, str, str]] = [
        (
            forger.post(client, emb),
            HTTPStatus.UNAUTHORIZED,
            "terminal_unauthenticated",
            "bad_signature",
        ),
        (
            stranger_device.post(client, emb),
            HTTPStatus.UNAUTHORIZED,
            "terminal_unauthenticated",
            "unknown_device",
        ),
        (
            east.post(client, emb, ts=time.time() - 3600),
            HTTPStatus.FORBIDDEN,
            "terminal_stale",
            "stale",
        ),
    ]
    for request, status, code, _why in cases:
        r = await request
        assert (r.status, (await r.json())["error"]) == (status, code)
    # Accepted once, refused when replayed; a counter below it is refused too.
    accepted = east.sign(emb, ts=time.time())
    r = await east.post(client, body=accepted)
    assert r.status == HTTPStatus.OK
    r = await east.post(client, body=accepted)
    assert (r.status, (await r.json())["error"]) == (HTTPStatus.FORBIDDEN, "terminal_replay")
    r = await east.post(client, emb, ctr=1)
    assert (r.status, (await r.json())["error"]) == (HTTPStatus.FORBIDDEN, "terminal_replay")
    await hass.async_block_till_done()
    assert [c for c in relay_calls if c[1] == "on"] == [("switch.east_relay", "on")]
    assert gates.runtime_data.hub.store.count_passages() == 1
    assert [o for _u, _s, o in await audit_outcomes(hass)] == [
        "bad_signature",
        "unknown_device",
        "stale",
        "replay",
        "replay",
    ]
    # Each refusal is one line with the gate and the reason; never a traceback or a value.
    refused = [r.getMessage() for r in caplog.records if "Terminal request" in r.getMessage()]
    assert len(refused) == 5
    assert "Traceback" not in caplog.text
    assert repr(emb[0]) not in caplog.text


async def test_one_counter_per_device_across_mqtt_and_http(
    hass: HomeAssistant, gates: MockConfigEntry, hass_client_no_auth: Any
) -> None:
    """A terminal that talks on both channels has one counter: a counter used on MQTT
    is refused over HTTP, and the reverse (the MQTT link's own handler, fed the bytes a
    broker would deliver)."""
    link = gates.runtime_data.mqtt
    assert link is not None
    client = await hass_client_no_auth()
    east = await provision_terminal(hass, "east_gate", "term-east")
    topic = c.topic(link.estate, "east_gate", c.Leaf.STATUS)
    status = c.device_message(east.key, topic, device="term-east", ctr=5, ts=0, state="online")
    await link._handle(topic, status)
    assert link.device_online("term-east")
    r = await east.post(client, [0.01] * 128, ctr=5)
    assert (r.status, (await r.json())["error"]) == (HTTPStatus.FORBIDDEN, "terminal_replay")
    r = await east.post(client, [0.01] * 128, ctr=6)
    assert r.status == HTTPStatus.OK
    again = c.device_message(east.key, topic, device="term-east", ctr=6, ts=0, state="online")
    with pytest.raises(c.ContractError) as err:
        await link._handle(topic, again)
    assert err.value.code == "replay"
    # An HTTP request's bytes published on MQTT fail the signature (another channel).
    face_topic = c.topic(link.estate, "east_gate", c.Leaf.FACE)
    with pytest.raises(c.ContractError) as err:
        await link._handle(face_topic, east.sign([0.01] * 128))
    assert err.value.code == "bad_signature"


async def test_a_flood_of_random_faces_makes_a_budget_of_strangers_and_one_alert(
    hass: HomeAssistant, gates: MockConfigEntry, hass_client_no_auth: Any
) -> None:
    """30 random embeddings from one terminal: each is denied and logged, but only the
    budget becomes stranger clusters and unknown_face alerts; the rest raise one
    brute_force alert for the gate. The resident is still let in during the flood."""
    client = await hass_client_no_auth()
    east = await provision_terminal(hass, "east_gate", "term-east")
    rng = np.random.default_rng(13)
    for _ in range(30):
        r = await east.post(client, [float(x) for x in rng.normal(0, 0.1, 128)])
        assert r.status == HTTPStatus.OK
        assert (await r.json())["allowed"] is False
    r = await east.post(client, resident(gates))
    assert (await r.json())["allowed"] is True
    budget = UNKNOWN_FACE_BUDGET.failures
    store = gates.runtime_data.hub.store
    passages = store.recent_passages(gate_id="east_gate", limit=100)
    assert len(passages) == 31  # every decision is logged
    flooded = [p for p in passages if FACE_FLOOD in p.flags]
    assert len(flooded) == 30 - budget
    assert all(p.cluster_id is None and not p.allowed for p in flooded)
    assert len(gates.runtime_data.face.clusters) == budget
    assert len(await alerts(hass, "unknown_face")) == budget
    flood = await alerts(hass, "brute_force")
    assert [(a["subject_kind"], a["subject_id"]) for a in flood] == [("gate", "east_gate")]
