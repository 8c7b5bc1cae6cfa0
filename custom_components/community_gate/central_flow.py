"""The forms for the central store: the estate options' "central store" section and the
command centre's entry. The password is a field of its own that is never filled in
from what is stored: left empty, the stored one is kept."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector

from .central_link import central_config
from .centre import async_test_centre
from .core.central_settings import (
    MAX_REPAIR_MINUTES,
    TLS_MODES,
    CentralSettings,
    DsnError,
    check_estate_code,
    split_password,
)
from .core.replicator import REASONS, CentralError, test_connection
from .schema import vol

SECTION = "central"
# Every error key these forms answer with (a connection test's reason is
# ``central_<CentralError.reason>``; the centre adds schema_missing).
FORM_ERRORS: frozenset[str] = frozenset(
    {
        *(f"central_{reason}" for reason in REASONS),
        "central_schema_missing",
        "central_ca_file",
        "central_estate_code",
        "central_repair_minutes",
        "invalid_choice",
    }
)
_PASSWORD = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD, autocomplete="off")
)
_TLS = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=list(TLS_MODES), mode=selector.SelectSelectorMode.DROPDOWN, translation_key="tls"
    )
)


def _link_fields(current: CentralSettings) -> dict[Any, Any]:
    """DSN (shown back without its password), password (never shown), TLS, CA file."""
    return {
        vol.Optional("dsn", description={"suggested_value": current.dsn}): selector.TextSelector(),
        vol.Optional("password"): _PASSWORD,
        vol.Required("tls", default=current.tls): _TLS,
        vol.Optional(
            "ca_file", description={"suggested_value": current.ca_file}
        ): selector.TextSelector(),
    }


def central_section(current: CentralSettings) -> section:
    fields: dict[Any, Any] = {
        vol.Required("enabled", default=current.enabled): selector.BooleanSelector()
    }
    fields.update(_link_fields(current))
    fields[vol.Optional("estate_code", description={"suggested_value": current.estate_code})] = (
        selector.TextSelector()
    )
    fields[vol.Required("share_names", default=current.share_names)] = selector.BooleanSelector()
    fields[vol.Optional("card_secret")] = _PASSWORD
    fields[vol.Required("repair_minutes", default=current.repair_minutes)] = (
        selector.NumberSelector(
            selector.NumberSelectorConfig(
                min=1,
                max=MAX_REPAIR_MINUTES,
                step=1,
                mode=selector.NumberSelectorMode.BOX,
                unit_of_measurement="min",
            )
        )
    )
    return section(vol.Schema(fields), {"collapsed": not current.enabled})


def reauth_schema() -> vol.Schema:
    """The new password only: everything else about the link stays as it is."""
    return vol.Schema({vol.Required("password"): _PASSWORD})


def centre_schema(current: CentralSettings, purges: bool = False) -> vol.Schema:
    fields = _link_fields(current)
    fields[vol.Required("purge", default=purges)] = selector.BooleanSelector()
    return vol.Schema(fields)


async def _parse_link(
    hass: HomeAssistant, raw: dict[str, Any], current: CentralSettings
) -> tuple[dict[str, Any], str | None]:
    """DSN, password, TLS and CA file from a form; the error key if one is wrong."""
    try:
        dsn, embedded = split_password(str(raw.get("dsn") or ""))
    except DsnError:
        return {}, "central_invalid_dsn"
    typed = str(raw.get("password") or "")
    # A password typed or pasted in the DSN wins; else the stored one, for the same DSN.
    password = typed or embedded or (current.password if dsn == current.dsn else "")
    tls = raw.get("tls", current.tls)
    if tls not in TLS_MODES:
        return {}, "invalid_choice"
    ca_file = str(raw.get("ca_file") or "").strip()
    if ca_file and not await hass.async_add_executor_job(Path(ca_file).is_file):
        return {}, "central_ca_file"
    return {"dsn": dsn, "password": password, "tls": tls, "ca_file": ca_file}, None


async def async_check_central(
    hass: HomeAssistant,
    raw: dict[str, Any] | None,
    current: CentralSettings,
    hub_id: str | None = None,
) -> tuple[CentralSettings, str | None]:
    """The options' central section, checked; a changed link is tested for real (the
    error key then names ``CentralError.reason``; with ``hub_id``, an estate code
    another hub owns at the centre is refused)."""
    if raw is None:
        return current, None  # section not sent: keep what is stored
    if not raw.get("enabled"):
        return current.disabled(), None
    link, error = await _parse_link(hass, raw, current)
    if error:
        return current, error
    try:
        code = check_estate_code(raw.get("estate_code") or "")
    except ValueError:
        return current, "central_estate_code"
    minutes = raw.get("repair_minutes", current.repair_minutes)
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        return current, "central_repair_minutes"
    if not 1 <= minutes <= MAX_REPAIR_MINUTES:
        return current, "central_repair_minutes"
    settings = CentralSettings(
        enabled=True,
        estate_code=code,
        share_names=bool(raw.get("share_names", False)),
        repair_minutes=int(minutes),
        # Like the password: never shown back, kept when left empty.
        card_secret=str(raw.get("card_secret") or "") or current.card_secret,
        **link,
    )
    if current.enabled and settings.same_link(current):
        return settings, None
    error = await _estate_link_error(settings, hub_id)
    return (current, error) if error else (settings, None)


async def _estate_link_error(settings: CentralSettings, hub_id: str | None) -> str | None:
    """An estate's link tested by connecting (``hub_id`` checks the estate code's
    owner): the form's error key, or None. Never the password."""
    try:
        await test_connection(central_config(settings), hub_id)
    except CentralError as err:
        return f"central_{err.reason}"
    except ValueError:
        return "central_invalid_dsn"
    return None


async def async_check_centre(
    hass: HomeAssistant, raw: dict[str, Any], current: CentralSettings
) -> tuple[CentralSettings, str | None]:
    """The centre entry's link, tested by reading what staff will read."""
    link, error = await _parse_link(hass, raw, current)
    if error:
        return current, error
    settings = CentralSettings(enabled=True, **link)
    reason = await async_test_centre(hass, settings)
    return settings, f"central_{reason}" if reason else None


async def async_check_password(
    hass: HomeAssistant,
    current: CentralSettings,
    password: str,
    *,
    centre: bool,
    hub_id: str | None = None,
) -> tuple[CentralSettings, str | None]:
    """The stored link with a new password, tested as its form tests it (the centre by
    reading what staff read; an estate by connecting, with ``hub_id`` checking the
    estate code's owner). The error key names the reason; never the password."""
    settings = replace(current, password=password)
    if centre:
        reason = await async_test_centre(hass, settings)
        return settings, f"central_{reason}" if reason else None
    return settings, await _estate_link_error(settings, hub_id)
