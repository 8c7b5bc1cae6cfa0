"""Privacy in Home Assistant: the audit trail of admin actions, the nightly retention
sweep, sealing-key rotation, kept photos and the "face must not be the only way in"
repair. The rules themselves are in ``core/privacy.py`` and ``core/keys.py``.

Other modules record an admin action with ``async_audit`` (services do it for every
registered admin service automatically; see ``services.async_setup_services``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
import logging
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import (
    CONF_GATE_ID,
    CONF_METHODS,
    DEFAULT_RETENTION_DAYS,
    DOMAIN,
    OPT_CLUSTER_RETENTION_DAYS,
    OPT_KEEP_PHOTOS,
    OPT_PHOTO_RETENTION_DAYS,
    OPT_RETENTION_DAYS,
    SUBENTRY_GATE,
)
from .core.errors import StoreError
from .core.keys import RotationReport, rotate_sealing_key
from .core.privacy import (
    DEFAULT_CLUSTER_DAYS,
    DEFAULT_PHOTO_DAYS,
    PhotoVault,
    Retention,
    audit_entry,
)
from .core.templates import TemplateVault

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .hub import EstateHub

_LOGGER = logging.getLogger(__name__)

# Credential kinds a gate may accept; a gate must keep at least one that is not a face.
GATE_METHODS = ("face", "card", "id_card", "qr", "pin", "fingerprint")
NON_BIOMETRIC = frozenset({"card", "id_card", "qr", "pin"})
FACE_ONLY_ISSUE = "face_only_gate"


@dataclass(slots=True)
class PrivacyRuntime:
    """Per-estate privacy state: where the keys live and the vaults that seal."""

    db_path: Path
    templates: TemplateVault
    photos: PhotoVault


# ----------------------------------------------------------------------- audit
async def async_audit(
    hub: EstateHub,
    user_id: str | None,
    action: str,
    subject: str | None,
    outcome: str = "ok",
) -> None:
    """Append one row to the audit log. Never raises: an action that happened must not
    be reported as failed because its audit row could not be written."""
    entry = audit_entry(user_id, action, subject, outcome)
    try:
        await hub.db(hub.store.add_audit, entry)
    except Exception as err:
        _LOGGER.warning("Audit row for %s not written: %s", action, type(err).__name__)


# ------------------------------------------------------------------- retention
def retention_from_options(options: dict[str, Any] | Any) -> Retention:
    return Retention(
        passages=int(options.get(OPT_RETENTION_DAYS, DEFAULT_RETENTION_DAYS)),
        clusters=int(options.get(OPT_CLUSTER_RETENTION_DAYS, DEFAULT_CLUSTER_DAYS)),
        photos=int(options.get(OPT_PHOTO_RETENTION_DAYS, DEFAULT_PHOTO_DAYS)),
    )


async def async_run_retention(hub: EstateHub, now: float | None = None) -> dict[str, int]:
    """The nightly sweep: passages, unknown-face clusters (in memory and on disk) and
    expired photos, each by its own retention option."""
    t = now or time.time()
    retention = retention_from_options(hub.entry.options)
    out = {"passages": await hub.async_purge(retention.passages)}
    face = hub.face
    expired = 0
    if face is not None and face.ready:
        # Strangers first seen in two lights whose clusters drifted together become one
        # (their passages relabelled), so the rules count one stranger once.
        await face.async_merge_clusters()
        # In memory first (the recogniser must forget them too), then any row left.
        expired = await face.async_expire_clusters(t, days=retention.clusters)
    cutoff = t - retention.clusters * 86400
    out["clusters"] = expired + await hub.db(hub.store.purge_clusters, cutoff)
    out["photos"] = await hub.db(hub.store.purge_photos, t)
    if out["clusters"] or out["photos"]:
        _LOGGER.info(
            "Retention purge removed %d stranger clusters, %d photos",
            out["clusters"],
            out["photos"],
        )
    return out


# ----------------------------------------------------------------------- photos
async def async_keep_photo(hub: EstateHub, person_id: str, image: bytes) -> str | None:
    """Keep an enrollment photo (sealed) when the estate opted in; else nothing."""
    if not hub.entry.options.get(OPT_KEEP_PHOTOS, False) or hub.privacy is None:
        return None
    days = retention_from_options(hub.entry.options).photos
    photo = await hub.db(partial(hub.privacy.photos.keep, person_id, image, days=days))
    return photo.id


# ------------------------------------------------------------------- key rotation
async def async_rotate_key(hub: EstateHub) -> RotationReport:
    """Re-seal every template, cluster and photo under a fresh key. Pending cluster
    changes are saved first, so nothing sealed under the old key arrives afterwards."""
    privacy = hub.privacy
    if privacy is None:
        raise StoreError("estate not ready", path=str(hub.store.path), error="not ready")
    if hub.face is not None and hub.face.ready:
        await hub.face.async_save_clusters()
    _root, report = await hub.db(
        partial(
            rotate_sealing_key,
            privacy.db_path,
            hub.store,
            privacy.templates,
            privacy.photos,
            now=time.time(),
        )
    )
    _LOGGER.info(
        "Sealing key rotated: %d templates, %d clusters, %d photos re-sealed, %d unreadable",
        report.templates,
        report.clusters,
        report.photos,
        report.unreadable,
    )
    return report


# ------------------------------------------------------------- face-only gates
def gate_methods(data: dict[str, Any] | Any) -> frozenset[str]:
    """The credential kinds a gate accepts (all of them unless configured)."""
    methods = data.get(CONF_METHODS) or GATE_METHODS
    return frozenset(m for m in methods if m in GATE_METHODS)


@callback
def async_check_face_only_gates(hass: HomeAssistant, entry: ConfigEntry[Any]) -> list[str]:
    """Raise a repair issue for each gate whose only way in is a face (residents who do
    not consent, or whose face is not recognised, must still get in); clear the rest.
    Returns the face-only gate ids."""
    prefix = f"{FACE_ONLY_ISSUE}_{entry.entry_id}_"
    face_only: list[str] = []
    for sub in entry.subentries.values():
        if sub.subentry_type != SUBENTRY_GATE:
            continue
        gate_id = sub.data[CONF_GATE_ID]
        issue_id = prefix + gate_id
        if not gate_methods(sub.data) & NON_BIOMETRIC:
            face_only.append(gate_id)
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=FACE_ONLY_ISSUE,
                translation_placeholders={"gate_id": gate_id, "name": sub.title},
            )
    # Gates that were fixed or removed lose their issue.
    registry = ir.async_get(hass)
    for domain, issue_id in list(registry.issues):
        if (
            domain == DOMAIN
            and issue_id.startswith(prefix)
            and issue_id.removeprefix(prefix) not in face_only
        ):
            ir.async_delete_issue(hass, DOMAIN, issue_id)
    return face_only


@callback
def async_clear_face_only_issues(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    prefix = f"{FACE_ONLY_ISSUE}_{entry.entry_id}_"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix):
            ir.async_delete_issue(hass, DOMAIN, issue_id)
