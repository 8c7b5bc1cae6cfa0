"""Privacy actions: erase a person, export what is held about them (subject access),
read the audit log, rotate the sealing key. Admin only, like every action that is
not a reader's; registered and audited with the others by ``services.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.helpers import config_validation as cv

from .core.privacy import audit_dict, erase_person, export_person
from .schema import ENTRY_ID, MAX_ROW_ID, int_between, vol
from .times import to_epoch

if TYPE_CHECKING:
    from .runtime import EstateRuntime

MAX_AUDIT_ROWS = 1000

_entry: dict[Any, Any] = {vol.Optional("config_entry_id"): ENTRY_ID}
_id = vol.All(cv.string, vol.Length(min=1, max=64))
_name = vol.All(cv.string, vol.Length(min=1, max=64))

PRIVACY_SCHEMAS: dict[str, vol.Schema] = {
    "erase_person": vol.Schema({**_entry, vol.Required("person_id"): _id}),
    "export_person_data": vol.Schema({**_entry, vol.Required("person_id"): _id}),
    "query_audit_log": vol.Schema(
        {
            **_entry,
            vol.Optional("since"): cv.datetime,
            vol.Optional("until"): cv.datetime,
            vol.Optional("user_id"): _name,
            vol.Optional("action"): _name,
            vol.Optional("subject"): _id,
            vol.Optional("limit", default=100): vol.All(
                vol.Coerce(int), vol.Range(min=1, max=MAX_AUDIT_ROWS)
            ),
            vol.Optional("before_id"): int_between(1, MAX_ROW_ID),
        }
    ),
    "rotate_key": vol.Schema(_entry),
}


async def _erase_person(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    person_id = call.data["person_id"]
    alias, counts = await estate.face.async_erase(
        person_id, partial(hub.db, erase_person, hub.store, person_id)
    )
    await hub.async_refresh_stats()
    # The answer names the alias, not the person: it is what the audit row keeps too.
    return {"alias": alias, **counts}


async def _export_person_data(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    return await hub.db(export_person, hub.store, call.data["person_id"])


async def _query_audit_log(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    d = call.data
    rows = await hub.db(
        partial(
            hub.store.query_audit,
            since=to_epoch(d.get("since")),
            until=to_epoch(d.get("until")),
            user_id=d.get("user_id"),
            action=d.get("action"),
            subject=d.get("subject"),
            limit=d["limit"],
            before_id=d.get("before_id"),
        )
    )
    return {"entries": [audit_dict(r) for r in rows]}


async def _rotate_key(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    report = await estate.async_rotate_key()
    return {
        "templates": report.templates,
        "clusters": report.clusters,
        "photos": report.photos,
        "unreadable": report.unreadable,
        "key_fingerprint": report.fingerprint,
    }


PRIVACY_HANDLERS: dict[str, Callable[[EstateRuntime, ServiceCall], Awaitable[ServiceResponse]]] = {
    "erase_person": _erase_person,
    "export_person_data": _export_person_data,
    "query_audit_log": _query_audit_log,
    "rotate_key": _rotate_key,
}
