"""The README's demo command, end to end: build the demo config, start a real Home
Assistant process (debug mode) on a free loopback port, log in as the printed demo user, present
the printed cards and watch the demo lock open."""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import socket
import subprocess
import sys
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

import pytest

ROOT = Path(__file__).resolve().parents[2]
HASS = Path(sys.executable).with_name("hass")
START_TIMEOUT = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.token: str | None = None

    def call(self, method: str, path: str, data: Any = None, *, form: bool = False) -> Any:
        headers: dict[str, str] = {}
        body = None
        if data is not None:
            if form:
                body = urllib.parse.urlencode(data).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                body = json.dumps(data).encode()
                headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base + path, data=body, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def login(self, username: str, password: str) -> None:
        cid = self.base + "/"
        flow = self.call(
            "POST",
            "/auth/login_flow",
            {"client_id": cid, "handler": ["homeassistant", None], "redirect_uri": cid},
        )
        step = self.call(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": cid, "username": username, "password": password},
        )
        assert step["type"] == "create_entry", step
        tokens = self.call(
            "POST",
            "/auth/token",
            {"grant_type": "authorization_code", "code": step["result"], "client_id": cid},
            form=True,
        )
        self.token = tokens["access_token"]

    def state(self, entity_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/states/{entity_id}")  # type: ignore[no-any-return]

    def present(self, gate: str, kind: str, value: str) -> dict[str, Any]:
        out = self.call(
            "POST",
            "/api/services/community_gate/present_credential?return_response",
            {"gate_id": gate, "kind": kind, "value": value},
        )
        return out["service_response"]  # type: ignore[no-any-return]


@pytest.fixture
def demo_hass(tmp_path: Path, socket_enabled: None) -> Iterator[tuple[Client, str]]:
    cfg = tmp_path / "demo"
    cfg.mkdir()
    (cfg / "custom_components").symlink_to(ROOT / "custom_components")
    port = _free_port()
    made = subprocess.run(
        [sys.executable, str(ROOT / "scripts/dev/make_demo.py"), str(cfg), "--port", str(port)],
        check=True,
        capture_output=True,
        text=True,
    )
    log = (tmp_path / "hass.log").open("w")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen(
        [str(HASS), "--config", str(cfg), "--skip-pip", "--debug"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    client = Client(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, (tmp_path / "hass.log").read_text()[-3000:]
            try:
                client.login("demo", "demo-estate")
                if client.state("binary_sensor.east_gate_online")["state"] == "on":
                    break
            except (urllib.error.URLError, ConnectionError, AssertionError, KeyError):
                pass
            assert time.monotonic() < deadline, "Home Assistant did not come up"
            time.sleep(1)
        yield client, made.stdout
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        text = (tmp_path / "hass.log").read_text()
        # The integration must start clean: no errors or tracebacks of ours.
        ours = [ln for ln in text.splitlines() if "community_gate" in ln and "ERROR" in ln]
        assert not ours, ours
        # HA's debug mode (--debug) reports any blocking call made in the event loop.
        blocking = [ln for ln in text.splitlines() if "blocking call" in ln.lower()]
        assert not blocking, blocking


def test_demo_estate_opens_the_gate(demo_hass: tuple[Client, str]) -> None:
    client, banner = demo_hass
    assert "demo / demo-estate" in banner
    assert "10001" in banner
    token = next(ln.split(": ")[-1] for ln in banner.splitlines() if "Visitor QR token" in ln)

    assert client.state("lock.east_gate_lock")["state"] == "locked"
    assert client.present("east_gate", "card", "10001") == {
        "allowed": True,
        "reason": "granted",
        "passage_id": 1,
        "person_id": "p-wang",
        "flags": [],
    }
    deadline = time.monotonic() + 10
    while client.state("lock.east_gate_lock")["state"] != "unlocked":
        assert time.monotonic() < deadline, "the demo lock never opened"
        time.sleep(0.2)

    assert client.present("building_3_door", "card", "10004")["reason"] == "gate_not_allowed"
    assert client.present("east_gate", "card", "99999")["reason"] == "unknown_credential"
    assert client.present("east_gate", "card", "10003")["flags"] == ["rent_arrears"]
    assert client.present("east_gate", "card", "10009")["reason"] == "person_blocked"
    assert client.present("east_gate", "qr", token)["allowed"] is True

    event = client.state("event.east_gate_passage")
    assert event["attributes"]["event_type"] == "granted"
    assert event["attributes"]["method"] == "qr"
    assert client.state("sensor.demo_estate_passages_today")["state"] == "6"
    assert client.state("sensor.demo_estate_people_enrolled")["state"] == "7"
    # The relock pulse (5 s) ends with the lock locked again.
    deadline = time.monotonic() + 15
    while client.state("lock.east_gate_lock")["state"] != "locked":
        assert time.monotonic() < deadline, "the demo lock never relocked"
        time.sleep(0.5)

    # Faces: the Building 3 door camera shows the enrolled resident (another photo of
    # her than the enrolled one); she is recognised and let in. Then a stranger.
    assert "Faces:" in banner
    visitor = {"entity_id": "input_select.building_3_visitor"}
    client.call(
        "POST",
        "/api/services/input_select/select_option",
        visitor | {"option": "Wang Fang (resident)"},
    )
    _wait_for_passage(client, "building_3_door", lambda a: a["method"] == "face", 120)
    event = client.state("event.building_3_door_passage")["attributes"]
    assert (event["event_type"], event["reason"]) == ("granted", "granted")
    client.call(
        "POST", "/api/services/input_select/select_option", visitor | {"option": "A stranger"}
    )
    _wait_for_passage(client, "building_3_door", lambda a: a["event_type"] == "denied", 60)
    event = client.state("event.building_3_door_passage")["attributes"]
    assert (event["method"], event["reason"]) == ("face", "unknown_credential")
    client.call("POST", "/api/services/input_select/select_option", visitor | {"option": "Nobody"})


def _wait_for_passage(client: Client, gate: str, match: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        attrs = client.state(f"event.{gate}_passage")["attributes"]
        if attrs.get("method") and match(attrs):
            return
        assert time.monotonic() < deadline, f"no matching passage at {gate}: {attrs}"
        time.sleep(0.5)
