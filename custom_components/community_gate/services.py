"""Actions (services) of community_gate: the people register, credentials, passes, and
the gate path. Thin: validate, check admin, call the hub or store, map errors to
translated messages.

No action takes a name or a credential value. Home Assistant records every action's data
(the ``call_service`` event) in its own database, beyond this integration's erasure and
encryption, so names, card and ID numbers and PINs reach the hub through channels it does
not record: the staff panel's commands (``panel_commands.py``, which run the same handlers
through :func:`async_run`) and signed field-device messages (``mqtt_link.py``). A PIN or QR
token the action asks for is generated and answered once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.components.camera import async_get_image
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .alerts import alert_dict
from .const import DOMAIN
from .core import errors
from .core.access import MAX_VISITOR_PASS_DAYS
from .core.alerts import Rule
from .core.contract import http_topic
from .core.images import MAX_IMAGE_BYTES, ImageError
from .core.model import (
    RESIDENT_ROLES,
    CredentialKind,
    Direction,
    FaceVariant,
    Person,
    Role,
    StrangerIgnore,
    Unit,
)
from .core.person_fields import ACTION_FIELDS, EDITABLE_FIELDS, FieldKind, as_is
from .core.privacy import check_birth_year
from .core.schedule import schedule_from_obj
from .exceptions import ha_error, not_opened, raise_if_not_opened, translated
from .face import enroll_answer
from .privacy import async_audit, audit_look_alike
from .privacy_services import PRIVACY_HANDLERS, PRIVACY_SCHEMAS
from .remote import async_check_admin, async_check_open, outcome_of
from .runtime import EstateRuntime, resolve_runtime
from .schema import ENTRY_ID, MAX_ROW_ID, finite_float, int_between, vol
from .times import to_epoch, to_iso

if TYPE_CHECKING:
    from .hub import EstateHub

ATTR_ENTRY = "config_entry_id"
TYPED_KINDS = [k.value for k in CredentialKind if k is not CredentialKind.FACE]
MAX_TEXT = 200

_entry: dict[Any, Any] = {vol.Optional(ATTR_ENTRY): ENTRY_ID}
# Card numbers, PINs, ID numbers and QR tokens are short; anything longer is not one.
MAX_VALUE = 512
# Lists are capped too: each entry is checked, and an unbounded list is unbounded work.
MAX_ITEMS = 100
_id = vol.All(cv.string, vol.Length(min=1, max=64))
_text = vol.All(cv.string, vol.Length(max=MAX_TEXT))
_when = vol.Any(None, cv.datetime)
_value = vol.Any(vol.All(cv.string, vol.Length(max=MAX_VALUE)), int)

UNIT_FIELDS = {
    vol.Optional("building"): vol.All(cv.string, vol.Length(min=1, max=64)),
    vol.Optional("number"): vol.All(cv.string, vol.Length(min=1, max=64)),
    vol.Optional("rent_arrears"): cv.boolean,
    vol.Optional("lease_until"): _when,
}
# The validator of each kind of person field; the fields themselves are core's.
_PERSON_KINDS: dict[FieldKind, Any] = {
    FieldKind.ID: vol.Any(None, _id),
    FieldKind.TEXT: _text,
    FieldKind.ROLE: vol.In([r.value for r in Role]),
    FieldKind.FLAG: cv.boolean,
    FieldKind.TIME: _when,
    FieldKind.GATES: vol.All(cv.ensure_list, vol.Length(max=MAX_ITEMS), [_id]),
    FieldKind.SCHEDULE: vol.Any(None, vol.All(list, vol.Length(max=MAX_ITEMS))),
    FieldKind.YEAR: vol.Any(None, vol.All(vol.Coerce(int), vol.Range(min=0))),
}
PERSON_FIELDS = {vol.Optional(f.key): _PERSON_KINDS[f.kind] for f in EDITABLE_FIELDS}
ACTION_PERSON_FIELDS = {vol.Optional(f.key): _PERSON_KINDS[f.kind] for f in ACTION_FIELDS}
_ADD_PERSON_REQUIRED = [f.key for f in EDITABLE_FIELDS if f.required_on_add]


def _require(fields: dict[Any, Any], *names: str) -> dict[Any, Any]:
    """``fields`` with ``names`` made required. (Markers compare equal by name, so
    adding ``vol.Required("x")`` after ``vol.Optional("x")`` in one dict literal keeps
    the Optional key and silently drops the requirement.)"""
    return {(vol.Required(str(k)) if str(k) in names else k): v for k, v in fields.items()}


SCHEMAS: dict[str, vol.Schema] = {
    "add_unit": vol.Schema(
        {
            **_entry,
            vol.Required("unit_id"): _id,
            **_require(UNIT_FIELDS, "building", "number"),
        }
    ),
    "update_unit": vol.Schema({**_entry, vol.Required("unit_id"): _id, **UNIT_FIELDS}),
    "add_person": vol.Schema(
        {
            **_entry,
            vol.Optional("person_id"): _id,
            **_require(ACTION_PERSON_FIELDS, *_ADD_PERSON_REQUIRED),
        }
    ),
    "update_person": vol.Schema({**_entry, vol.Required("person_id"): _id, **ACTION_PERSON_FIELDS}),
    "remove_person": vol.Schema({**_entry, vol.Required("person_id"): _id}),
    "add_credential": vol.Schema(
        {
            **_entry,
            vol.Required("person_id"): _id,
            vol.Required("kind"): vol.In(TYPED_KINDS),
            vol.Optional("credential_id"): _id,
            vol.Optional("valid_from"): _when,
            vol.Optional("valid_until"): _when,
            vol.Optional("max_uses"): vol.All(vol.Coerce(int), vol.Range(min=1, max=100000)),
        }
    ),
    "revoke_credential": vol.Schema({**_entry, vol.Required("credential_id"): _id}),
    "issue_visitor_pass": vol.Schema(
        {
            **_entry,
            vol.Exclusive("person_id", "visitor"): _id,
            vol.Exclusive("unit_id", "visitor"): _id,
            vol.Optional("valid_from"): _when,
            vol.Optional("valid_until"): _when,
            vol.Optional("hours", default=24): vol.All(
                vol.Coerce(float), vol.Range(min=0.1, max=24 * MAX_VISITOR_PASS_DAYS)
            ),
            vol.Optional("allowed_gates"): vol.All(
                cv.ensure_list, vol.Length(max=MAX_ITEMS), [_id]
            ),
            vol.Optional("max_uses"): vol.All(vol.Coerce(int), vol.Range(min=1, max=1000)),
        }
    ),
    "open_gate": vol.Schema(
        {
            **_entry,
            vol.Required("gate_id"): _id,
            vol.Required("reason"): vol.All(cv.string, vol.Length(min=1, max=MAX_TEXT)),
            vol.Optional("direction"): vol.In([Direction.IN.value, Direction.OUT.value]),
        }
    ),
    "set_emergency": vol.Schema(
        {
            **_entry,
            vol.Required("active"): cv.boolean,
            vol.Optional("reason"): _text,
        }
    ),
    "record_consent": vol.Schema(
        {
            **_entry,
            vol.Required("person_id"): _id,
            vol.Required("notice_version"): vol.All(cv.string, vol.Length(min=1, max=64)),
            vol.Optional("guardian", default=False): cv.boolean,
        }
    ),
    "withdraw_consent": vol.Schema({**_entry, vol.Required("person_id"): _id}),
    "provision_device": vol.Schema(
        {**_entry, vol.Required("device_id"): _id, vol.Required("gate_id"): _id}
    ),
    "remove_device": vol.Schema({**_entry, vol.Required("device_id"): _id}),
    "enroll_face": vol.Schema(
        {
            **_entry,
            vol.Required("person_id"): _id,
            vol.Optional("variant", default="plain"): vol.In(["plain", "masked"]),
            vol.Optional("different_from"): _id,
            vol.Exclusive("camera_entity_id", "source"): cv.entity_domain("camera"),
            vol.Exclusive("file_path", "source"): vol.All(cv.string, vol.Length(min=1, max=1024)),
        }
    ),
    "assign_stranger": vol.Schema(
        {
            **_entry,
            vol.Required("cluster_id"): _id,
            vol.Required("person_id"): _id,
        }
    ),
    **PRIVACY_SCHEMAS,
}

_alert_id = int_between(1, MAX_ROW_ID)
SCHEMAS.update(
    {
        "acknowledge_alert": vol.Schema({**_entry, vol.Required("alert_id"): _alert_id}),
        "resolve_alert": vol.Schema({**_entry, vol.Required("alert_id"): _alert_id}),
        "list_alerts": vol.Schema(
            {
                **_entry,
                vol.Optional("include_resolved", default=False): cv.boolean,
                vol.Optional("rule"): vol.In([r.value for r in Rule]),
                vol.Optional("limit", default=100): vol.All(
                    vol.Coerce(int), vol.Range(min=1, max=1000)
                ),
            }
        ),
        "report_temperature": vol.Schema(
            {
                **_entry,
                vol.Required("gate_id"): _id,
                vol.Required("celsius"): finite_float,
                vol.Optional("person_id"): _id,
            }
        ),
    }
)

# The staff panel's versions of the actions that carry a name or a credential value:
# the same fields, plus those. Run through the same handlers, checks and audit.
PRIVATE_SCHEMAS: dict[str, vol.Schema] = {
    "add_person": SCHEMAS["add_person"].extend({vol.Optional("name"): _text}),
    "update_person": SCHEMAS["update_person"].extend({vol.Optional("name"): _text}),
    "add_credential": SCHEMAS["add_credential"].extend({vol.Optional("value"): _value}),
    "issue_visitor_pass": SCHEMAS["issue_visitor_pass"].extend({vol.Optional("name"): _text}),
}
# Kinds the hub can make up itself; the others (a card's number...) only a reader knows.
GENERATED_KINDS = frozenset({CredentialKind.PIN, CredentialKind.QR})


def _runtime(hass: HomeAssistant, call: ServiceCall) -> EstateRuntime:
    return resolve_runtime(hass, call.data.get(ATTR_ENTRY))


async def _authorize(hass: HomeAssistant, call: ServiceCall, name: str) -> None:
    """Admins only, except open_gate: a gate's openers may open that gate too.
    Automations and scripts run with the system's authority (remote.py)."""
    if name != "open_gate":
        await async_check_admin(hass, call.context, name)
        return
    hub = _runtime(hass, call).hub
    gate = hub.gates.get(call.data["gate_id"])
    # An unknown gate names nobody: only an admin hears that it does not exist.
    await async_check_open(
        hass, gate.openers if gate else frozenset(), call.context, lockdown=hub.lockdown
    )


# ---------------------------------------------------------------------- handlers
async def _add_unit(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    d = call.data
    unit = Unit(
        id=d["unit_id"],
        building=d["building"].strip(),
        number=d["number"].strip(),
        rent_arrears=d.get("rent_arrears", False),
        lease_until=to_epoch(d.get("lease_until")),
    )
    await hub.db(hub.store.add_unit, unit)
    return {"unit_id": unit.id}


async def _update_unit(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    d = call.data
    fields: dict[str, Any] = {}
    for key in ("building", "number"):
        if key in d:
            # Trimmed as on add: a building door compares buildings exactly.
            fields[key] = d[key].strip()
            if not fields[key]:
                raise errors.InvalidValueError("building and number are required", field=key)
    if "rent_arrears" in d:
        fields["rent_arrears"] = d["rent_arrears"]
    if "lease_until" in d:
        fields["lease_until"] = to_epoch(d["lease_until"])
    unit = await hub.db(partial(hub.store.update_unit, d["unit_id"], **fields))
    return {"unit_id": unit.id, "rent_arrears": unit.rent_arrears}


# A validated service value as the model holds it, by kind.
_TO_MODEL: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.ID: as_is,
    FieldKind.TEXT: as_is,
    FieldKind.ROLE: Role,
    FieldKind.FLAG: as_is,
    FieldKind.TIME: to_epoch,
    FieldKind.GATES: frozenset,
    FieldKind.SCHEDULE: schedule_from_obj,
    FieldKind.YEAR: check_birth_year,
}


def _person_fields(d: dict[str, Any]) -> dict[str, Any]:
    """The person fields present in a call, as ``Person`` attributes."""
    return {f.name: _TO_MODEL[f.kind](d[f.key]) for f in EDITABLE_FIELDS if f.key in d}


def _check_role_unit(role: Role, unit_id: str | None) -> None:
    if role in RESIDENT_ROLES and not unit_id:
        raise errors.InvalidValueError("residents need a unit", field="unit_id")


async def _add_person(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    from .core.access import new_id

    fields = _person_fields(dict(call.data))
    _check_role_unit(fields["role"], fields.get("unit_id"))
    await _check_gates(hub, fields.get("allowed_gates", ()))
    person = Person(id=call.data.get("person_id") or new_id("person"), **fields)
    await hub.db(hub.store.add_person, person)
    await hub.async_refresh_stats()
    return {"person_id": person.id}


async def _update_person(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    fields = _person_fields(dict(call.data))
    await _check_gates(hub, fields.get("allowed_gates", ()))
    current = await hub.db(hub.store.get_person, call.data["person_id"])
    _check_role_unit(fields.get("role", current.role), fields.get("unit_id", current.unit_id))
    person = await hub.db(partial(hub.store.update_person, current.id, **fields))
    return {"person_id": person.id}


async def _remove_person(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    # The templates go with the person row; the in-memory gallery follows.
    await estate.face.async_erase(
        call.data["person_id"], partial(hub.db, hub.store.remove_person, call.data["person_id"])
    )
    await hub.async_refresh_stats()
    return {"person_id": call.data["person_id"]}


async def _check_gates(hub: EstateHub, gate_ids: Any) -> None:
    for gate_id in gate_ids:
        if gate_id not in hub.gates:
            raise errors.UnknownGateError("no such gate", gate_id=gate_id)


async def _add_credential(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    d = call.data
    kind = CredentialKind(d["kind"])
    if "value" not in d and kind not in GENERATED_KINDS:
        raise ha_error("value_in_panel", kind=kind.value)
    cred, token = await hub.db(
        partial(
            hub.access.add_credential,
            d["person_id"],
            kind,
            d.get("value"),
            credential_id=d.get("credential_id"),
            valid_from=to_epoch(d.get("valid_from")),
            valid_until=to_epoch(d.get("valid_until")),
            max_uses=d.get("max_uses"),
            min_pin_length=estate.options.min_pin_length,
        )
    )
    out: dict[str, Any] = {"credential_id": cred.id, "kind": kind.value}
    if token:
        out["token"] = token
    return out


async def _revoke_credential(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    cred = await hub.db(hub.store.revoke_credential, call.data["credential_id"])
    return {"credential_id": cred.id, "revoked_at": to_iso(cred.revoked_at)}


async def _issue_visitor_pass(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    d = call.data
    if "person_id" not in d and "unit_id" not in d:
        raise ha_error("visitor_host_required")
    start = to_epoch(d.get("valid_from")) or dt_util.utcnow().timestamp()
    end = to_epoch(d.get("valid_until")) or start + timedelta(hours=d["hours"]).total_seconds()
    gates = frozenset(d.get("allowed_gates", ()))
    await _check_gates(hub, gates)
    vp = await hub.db(
        partial(
            hub.access.issue_visitor_pass,
            valid_from=start,
            valid_until=end,
            person_id=d.get("person_id"),
            host_unit_id=d.get("unit_id"),
            display_name=d.get("name", ""),
            allowed_gates=gates,
            max_uses=d.get("max_uses"),
        )
    )
    await hub.async_refresh_stats()
    out: dict[str, Any] = {
        "token": vp.token,
        "credential_id": vp.credential.id,
        "person_id": vp.person.id,
        "valid_from": to_iso(start),
        "valid_until": to_iso(end),
        "allowed_gates": sorted(vp.person.allowed_gates),
        "max_uses": vp.credential.max_uses,
    }
    return out


async def _open_gate(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    d = call.data
    direction = Direction(d["direction"]) if "direction" in d else None
    outcome = await hub.async_open(
        d["gate_id"], note=d["reason"], context=call.context, direction=direction
    )
    if not outcome.logged:
        # A way out opened although its row could not be written (fail-safe).
        raise ha_error("opened_not_logged", gate_id=d["gate_id"])
    if outcome.actuator_error is not None:
        # The passage is written (and the wrapper audits this call): now say it failed.
        raise not_opened(outcome.actuator_error, d["gate_id"], outcome.passage.id)
    return {"passage_id": outcome.passage.id, "flags": list(outcome.passage.flags)}


async def _set_emergency(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    outcomes = await hub.async_set_emergency(
        call.data["active"], note=call.data.get("reason"), context=call.context
    )
    raise_if_not_opened(o.passage.gate_id for o in outcomes if o.actuator_error)
    return {"active": hub.emergency, "gates_opened": [o.passage.gate_id for o in outcomes]}


async def _record_consent(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    d = call.data
    consent = await estate.face.async_record_consent(
        d["person_id"],
        notice_version=d["notice_version"],
        operator=call.context.user_id or "system",
        guardian=d["guardian"],
    )
    return {"consent_id": consent.id, "person_id": consent.person_id}


async def _withdraw_consent(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    removed = await estate.face.async_withdraw_consent(call.data["person_id"])
    return {"person_id": call.data["person_id"], "templates_removed": removed}


def _read_allowed_file(hass: HomeAssistant, raw: str) -> bytes:
    """An image file under a directory the admin allowed (allowlist_external_dirs)."""
    path = Path(raw)
    if not path.is_absolute() or ".." in path.parts:
        raise errors.InvalidValueError("absolute path without ..", field="file_path")
    resolved = path.resolve()
    if not hass.config.is_allowed_path(str(resolved)):
        raise errors.InvalidValueError("path not in allowlist_external_dirs", field="file_path")
    if not resolved.is_file():
        raise errors.InvalidValueError("not a file", field="file_path")
    if resolved.stat().st_size > MAX_IMAGE_BYTES:
        raise ImageError("image file too large", why="too_large_bytes")
    return resolved.read_bytes()


async def _enroll_face(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    d = call.data
    face = estate.face
    if "camera_entity_id" in d:
        try:
            image = (await async_get_image(hub.hass, d["camera_entity_id"], timeout=10)).content
        except HomeAssistantError as err:
            raise ha_error("camera_unavailable", entity_id=d["camera_entity_id"]) from err
    elif "file_path" in d:
        image = await hub.hass.async_add_executor_job(_read_allowed_file, hub.hass, d["file_path"])
    else:
        raise ha_error("image_source_required")
    result = await face.async_enroll(
        d["person_id"],
        image,
        variant=FaceVariant(d["variant"]),
        different_from=d.get("different_from"),
    )
    await audit_look_alike(hub, call.context.user_id, d["person_id"], result)
    return enroll_answer(result)


async def _assign_stranger(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    moved, enrolled = await estate.face.async_assign_stranger(
        call.data["cluster_id"], call.data["person_id"]
    )
    return {"passages": moved, "enrolled": enrolled}


async def _acknowledge_alert(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    alert = await estate.alerts.async_acknowledge(
        call.data["alert_id"], call.context.user_id or "system"
    )
    return {"alert_id": alert.id, "state": alert.state.value}


async def _resolve_alert(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    alert = await estate.alerts.async_resolve(
        call.data["alert_id"], call.context.user_id or "system"
    )
    return {"alert_id": alert.id, "state": alert.state.value}


async def _list_alerts(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    d = call.data
    alerts = await estate.alerts.async_list(
        include_resolved=d["include_resolved"],
        rule=Rule(d["rule"]) if "rule" in d else None,
        limit=d["limit"],
    )
    return {"alerts": [alert_dict(a) for a in alerts]}


async def _report_temperature(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    d = call.data
    if "person_id" in d:
        await hub.db(hub.store.get_person, d["person_id"])
    alerts = await estate.alerts.async_temperature(
        d["gate_id"], d["celsius"], dt_util.utcnow().timestamp(), d.get("person_id")
    )
    return {"fever": bool(alerts), "alert_id": alerts[0].id if alerts else None}


Handler = Callable[["EstateRuntime", ServiceCall], Awaitable[ServiceResponse]]


async def _provision_device(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    """A fresh key for a field device (an MQTT controller, a face terminal on MQTT or
    HTTP), returned this once (never stored clear, never logged). Re-provisioning
    replaces the key; the old one stops working. ``topic`` is the device's MQTT topic
    prefix (None where MQTT cannot run); ``http_topic`` is what a terminal signs a face
    body over for the HTTP terminal endpoint."""
    dev = await estate.async_provision_device(call.data["device_id"], call.data["gate_id"])
    link = estate.mqtt
    return {
        "device_id": dev.id,
        "gate_id": dev.gate_id,
        "key": dev.key.hex(),
        "topic": f"{link.base}/{dev.gate_id}" if link is not None else None,
        "http_topic": http_topic(dev.gate_id),
    }


async def _remove_device(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    """Forget a field device and its key: whatever it signs is refused from now on."""
    await estate.async_remove_device(call.data["device_id"])
    return {"device_id": call.data["device_id"], "removed": True}


HANDLERS: dict[str, Handler] = {
    "add_unit": _add_unit,
    "update_unit": _update_unit,
    "add_person": _add_person,
    "update_person": _update_person,
    "remove_person": _remove_person,
    "add_credential": _add_credential,
    "revoke_credential": _revoke_credential,
    "issue_visitor_pass": _issue_visitor_pass,
    "open_gate": _open_gate,
    "set_emergency": _set_emergency,
    "record_consent": _record_consent,
    "withdraw_consent": _withdraw_consent,
    "enroll_face": _enroll_face,
    "assign_stranger": _assign_stranger,
    **PRIVACY_HANDLERS,
    "provision_device": _provision_device,
    "remove_device": _remove_device,
    "acknowledge_alert": _acknowledge_alert,
    "resolve_alert": _resolve_alert,
    "list_alerts": _list_alerts,
    "report_temperature": _report_temperature,
}

# ------------------------------------------- lockdown and ignored strangers (issue 17)
# The longest a "known, do not alert" mark lasts: staff look at it again within a year.
MAX_IGNORE_DAYS = 366
SCHEMAS.update(
    {
        "set_lockdown": vol.Schema({**_entry, vol.Required("active"): cv.boolean}),
        "ignore_stranger": vol.Schema(
            {
                **_entry,
                vol.Required("cluster_id"): _id,
                vol.Required("note"): vol.All(cv.string, vol.Length(min=1, max=MAX_TEXT)),
                vol.Optional("days", default=30): vol.All(
                    vol.Coerce(int), vol.Range(min=1, max=MAX_IGNORE_DAYS)
                ),
            }
        ),
        "unignore_stranger": vol.Schema({**_entry, vol.Required("cluster_id"): _id}),
    }
)


async def _set_lockdown(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    hub = estate.hub
    changed = await hub.async_set_lockdown(call.data["active"], context=call.context)
    return {"active": hub.lockdown, "changed": changed}


async def _ignore_stranger(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    d = call.data
    note = d["note"].strip()
    if not note:
        raise errors.InvalidValueError("a note is required", field="note")
    now = dt_util.utcnow().timestamp()
    ignore = StrangerIgnore(
        cluster_id=d["cluster_id"],
        note=note,
        created_at=now,
        created_by=call.context.user_id or "system",
        expires_at=now + timedelta(days=d["days"]).total_seconds(),
    )
    resolved = await estate.alerts.async_ignore_stranger(ignore)
    return {
        "cluster_id": ignore.cluster_id,
        "until": to_iso(ignore.expires_at),
        "alerts_resolved": resolved,
    }


async def _unignore_stranger(estate: EstateRuntime, call: ServiceCall) -> ServiceResponse:
    removed = await estate.alerts.async_unignore_stranger(call.data["cluster_id"])
    return {"cluster_id": call.data["cluster_id"], "removed": removed}


HANDLERS.update(
    {
        "set_lockdown": _set_lockdown,
        "ignore_stranger": _ignore_stranger,
        "unignore_stranger": _unignore_stranger,
    }
)

# What an audit row names as the subject: the person first, then the thing acted on.
_SUBJECT_KEYS = ("person_id", "credential_id", "unit_id", "gate_id", "cluster_id", "device_id")


def _subject(data: Any, result: ServiceResponse) -> str | None:
    out = result if isinstance(result, dict) else {}
    if "alias" in out:
        return str(out["alias"])  # an erased person is only ever named by the alias
    for key in _SUBJECT_KEYS:
        for source in (data, out):
            value = source.get(key)
            if isinstance(value, str) and value:
                return value
    return None


async def _audit_refusal(hass: HomeAssistant, call: ServiceCall, name: str, code: str) -> None:
    with suppress(ServiceValidationError):
        hub = _runtime(hass, call).hub
        await async_audit(hub, call.context.user_id, name, _subject(call.data, None), code)


async def async_run(hass: HomeAssistant, name: str, call: ServiceCall) -> ServiceResponse:
    """Run action ``name``: authorise, handle, translate errors, audit. The panel's
    private commands come through here too, so both paths check and log alike."""
    try:
        await _authorize(hass, call, name)
    except Unauthorized:
        await _audit_refusal(hass, call, name, "unauthorized")
        raise
    estate = _runtime(hass, call)
    hub = estate.hub
    result: ServiceResponse = None
    outcome = "error"  # anything not caught below
    try:
        with translated(hub.store.path):
            result = await HANDLERS[name](estate, call)
        outcome = "ok"
    except HomeAssistantError as err:
        outcome = outcome_of(err)
        raise
    finally:
        # Every action leaves a row: who, what, on whom, how it ended.
        await async_audit(hub, call.context.user_id, name, _subject(call.data, result), outcome)
    return result if call.return_response else None


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    for name in HANDLERS:

        async def _run(call: ServiceCall, _name: str = name) -> ServiceResponse:
            return await async_run(hass, _name, call)

        hass.services.async_register(
            DOMAIN, name, _run, schema=SCHEMAS[name], supports_response=SupportsResponse.OPTIONAL
        )
