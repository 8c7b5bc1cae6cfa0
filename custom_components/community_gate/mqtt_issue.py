"""The repair issue for gates that open through an MQTT controller while Home
Assistant's own MQTT integration is not set up: nothing can reach the controller, so
the gate cannot open and its readers are not heard. Apart from ``mqtt_link`` because
it is raised also when that module cannot even be imported."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import ATTR_COMPONENT, EventComponentLoaded

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
    the link is built at set-up, so the estate reloads once MQTT is loaded, rather than
    leaving the gates refusing until someone thinks of reloading it."""

    @callback
    def _is_mqtt(data: EventComponentLoaded) -> bool:
        return data[ATTR_COMPONENT] == "mqtt"

    @callback
    def _loaded(_event: Event[EventComponentLoaded]) -> None:
        # The reload's unload drops this listener.
        if entry.state is ConfigEntryState.LOADED:
            hass.config_entries.async_schedule_reload(entry.entry_id)

    # MQTT's entries are set up before the event fires: the reloaded link finds the
    # client.
    entry.async_on_unload(
        hass.bus.async_listen(EVENT_COMPONENT_LOADED, _loaded, event_filter=_is_mqtt)
    )
