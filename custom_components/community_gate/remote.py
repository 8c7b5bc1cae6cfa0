"""Who may open a gate from afar, and the audit row every remote opening leaves.

Administrators may open any gate and switch emergency open-all and lockdown; a gate's
subentry may also name Home Assistant users (``openers``) who may open that one gate,
except during a lockdown: then only administrators open remotely (an opener is a
Home Assistant account, not a staff member the estate knows by role). Automations and
scripts (a context without a user) act with the system's authority, as the admin-only
actions do. The Open button, the emergency switch and the actions all decide here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, Unauthorized, UnknownUser

from .exceptions import AdminRequired
from .privacy import async_audit

if TYPE_CHECKING:
    from .hub import EstateHub


async def async_caller(hass: HomeAssistant, context: Context | None) -> User | None:
    """The HA user behind ``context``; None for automations and scripts."""
    user_id = context.user_id if context is not None else None
    if not user_id:
        return None
    user = await hass.auth.async_get_user(user_id)
    if user is None:
        raise UnknownUser(context=context)
    return user


async def async_check_admin(hass: HomeAssistant, context: Context | None, action: str) -> None:
    """Raise ``AdminRequired`` (an ``Unauthorized`` naming ``action``) unless an
    administrator (or the system) asks."""
    user = await async_caller(hass, context)
    if user is not None and not user.is_admin:
        raise AdminRequired(context, action)


async def async_check_open(
    hass: HomeAssistant,
    openers: frozenset[str],
    context: Context | None,
    *,
    lockdown: bool = False,
) -> None:
    """Raise ``Unauthorized`` unless the caller may open a gate with ``openers``; during
    a ``lockdown`` the openers may not."""
    user = await async_caller(hass, context)
    if user is not None and not user.is_admin and (lockdown or user.id not in openers):
        raise Unauthorized(context=context)


def outcome_of(err: HomeAssistantError) -> str:
    """An error as the audit log's outcome: its code."""
    if isinstance(err, Unauthorized):
        return "unauthorized"
    return err.translation_key or type(err).__name__


@asynccontextmanager
async def audited(
    hub: EstateHub, context: Context | None, action: str, subject: str | None
) -> AsyncIterator[None]:
    """One audit row for the block: who, what, on what, and how it ended (a refusal
    included). The row is written whatever happens; the block's error is re-raised."""
    outcome = "error"  # anything not caught below
    try:
        yield
        outcome = "ok"
    except HomeAssistantError as err:
        outcome = outcome_of(err)
        raise
    finally:
        await async_audit(hub, context.user_id if context else None, action, subject, outcome)
