"""The command centre's entry: the central PostgreSQL read through a read-only role,
polled every 30 s. It gives per-estate figures (sensors), the cross-estate alerts feed
(an event entity and a ``community_gate_central_alert`` bus event per new alert, ids
and codes only) and the panel's centre view.

The alerts cursor (the central feed's last ``feed_id`` seen: it grows with every raise
and change of any alert) is kept in HA's storage, so a restart neither replays old
alerts nor misses those raised meanwhile.

A refused password (changed at the server) raises ``ConfigEntryAuthFailed`` from the
set-up or the poll: Home Assistant then starts the reauthentication flow instead of
retrying a password that cannot work. A poll that reads again with the stored password
(put back at the server, polled by hand) closes that flow.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
import logging
import ssl
from typing import Any, Final

import asyncpg
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import DOMAIN, EVENT_CENTRAL_ALERT, SIGNAL_CENTRE
from .core.alerts import PUBLIC_SUBJECTS, AlertState, SubjectKind
from .core.central_schema import purge
from .core.central_settings import CentralSettings
from .core.centre import (
    CentralAlert,
    EstateOverview,
    RepeatCard,
    alerts_feed,
    estates_overview,
    repeat_visitor_cards,
)
from .reauth import async_abort_reauth

_LOGGER = logging.getLogger(__name__)
UPDATE_INTERVAL: Final = timedelta(seconds=30)
CONNECT_TIMEOUT_S: Final = 10.0
ALERT_PAGE: Final = 500
# A refresh reads at most this many pages of new alerts; the rest come next time.
MAX_ALERT_PAGES: Final = 10
# The panel's feed: the newest alerts across estates.
FEED_SIZE: Final = 200
# How many announced alerts are remembered (so a later change is not a new alert).
ANNOUNCED_MEMORY: Final = 10_000
_STORAGE_VERSION: Final = 1
# The reason of a refused user name or password: Home Assistant then asks for a new
# password (the config flow's reauthentication step) instead of retrying.
AUTH_FAILED: Final = "invalid_auth"


class CentreConnectError(Exception):
    """The centre cannot be read; ``reason`` is the translation key of the cause."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _ssl_context(settings: CentralSettings) -> ssl.SSLContext | str | bool:
    """asyncpg's ``ssl`` argument for the TLS mode (verify-full reads the CA file: run
    it in the executor)."""
    if settings.tls == "disable":
        return False
    if settings.tls != "verify-full":
        return settings.tls  # prefer / require: encrypted, the certificate not checked
    ctx = ssl.create_default_context(cafile=settings.ca_file or None)
    ctx.check_hostname = True
    return ctx


def classify(err: BaseException) -> str:
    """The translation key of a connection failure (never its message: it may quote
    the user name or the host's answer)."""
    if isinstance(
        err, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return "invalid_auth"
    if isinstance(err, asyncpg.InsufficientPrivilegeError):
        return "permission"
    if isinstance(err, asyncpg.UndefinedTableError | asyncpg.UndefinedFunctionError):
        return "schema_missing"
    if isinstance(err, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(err, asyncpg.InvalidCatalogNameError):
        return "cannot_connect"
    if isinstance(err, ValueError | asyncpg.ClientConfigurationError):
        return "invalid_dsn"
    return "cannot_connect"


async def async_open_pool(hass: HomeAssistant, settings: CentralSettings) -> asyncpg.Pool:
    """A small pool (the centre view is a handful of staff): read-only by role, and by
    session default too, so a misconfigured role still cannot write."""
    try:
        tls = await hass.async_add_executor_job(_ssl_context, settings)
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            pool: asyncpg.Pool = await asyncpg.create_pool(
                settings.full_dsn,
                min_size=1,
                max_size=2,
                ssl=tls,
                server_settings={"default_transaction_read_only": "on"},
                timeout=CONNECT_TIMEOUT_S,
            )
    except (
        TimeoutError,
        OSError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        ValueError,
    ) as err:
        raise CentreConnectError(classify(err)) from err
    return pool


def _auth_failed() -> ConfigEntryAuthFailed:
    """A refused password: no retry (the same password stays refused); the entry asks
    for a new one through the reauthentication flow."""
    return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="centre_auth_failed")


async def async_test_centre(hass: HomeAssistant, settings: CentralSettings) -> str | None:
    """None when the centre answers the staff queries, else the reason it does not."""
    try:
        pool = await async_open_pool(hass, settings)
    except CentreConnectError as err:
        return err.reason
    try:
        async with pool.acquire() as conn:
            await estates_overview(conn, dt_util.utcnow().timestamp())
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as err:
        return classify(err)
    finally:
        await pool.close()
    return None


@dataclass(slots=True)
class CentreData:
    estates: dict[str, EstateOverview] = field(default_factory=dict)
    # The cross-estate rule: one visitor ID card (its operator-wide token) at several
    # estates within a week (core/centre.py repeat_visitor_cards).
    repeat_cards: list[RepeatCard] = field(default_factory=list)


# The central rule's event type (beside the estates' rules).
REPEAT_CARD_RULE: Final = "repeat_visitor_card"
# A token is shortened in events: enough to tell cards apart, nothing to look up.
TOKEN_SHOWN: Final = 12


def alert_event_data(entry_id: str, alert: CentralAlert) -> dict[str, Any]:
    """The bus event of a central alert: estate code, rule, subject id; no names."""
    return {
        "centre_entry_id": entry_id,
        "estate": alert.estate,
        "alert_id": alert.id,
        "rule": alert.rule,
        "subject_kind": alert.subject_kind,
        "subject_id": alert.subject_id,
        "gate_id": alert.gate_id,
        "state": alert.state,
        "time": dt_util.utc_from_timestamp(alert.ts).isoformat(),
    }


def card_event_data(entry_id: str, card: RepeatCard) -> dict[str, Any]:
    """The central rule's event: the estates and a short token, never the number."""
    return {
        "centre_entry_id": entry_id,
        "estate": None,
        "estates": list(card.estates),
        "alert_id": None,
        "rule": REPEAT_CARD_RULE,
        "subject_kind": "card",
        "subject_id": card.card[:TOKEN_SHOWN],
        "passages": card.passages,
        "state": AlertState.NEW.value,
        "time": dt_util.utc_from_timestamp(card.last).isoformat(),
    }


def public_subject(alert: CentralAlert) -> str | None:
    """Entity states are read by every user: only a gate or device id is shown there."""
    try:
        return alert.subject_id if SubjectKind(alert.subject_kind) in PUBLIC_SUBJECTS else None
    except ValueError:
        return None


class CentreCoordinator(DataUpdateCoordinator[CentreData]):
    """Polls the centre; fires an event per new alert, in id order."""

    config_entry: ConfigEntry[Any]

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any], pool: asyncpg.Pool) -> None:
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} centre",
            update_interval=UPDATE_INTERVAL,
        )
        self.pool = pool
        # The centre's device in the registry (estate devices hang off it).
        self.device_id: str | None = None
        self.cursor: int | None = None
        # Alerts already announced (estate, id), oldest first: bounded. A card seen at
        # several estates is announced once, when it gets there (not those found at start).
        self._announced: dict[tuple[str, int], None] = {}
        self._cards_announced: dict[str, None] = {}
        self._cards_primed = False
        self._store: Store[dict[str, int]] = Store(
            hass, _STORAGE_VERSION, f"{DOMAIN}.centre_{entry.entry_id}"
        )

    @property
    def alert_signal(self) -> str:
        return SIGNAL_CENTRE.format(self.config_entry.entry_id)

    @property
    def card_signal(self) -> str:
        return SIGNAL_CENTRE.format(f"{self.config_entry.entry_id}_cards")

    async def _async_setup(self) -> None:
        stored = await self._store.async_load()
        if stored is not None:
            self.cursor = int(stored.get("cursor", 0))

    async def _async_update_data(self) -> CentreData:
        now = dt_util.utcnow().timestamp()
        try:
            async with self.pool.acquire() as conn:
                # "Today" is the centre's local day.
                estates = await estates_overview(conn, now, tz=dt_util.get_default_time_zone())
                fresh = await self._new_alerts(conn)
                cards = await repeat_visitor_cards(conn, now)
        except asyncpg.UndefinedTableError:
            # No estate has connected yet (the first one creates the schema): nothing to
            # show, not a failure; the cursor starts once there is a feed.
            _LOGGER.debug("The central store has no Community Gate tables yet")
            return CentreData()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as err:
            if classify(err) == AUTH_FAILED:
                # The pool opened a new connection and the password was refused (it
                # was changed at the server): Home Assistant starts reauthentication.
                raise _auth_failed() from err
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="centre_unreachable",
                translation_placeholders={"reason": classify(err)},
            ) from err
        if async_abort_reauth(self.hass, self.config_entry):
            _LOGGER.info(
                "The central store accepts the command centre's password again: the"
                " request for a new one is closed"
            )
        for alert in self._raised(fresh):
            self.hass.bus.async_fire(
                EVENT_CENTRAL_ALERT, alert_event_data(self.config_entry.entry_id, alert)
            )
            self.async_dispatch(alert)
        for card in cards:
            if card.card not in self._cards_announced:
                self._cards_announced[card.card] = None
                if not self._cards_primed:
                    continue  # found at start: the panel shows them, no burst of events
                self.hass.bus.async_fire(
                    EVENT_CENTRAL_ALERT, card_event_data(self.config_entry.entry_id, card)
                )
                async_dispatcher_send(self.hass, self.card_signal, card)
        self._cards_primed = True
        while len(self._cards_announced) > ANNOUNCED_MEMORY:
            del self._cards_announced[next(iter(self._cards_announced))]
        if fresh:
            self._store.async_delay_save(lambda: {"cursor": self.cursor or 0}, 1.0)
        return CentreData(estates={e.code: e for e in estates}, repeat_cards=cards)

    def _raised(self, changes: list[CentralAlert]) -> list[CentralAlert]:
        """Of the feed's changes, the alerts raised since the last poll: an alert is
        announced once (its later acknowledgement or resolution is not a new alert)."""
        out = []
        for alert in changes:
            key = (alert.estate, alert.id)
            if alert.state != AlertState.NEW.value or key in self._announced:
                continue
            self._announced[key] = None
            out.append(alert)
        while len(self._announced) > ANNOUNCED_MEMORY:
            del self._announced[next(iter(self._announced))]
        return out

    def async_dispatch(self, alert: CentralAlert) -> None:
        async_dispatcher_send(self.hass, self.alert_signal, alert)

    async def _new_alerts(self, conn: asyncpg.Connection) -> list[CentralAlert]:
        """Alerts after the cursor. The first run ever starts at the newest alert:
        history is the panel's, not a burst of events."""
        if self.cursor is None:
            newest = await alerts_feed(conn, None, 1)
            self.cursor = newest[0].feed_id if newest else 0
            self._store.async_delay_save(lambda: {"cursor": self.cursor or 0}, 1.0)
            return []
        fresh: list[CentralAlert] = []
        for _ in range(MAX_ALERT_PAGES):
            page = await alerts_feed(conn, self.cursor, ALERT_PAGE)
            if not page:
                break
            fresh.extend(page)
            self.cursor = page[-1].feed_id
            if len(page) < ALERT_PAGE:
                break
        return fresh

    async def async_feed(self) -> list[CentralAlert]:
        """The newest alerts across estates, newest first (the panel's centre view)."""
        async with self.pool.acquire() as conn:
            return await alerts_feed(conn, None, FEED_SIZE)


@dataclass(slots=True)
class CentreRuntime:
    settings: CentralSettings
    pool: asyncpg.Pool
    coordinator: CentreCoordinator
    # The nightly retention purge (each estate's policy), when the entry's role may
    # delete: the one write the centre makes.
    purges: bool = False

    async def async_purge(self) -> dict[str, int]:
        """Delete what is past each estate's retention and drop months nobody keeps.
        The session is read-only by default: this one transaction is read-write."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION READ WRITE")
            counts = await purge(conn, dt_util.utcnow().timestamp())
        if any(counts.values()):
            _LOGGER.info(
                "Central retention purge: %d passages, %d alerts, %d months removed",
                counts["passages"],
                counts["alerts"],
                counts["partitions"],
            )
        return counts


async def async_setup_centre(hass: HomeAssistant, entry: ConfigEntry[Any]) -> CentreRuntime:
    settings = CentralSettings.from_mapping(entry.data)
    try:
        pool = await async_open_pool(hass, settings)
    except CentreConnectError as err:
        if err.reason == AUTH_FAILED:
            raise _auth_failed() from err
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="centre_unreachable",
            translation_placeholders={"reason": err.reason},
        ) from err
    coordinator = CentreCoordinator(hass, entry, pool)
    try:
        await coordinator.async_config_entry_first_refresh()
    except BaseException:
        await pool.close()
        raise
    return CentreRuntime(
        settings=settings,
        pool=pool,
        coordinator=coordinator,
        purges=bool(entry.data.get("purge", False)),
    )


async def async_close_centre(runtime: CentreRuntime) -> None:
    """Bounded: a centre that stopped answering must not hold up Home Assistant."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await runtime.pool.close()
    except TimeoutError:
        runtime.pool.terminate()
