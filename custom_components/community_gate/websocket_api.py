"""Websocket commands for the staff panel: read-only, admin-only, typed and validated.

Everything that changes the estate goes through the integration's actions (the panel
calls them with ``return_response``), so the panel, automations and scripts share one set
of checks, errors and audit entries; the four that carry a name or a credential value
come as ``panel_commands.py``'s commands instead, which run the same handlers.

These commands only read: people, a person's record, the paged passage log, gates,
stranger clusters, and a live passage feed.
Nothing here returns a credential value, an embedding or a photo.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import io
from typing import Any, Final

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import (
    async_response,
    require_admin,
    websocket_command,
)
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util import dt as dt_util

from .alerts import alert_dict
from .const import DOMAIN
from .core.alerts import Rule, SubjectKind, subject_names
from .core.errors import CoreError
from .core.model import Method, Passage, Person, Role, StrangerIgnore
from .core.person_fields import PERSON_FIELDS, FieldKind, as_is
from .core.queries import (
    MAX_PAGE,
    PERSON_FLAGS,
    PassageFilter,
    PassagePage,
    names_and_units_of,
    names_of,
    passage_page,
    people_page,
)
from .core.schedule import schedule_to_obj
from .entry_kind import is_centre
from .exceptions import translated
from .hub import EstateHub, passage_event_data
from .runtime import EstateRuntime, resolve_runtime
from .schema import ENTRY_ID, MAX_ROW_ID, vol
from .times import to_iso

MAX_QR_CHARS: Final = 512
MAX_SEARCH: Final = 100  # characters of a search box
ENTRY = "config_entry_id"  # the same field name as the services and HTTP views


@callback
def async_register_commands(hass: HomeAssistant) -> None:
    for command in (
        ws_estates,
        ws_units,
        ws_people,
        ws_person,
        ws_passages,
        ws_gates,
        ws_strangers,
        ws_qr,
        ws_subscribe_passages,
        ws_alerts,
    ):
        async_register_command(hass, command)


def _epoch(value: str | None) -> float | None:
    if value is None:
        return None
    parsed = dt_util.parse_datetime(value)
    if parsed is None:
        raise vol.Invalid("not a date and time")
    return parsed.timestamp() if parsed.tzinfo else dt_util.as_utc(parsed).timestamp()


# A person's field as the panel reads it, by kind (schedules and birth years are not
# listed there).
_TO_PANEL: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.ID: as_is,
    FieldKind.TEXT: as_is,
    FieldKind.ROLE: lambda role: role.value,
    FieldKind.FLAG: as_is,
    FieldKind.TIME: to_iso,
    FieldKind.GATES: sorted,
}


def _person(p: Person) -> dict[str, Any]:
    # The panel names fields as the model does, except the id (``person_id`` everywhere).
    return {
        ("person_id" if f.name == "id" else f.name): _TO_PANEL[f.kind](getattr(p, f.name))
        for f in PERSON_FIELDS
        if f.in_panel
    }


def _passage(hub: EstateHub, p: Passage, names: dict[str, str]) -> dict[str, Any]:
    """A passage as staff read it: the event's ids and codes, plus the names the panel
    (admins only) shows instead of them."""
    return passage_event_data(hub, p) | {
        "distance": p.distance,
        "gate_name": _gate_name(hub, p.gate_id),
        "person_name": names.get(p.person_id or ""),
    }


def _gate_name(hub: EstateHub, gate_id: str | None) -> str | None:
    gate = hub.gates.get(gate_id or "")
    return gate.gate.name if gate else gate_id


async def _run(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg: dict[str, Any],
    work: Callable[[EstateRuntime], Any],
) -> None:
    """Resolve the estate, run ``work`` and answer; every failure is a coded error."""
    try:
        estate = resolve_runtime(hass, msg.get(ENTRY))
        with translated(estate.hub.store.path):
            result = await work(estate)
    except HomeAssistantError as err:
        send_ha_error(connection, msg, err)
        return
    connection.send_result(msg["id"], result)


def send_ha_error(
    connection: ActiveConnection, msg: dict[str, Any], err: HomeAssistantError
) -> None:
    """A translated error by its key: the panel reads the code, a person the message."""
    connection.send_error(
        msg["id"],
        err.translation_key or "error",
        str(err),
        translation_key=err.translation_key,
        translation_domain=err.translation_domain,
        translation_placeholders=err.translation_placeholders,
    )


@require_admin
@websocket_command({vol.Required("type"): f"{DOMAIN}/estates"})
@callback
def ws_estates(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    connection.send_result(
        msg["id"],
        [
            {"entry_id": e.entry_id, "title": e.title, "loaded": e.state is ConfigEntryState.LOADED}
            for e in hass.config_entries.async_entries(DOMAIN)
            # The command centre has its own command (community_gate/centre).
            if not is_centre(e)
        ],
    )


@require_admin
@websocket_command({vol.Required("type"): f"{DOMAIN}/units", vol.Optional(ENTRY): ENTRY_ID})
@async_response
async def ws_units(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    async def work(estate: EstateRuntime) -> list[dict[str, Any]]:
        hub = estate.hub
        units = await hub.db(hub.store.list_units)
        return [
            {
                "unit_id": u.id,
                "building": u.building,
                "number": u.number,
                "rent_arrears": u.rent_arrears,
                "lease_until": to_iso(u.lease_until),
            }
            for u in units
        ]

    await _run(hass, connection, msg, work)


@require_admin
@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/people",
        vol.Optional(ENTRY): ENTRY_ID,
        vol.Optional("search"): vol.All(str, vol.Length(max=MAX_SEARCH)),
        vol.Optional("role"): vol.In([r.value for r in Role]),
        vol.Optional("flag"): vol.In(PERSON_FLAGS),
        vol.Optional("unit_id"): str,
        vol.Optional("limit", default=50): vol.All(int, vol.Range(min=1, max=MAX_PAGE)),
        vol.Optional("offset", default=0): vol.All(int, vol.Range(min=0, max=MAX_ROW_ID)),
    }
)
@async_response
async def ws_people(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    async def work(estate: EstateRuntime) -> dict[str, Any]:
        hub = estate.hub
        page = await hub.db(
            lambda: people_page(
                hub.store,
                search=msg.get("search") or None,
                role=Role(msg["role"]) if "role" in msg else None,
                flag=msg.get("flag"),
                unit_id=msg.get("unit_id"),
                limit=msg["limit"],
                offset=msg["offset"],
            )
        )
        return {"people": [_person(p) for p in page.rows], "total": page.total}

    await _run(hass, connection, msg, work)


@require_admin
@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/person",
        vol.Optional(ENTRY): ENTRY_ID,
        vol.Required("person_id"): str,
    }
)
@async_response
async def ws_person(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    pid = msg["person_id"]

    async def work(estate: EstateRuntime) -> dict[str, Any]:
        hub = estate.hub

        def read() -> dict[str, Any]:
            store = hub.store
            person = store.get_person(pid)
            templates = store.list_face_templates(pid)
            return {
                # The schedule is edited in the person's record (not listed in the view).
                "person": _person(person) | {"schedule": schedule_to_obj(person.schedule)},
                "credentials": [
                    {
                        "credential_id": c.id,
                        "kind": c.kind.value,
                        "valid_from": to_iso(c.valid_from),
                        "valid_until": to_iso(c.valid_until),
                        "max_uses": c.max_uses,
                        "uses": c.uses,
                        "revoked_at": to_iso(c.revoked_at),
                    }
                    for c in store.list_credentials(pid)
                ],
                "consents": [
                    {
                        "purpose": c.purpose,
                        "notice_version": c.notice_version,
                        "given_at": to_iso(c.given_at),
                        "guardian": c.guardian,
                        "withdrawn_at": to_iso(c.withdrawn_at),
                    }
                    for c in store.list_consents(pid)
                ],
                # Only the estate's engine's references count: another engine's cannot
                # open a gate (after a switch, before the person is re-enrolled).
                "face_references": {
                    variant: sum(
                        1
                        for t in templates
                        if t.variant.value == variant and t.engine == estate.face.spec.name
                    )
                    for variant in ("plain", "masked")
                },
                "face_reenroll": bool(templates)
                and all(t.engine != estate.face.spec.name for t in templates),
                "last_seen": to_iso(store.last_seen(pid)),
            }

        return await hub.db(read)

    await _run(hass, connection, msg, work)


@require_admin
@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/passages",
        vol.Optional(ENTRY): ENTRY_ID,
        vol.Optional("gate_id"): str,
        vol.Optional("person_id"): str,
        vol.Optional("unit_id"): str,
        vol.Optional("cluster_id"): str,
        vol.Optional("person_name"): vol.All(str, vol.Length(max=MAX_SEARCH)),
        vol.Optional("method"): vol.In([m.value for m in Method]),
        vol.Optional("allowed"): bool,
        vol.Optional("since"): str,
        vol.Optional("until"): str,
        vol.Optional("cursor"): vol.All(str, vol.Length(max=64)),
        vol.Optional("limit", default=50): vol.All(int, vol.Range(min=1, max=MAX_PAGE)),
    }
)
@async_response
async def ws_passages(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    try:
        since, until = _epoch(msg.get("since")), _epoch(msg.get("until"))
    except vol.Invalid:
        connection.send_error(msg["id"], "invalid_format", "since/until: not a date and time")
        return
    flt = PassageFilter(
        gate_id=msg.get("gate_id"),
        person_id=msg.get("person_id"),
        unit_id=msg.get("unit_id"),
        cluster_id=msg.get("cluster_id"),
        person_name=msg.get("person_name"),
        method=Method(msg["method"]) if "method" in msg else None,
        allowed=msg.get("allowed"),
        since=since,
        until=until,
    )

    async def work(estate: EstateRuntime) -> dict[str, Any]:
        hub = estate.hub

        def read() -> tuple[PassagePage, dict[str, str]]:
            page = passage_page(hub.store, flt, cursor=msg.get("cursor"), limit=msg["limit"])
            return page, names_of(hub.store, (p.person_id for p in page.rows))

        page, names = await hub.db(read)
        return {"passages": [_passage(hub, p, names) for p in page.rows], "cursor": page.cursor}

    await _run(hass, connection, msg, work)


@require_admin
@websocket_command({vol.Required("type"): f"{DOMAIN}/gates", vol.Optional(ENTRY): ENTRY_ID})
@async_response
async def ws_gates(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    async def work(estate: EstateRuntime) -> dict[str, Any]:
        hub = estate.hub
        loops = {loop.rt.gate.id: loop for loop in estate.capture_loops}
        names = await hub.db(
            names_of,
            hub.store,
            [rt.last_passage.person_id for rt in hub.gates.values() if rt.last_passage],
        )
        gates = []
        for rt in hub.gates.values():
            loop = loops.get(rt.gate.id)
            last = rt.last_passage
            gates.append(
                {
                    "gate_id": rt.gate.id,
                    "name": rt.gate.name,
                    "kind": rt.gate.kind.value,
                    "direction": rt.gate.direction.value,
                    "building": rt.gate.building,
                    "actuator": rt.actuator_entity,
                    "online": rt.actuator.available,
                    "camera": rt.camera,
                    "has_stream": rt.stream_url is not None,
                    "camera_ok": loop.camera_ok if loop else None,
                    "last_passage": _passage(hub, last, names) if last else None,
                }
            )
        face = estate.face
        return {
            "gates": gates,
            "emergency": hub.emergency,
            "lockdown": hub.lockdown,
            "faces": {
                "ready": face.ready,
                "error": face.error,
                "engine": face.spec.name,
                "references": len(face.gallery) + len(face.masked),
                "reenroll": face.stale_people,
            },
        }

    await _run(hass, connection, msg, work)


@require_admin
@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/strangers",
        vol.Optional(ENTRY): ENTRY_ID,
        vol.Optional("limit", default=100): vol.All(int, vol.Range(min=1, max=MAX_PAGE)),
    }
)
@async_response
async def ws_strangers(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Unknown-face clusters, most recently seen first: counts and days, no centroids,
    the gate each was last seen at (by name), and whether staff marked each "known, do
    not alert" (with their note and who marked it, by name: admins only). The mark itself
    is set with the ignore_stranger / unignore_stranger actions, like every change the
    panel makes."""

    async def work(estate: EstateRuntime) -> dict[str, Any]:
        face = estate.face
        if not face.ready:
            return {"strangers": [], "ready": False}
        clusters = await face.async_cluster_summaries()
        clusters.sort(key=lambda c: c["last_seen"], reverse=True)
        clusters = clusters[: msg["limit"]]
        hub = estate.hub

        def read() -> tuple[dict[str, StrangerIgnore], dict[str, str | None], dict[str, float]]:
            marks = {m.cluster_id: m for m in hub.store.list_stranger_ignores()}
            last_gate: dict[str, str | None] = {}
            for c in clusters:
                page = passage_page(hub.store, PassageFilter(cluster_id=c["cluster_id"]), limit=1)
                last_gate[c["cluster_id"]] = page.rows[0].gate_id if page.rows else None
            keep = estate.options.keep_stranger_snapshots
            return marks, last_gate, hub.store.snapshot_clusters() if keep else {}

        marks, last_gate, snapshots = await hub.db(read)
        now = dt_util.utcnow().timestamp()
        out = []
        for c in clusters:
            cid = c["cluster_id"]
            gate_id = last_gate[cid]
            out.append(
                c
                | {
                    "first_seen": to_iso(c["first_seen"]),
                    "last_seen": to_iso(c["last_seen"]),
                    "last_gate_id": gate_id,
                    "last_gate_name": _gate_name(hub, gate_id) if gate_id else None,
                    "ignored": await _ignored(hass, marks.get(cid), now),
                    # When a face crop is kept (stranger snapshots on): the panel fetches
                    # it from the admin-only snapshot view; never the image here.
                    "snapshot_at": to_iso(snapshots[cid]) if cid in snapshots else None,
                }
            )
        return {
            "ready": True,
            "strangers": out,
            "snapshots": estate.options.keep_stranger_snapshots,
        }

    await _run(hass, connection, msg, work)


async def _ignored(
    hass: HomeAssistant, mark: StrangerIgnore | None, now: float
) -> dict[str, Any] | None:
    """A stranger's valid "known, do not alert" mark as the panel shows it, with the
    name of the Home Assistant user who set it; an expired one is no mark (alerts are
    back)."""
    if mark is None or not mark.valid_at(now):
        return None
    user = await hass.auth.async_get_user(mark.created_by)
    return {
        "note": mark.note,
        "since": to_iso(mark.created_at),
        "until": to_iso(mark.expires_at),
        "by": mark.created_by,
        "by_name": user.name if user else None,
    }


@require_admin
@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/qr",
        vol.Required("data"): vol.All(str, vol.Length(min=1, max=MAX_QR_CHARS)),
    }
)
@async_response
async def ws_qr(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """An SVG QR code of a visitor pass token, for printing right after it was issued
    (the token is only ever shown then: the store keeps its hash)."""

    def render() -> str:
        import segno

        buf = io.BytesIO()
        segno.make(msg["data"], error="m").save(buf, kind="svg", scale=6, border=2)
        return buf.getvalue().decode()

    svg = await hass.async_add_executor_job(render)
    connection.send_result(msg["id"], {"svg": svg})


@require_admin
@websocket_command(
    {vol.Required("type"): f"{DOMAIN}/subscribe_passages", vol.Optional(ENTRY): ENTRY_ID}
)
@callback
def ws_subscribe_passages(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Every new passage of the estate, as it is committed (ids and codes only)."""
    try:
        hub = resolve_runtime(hass, msg.get(ENTRY)).hub
    except HomeAssistantError as err:
        send_ha_error(connection, msg, err)
        return

    queue: asyncio.Queue[Passage] = asyncio.Queue()

    async def send_in_order() -> None:
        # One sender per subscription: each row's names are read before the next row
        # goes out, so the feed keeps commit order.
        while True:
            passage = await queue.get()
            try:
                names = await hub.db(names_of, hub.store, (passage.person_id,))
            except CoreError:
                names = {}  # the estate is closing: the row is still worth showing
            connection.send_message(event_message(msg["id"], _passage(hub, passage, names)))

    @callback
    def committed(passage: Passage) -> None:
        queue.put_nowait(passage)

    sender = hass.async_create_background_task(send_in_order(), f"{DOMAIN} live passages")
    unsub = async_dispatcher_connect(hass, hub.passage_signal, committed)

    @callback
    def stop() -> None:
        unsub()
        sender.cancel()

    connection.subscriptions[msg["id"]] = stop
    connection.send_result(msg["id"])


@require_admin
@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/alerts",
        vol.Optional(ENTRY): ENTRY_ID,
        vol.Optional("include_resolved", default=False): bool,
        vol.Optional("rule"): vol.In([r.value for r in Rule]),
        vol.Optional("limit", default=50): vol.All(int, vol.Range(min=1, max=MAX_PAGE)),
    }
)
@async_response
async def ws_alerts(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Alerts, newest first: open ones, or all. Acknowledging and resolving go through the
    services (audited like every admin action)."""

    async def work(estate: EstateRuntime) -> dict[str, Any]:
        hub = estate.hub
        alerts = await estate.alerts.async_list(
            include_resolved=msg["include_resolved"],
            rule=Rule(msg["rule"]) if "rule" in msg else None,
            limit=msg["limit"],
        )
        people = [a.subject_id for a in alerts if a.subject_kind is SubjectKind.PERSON]
        names, units = await hub.db(names_and_units_of, hub.store, people)

        def gate_name(gate_id: str) -> str | None:
            return _gate_name(hub, gate_id)

        return {
            "alerts": [
                alert_dict(a)
                | {"gate_name": _gate_name(hub, a.gate_id)}
                | subject_names(a.subject_kind, a.subject_id, names, units, gate_name)
                for a in alerts
            ],
            "open": estate.alerts.open_count,
        }

    await _run(hass, connection, msg, work)
