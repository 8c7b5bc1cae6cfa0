"""community_gate: the access-control back office of a residential estate."""

from __future__ import annotations

from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
import logging
from pathlib import Path
from typing import TYPE_CHECKING, cast

import asyncpg
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.typing import ConfigType
from homeassistant.util.hass_dict import HassKey

from .alerts import AlertService
from .capture import CaptureLoop
from .central_link import CentralLink, async_reconcile_outbox, issue_id as central_issue_id
from .centre import async_close_centre, async_setup_centre
from .centre_entities import centre_device
from .centre_ws import async_register_centre_commands
from .const import (
    CONF_DB_PATH,
    DEFAULT_DB_FILE,
    DOMAIN,
    OPT_CENTRAL,
    OPT_FACE_ENGINE,
    OPT_FACE_THRESHOLD_OLD,
)
from .core.access import AccessControl
from .core.central_settings import CentralSettings
from .core.crypto import Hasher, KeyFileError, load_or_create_key
from .core.device_auth import DeviceAuth
from .core.devices import DeviceKeys, device_sealer
from .core.engines import DLIB_ENGINE
from .core.errors import EstateClosedError, StoreCorruptError, StoreError, StoreTooNewError
from .core.keys import load_sealing_root
from .core.options import EstateOptions
from .core.privacy import PhotoVault, photo_sealer
from .core.store import Store
from .core.templates import TemplateVault, template_sealer
from .entity import estate_device
from .entry_kind import entry_topic, is_centre, loaded_estates
from .face import REENROLL_ISSUE, FaceService, stop_shared_worker, stop_unused_workers
from .http import async_register_views
from .hub import EstateHub

if TYPE_CHECKING:
    from .mqtt_link import MqttLink
from .mqtt_issue import async_update_mqtt_issue, mqtt_issue_id
from .panel import async_register_panel
from .panel_commands import async_register_private_commands
from .privacy import PrivacyRuntime, async_check_face_only_gates, async_clear_face_only_issues
from .runtime import CentreConfigEntry, CommunityGateConfigEntry, EstateRuntime
from .services import async_setup_services
from .websocket_api import async_register_commands

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SENSOR,
    Platform.SWITCH,
]
# The command centre's entry: per-estate figures and the cross-estate alerts feed.
CENTRE_PLATFORMS: list[Platform] = [Platform.EVENT, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Services are registered once per HA start, not per entry."""
    async_setup_services(hass)
    async_register_views(hass)
    async_register_commands(hass)
    async_register_private_commands(hass)
    async_register_centre_commands(hass)
    await async_register_panel(hass)
    return True


def resolve_db_path(hass: HomeAssistant, raw: str | None) -> Path:
    path = Path(raw or DEFAULT_DB_FILE).expanduser()
    return path if path.is_absolute() else Path(hass.config.path(str(path)))


def _open(
    db_path: Path, card_key: bytes | None = None
) -> tuple[Store, AccessControl, bytes, bytes]:
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
        # Templates, clusters and photos are sealed under their own (rotatable) root.
        seal_root = load_sealing_root(db_path, store, key)
    except BaseException:
        store.close()
        raise
    # With the operator's card key (central store), a registered visitor ID card also
    # gets the token the centre matches across estates.
    return store, AccessControl(store, Hasher(key), card_key=card_key), key, seal_root


# The MQTT topic segment of each estate being set up or loaded -> its entry id.
_TOPICS: HassKey[dict[str, str]] = HassKey(f"{DOMAIN}_estate_topics")


def _claim_topic(hass: HomeAssistant, entry: CommunityGateConfigEntry) -> None:
    """Take the estate's MQTT topic segment, or refuse the set-up: two estates in one
    topic tree would take each other's devices' messages. Claimed without awaiting, so
    two estates starting together cannot both pass; released on unload (HA runs the
    unload callbacks after a failed set-up too)."""
    topics = hass.data.setdefault(_TOPICS, {})
    topic = entry_topic(entry)
    holder = topics.get(topic)
    other = hass.config_entries.async_get_entry(holder) if holder else None
    if other is not None and other.entry_id != entry.entry_id:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="estate_topic_taken",
            translation_placeholders={"topic": topic, "other": other.title},
        )
    topics[topic] = entry.entry_id

    @callback
    def _release() -> None:
        if topics.get(topic) == entry.entry_id:
            del topics[topic]

    entry.async_on_unload(_release)


async def async_setup_entry(hass: HomeAssistant, entry: CommunityGateConfigEntry) -> bool:
    if is_centre(entry):
        return await _async_setup_centre_entry(hass, cast("CentreConfigEntry", entry))
    _claim_topic(hass, entry)
    db_path = resolve_db_path(hass, entry.data.get(CONF_DB_PATH))
    issue_id = f"database_{entry.entry_id}"
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{DOMAIN}_db")
    try:
        card_key = CentralSettings.from_mapping(entry.options.get(OPT_CENTRAL)).card_key
        store, access, hash_key, seal_root = await hass.loop.run_in_executor(
            executor, _open, db_path, card_key
        )
    except (StoreError, KeyFileError, OSError) as err:
        executor.shutdown(wait=False)
        code = err.code if isinstance(err, StoreError) else "key_file_error"
        unfixable = isinstance(err, StoreCorruptError | StoreTooNewError | KeyFileError)
        if unfixable:
            # Retrying cannot fix these: tell the administrator in Repairs, and fail the
            # entry (no endless retries) until it is reloaded after the repair.
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=code,
                translation_placeholders={"path": str(db_path)},
            )
        failure = ConfigEntryError if unfixable else ConfigEntryNotReady
        raise failure(
            translation_domain=DOMAIN,
            translation_key=code,
            translation_placeholders={"path": str(db_path), "error": _short(err)},
        ) from err
    ir.async_delete_issue(hass, DOMAIN, issue_id)

    options = EstateOptions.from_mapping(entry.options)
    hub = EstateHub(
        hass,
        entry,
        store,
        access,
        executor,
        min_pin_length=options.min_pin_length,
        episode_window=options.episode_window,
    )
    try:
        runtime = await _async_build(hass, options, hub, db_path, hash_key, seal_root)
    except Exception:
        # Whatever was built holds no thread: the hub closes the store it was given.
        await hub.async_close()
        raise
    entry.runtime_data = runtime
    # HA runs unload callbacks after a failed set-up too: no thread outlives it.
    entry.async_on_unload(runtime.async_close)
    async_check_face_only_gates(hass, entry)
    # The estate device first: gate devices hang off it (via_device).
    estate = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **estate_device(hub)
    )
    hub.estate_device_id = estate.id

    @callback
    def _midnight(_now: object) -> None:
        hub.async_new_day()

    async def _sweep() -> None:
        try:
            await runtime.async_run_retention()
        except EstateClosedError:
            # Home Assistant stopped (or the estate reloaded) mid-sweep: the store is
            # closed; what was not purged tonight is purged tomorrow night.
            _LOGGER.debug("Retention sweep ended: the estate closed")

    @callback
    def _purge(_now: object) -> None:
        # Passages, unknown-face clusters (biometric data: merged where they drifted
        # together, then expired) and kept photos, each by its own retention option. An
        # entry background task: cancelled, not orphaned, when the entry unloads.
        entry.async_create_background_task(hass, _sweep(), f"{DOMAIN} purge")

    entry.async_on_unload(async_track_time_change(hass, _midnight, hour=0, minute=0, second=0))
    entry.async_on_unload(async_track_time_change(hass, _purge, hour=3, minute=17, second=0))
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    runtime.start()
    _close_on_stop(hass, entry, runtime)
    # After an engine switch the other engine's process has nobody left to serve.
    in_use = {
        e.runtime_data.face.spec.name
        for e in loaded_estates(hass)
        if e is not entry and not e.runtime_data.closed
    } | {runtime.face.spec.name}
    await hass.async_add_executor_job(stop_unused_workers, in_use)
    return True


async def _async_build(
    hass: HomeAssistant,
    options: EstateOptions,
    hub: EstateHub,
    db_path: Path,
    hash_key: bytes,
    seal_root: bytes,
) -> EstateRuntime:
    """The estate's parts in dependency order, each whole before the next needs it."""
    await hub.async_start()
    # Alert rules before the platforms, so the alert sensor starts with the true count.
    alerts = await AlertService.async_create(hass, hub, options.rules)
    privacy = PrivacyRuntime(
        db_path,
        TemplateVault(hub.store, template_sealer(seal_root), engine=options.face_engine),
        PhotoVault(hub.store, photo_sealer(seal_root)),
    )
    # Faces load in the background (``EstateRuntime.start``): cards, PINs and QR work
    # from the first second, and an estate without the face models keeps working.
    face = FaceService(
        hass,
        hub,
        privacy.templates,
        privacy.photos,
        options,
    )
    loops = [
        CaptureLoop(hass, face, rt, interval=options.capture_interval)
        for rt in hub.gates.values()
        if rt.camera or rt.stream_url
    ]
    # Field devices (MQTT controllers, face terminals on MQTT or HTTP): loaded whether or
    # not MQTT is set up, since a terminal may use only the HTTP endpoint. Their keys are
    # sealed under the hash key, which never rotates: a controller's key is provisioned
    # into its flash and cannot follow a hub-side rotation.
    keys = DeviceKeys(hub.store, device_sealer(hash_key))
    auth = DeviceAuth()
    loaded, bad = await hub.db(keys.load)
    for dev_id in bad:
        _LOGGER.error("Key of field device %s cannot be opened; device refused", dev_id)
    auth.replace(loaded)
    return EstateRuntime(
        central=_central_link(hass, hub),
        options=options,
        hub=hub,
        alerts=alerts,
        face=face,
        privacy=privacy,
        capture_loops=loops,
        device_keys=keys,
        devices=auth,
        mqtt=_mqtt_link(hass, hub, face, auth),
    )


def _close_on_stop(
    hass: HomeAssistant, entry: CommunityGateConfigEntry, runtime: EstateRuntime
) -> None:
    """Home Assistant does not unload entries when it stops: without this the estate's
    threads outlive the event loop (the interpreter then waits for them) and the store
    is never closed."""

    async def _async_stop(_event: Event | None = None) -> None:
        await runtime.async_close()
        # One face process serves every estate: the last estate to close ends it.
        if all(e.runtime_data.closed for e in loaded_estates(hass)):
            await hass.async_add_executor_job(stop_shared_worker)

    # async_listen, not async_listen_once: a one-shot listener that has fired cannot
    # be removed by a later unload without an error; a second stop finds it closed.
    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_stop))
    if hass.is_stopping:
        # The stop event fired while this entry was setting up: it will not fire again.
        hass.async_create_task(_async_stop(), f"{DOMAIN} stop {entry.title}", eager_start=True)


def _central_link(hass: HomeAssistant, hub: EstateHub) -> CentralLink | None:
    """The replicator to the central store while the estate's option is on. Off, the
    outbox is switched off too (the options flow may have been used while unloaded)."""
    settings = CentralSettings.from_mapping(hub.entry.options.get(OPT_CENTRAL))
    if not settings.enabled:
        ir.async_delete_issue(hass, DOMAIN, central_issue_id(hub.entry.entry_id))
        hub.entry.async_create_background_task(
            hass, _quiet(async_reconcile_outbox(hub, settings)), f"{DOMAIN} outbox off"
        )
        return None
    return CentralLink(hass, hub, settings)


async def _quiet(work: Awaitable[None]) -> None:
    with suppress(EstateClosedError):
        await work


def _mqtt_link(
    hass: HomeAssistant, hub: EstateHub, face: FaceService, auth: DeviceAuth
) -> MqttLink | None:
    """Field devices through HA's own MQTT integration (the broker the user set up)."""
    try:
        from .mqtt_link import MqttLink
    except ImportError as err:
        # HA's mqtt integration cannot even be imported (its client library is installed
        # only once MQTT is set up): cards, faces and the panel work without it.
        _LOGGER.warning("MQTT field devices are off: Home Assistant's MQTT cannot load (%s)", err)
        async_update_mqtt_issue(hass, hub.entry, missing=True)
        return None
    return MqttLink(hass, hub, face, auth)


async def _async_reload(hass: HomeAssistant, entry: CommunityGateConfigEntry) -> None:
    """Gates (subentries) and options changed: rebuild the runtime."""
    await hass.config_entries.async_reload(entry.entry_id)


async def _async_setup_centre_entry(hass: HomeAssistant, entry: CentreConfigEntry) -> bool:
    """The command centre: no estate database, only the central store, read-only."""
    entry.runtime_data = runtime = await async_setup_centre(hass, entry)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **centre_device(entry.entry_id, entry.title)
    )
    runtime.coordinator.device_id = device.id
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    await hass.config_entries.async_forward_entry_setups(entry, CENTRE_PLATFORMS)

    async def _async_stop(_event: Event) -> None:
        await async_close_centre(entry.runtime_data)

    async def _purge() -> None:
        try:
            await runtime.async_purge()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as err:
            # Reason only (a driver message may quote the role): docs/central.md says
            # which grants the purge needs.
            _LOGGER.warning("Central retention purge failed: %s", type(err).__name__)

    @callback
    def _nightly(_now: object) -> None:
        entry.async_create_background_task(hass, _purge(), f"{DOMAIN} central purge")

    if runtime.purges:
        entry.async_on_unload(async_track_time_change(hass, _nightly, hour=3, minute=41, second=0))

    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_stop))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: CommunityGateConfigEntry) -> bool:
    if is_centre(entry):
        centre = cast("CentreConfigEntry", entry)
        unloaded = await hass.config_entries.async_unload_platforms(entry, CENTRE_PLATFORMS)
        if unloaded:
            await async_close_centre(centre.runtime_data)
        return unloaded
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_close()
    return unloaded


async def async_migrate_entry(hass: HomeAssistant, entry: CommunityGateConfigEntry) -> bool:
    """1.1 -> 1.2: the face engine became an option (ncnn is the new default). An
    estate from before enrolled with dlib, so it stays on dlib until staff switch (its
    people are then re-encoded from kept photos or asked to re-enroll, never compared
    across engines); the old distance threshold gives way to the calibrated ones."""
    if entry.version > 1:
        return False  # written by a newer release: refuse rather than guess
    if entry.minor_version < 2:
        options = dict(entry.options)
        options.pop(OPT_FACE_THRESHOLD_OLD, None)
        options.setdefault(OPT_FACE_ENGINE, DLIB_ENGINE)
        hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
        _LOGGER.info("Estate settings 1.2: face engine %s kept", options[OPT_FACE_ENGINE])
    return True


async def async_remove_entry(hass: HomeAssistant, entry: CommunityGateConfigEntry) -> None:
    async_clear_face_only_issues(hass, entry)
    ir.async_delete_issue(hass, DOMAIN, f"{REENROLL_ISSUE}_{entry.entry_id}")
    ir.async_delete_issue(hass, DOMAIN, central_issue_id(entry.entry_id))
    ir.async_delete_issue(hass, DOMAIN, mqtt_issue_id(entry.entry_id))


def _short(err: BaseException) -> str:
    # sqlite messages carry no personal data; keep them short for the UI.
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__
