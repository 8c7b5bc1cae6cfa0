"""The panel's centre view: every estate's figures and the newest alerts across
estates, read from the central store (admin only). Gates are named as the centre's
directory has them; people by name only where their estate shares names."""

from __future__ import annotations

from typing import Any

import asyncpg
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import (
    async_response,
    require_admin,
    websocket_command,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .centre import TOKEN_SHOWN, CentreRuntime, classify
from .const import DOMAIN
from .core.alerts import SubjectKind, subject_names
from .core.centre import (
    CentralAlert,
    CentralPassage,
    DirectoryNames,
    directory_names,
    passages_page,
)
from .entry_kind import is_centre
from .schema import ENTRY_ID, vol
from .times import to_iso

MAX_PASSAGES = 200


def async_register_centre_commands(hass: HomeAssistant) -> None:
    async_register_command(hass, ws_centre)
    async_register_command(hass, ws_centre_passages)


def _centre(hass: HomeAssistant, entry_id: str | None) -> tuple[str, str, CentreRuntime] | None:
    for e in hass.config_entries.async_entries(DOMAIN):
        if not is_centre(e) or e.state is not ConfigEntryState.LOADED:
            continue
        if entry_id is None or e.entry_id == entry_id:
            runtime: CentreRuntime = e.runtime_data
            return e.entry_id, e.title, runtime
    return None


@require_admin
@websocket_command(
    {vol.Required("type"): f"{DOMAIN}/centre", vol.Optional("config_entry_id"): ENTRY_ID}
)
@async_response
async def ws_centre(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    found = _centre(hass, msg.get("config_entry_id"))
    if found is None:
        connection.send_error(msg["id"], "no_centre", "No command centre is set up")
        return
    entry_id, title, runtime = found
    coordinator = runtime.coordinator
    try:
        alerts = await coordinator.async_feed()
        async with runtime.pool.acquire() as conn:
            names = await directory_names(
                conn,
                {(a.estate, a.gate_id) for a in alerts}
                | {(a.estate, a.subject_id) for a in alerts if a.subject_kind == SubjectKind.GATE},
                {(a.estate, a.subject_id) for a in alerts if a.subject_kind == SubjectKind.PERSON},
            )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as err:
        connection.send_error(msg["id"], "centre_unreachable", classify(err))
        return
    estates = coordinator.data.estates if coordinator.data else {}
    connection.send_result(
        msg["id"],
        {
            "entry_id": entry_id,
            "title": title,
            "updated": coordinator.last_update_success,
            "estates": [
                {
                    "estate": e.code,
                    "passages_today": e.passages_today,
                    "open_alerts": e.open_alerts,
                    "offline_devices": e.offline_devices,
                    "backlog": e.backlog,
                    "lag_s": e.lag_s,
                    "last_seen": to_iso(e.last_seen),
                }
                for e in sorted(estates.values(), key=lambda e: e.code)
            ],
            "repeat_cards": [
                {
                    "card": c.card[:TOKEN_SHOWN],
                    "estates": list(c.estates),
                    "passages": c.passages,
                    "first": to_iso(c.first),
                    "last": to_iso(c.last),
                }
                for c in (coordinator.data.repeat_cards if coordinator.data else [])
            ],
            "alerts": [
                {
                    "alert_id": a.id,
                    "estate": a.estate,
                    "rule": a.rule,
                    "subject_kind": a.subject_kind,
                    "subject_id": a.subject_id,
                    "gate_id": a.gate_id,
                    "state": a.state,
                    "time": to_iso(a.ts),
                }
                | _alert_names(a, names)
                for a in alerts
            ],
        },
    )


@require_admin
@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/centre/passages",
        vol.Optional("config_entry_id"): ENTRY_ID,
        vol.Required("estate"): vol.All(str, vol.Length(min=1, max=64)),
        vol.Optional("before"): vol.Any(None, float, int),
        vol.Optional("limit", default=50): vol.All(int, vol.Range(min=1, max=MAX_PASSAGES)),
    }
)
@async_response
async def ws_centre_passages(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """One estate's passages as the centre holds them, newest first."""
    found = _centre(hass, msg.get("config_entry_id"))
    if found is None:
        connection.send_error(msg["id"], "no_centre", "No command centre is set up")
        return
    runtime = found[2]
    try:
        async with runtime.pool.acquire() as conn:
            rows = await passages_page(conn, msg["estate"], msg.get("before"), msg["limit"])
            names = await directory_names(
                conn, {(p.estate, p.gate_id) for p in rows}, {(p.estate, p.person_id) for p in rows}
            )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as err:
        connection.send_error(msg["id"], "centre_unreachable", classify(err))
        return
    connection.send_result(msg["id"], {"passages": [_passage(p, names) for p in rows]})


def _alert_names(a: CentralAlert, names: DirectoryNames) -> dict[str, str | None]:
    """What staff call an alert's gate and subject; ids stay beside them."""
    return {"gate_name": names.gates.get((a.estate, a.gate_id or ""))} | subject_names(
        a.subject_kind, (a.estate, a.subject_id), names.people, names.units, names.gates.get
    )


def _passage(p: CentralPassage, names: DirectoryNames) -> dict[str, Any]:
    """A passage as the centre keeps it: ids and codes, the gate's name, and the
    person's name only where the estate shares names."""
    return {
        "passage_id": p.id,
        "time": to_iso(p.last_seen if p.last_seen is not None else p.ts),
        "ts": p.ts,
        "gate_id": p.gate_id,
        "direction": p.direction,
        "method": p.method,
        "allowed": p.allowed,
        "reason": p.reason,
        "person_id": p.person_id,
        "unit_id": p.unit_id,
        "cluster_id": p.cluster_id,
        "count": p.count,
        "gate_name": names.gates.get((p.estate, p.gate_id)),
        "person_name": names.people.get((p.estate, p.person_id or "")),
    }
