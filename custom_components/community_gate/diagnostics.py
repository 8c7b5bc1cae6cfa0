"""Diagnostics: configuration and counts only. No names, IDs numbers or secrets."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .const import CONF_DB_PATH
from .runtime import CommunityGateConfigEntry

TO_REDACT = {CONF_DB_PATH}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: CommunityGateConfigEntry
) -> dict[str, Any]:
    config = {
        "data": async_redact_data(dict(entry.data), TO_REDACT),
        "options": dict(entry.options),
    }
    if entry.state is not ConfigEntryState.LOADED:
        # No runtime (e.g. the database is damaged): the state and the error code are
        # what help; the message and its placeholders name the path, so they stay out.
        return {
            "entry": config,
            "state": entry.state.value,
            "setup_error": entry.error_reason_translation_key,
        }
    runtime = entry.runtime_data
    hub = runtime.hub

    def _counts() -> dict[str, int]:
        return {
            "units": hub.store.count_units(),
            "people": hub.store.count_people(),
            "live_credentials": hub.store.count_credentials(),
            "passages": hub.store.count_passages(),
            "schema_version": hub.store.schema_version,
        }

    return {
        "entry": config,
        "gates": [
            {
                "gate_id": rt.gate.id,
                "kind": rt.gate.kind.value,
                "direction": rt.gate.direction.value,
                "actuator_domain": rt.actuator_entity.partition(".")[0] or "mqtt",
                "actuator_available": rt.actuator.available,
                "has_camera": rt.camera is not None,
                "has_presence": rt.presence is not None,
                "has_stream": rt.stream_url is not None,
            }
            for rt in hub.gates.values()
        ],
        "capture": [
            {
                "gate_id": loop.rt.gate.id,
                "source": loop.source,
                "frames": loop.frames,
                "errors": loop.errors,
                "camera_ok": loop.camera_ok,
            }
            for loop in runtime.capture_loops
        ],
        "emergency": hub.emergency,
        "lockdown": hub.lockdown,
        "counts": await hub.db(_counts),
        "passages_today": hub.stats.passages_today,
        "mqtt": runtime.mqtt.diagnostics() if runtime.mqtt is not None else None,
        "open_alerts": runtime.alerts.open_count,
    }
