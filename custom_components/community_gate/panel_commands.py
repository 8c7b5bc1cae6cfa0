"""The staff panel's commands that carry a name or a credential value.

Home Assistant writes every action call, with its data, to its own database, where this
integration can neither encrypt nor erase it. Websocket commands are not recorded, so the
panel adds people, enters card and ID numbers and names visitors through these. Each runs
the action of the same name (``services.async_run``): the same validation, admin check,
translated errors and audit row; the data is never logged.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_UNAUTHORIZED
from homeassistant.components.websocket_api.decorators import async_response, websocket_command
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError, Unauthorized

from .const import DOMAIN
from .schema import vol
from .services import PRIVATE_SCHEMAS, async_run
from .websocket_api import send_ha_error

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


def _command(command_type: str, action: str) -> Any:
    @websocket_command({vol.Required("type"): command_type, **PRIVATE_SCHEMAS[action].schema})
    @async_response
    async def handle(
        hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
    ) -> None:
        data = {k: v for k, v in msg.items() if k not in _ENVELOPE}
        try:
            result = await async_private_call(hass, action, data, connection.context(msg))
        except Unauthorized:
            # Refused and audited by async_run; the panel hides these for non-admins anyway.
            connection.send_error(msg["id"], ERR_UNAUTHORIZED, "Administrators only")
            return
        except HomeAssistantError as err:
            send_ha_error(connection, msg, err)
            return
        connection.send_result(msg["id"], result)

    return handle


@callback
def async_register_private_commands(hass: HomeAssistant) -> None:
    for command_type, action in COMMANDS.items():
        async_register_command(hass, _command(command_type, action))
