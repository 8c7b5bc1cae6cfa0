"""The estate's link to the central store: the replicator while the option is on, woken
by every passage and alert, watched for a link down too long (a repair issue), and its
figures for the diagnostic sensors and diagnostics. A password the store refuses starts
Home Assistant's reauthentication flow instead (once per run of the link), not the
repair issue: the flow is the notice and the fix in one. A login that works again (the
old password put back at the server) closes that flow: it would ask for nothing.

The replicator does its network work on the event loop (asyncpg) and its SQLite reads
and acks on the estate's database thread (``hub.db``): nothing here blocks the loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
import logging
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval

from .const import DOMAIN, SIGNAL_CENTRAL
from .core.central_settings import CentralSettings
from .core.errors import EstateClosedError
from .core.outbox import SharePolicy, disable_outbox, enable_outbox, outbox_enabled
from .core.replicator import CentralConfig, ReplicationStatus, Replicator, RunDb
from .core.store import Store
from .hub import EstateHub
from .reauth import async_abort_reauth

_LOGGER = logging.getLogger(__name__)
# How often the link's state is looked at (sensors, the repair issue). The replicator
# itself ships as soon as it is woken; this is only the watch.
CHECK_INTERVAL = timedelta(seconds=30)
ISSUE_PREFIX = "central_down"
# The same issue when another hub owns the estate code: raised at once (waiting does
# not fix it), with its own text.
ISSUE_CODE_TAKEN = "central_estate_code_taken"
# The longest wait between two reconnection tries once the link is down.
RETRY_MAX_S = 60.0
# The replicator's reason for a refused user name or password (core/replicator.py).
AUTH_FAILED = "invalid_auth"


def central_config(settings: CentralSettings) -> CentralConfig:
    """What the replicator and the connection test need, from the stored settings."""
    return CentralConfig(
        dsn=settings.full_dsn,
        estate_code=settings.estate_code,
        tls=settings.tls,
        ca_file=settings.ca_file or None,
        share=SharePolicy(names=settings.share_names),
    )


async def async_reconcile_outbox(hub: EstateHub, settings: CentralSettings) -> None:
    """The outbox on exactly while replication is: turned on (or its sharing policy
    changed) it queues what the centre needs to start from; turned off, the queue goes."""
    share = SharePolicy(names=settings.share_names)
    on = await hub.db(outbox_enabled, hub.store)
    if settings.enabled and (not on or hub.store.outbox_share != share):
        # The passage history is queued by the replicator a chunk at a time (a long log
        # would hold the store thread for a minute).
        queued = await hub.db(partial(enable_outbox, backfill_now=False), hub.store, share)
        _LOGGER.info("Central store on: %d rows queued for the centre", queued)
    elif not settings.enabled and on:
        await hub.db(disable_outbox, hub.store)
        _LOGGER.info("Central store off: nothing more is queued for the centre")


def _runner(hub: EstateHub) -> RunDb:
    """The replicator's reads and acks on the estate's own database thread."""

    def run[T](fn: Callable[[Store], T], /) -> Awaitable[T]:
        return hub.db(fn, hub.store)

    return run


def issue_id(entry_id: str) -> str:
    return f"{ISSUE_PREFIX}_{entry_id}"


class CentralLink:
    """One estate's replicator and its watch."""

    def __init__(
        self,
        hass: HomeAssistant,
        hub: EstateHub,
        settings: CentralSettings,
    ) -> None:
        self.hass = hass
        self.hub = hub
        self.settings = settings
        self.replicator = Replicator(
            central_config(settings),
            _runner(hub),
            retry_max=RETRY_MAX_S,
            on_error=self._on_error,
            on_connected=self._on_connected,
        )
        # When the watch first saw the link down, None while it is up.
        self.down_since: float | None = None
        self.issue_raised = False
        # The translation of the issue raised (ISSUE_PREFIX or ISSUE_CODE_TAKEN).
        self.issue_key: str | None = None
        # Whether this run of the link has asked for a new password (reauth flow).
        self.reauth_asked = False
        self._unsubs: list[Callable[[], None]] = []
        self._started = False
        self._stopped = False

    @property
    def signal(self) -> str:
        return SIGNAL_CENTRAL.format(self.hub.entry.entry_id)

    async def async_start(self) -> None:
        """In the background of set-up: turning the outbox on may queue a long history."""
        # A fresh watch: an issue left by the previous run (a reload while the link was
        # down) is raised again only if the link stays down past the threshold.
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.hub.entry.entry_id))
        try:
            await async_reconcile_outbox(self.hub, self.settings)
        except EstateClosedError:
            return  # unloaded meanwhile
        if self._stopped:
            return
        await self.replicator.start()
        self._started = True
        # A passage or alert is committed (and its outbox row with it) before these
        # signals fire: waking the replicator then ships it at once.
        for signal in (self.hub.passage_signal, self.hub.alert_signal, self.hub.state_signal):
            self._unsubs.append(async_dispatcher_connect(self.hass, signal, self._wake))
        self._unsubs.append(
            async_track_time_interval(
                self.hass, self._check, CHECK_INTERVAL, name=f"{DOMAIN} central link"
            )
        )

    @callback
    def _wake(self, *_args: Any) -> None:
        self.replicator.wake()

    @callback
    def _on_error(self, reason: str) -> None:
        """A try failed. A refused password starts the reauthentication flow, once:
        the replicator keeps retrying (a password put back at the server heals by
        itself) without asking again. The reload after the flow starts a new link."""
        if reason != AUTH_FAILED or self.reauth_asked or self._stopped:
            return
        self.reauth_asked = True
        _LOGGER.warning(
            "The central store refused the password of estate %s: asking for a new one",
            self.settings.estate_code,
        )
        self.hub.entry.async_start_reauth(self.hass)
        # The reauth flow is the notice: no "link down" issue beside it.
        self._clear_issue()

    @callback
    def _on_connected(self) -> None:
        """The centre took the stored password (again): a later refusal asks anew, and
        a flow still asking for a new password is closed, with its repair issue."""
        self.reauth_asked = False
        if self._stopped:
            return
        if async_abort_reauth(self.hass, self.hub.entry):
            _LOGGER.info(
                "The central store accepts the password of estate %s again: the request"
                " for a new one is closed",
                self.settings.estate_code,
            )

    async def async_stop(self) -> None:
        """Before the hub closes: the replicator's last ack needs the database thread."""
        self._stopped = True
        while self._unsubs:
            self._unsubs.pop()()
        if self._started:
            self._started = False
            await self.replicator.stop()

    def status(self) -> ReplicationStatus:
        return self.replicator.status()

    @callback
    def _check(self, now: datetime) -> None:
        self.async_check(now.timestamp())

    @callback
    def async_check(self, now: float) -> None:
        """Follow the link: the sensors, and the repair issue once it has been down
        longer than the threshold (cleared as soon as it is back). ``now`` is the
        watch's time (Home Assistant's clock judges the threshold)."""
        status = self.status()
        entry = self.hub.entry
        if status.connected:
            self.down_since = None
            if self.issue_raised:
                ir.async_delete_issue(self.hass, DOMAIN, issue_id(entry.entry_id))
                self.issue_raised = False
                self.issue_key = None
                _LOGGER.info("Central store link is back")
        else:
            if self.down_since is None:
                self.down_since = now
            down_for = now - self.down_since
            if status.last_error == AUTH_FAILED:
                # The reauthentication flow says it and fixes it: an issue raised
                # before (the link was down for another reason first) goes.
                self._clear_issue()
                async_dispatcher_send(self.hass, self.signal)
                return
            taken = status.last_error == "estate_code_taken"
            key = ISSUE_CODE_TAKEN if taken else ISSUE_PREFIX
            due = taken or down_for >= self.settings.repair_minutes * 60
            # Not yet counted (the estate's database has not answered): "?".
            backlog = "?" if status.backlog is None else str(status.backlog)
            if due and self.issue_key != key:
                self.issue_raised = True
                self.issue_key = key
                _LOGGER.warning(
                    "Central store link down for %.0f min (%s); %s rows wait",
                    down_for / 60,
                    status.last_error or "no answer",
                    backlog,
                )
                ir.async_create_issue(
                    self.hass,
                    DOMAIN,
                    issue_id(entry.entry_id),
                    is_fixable=False,
                    severity=ir.IssueSeverity.ERROR if taken else ir.IssueSeverity.WARNING,
                    translation_key=key,
                    translation_placeholders=(
                        {"estate": entry.title, "code": self.settings.estate_code}
                        if taken
                        else {
                            "estate": entry.title,
                            "minutes": str(self.settings.repair_minutes),
                            "backlog": backlog,
                        }
                    ),
                )
        async_dispatcher_send(self.hass, self.signal)

    @callback
    def _clear_issue(self) -> None:
        if self.issue_raised:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.hub.entry.entry_id))
            self.issue_raised = False
            self.issue_key = None

    def diagnostics(self) -> dict[str, Any]:
        """Lag, backlog and health: no DSN but its host and database, no password."""
        s = self.status()
        return {
            "settings": self.settings.redacted(),
            "connected": s.connected,
            "backlog": s.backlog,
            "lag_s": s.lag_s,
            "last_success": _iso(s.last_success),
            "down_since": _iso(s.down_since),
            "last_error": _scrub(s.last_error, self.settings.password),
            "shipped_total": s.shipped_total,
            "failed_tries": s.failures,
            "repair_issue": self.issue_raised,
        }


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


def _scrub(text: str | None, secret: str) -> str | None:
    """An error message never carries the password, whatever the driver put in it."""
    if text is None or not secret:
        return text
    return text.replace(secret, "**REDACTED**")
