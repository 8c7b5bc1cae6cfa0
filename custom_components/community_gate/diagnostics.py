"""Diagnostics: configuration, counts and codes only. No names, ID numbers, person ids,
face data or secrets."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, cast

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .const import CONF_DB_PATH, OPT_CENTRAL
from .core.central_settings import CentralSettings
from .entry_kind import is_centre
from .runtime import CentreConfigEntry, CommunityGateConfigEntry

TO_REDACT = {CONF_DB_PATH}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: CommunityGateConfigEntry
) -> dict[str, Any]:
    if is_centre(entry):
        return await _centre_diagnostics(cast("CentreConfigEntry", entry))
    options = dict(entry.options)
    if OPT_CENTRAL in options:
        # The password never, and of the DSN only its host and database.
        options[OPT_CENTRAL] = CentralSettings.from_mapping(options[OPT_CENTRAL]).redacted()
    config = {
        "data": async_redact_data(dict(entry.data), TO_REDACT),
        "options": options,
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
    face = runtime.face
    engine = face.spec.name

    def _enrolled() -> tuple[int, int]:
        """People with a face for this engine, and people enrolled only with another
        (waiting for a new photo): counted here, the ids never leave this function."""
        by_person = hub.store.template_engines()
        current = sum(1 for engines in by_person.values() if engine in engines)
        return current, len(by_person) - current

    async def _faces() -> dict[str, Any]:
        enrolled, reenroll = await hub.db(_enrolled)
        return {
            "engine": engine,
            "strictness": runtime.options.face_strictness,
            "loaded": face.loaded.is_set(),
            "ready": face.ready,
            "error": face.error,
            "enrolled_people": enrolled,
            "awaiting_reenrollment": reenroll,
            "references": len(face.gallery) + len(face.masked),
            "stranger_clusters": len(face.clusters),
        }

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
                "pad_level": rt.pad_level.value,
                "face_mode": rt.face_mode.value,
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
        "faces": await _faces(),
        "passages_today": hub.stats.passages_today,
        "mqtt": runtime.mqtt.diagnostics() if runtime.mqtt is not None else None,
        "open_alerts": runtime.alerts.open_count,
        "central": runtime.central.diagnostics() if runtime.central is not None else None,
    }


async def _centre_diagnostics(entry: CentreConfigEntry) -> dict[str, Any]:
    """The centre entry: its redacted link, and the estates' figures (codes, counts)."""
    out: dict[str, Any] = {
        "entry": {"data": CentralSettings.from_mapping(entry.data).redacted()},
        "state": entry.state.value,
    }
    if entry.state is not ConfigEntryState.LOADED:
        return out | {"setup_error": entry.error_reason_translation_key}
    coordinator = entry.runtime_data.coordinator
    data = coordinator.data
    return out | {
        "last_update_success": coordinator.last_update_success,
        "alert_cursor": coordinator.cursor,
        "estates": [asdict(e) for e in data.estates.values()] if data else [],
    }
