"""Config flow: the estate entry, one subentry per gate, and the options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector
from homeassistant.util import slugify

from .central_flow import (
    async_check_central,
    async_check_centre,
    async_check_password,
    central_section,
    centre_schema,
    reauth_schema,
)
from .central_link import async_reconcile_outbox
from .const import (
    ACTUATOR_DOMAINS,
    CONF_ACTUATOR,
    CONF_BUILDING,
    CONF_CAMERA,
    CONF_DB_PATH,
    CONF_DIRECTION,
    CONF_DOOR,
    CONF_ENTRY_KIND,
    CONF_ESTATE_NAME,
    CONF_FACE_MODE,
    CONF_GATE_ID,
    CONF_GATE_KIND,
    CONF_METHODS,
    CONF_MQTT_DEVICE,
    CONF_OPENERS,
    CONF_PAD_LEVEL,
    CONF_PRESENCE,
    CONF_PULSE_SECONDS,
    CONF_STREAM_URL,
    DEFAULT_DB_FILE,
    DEFAULT_PULSE_SECONDS,
    DOMAIN,
    ENTRY_KIND_CENTRE,
    ENTRY_KIND_ESTATE,
    OPT_CAPTURE_INTERVAL,
    OPT_CENTRAL,
    OPT_CLUSTER_RETENTION_DAYS,
    OPT_EPISODE_WINDOW,
    OPT_FACE_DEBOUNCE,
    OPT_FACE_ENGINE,
    OPT_FACE_STRICTNESS,
    OPT_KEEP_PHOTOS,
    OPT_KEEP_STRANGER_SNAPSHOTS,
    OPT_MIN_PIN_LENGTH,
    OPT_PHOTO_RETENTION_DAYS,
    OPT_RETENTION_DAYS,
    OPT_RULES,
    OPT_STRANGER_SNAPSHOT_DAYS,
    SUBENTRY_GATE,
)
from .core.central_settings import CentralSettings, dsn_summary
from .core.contract import ContractError, check_device_id
from .core.credentials import PIN_MAX_DIGITS, PIN_MIN_DIGITS
from .core.engines import ENGINES, STRICTNESS
from .core.episodes import MAX_WINDOW_S as MAX_EPISODE_WINDOW_S
from .core.errors import (
    EstateClosedError,
    InvalidIdError,
    InvalidRuleParameterError,
    InvalidValueError,
    StoreError,
)
from .core.ids import check_id
from .core.model import Direction, FaceMode, GateKind, PadLevel
from .core.options import DEFAULTS
from .core.outbox import hub_instance_id
from .core.rules import PARAM_SPECS, RuleParams
from .core.store import Store
from .core.stream import check_stream_url
from .entry_kind import estate_slug, is_centre, topic_holder
from .gates import GATE_METHODS
from .schema import vol

if TYPE_CHECKING:
    # The typed entry (runtime data: the estate's hub) without importing the runtime.
    from .runtime import CommunityGateConfigEntry

MAX_RETENTION_DAYS = 3650
MAX_SNAPSHOT_DAYS = 30


def _resolve(hass: HomeAssistant, raw: str) -> Path:
    path = Path(raw).expanduser()
    return path if path.is_absolute() else Path(hass.config.path(str(path)))


def _probe(path: Path) -> None:
    """Open (creating and migrating) and close: proves the file is usable."""
    Store.open(path).close()


async def _validate_db(hass: HomeAssistant, raw: str) -> tuple[Path | None, str | None]:
    raw = raw.strip()
    if not raw:
        return None, "db_path_empty"
    path = _resolve(hass, raw)
    try:
        await hass.async_add_executor_job(_probe, path)
    except StoreError as err:
        return path, err.code
    except OSError:
        return path, "database_unavailable"
    return path, None


def _estate_schema(name: str, db_path: str) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_ESTATE_NAME, default=name): selector.TextSelector(),
            vol.Required(CONF_DB_PATH, default=db_path): selector.TextSelector(),
        }
    )


def _topic_taken(hass: HomeAssistant, name: str, exclude: str | None = None) -> bool:
    """Whether another estate's name gives the same MQTT topic segment (``<estate>``):
    two estates on one broker must not share a topic tree."""
    entries = hass.config_entries.async_entries(DOMAIN, include_ignore=False)
    return topic_holder(entries, estate_slug(name), exclude=exclude) is not None


class CommunityGateConfigFlow(ConfigFlow, domain=DOMAIN):
    """The estate: a name and the SQLite file that holds it."""

    VERSION = 1
    # 1.2: the face engine is an option and the threshold follows from it (the entry
    # migration in __init__.py keeps an older estate on the engine it enrolled with).
    MINOR_VERSION = 2

    def _finisher(self, entry: ConfigEntry) -> Callable[..., ConfigFlowResult]:
        """How a reconfigure or reauth flow saves a change. Loaded, the entry's update
        listener reloads it (a flow that reloads an entry with a listener is refused
        from HA 2026.12); not loaded (set-up refused), nothing listens yet and the flow
        reloads it itself."""
        if entry.update_listeners:
            return self.async_update_and_abort
        return self.async_update_reload_and_abort

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """An estate (a hub at a gate) or the command centre (reads every estate)."""
        return self.async_show_menu(
            step_id="user", menu_options=[ENTRY_KIND_ESTATE, ENTRY_KIND_CENTRE]
        )

    async def async_step_centre(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The command centre: a read-only DSN of the central store, tested."""
        errors: dict[str, str] = {}
        current = CentralSettings()
        if user_input is not None:
            settings, error = await async_check_centre(self.hass, user_input, current)
            if error:
                errors["base"] = error
            else:
                where = dsn_summary(settings.dsn)
                await self.async_set_unique_id(f"centre:{where['host']}/{where['database']}")
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title="Command centre",
                    data={
                        CONF_ENTRY_KIND: ENTRY_KIND_CENTRE,
                        **_centre_data(settings),
                        "purge": bool(user_input.get("purge", False)),
                    },
                )
            current = CentralSettings.from_mapping(user_input)
        return self.async_show_form(
            step_id="centre",
            data_schema=centre_schema(current, bool((user_input or {}).get("purge", False))),
            errors=errors,
        )

    async def async_step_estate(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None and _topic_taken(
            self.hass, user_input[CONF_ESTATE_NAME].strip() or "Estate"
        ):
            # Refused before the database file is created.
            errors[CONF_ESTATE_NAME] = "estate_topic_taken"
        elif user_input is not None:
            path, error = await _validate_db(self.hass, user_input[CONF_DB_PATH])
            if error:
                errors[CONF_DB_PATH] = error
            else:
                assert path is not None
                await self.async_set_unique_id(str(path))
                self._abort_if_unique_id_configured()
                name = user_input[CONF_ESTATE_NAME].strip() or "Estate"
                return self.async_create_entry(
                    title=name,
                    data={CONF_ESTATE_NAME: name, CONF_DB_PATH: user_input[CONF_DB_PATH].strip()},
                    # The engine is written down, so a later default never swaps it
                    # under enrolled faces.
                    options={
                        OPT_RETENTION_DAYS: DEFAULTS.retention_days,
                        OPT_FACE_ENGINE: DEFAULTS.face_engine,
                    },
                )
        defaults = user_input or {}
        return self.async_show_form(
            step_id="estate",
            data_schema=_estate_schema(
                defaults.get(CONF_ESTATE_NAME, "Estate"),
                defaults.get(CONF_DB_PATH, DEFAULT_DB_FILE),
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        if is_centre(entry):
            return await self.async_step_reconfigure_centre(user_input)
        errors: dict[str, str] = {}
        if user_input is not None and _topic_taken(
            self.hass, user_input[CONF_ESTATE_NAME].strip() or entry.title, entry.entry_id
        ):
            errors[CONF_ESTATE_NAME] = "estate_topic_taken"
        elif user_input is not None:
            path, error = await _validate_db(self.hass, user_input[CONF_DB_PATH])
            if error:
                errors[CONF_DB_PATH] = error
            else:
                assert path is not None
                # Moving to another file is allowed (the unique id follows the file);
                # moving onto a file another estate uses is not.
                unique_id = str(path)
                if unique_id != entry.unique_id and any(
                    other.unique_id == unique_id
                    for other in self._async_current_entries(include_ignore=False)
                ):
                    return self.async_abort(reason="database_in_use")
                name = user_input[CONF_ESTATE_NAME].strip() or entry.title
                finish = self._finisher(entry)
                return finish(
                    entry,
                    unique_id=unique_id,
                    title=name,
                    data_updates={
                        CONF_ESTATE_NAME: name,
                        CONF_DB_PATH: user_input[CONF_DB_PATH].strip(),
                    },
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_estate_schema(
                entry.data.get(CONF_ESTATE_NAME, entry.title),
                entry.data.get(CONF_DB_PATH, DEFAULT_DB_FILE),
            ),
            errors=errors,
        )

    async def async_step_reconfigure_centre(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Another DSN or password for the centre (a rotated read-only password)."""
        entry = self._get_reconfigure_entry()
        current = CentralSettings.from_mapping(entry.data)
        errors: dict[str, str] = {}
        if user_input is not None:
            settings, error = await async_check_centre(self.hass, user_input, current)
            if error:
                errors["base"] = error
            else:
                finish = self._finisher(entry)
                return finish(
                    entry,
                    data_updates={
                        **_centre_data(settings),
                        "purge": bool(user_input.get("purge", False)),
                    },
                )
        return self.async_show_form(
            step_id="reconfigure_centre",
            data_schema=centre_schema(current, bool(entry.data.get("purge", False))),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The central store refused the stored password (an estate's replicator, or the
        command centre's set-up or poll): ask for the new one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The new password only, tested against the stored link before it is kept
        where the password lives: the centre's entry data, an estate's central option."""
        entry = self._get_reauth_entry()
        centre = is_centre(entry)
        current = CentralSettings.from_mapping(
            entry.data if centre else entry.options.get(OPT_CENTRAL)
        )
        errors: dict[str, str] = {}
        if user_input is not None:
            settings, error = await async_check_password(
                self.hass,
                current,
                str(user_input.get("password") or ""),
                centre=centre,
                hub_id=None if centre else await async_hub_id(entry),
            )
            if error:
                errors["base"] = error
            else:
                finish = self._finisher(entry)
                if centre:
                    return finish(entry, data_updates={"password": settings.password})
                return finish(entry, options={**entry.options, OPT_CENTRAL: settings.as_dict()})
        # Where, never with what: host and database only (the title is added by HA).
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=reauth_schema(),
            errors=errors,
            description_placeholders=dsn_summary(current.dsn),
        )

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: CommunityGateConfigEntry) -> OptionsFlow:
        return CommunityGateOptionsFlow()

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry[Any]) -> bool:
        # The centre has no estate settings: its link is changed by reconfiguring it.
        return not is_centre(config_entry)

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: CommunityGateConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        if is_centre(config_entry):
            return {}
        return {SUBENTRY_GATE: GateSubentryFlow}


def _centre_data(settings: CentralSettings) -> dict[str, Any]:
    """What the centre entry keeps: its link (estate code and sharing are the estates')."""
    return {
        k: v for k, v in settings.as_dict().items() if k in ("dsn", "password", "tls", "ca_file")
    }


@dataclass(frozen=True, slots=True)
class _Number:
    """One numeric estate option: its range, step, unit and default."""

    default: float
    low: float
    high: float
    step: float
    unit: str
    integer: bool = False
    error: str = ""


def _days(default: int) -> _Number:
    return _Number(default, 1, MAX_RETENTION_DAYS, 1, "d", True, "retention_out_of_range")


# Each kind of record has its own retention in whole days (see docs/privacy.md); the
# face settings are tuned per estate (a brighter gate camera allows a stricter
# threshold; a busy gate a shorter interval).
NUMBER_OPTIONS: dict[str, _Number] = {
    OPT_RETENTION_DAYS: _days(DEFAULTS.retention_days),
    OPT_CLUSTER_RETENTION_DAYS: _days(DEFAULTS.cluster_retention_days),
    OPT_PHOTO_RETENTION_DAYS: _days(DEFAULTS.photo_retention_days),
    # A stranger never consented: their snapshot is kept a month at most.
    OPT_STRANGER_SNAPSHOT_DAYS: _Number(
        DEFAULTS.stranger_snapshot_days, 1, MAX_SNAPSHOT_DAYS, 1, "d", integer=True
    ),
    OPT_CAPTURE_INTERVAL: _Number(DEFAULTS.capture_interval, 0.1, 10, 0.1, "s"),
    OPT_FACE_DEBOUNCE: _Number(DEFAULTS.face_debounce, 1, 300, 1, "s"),
    OPT_MIN_PIN_LENGTH: _Number(
        DEFAULTS.min_pin_length, PIN_MIN_DIGITS, PIN_MAX_DIGITS, 1, "", integer=True
    ),
    # 0 = off; at most the rules' sighting gap (core/episodes.py MAX_WINDOW_S).
    OPT_EPISODE_WINDOW: _Number(DEFAULTS.episode_window, 0, MAX_EPISODE_WINDOW_S, 1, "s"),
}


def _check_numbers(
    user_input: dict[str, Any], options: dict[str, _Number]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Range-check the numeric options; the error key is ``<option>_out_of_range``."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, spec in options.items():
        value = user_input.get(key, spec.default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not spec.low <= value <= spec.high
        ):
            errors[key] = spec.error or f"{key}_out_of_range"
        else:
            clean[key] = int(value) if spec.integer else float(value)
    return clean, errors


def _number_selector(spec: _Number) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(
        min=spec.low, max=spec.high, step=spec.step, mode=selector.NumberSelectorMode.BOX
    )
    if spec.unit:
        config["unit_of_measurement"] = spec.unit
    return selector.NumberSelector(config)


# Face engine and strictness: fixed lists, shown with translated labels.
_CHOICES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (OPT_FACE_ENGINE, ENGINES, DEFAULTS.face_engine),
    (OPT_FACE_STRICTNESS, tuple(STRICTNESS), DEFAULTS.face_strictness),
)


def _select(key: str, choices: tuple[str, ...]) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=list(choices),
            mode=selector.SelectSelectorMode.DROPDOWN,
            translation_key=key,
        )
    )


class CommunityGateOptionsFlow(OptionsFlow):
    """Estate-wide settings: retention and face recognition; later capabilities add theirs."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        stored_central = CentralSettings.from_mapping(self.config_entry.options.get(OPT_CENTRAL))
        if user_input is not None:
            clean, errors = _check_numbers(user_input, NUMBER_OPTIONS)
            clean[OPT_KEEP_PHOTOS] = bool(user_input.get(OPT_KEEP_PHOTOS, False))
            clean[OPT_KEEP_STRANGER_SNAPSHOTS] = bool(
                user_input.get(OPT_KEEP_STRANGER_SNAPSHOTS, False)
            )
            for key, choices, default in _CHOICES:
                value = user_input.get(key, default)
                if value in choices:
                    clean[key] = value
                else:
                    errors[key] = "invalid_choice"
            rules, bad = _check_rules(user_input.get(OPT_RULES))
            if bad is not None:
                errors[OPT_RULES] = "invalid_rule_parameter"
                placeholders = bad.placeholders
            central: CentralSettings | None = None
            if not errors:
                central, error = await async_check_central(
                    self.hass,
                    user_input.get(OPT_CENTRAL),
                    stored_central,
                    await self._async_hub_id(),
                )
                if error:
                    errors["base"] = error
            if not errors:
                new = dict(self.config_entry.options) | clean
                if rules is not None:
                    new[OPT_RULES] = rules
                if central is not None and central != stored_central:
                    new[OPT_CENTRAL] = central.as_dict()
                    await self._async_switch_outbox(central)
                return self.async_create_entry(data=new)
        current = dict(self.config_entry.options) | (user_input or {})
        fields: dict[Any, Any] = {
            vol.Required(key, default=current.get(key, spec.default)): _number_selector(spec)
            for key, spec in NUMBER_OPTIONS.items()
        }
        for key, choices, default in _CHOICES:
            fields[vol.Required(key, default=current.get(key, default))] = _select(key, choices)
        fields[
            vol.Required(
                OPT_KEEP_PHOTOS, default=current.get(OPT_KEEP_PHOTOS, DEFAULTS.keep_photos)
            )
        ] = selector.BooleanSelector()
        fields[
            vol.Required(
                OPT_KEEP_STRANGER_SNAPSHOTS,
                default=current.get(OPT_KEEP_STRANGER_SNAPSHOTS, DEFAULTS.keep_stranger_snapshots),
            )
        ] = selector.BooleanSelector()
        fields[vol.Optional(OPT_RULES)] = section(
            _rules_schema(self.config_entry.options.get(OPT_RULES, {})), {"collapsed": True}
        )
        fields[vol.Optional(OPT_CENTRAL)] = central_section(stored_central)
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders=placeholders or None,
        )

    async def _async_hub_id(self) -> str | None:
        return await async_hub_id(self.config_entry)

    async def _async_switch_outbox(self, central: CentralSettings) -> None:
        """Turned on, the estate starts queueing for the centre now (on the store
        thread); turned off, it stops. Not loaded, set-up does the same."""
        entry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return
        with suppress(EstateClosedError):
            await async_reconcile_outbox(entry.runtime_data.hub, central)


async def async_hub_id(entry: ConfigEntry[Any]) -> str | None:
    """This hub's id at the centre (a changed link is tested against the estate code's
    owner there); None while the estate is not loaded."""
    if entry.state is not ConfigEntryState.LOADED:
        return None
    hub = entry.runtime_data.hub
    with suppress(EstateClosedError):
        found: str = await hub.db(hub_instance_id, hub.store)
        return found
    return None


def _rules_schema(current: dict[str, Any]) -> vol.Schema:
    """One number box per rule parameter. No bounds on the selector: the step checks
    them and answers with a message that names the allowed range."""
    return vol.Schema(
        {
            vol.Required(name, default=current.get(name, spec.default)): selector.NumberSelector(
                selector.NumberSelectorConfig(mode=selector.NumberSelectorMode.BOX, step="any")
            )
            for name, spec in PARAM_SPECS.items()
        }
    )


def _check_rules(
    raw: dict[str, Any] | None,
) -> tuple[dict[str, float | int] | None, InvalidRuleParameterError | None]:
    if raw is None:
        return None, None  # section not sent: keep what is stored
    try:
        return RuleParams.from_mapping(raw).as_dict(), None
    except InvalidRuleParameterError as err:
        return None, err


async def _users(hass: HomeAssistant) -> dict[str, str]:
    """The people who can log in to Home Assistant: id -> name, for the openers list."""
    users = await hass.auth.async_get_users()
    return {u.id: u.name or u.id for u in users if u.is_active and not u.system_generated}


def _choice(key: str, values: type[StrEnum], default: str) -> dict[Any, Any]:
    """A required drop-down of an enum's values, labelled by the translation key."""
    return {
        vol.Required(key, default=str(default)): selector.SelectSelector(
            selector.SelectSelectorConfig(options=[v.value for v in values], translation_key=key)
        )
    }


def _gate_schema(
    defaults: dict[str, Any], *, with_id: bool, users: dict[str, str] | None = None
) -> vol.Schema:
    users = users or {}

    def opt(key: str) -> dict[str, Any]:
        value = defaults.get(key)
        return {"suggested_value": value} if value else {}

    fields: dict[Any, Any] = {
        vol.Required("name", default=defaults.get("name", "")): selector.TextSelector(),
    }
    if with_id:
        fields[vol.Optional(CONF_GATE_ID, description=opt(CONF_GATE_ID))] = selector.TextSelector()
    fields.update(
        {
            **_choice(CONF_GATE_KIND, GateKind, defaults.get(CONF_GATE_KIND, GateKind.ESTATE_GATE)),
            **_choice(CONF_DIRECTION, Direction, defaults.get(CONF_DIRECTION, Direction.BOTH)),
            # Optional when the gate has an MQTT controller whose relay opens it.
            vol.Optional(CONF_ACTUATOR, description=opt(CONF_ACTUATOR)): selector.EntitySelector(
                selector.EntitySelectorConfig(domain=list(ACTUATOR_DOMAINS))
            ),
            vol.Required(
                CONF_PULSE_SECONDS,
                default=defaults.get(CONF_PULSE_SECONDS, DEFAULT_PULSE_SECONDS),
            ): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=1,
                    max=60,
                    step=1,
                    mode=selector.NumberSelectorMode.BOX,
                    unit_of_measurement="s",
                )
            ),
            vol.Optional(CONF_CAMERA, description=opt(CONF_CAMERA)): selector.EntitySelector(
                selector.EntitySelectorConfig(domain="camera")
            ),
            vol.Optional(CONF_STREAM_URL, description=opt(CONF_STREAM_URL)): selector.TextSelector(
                selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
            ),
            vol.Optional(CONF_PRESENCE, description=opt(CONF_PRESENCE)): selector.EntitySelector(
                selector.EntitySelectorConfig(domain="binary_sensor")
            ),
            vol.Optional(CONF_BUILDING, description=opt(CONF_BUILDING)): selector.TextSelector(),
            vol.Required(
                CONF_METHODS, default=list(defaults.get(CONF_METHODS) or GATE_METHODS)
            ): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=list(GATE_METHODS), multiple=True, translation_key=CONF_METHODS
                )
            ),
            **_choice(CONF_PAD_LEVEL, PadLevel, defaults.get(CONF_PAD_LEVEL, PadLevel.STREAM)),
            **_choice(CONF_FACE_MODE, FaceMode, defaults.get(CONF_FACE_MODE, FaceMode.FACE_ALONE)),
            vol.Optional(
                CONF_MQTT_DEVICE, description=opt(CONF_MQTT_DEVICE)
            ): selector.TextSelector(),
            vol.Optional(CONF_DOOR, description=opt(CONF_DOOR)): selector.EntitySelector(
                selector.EntitySelectorConfig(domain="binary_sensor")
            ),
            # Who may open this gate remotely besides admins. A user removed from HA
            # since drops out here (the selector accepts only listed users).
            vol.Optional(
                CONF_OPENERS,
                default=[u for u in defaults.get(CONF_OPENERS) or () if u in users],
            ): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=[
                        selector.SelectOptionDict(value=uid, label=name)
                        for uid, name in sorted(users.items(), key=lambda u: u[1].lower())
                    ],
                    multiple=True,
                    mode=selector.SelectSelectorMode.DROPDOWN,
                )
            ),
        }
    )
    return vol.Schema(fields)


def _clean_gate_input(user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    data = dict(user_input)
    data["name"] = str(data.get("name", "")).strip()
    if not data["name"]:
        errors["name"] = "name_empty"
    actuator = str(data.get(CONF_ACTUATOR) or "")
    device = str(data.get(CONF_MQTT_DEVICE) or "").strip()
    if device:
        try:
            data[CONF_MQTT_DEVICE] = check_device_id(device)
        except ContractError:
            errors[CONF_MQTT_DEVICE] = "mqtt_device_invalid"
    else:
        data.pop(CONF_MQTT_DEVICE, None)
    if not actuator and device:
        data.pop(CONF_ACTUATOR, None)  # the MQTT controller's relay opens the gate
    elif not actuator:
        errors[CONF_ACTUATOR] = "actuator_required"
    elif actuator.partition(".")[0] not in ACTUATOR_DOMAINS:
        errors[CONF_ACTUATOR] = "actuator_domain"
    pulse = data.get(CONF_PULSE_SECONDS, DEFAULT_PULSE_SECONDS)
    if not isinstance(pulse, int | float) or not 1 <= pulse <= 60:
        errors[CONF_PULSE_SECONDS] = "pulse_out_of_range"
    else:
        data[CONF_PULSE_SECONDS] = int(pulse)
    kind = data.get(CONF_GATE_KIND)
    building = str(data.get(CONF_BUILDING) or "").strip()
    data[CONF_BUILDING] = building
    if kind == GateKind.BUILDING_DOOR.value and not building:
        errors[CONF_BUILDING] = "building_required"
    if data.get(CONF_STREAM_URL):
        try:
            data[CONF_STREAM_URL] = check_stream_url(data[CONF_STREAM_URL])
        except InvalidValueError:
            errors[CONF_STREAM_URL] = "stream_url_invalid"
    for key in (CONF_CAMERA, CONF_PRESENCE, CONF_STREAM_URL, CONF_DOOR):
        if not data.get(key):
            data.pop(key, None)
    methods = data.get(CONF_METHODS, list(GATE_METHODS))
    if not isinstance(methods, list) or not methods or not set(methods) <= set(GATE_METHODS):
        errors[CONF_METHODS] = "methods_required"
    else:
        # A face-only gate is allowed but raises a repair issue (see privacy.py).
        data[CONF_METHODS] = [m for m in GATE_METHODS if m in methods]
    if data.get(CONF_PAD_LEVEL, PadLevel.STREAM) not in set(PadLevel):
        errors[CONF_PAD_LEVEL] = "pad_level_invalid"
    if data.get(CONF_FACE_MODE, FaceMode.FACE_ALONE) not in set(FaceMode):
        errors[CONF_FACE_MODE] = "face_mode_invalid"
    elif data.get(CONF_FACE_MODE) == FaceMode.CARD_AND_FACE and not (
        "face" in data.get(CONF_METHODS, ()) and len(data.get(CONF_METHODS, ())) > 1
    ):
        # Card + face needs the face and at least one other way the gate takes.
        errors[CONF_FACE_MODE] = "face_mode_needs_methods"
    openers = data.get(CONF_OPENERS) or []
    if not isinstance(openers, list) or not all(isinstance(u, str) for u in openers):
        errors[CONF_OPENERS] = "openers_invalid"
    else:
        data[CONF_OPENERS] = list(dict.fromkeys(openers))
    return data, errors


class GateSubentryFlow(ConfigSubentryFlow):
    """A gate or door: its reader identity, its actuator and optional sensors."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = _clean_gate_input(user_input)
            gate_id = str(data.get(CONF_GATE_ID) or "").strip()
            if not gate_id:
                gate_id = slugify(data["name"])
                # slugify() answers "unknown" for a name with nothing to keep ("!!!").
                if gate_id == "unknown" and "unknown" not in data["name"].lower():
                    gate_id = ""
            try:
                check_id(gate_id, "gate_id")
            except InvalidIdError:
                errors[CONF_GATE_ID] = "gate_id_invalid"
            entry = self._get_entry()
            if any(s.unique_id == gate_id for s in entry.subentries.values()):
                errors[CONF_GATE_ID] = "gate_id_taken"
            if not errors:
                data[CONF_GATE_ID] = gate_id
                return self.async_create_entry(title=data["name"], data=data, unique_id=gate_id)
        return self.async_show_form(
            step_id="user",
            data_schema=_gate_schema(user_input or {}, with_id=True, users=await _users(self.hass)),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = _clean_gate_input(user_input)
            if not errors:
                # The gate id is the key of its history: it never changes.
                data[CONF_GATE_ID] = subentry.data[CONF_GATE_ID]
                return self.async_update_and_abort(
                    self._get_entry(), subentry, title=data["name"], data=data
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_gate_schema(
                user_input or dict(subentry.data), with_id=False, users=await _users(self.hass)
            ),
            errors=errors,
            description_placeholders={"gate_id": subentry.data[CONF_GATE_ID]},
        )
