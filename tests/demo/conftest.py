"""A real demo estate for end-to-end tests: ``scripts/dev/make_demo.py`` builds the config,
``hass --debug`` runs it on a free loopback port, and ``Client`` talks to it over REST as
the printed demo user. On teardown the log must hold no error of ours and no
blocking-call report."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
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

import aiohttp
import pytest

from devtools.broker import find_mosquitto

ROOT = Path(__file__).resolve().parents[2]
# The Home Assistant to run: by default the one beside this interpreter; scripts/test
# points COMMUNITY_GATE_HASS at .venv's (the current release) when the in-process tests
# run on an older one because the test harness does not support the newest yet.
HASS = Path(os.environ.get("COMMUNITY_GATE_HASS") or Path(sys.executable).with_name("hass"))
HASS_PYTHON = HASS.with_name("python")
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

    def ws(self, msg: dict[str, Any]) -> dict[str, Any]:
        """One websocket command as this user; the whole answer (``success``...)."""

        async def run() -> dict[str, Any]:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(self.base + "/api/websocket") as sock,
            ):
                assert (await sock.receive_json())["type"] == "auth_required"
                await sock.send_json({"type": "auth", "access_token": self.token})
                assert (await sock.receive_json())["type"] == "auth_ok"
                await sock.send_json({"id": 1, **msg})
                answer: dict[str, Any] = await sock.receive_json()
                return answer

        # On a thread of its own: the caller's thread may be running a loop already
        # (Playwright's sync API), and asyncio.run there would also leave it without the
        # current event loop the older Home Assistant test plugin's fixtures expect.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, run()).result()

    def present(self, gate: str, kind: str, value: str) -> dict[str, Any]:
        """The staff panel's desk reader (no action takes a credential value)."""
        answer = self.ws(
            {
                "type": "community_gate/credential/present",
                "gate_id": gate,
                "kind": kind,
                "value": value,
            }
        )
        assert answer["success"], answer
        return answer["result"]  # type: ignore[no-any-return]


@dataclass
class Demo:
    """A running demo estate: the admin's client, make_demo's banner, the config folder,
    and the Home Assistant process (``stop`` lets a test read the files HA leaves)."""

    client: Client
    banner: str
    config: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop Home Assistant as a service manager would (SIGTERM, wait); idempotent."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        stopped = time.monotonic()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        # Reported, not asserted (no timing assertions): docs/benchmarks.md has the figure.
        print(f"Home Assistant stopped in {time.monotonic() - stopped:.1f} s")


@contextmanager
def running_demo(tmp_path: Path, *, mqtt: bool, central: str | None = None) -> Iterator[Demo]:
    cfg = tmp_path / "demo"
    cfg.mkdir()
    (cfg / "custom_components").symlink_to(ROOT / "custom_components")
    port = _free_port()
    extra = ["--mqtt-port", str(_free_port())] if mqtt else []
    if central is not None:
        extra += ["--central", central]
    made = subprocess.run(
        [
            HASS_PYTHON,
            str(ROOT / "scripts/dev/make_demo.py"),
            str(cfg),
            "--port",
            str(port),
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    log_path = tmp_path / "hass.log"
    log = log_path.open("w")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # As scripts/demo does: the broker and the simulated controller beside HA.
    controller = (
        subprocess.Popen(
            [HASS_PYTHON, str(ROOT / "scripts/dev/demo_controller.py"), str(cfg), "--broker"],
            env=env,
        )
        if mqtt
        else None
    )
    proc = subprocess.Popen(
        [str(HASS), "--config", str(cfg), "--skip-pip", "--debug"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    client = Client(f"http://127.0.0.1:{port}")
    demo = Demo(client, made.stdout, cfg, log_path, proc)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            try:
                client.login("demo", "demo-estate")
                # The template lock renders after Home Assistant has started, which
                # can come a moment after the estate reports its gate online.
                if (
                    client.state("binary_sensor.east_gate_online")["state"] == "on"
                    and client.state("lock.east_gate_lock")["state"] == "locked"
                ):
                    break
            except urllib.error.URLError, ConnectionError, AssertionError, KeyError:
                pass
            assert time.monotonic() < deadline, "Home Assistant did not come up"
            time.sleep(1)
        yield demo
    finally:
        demo.stop()
        if controller is not None:
            controller.terminate()
            controller.wait(timeout=30)
        log.close()
        text = log_path.read_text()
        # Every estate thread stops on Home Assistant's stop, not only on unload.
        assert "non-daemonic threads" not in text, text[-3000:]
        # HA reports deprecated use by an integration by its name; there must be none.
        deprecated = [
            ln for ln in text.splitlines() if "community_gate" in ln and "deprecat" in ln.lower()
        ]
        assert not deprecated, deprecated
        # The integration must start clean: no errors or tracebacks of ours. HA's own
        # refusal of a non-admin's subscription to our events (tests/attack provokes it)
        # names us but is not ours.
        ours = [
            ln
            for ln in text.splitlines()
            if "community_gate" in ln and "ERROR" in ln and "Refusing to allow" not in ln
        ]
        assert not ours, ours
        # HA's debug mode (--debug) reports any blocking call made in the event loop.
        blocking = [ln for ln in text.splitlines() if "blocking call" in ln.lower()]
        assert not blocking, blocking


@contextmanager
def _run_demo(tmp_path: Path, *, mqtt: bool) -> Iterator[tuple[Client, str]]:
    with running_demo(tmp_path, mqtt=mqtt) as demo:
        yield demo.client, demo.banner


@pytest.fixture
def demo_hass(tmp_path: Path, socket_enabled: None) -> Iterator[tuple[Client, str]]:
    with _run_demo(tmp_path, mqtt=False) as demo:
        yield demo


@pytest.fixture
def demo_mqtt(tmp_path: Path, socket_enabled: None) -> Iterator[tuple[Client, Path]]:
    """The demo with its broker and simulated gate controller (scripts/demo's default
    where mosquitto is installed)."""
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed (scripts/setup installs it as root)")
    with _run_demo(tmp_path, mqtt=True) as (client, _banner):
        yield client, tmp_path / "demo"
