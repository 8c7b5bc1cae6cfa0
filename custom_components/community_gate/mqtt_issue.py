"""The repair issue for gates that open through an MQTT controller while Home
Assistant's own MQTT integration is not set up: nothing can reach the controller, so
the gate cannot open and its readers are not heard. Apart from ``mqtt_link`` because
it is raised also when that module cannot even be imported."""

from __future__ import annotations

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from .const import CONF_MQTT_DEVICE, DOMAIN, SUBENTRY_GATE

MQTT_ISSUE = "mqtt_missing"


def mqtt_issue_id(entry_id: str) -> str:
    return f"{MQTT_ISSUE}_{entry_id}"


def mqtt_gates(entry: ConfigEntry) -> list[str]:
    """The names of the estate's gates that have an MQTT controller."""
    return sorted(
        str(sub.data.get("name") or sub.unique_id)
        for sub in entry.subentries.values()
        if sub.subentry_type == SUBENTRY_GATE and sub.data.get(CONF_MQTT_DEVICE)
    )


@callback
def async_update_mqtt_issue(hass: HomeAssistant, entry: ConfigEntry, *, missing: bool) -> None:
    """Raise the issue while MQTT is missing and a gate needs it; clear it otherwise.
    While it is raised, the estate reloads by itself once MQTT is set up."""
    gates = mqtt_gates(entry) if missing else []
    if not gates:
        ir.async_delete_issue(hass, DOMAIN, mqtt_issue_id(entry.entry_id))
        return
    _async_reload_when_mqtt_loads(hass, entry)
    ir.async_create_issue(
        hass,
        DOMAIN,
        mqtt_issue_id(entry.entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=MQTT_ISSUE,
        translation_placeholders={"gates": ", ".join(gates)},
    )


def _async_reload_when_mqtt_loads(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Installers add the MQTT integration after the estate (the repair asks them to):
    the link is built at set-up, so the estate reloads once an MQTT entry is loaded,
    rather than leaving the gates refusing until someone thinks of reloading it. An
    entry's state, not the component's first load: MQTT removed and added again, or
    enabled again, loads no component."""
    fired = False

    @callback
    def _changed(change: ConfigEntryChange, changed: ConfigEntry) -> None:
        nonlocal fired
        if (
            fired
            or change is not ConfigEntryChange.UPDATED
            or changed.domain != "mqtt"
            or changed.state is not ConfigEntryState.LOADED
            or entry.state is not ConfigEntryState.LOADED
        ):
            return
        fired = True  # once: the reload's unload drops this listener
        hass.config_entries.async_schedule_reload(entry.entry_id)

    entry.async_on_unload(async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, _changed))
