"""community_gate: the access-control back office of a residential estate."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import logging
from pathlib import Path

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.typing import ConfigType

from .alerts import AlertService
from .capture import CaptureLoop
from .const import (
    CONF_DB_PATH,
    DEFAULT_DB_FILE,
    DEFAULT_RETENTION_DAYS,
    DOMAIN,
    OPT_RETENTION_DAYS,
    OPT_RULES,
)
from .core.access import AccessControl
from .core.crypto import Hasher, KeyFileError, load_or_create_key
from .core.errors import StoreCorruptError, StoreError, StoreTooNewError
from .core.rules import RuleParams
from .core.store import Store
from .core.templates import TemplateVault, template_sealer
from .entity import estate_device
from .face import FaceService
from .http import async_register_views
from .hub import EstateHub
from .services import async_setup_services

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

type CommunityGateConfigEntry = ConfigEntry[EstateHub]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Services are registered once per HA start, not per entry."""
    async_setup_services(hass)
    async_register_views(hass)
    return True


def resolve_db_path(hass: HomeAssistant, raw: str | None) -> Path:
    path = Path(raw or DEFAULT_DB_FILE).expanduser()
    return path if path.is_absolute() else Path(hass.config.path(str(path)))


def _open(db_path: Path) -> tuple[Store, AccessControl, bytes]:
    # The database first: a path that cannot hold it must be reported as such, not as
    # a key problem, and no key may be created beside a file that is not ours.
    store = Store.open(db_path)
    try:
        key_path = db_path.with_name(db_path.name + ".key")
        if not key_path.exists() and (
            store.count_credentials(live_only=False) or store.count_face_templates()
        ):
            # A fresh key would silently turn every stored card, ID and PIN into
            # "unknown": the original key must be restored instead.
            raise KeyFileError(f"key file {key_path.name} is missing")
        key = load_or_create_key(key_path)
    except BaseException:
        store.close()
        raise
    return store, AccessControl(store, Hasher(key)), key


async def async_setup_entry(hass: HomeAssistant, entry: CommunityGateConfigEntry) -> bool:
    db_path = resolve_db_path(hass, entry.data.get(CONF_DB_PATH))
    issue_id = f"database_{entry.entry_id}"
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{DOMAIN}_db")
    try:
        store, access, key = await hass.loop.run_in_executor(executor, _open, db_path)
    except (StoreError, KeyFileError, OSError) as err:
        executor.shutdown(wait=False)
        code = err.code if isinstance(err, StoreError) else "key_file_error"
        if isinstance(err, StoreCorruptError | StoreTooNewError | KeyFileError):
            # Retrying cannot fix these: tell the administrator in Repairs too.
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=code,
                translation_placeholders={"path": str(db_path)},
            )
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=code,
            translation_placeholders={"path": str(db_path), "error": _short(err)},
        ) from err
    ir.async_delete_issue(hass, DOMAIN, issue_id)

    hub = EstateHub(hass, entry, store, access, executor)
    try:
        await hub.async_start()
    except Exception:
        await hass.loop.run_in_executor(executor, store.close)
        executor.shutdown(wait=False)
        raise
    # Alert rules before the platforms, so the alert sensor starts with the true count.
    hub.alerts = AlertService(hass, hub, RuleParams.from_mapping(entry.options.get(OPT_RULES, {})))
    try:
        await hub.alerts.async_start()
    except Exception:
        await hub.async_close()
        raise
    entry.runtime_data = hub
    # The estate device first: gate devices hang off it (via_device).
    dr.async_get(hass).async_get_or_create(config_entry_id=entry.entry_id, **estate_device(hub))

    @callback
    def _midnight(_now: object) -> None:
        hub.async_new_day()

    @callback
    def _purge(_now: object) -> None:
        days = int(entry.options.get(OPT_RETENTION_DAYS, DEFAULT_RETENTION_DAYS))
        # An entry background task: cancelled, not orphaned, when the entry unloads.
        entry.async_create_background_task(hass, hub.async_purge(days), f"{DOMAIN} purge")
        if hub.face is not None and hub.face.ready:
            # Unknown-face clusters are biometric data: kept 30 days, then forgotten.
            entry.async_create_background_task(
                hass, hub.face.async_expire_clusters(), f"{DOMAIN} stranger expiry"
            )

    entry.async_on_unload(async_track_time_change(hass, _midnight, hour=0, minute=0, second=0))
    entry.async_on_unload(async_track_time_change(hass, _purge, hour=3, minute=17, second=0))
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    _start_faces(hass, entry, hub, key)
    return True


def _start_faces(
    hass: HomeAssistant, entry: CommunityGateConfigEntry, hub: EstateHub, key: bytes
) -> None:
    """Faces load in the background: cards, PINs and QR work from the first second,
    and an estate without the face models keeps working without them."""
    hub.face = FaceService(hass, hub, TemplateVault(hub.store, template_sealer(key)))
    entry.async_create_background_task(hass, hub.face.async_start(), f"{DOMAIN} face models")
    for rt in hub.gates.values():
        if rt.camera:
            loop = CaptureLoop(hass, hub.face, rt)
            hub.capture_loops.append(loop)
            loop.start()


async def _async_reload(hass: HomeAssistant, entry: CommunityGateConfigEntry) -> None:
    """Gates (subentries) and options changed: rebuild the runtime."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: CommunityGateConfigEntry) -> bool:
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_close()
    return unloaded


def _short(err: BaseException) -> str:
    # sqlite messages carry no personal data; keep them short for the UI.
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__
