"""One estate at run time, built whole before Home Assistant sees it.

``async_setup_entry`` builds an ``EstateRuntime`` from its parts in dependency order
(the hub first, every service on top of it) and stores it once in
``entry.runtime_data``. The hub knows none of the services: they listen to its signals
(passages, field inputs, state) and call into it. Everything that needs more than one
part (closing in the right order, the nightly retention sweep, key rotation) lives here.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
import logging
import time
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .alerts import AlertService
from .capture import CaptureLoop
from .const import DOMAIN
from .core.device_auth import DeviceAuth
from .core.devices import DeviceKey, DeviceKeys
from .core.errors import DeviceInUseError, EstateClosedError, StoreError
from .core.keys import RotationReport, rotate_sealing_key
from .core.options import EstateOptions
from .core.privacy import Retention
from .entry_kind import loaded_estates
from .exceptions import ha_error
from .face import FaceService
from .hub import EstateHub
from .privacy import PrivacyRuntime

if TYPE_CHECKING:
    from .central_link import CentralLink
    from .centre import CentreRuntime
    from .mqtt_link import MqttLink

_LOGGER = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class EstateRuntime:
    """Everything one estate runs: the hub and the services built on it."""

    options: EstateOptions
    hub: EstateHub
    alerts: AlertService
    face: FaceService
    privacy: PrivacyRuntime
    capture_loops: list[CaptureLoop]
    # Provisioned field devices, shared by the MQTT link and the HTTP terminal endpoint.
    device_keys: DeviceKeys
    devices: DeviceAuth
    # None only where Home Assistant's MQTT integration cannot be imported at all.
    mqtt: MqttLink | None
    # The replicator to the central store, while the estate's option turns it on.
    central: CentralLink | None = None
    _closing: asyncio.Task[None] | None = field(default=None, init=False)

    @property
    def closed(self) -> bool:
        return self.hub.closed

    def start(self) -> None:
        """Background work that may take long (face models, the broker, camera
        streams): the estate answers cards and PINs from the first second."""
        entry = self.hub.entry
        hass = self.hub.hass
        entry.async_create_background_task(hass, self.face.async_start(), f"{DOMAIN} face models")
        if self.mqtt is not None:
            entry.async_on_unload(self.mqtt.async_stop)
            entry.async_create_background_task(hass, self.mqtt.async_start(), f"{DOMAIN} mqtt")
        for loop in self.capture_loops:
            loop.start()
        if self.central is not None:
            entry.async_create_background_task(
                hass, self.central.async_start(), f"{DOMAIN} central store"
            )

    async def async_close(self) -> None:
        """Stop what uses the hub, then the hub. Safe to call again (Home Assistant's
        stop, then an unload): later calls wait for the first."""
        if self._closing is None:
            self._closing = self.hub.hass.async_create_task(
                self._async_close(), f"{DOMAIN} close {self.hub.entry.title}", eager_start=True
            )
        # Shielded: a cancelled caller must not abandon the store half closed.
        await asyncio.shield(self._closing)

    async def _async_close(self) -> None:
        self.alerts.async_stop()
        if self.central is not None:
            # First: its last acknowledgement needs the database thread.
            await self.central.async_stop()
        # All at once: each stream reader may wait out a read timeout.
        await asyncio.gather(*(loop.stop() for loop in self.capture_loops))
        with suppress(EstateClosedError, StoreError):
            await self.face.async_stop()
        await self.hub.async_close()

    async def async_provision_device(self, device_id: str, gate_id: str) -> DeviceKey:
        """A fresh key for a field device bound to ``gate_id``; the old key (if any)
        stops working at once, on every channel."""
        self.hub.gate_runtime(gate_id)
        dev = await self.hub.db(self.device_keys.provision, device_id, gate_id)
        self.devices.add(dev)
        return dev

    async def async_remove_device(self, device_id: str) -> None:
        """Forget a field device and its key (a reader taken down, a stolen terminal).
        Refused while a gate's relay is that device: the gate could not open."""
        dev = await self.hub.db(self.hub.store.get_device, device_id)  # unknown: raises
        relay = self.mqtt.relay_device(dev.gate_id) if self.mqtt is not None else None
        if relay == device_id:
            raise DeviceInUseError("relay", device_id=device_id, gate_id=dev.gate_id)
        await self.hub.db(self.hub.store.remove_device, device_id)
        self.devices.remove(device_id)
        if self.mqtt is not None:
            self.mqtt.forget_device(device_id)

    # ------------------------------------------------------------------ privacy
    async def async_run_retention(self, now: float | None = None) -> dict[str, int]:
        """The nightly sweep: passages, unknown-face clusters (in memory and on disk)
        and expired photos, each by its own retention option."""
        hub, face = self.hub, self.face
        t = now or time.time()
        retention = Retention.of(self.options)
        out = {"passages": await hub.async_purge(retention.passages)}
        expired = 0
        if face.ready:
            # Strangers first seen in two lights whose clusters drifted together become
            # one (their passages relabelled), so the rules count one stranger once.
            await face.async_merge_clusters()
            # In memory first (the recogniser must forget them too), then any row left.
            expired = await face.async_expire_clusters(t, days=retention.clusters)
        cutoff = t - retention.clusters * 86400
        out["clusters"] = expired + await hub.db(hub.store.purge_clusters, cutoff)
        out["photos"] = await hub.db(hub.store.purge_photos, t)
        # Ended "known, do not alert" marks: their notes go once the mark has.
        await hub.db(hub.store.purge_stranger_ignores, t)
        if out["clusters"] or out["photos"]:
            _LOGGER.info(
                "Retention purge removed %d stranger clusters, %d photos",
                out["clusters"],
                out["photos"],
            )
        return out

    async def async_rotate_key(self) -> RotationReport:
        """Re-seal every template, cluster and photo under a fresh key. Pending cluster
        changes are saved first, so nothing sealed under the old key arrives later."""
        hub, privacy = self.hub, self.privacy
        if self.face.ready:
            await self.face.async_save_clusters()
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


type CommunityGateConfigEntry = ConfigEntry[EstateRuntime]
# The command centre's entry (entry_kind.is_centre): another runtime entirely.
type CentreConfigEntry = ConfigEntry[CentreRuntime]


def resolve_runtime(hass: HomeAssistant, entry_id: str | None) -> EstateRuntime:
    """The loaded estate named by ``entry_id``, or the only one; a translated error else."""
    entries: list[CommunityGateConfigEntry] = loaded_estates(hass)
    if entry_id is not None:
        for e in entries:
            if e.entry_id == entry_id:
                return e.runtime_data
        raise ha_error("entry_not_loaded", entry_id=entry_id)
    if not entries:
        raise ha_error("no_estate")
    if len(entries) > 1:
        raise ha_error("estate_ambiguous")
    return entries[0].runtime_data
