"""The staff panel's commands that carry a name or a credential value.

Home Assistant writes every action call, with its data, to its own database, where this
integration can neither encrypt nor erase it. Websocket commands are not recorded, so the
panel adds people, enters card and ID numbers and names visitors through these. Each runs
the action of the same name (``services.async_run``): the same validation, admin check,
translated errors and audit row; the data is never logged.

``credential/present`` is the guard booth's desk reader: a USB reader types a card number
into the panel, and the gate decides as for a reader at the gate. Administrators only.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_UNAUTHORIZED
from homeassistant.components.websocket_api.decorators import async_response, websocket_command
from homeassistant.core import Context, HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError, Unauthorized

from .const import DOMAIN
from .core.model import CredentialKind, Direction
from .exceptions import translated
from .remote import async_check_admin, audited
from .runtime import resolve_runtime
from .schema import ENTRY_ID, vol
from .services import MAX_VALUE, PRIVATE_SCHEMAS, TYPED_KINDS, async_run
from .websocket_api import send_ha_error

if TYPE_CHECKING:
    from .hub import PassageOutcome

# Command type -> the action it runs.
COMMANDS: Final = {
    f"{DOMAIN}/person/add": "add_person",
    f"{DOMAIN}/person/update": "update_person",
    f"{DOMAIN}/credential/add": "add_credential",
    f"{DOMAIN}/visitor_pass/issue": "issue_visitor_pass",
}
_ENVELOPE: Final = ("id", "type")


async def async_private_call(
    hass: HomeAssistant, action: str, data: dict[str, Any], call_context: Any
) -> Any:
    """Run ``action`` with validated ``data`` as ``call_context``'s user, unrecorded."""
    call = ServiceCall(hass, DOMAIN, action, data, call_context, return_response=True)
    return await async_run(hass, action, call)


def decision_answer(outcome: PassageOutcome) -> dict[str, Any]:
    """A presentation's whole decision, as an administrator hears it."""
    p = outcome.passage
    return {
        "allowed": p.allowed,
        "opened": p.allowed and outcome.actuator_error is None,
        "reason": p.reason.value,
        "passage_id": p.id,
        "person_id": p.person_id,
        "flags": list(p.flags),
    }


async def _reply(connection: ActiveConnection, msg: dict[str, Any], work: Awaitable[Any]) -> None:
    """Answer ``msg`` with ``work``'s result, or with a coded error (never a traceback)."""
    try:
        result = await work
    except Unauthorized:
        # Refused and audited before anything ran.
        connection.send_error(msg["id"], ERR_UNAUTHORIZED, "Administrators only")
        return
    except HomeAssistantError as err:
        send_ha_error(connection, msg, err)
        return
    connection.send_result(msg["id"], result)


def _command(command_type: str, action: str) -> Any:
    @websocket_command({vol.Required("type"): command_type, **PRIVATE_SCHEMAS[action].schema})
    @async_response
    async def handle(
        hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
    ) -> None:
        data = {k: v for k, v in msg.items() if k not in _ENVELOPE}
        await _reply(
            connection, msg, async_private_call(hass, action, data, connection.context(msg))
        )

    return handle


async def _present(hass: HomeAssistant, msg: dict[str, Any], context: Context) -> dict[str, Any]:
    hub = resolve_runtime(hass, msg.get("config_entry_id")).hub
    # One audit row per presentation (refusals too); the passage is logged as well.
    async with audited(hub, context, "present_credential", msg["gate_id"]):
        await async_check_admin(hass, context, "present_credential")
        with translated(hub.store.path):
            outcome = await hub.async_present(
                msg["gate_id"],
                CredentialKind(msg["kind"]),
                msg["value"],
                direction=Direction(msg["direction"]) if "direction" in msg else None,
                context=context,
            )
    return decision_answer(outcome)


@websocket_command(
    {
        vol.Required("type"): f"{DOMAIN}/credential/present",
        vol.Optional("config_entry_id"): ENTRY_ID,
        vol.Required("gate_id"): vol.All(str, vol.Length(min=1, max=64)),
        vol.Required("kind"): vol.In(TYPED_KINDS),
        vol.Required("value"): vol.All(str, vol.Length(min=1, max=MAX_VALUE)),
        vol.Optional("direction"): vol.In([Direction.IN.value, Direction.OUT.value]),
    }
)
@async_response
async def ws_present(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    await _reply(connection, msg, _present(hass, msg, connection.context(msg)))


@callback
def async_register_private_commands(hass: HomeAssistant) -> None:
    for command_type, action in COMMANDS.items():
        async_register_command(hass, _command(command_type, action))
    async_register_command(hass, ws_present)
