"""Privacy in Home Assistant: the audit trail of admin actions, the nightly retention
sweep, sealing-key rotation, kept photos and the "face must not be the only way in"
repair. The rules themselves are in ``core/privacy.py`` and ``core/keys.py``.

Other modules record an admin action with ``async_audit`` (services do it for every
registered admin service automatically; see ``services.async_setup_services``).
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import (
    CONF_GATE_ID,
    DOMAIN,
    SUBENTRY_GATE,
)
from .core.privacy import (
    PhotoVault,
    audit_entry,
)
from .core.templates import TemplateVault
from .gates import NON_BIOMETRIC, gate_methods

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .face import EnrollResult
    from .hub import EstateHub

_LOGGER = logging.getLogger(__name__)

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


LOOK_ALIKE_ACTION = "confirm_different_person"


async def audit_look_alike(
    hub: EstateHub, user_id: str | None, person_id: str, result: EnrollResult
) -> None:
    """Staff said a face near another person's is someone else's (a sibling): that
    judgement is audited beside the enrollment, naming both ids."""
    if result.look_alike is not None and result.template_id:
        await async_audit(hub, user_id, LOOK_ALIKE_ACTION, f"{person_id}|{result.look_alike}")


# ------------------------------------------------------------- face-only gates
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
