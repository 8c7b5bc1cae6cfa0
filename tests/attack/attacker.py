"""What the attack suite needs beside ``tests/demo/conftest.py``'s ``Client``: raw HTTP
with the status kept (refusals are the point), Home Assistant's admin commands for a
non-admin user, and the admin's views of the outcome (audit log, passages, alerts,
diagnostics, history). Only HTTP and the websocket: nothing reaches into the running
Home Assistant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
import json
import re
import time
from typing import Any
import urllib.error
from urllib.parse import quote
import urllib.request

from tests.demo.conftest import Client

DOMAIN = "community_gate"


def request(
    client: Client,
    method: str,
    path: str,
    data: Any = None,
    *,
    raw: bytes | None = None,
    token: str | None = None,
    anonymous: bool = False,
) -> tuple[int, Any]:
    """(HTTP status, JSON answer or text) for ``path``, errors included. ``token``
    overrides the client's login; ``anonymous`` sends none."""
    headers = {"Content-Type": "application/json"}
    bearer = None if anonymous else token or client.token
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    body = raw if raw is not None else None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(client.base + path, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
    try:
        return status, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, text


def action(client: Client, name: str, data: dict[str, Any]) -> tuple[int, Any]:
    """An action of ours over REST, with its response when it has one."""
    return request(client, "POST", f"/api/services/{DOMAIN}/{name}?return_response", data)


def admin_action(admin: Client, name: str, data: dict[str, Any]) -> Any:
    status, answer = action(admin, name, data)
    assert status == 200, (name, status, answer)
    return answer["service_response"]


def ws_ok(client: Client, msg: dict[str, Any]) -> Any:
    answer = client.ws(msg)
    assert answer["success"], (msg["type"], answer)
    return answer["result"]


def create_user(admin: Client, username: str, password: str) -> str:
    """A plain Home Assistant user, made as the UI's Settings > People does: in the
    Users group (not Administrators), with a username and password. Returns its id."""
    user = ws_ok(
        admin, {"type": "config/auth/create", "name": username, "group_ids": ["system-users"]}
    )["user"]
    assert user["group_ids"] == ["system-users"], user
    ws_ok(
        admin,
        {
            "type": "config/auth_provider/homeassistant/create",
            "user_id": user["id"],
            "username": username,
            "password": password,
        },
    )
    return str(user["id"])


def audit(admin: Client, **filters: Any) -> list[dict[str, Any]]:
    """The integration's audit log as staff read it (newest first)."""
    return list(admin_action(admin, "query_audit_log", {"limit": 1000, **filters})["entries"])


def passages(admin: Client, **filters: Any) -> list[dict[str, Any]]:
    """The passage log as the staff panel reads it (newest first, one page)."""
    msg = {"type": f"{DOMAIN}/passages", "limit": 200, **filters}
    return list(ws_ok(admin, msg)["passages"])


def last_passage_id(admin: Client) -> int:
    rows = passages(admin, limit=1)
    return int(rows[0]["passage_id"]) if rows else 0


def alerts(admin: Client, rule: str) -> list[dict[str, Any]]:
    return list(admin_action(admin, "list_alerts", {"rule": rule})["alerts"])


def entry_id(admin: Client) -> str:
    entries = admin.call("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    assert len(entries) == 1, entries
    return str(entries[0]["entry_id"])


def mqtt_diagnostics(admin: Client, entry: str) -> dict[str, Any]:
    """The MQTT link's counters (accepted, rejected by code, relay commands sent)."""
    data = admin.call("GET", f"/api/diagnostics/config_entry/{entry}")["data"]
    return dict(data["mqtt"])


def our_entities(admin: Client) -> list[str]:
    """Every entity this integration made (the entity registry is an admin's read)."""
    rows = ws_ok(admin, {"type": "config/entity_registry/list"})
    return sorted(r["entity_id"] for r in rows if r["platform"] == DOMAIN)


def changes_since(client: Client, since: str, entity_ids: list[str]) -> list[dict[str, Any]]:
    """Recorded state changes of ``entity_ids`` after ``since`` (Home Assistant's history,
    the same record the UI draws): a relay that clicked shows here even once it is off."""
    path = (
        f"/api/history/period/{quote(since)}?filter_entity_id={','.join(entity_ids)}"
        "&significant_changes_only=0"
    )
    rows: list[list[dict[str, Any]]] = client.call("GET", path) or []
    start = datetime.fromisoformat(since)
    return [
        s for series in rows for s in series if datetime.fromisoformat(s["last_changed"]) > start
    ]


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll ``probe`` until it returns something truthy (that is returned)."""
    deadline = time.monotonic() + timeout
    while True:
        if got := probe():
            return got
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.3)


def token_pattern(value: str) -> re.Pattern[str]:
    """``value`` as a whole token: a card number inside a timestamp's microseconds or an
    id's random letters is not a leak."""
    return re.compile(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])")
