"""Set-up shared by the central-store tests in Home Assistant (test_central_ha.py,
test_central_reauth.py) against the real PostgreSQL of tests/pg.py: an estate that
replicates, a command-centre entry, the centre's schema, a login role of a test's own,
and waiting for the link."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.community_gate.central_link import CentralLink
from custom_components.community_gate.const import DOMAIN
from tests.central.hubkit import Hub, drained
from tests.ha.helpers import gate_subentry
from tests.pg import PASSWORD, PgServer

CODE = "maple-court"
DEADLINE_S = 120.0  # a stuck test fails after this; not a speed assertion


async def until(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def scalar(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def centre_passages(dsn: str) -> int:
    """How many of the test estate's passages the centre holds."""
    return int(
        await scalar(dsn, "SELECT count(*) FROM community_gate.passages WHERE estate=$1", CODE)
    )


def without_password(dsn: str) -> str:
    return dsn.replace(f":{PASSWORD}@", "@")


def database_of(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


# The test server speaks no TLS: "disable" says so (asyncpg's "prefer" probe, cancelled
# by an unload mid-connect, leaves a future Home Assistant's test harness reports).
async def central_estate(
    hass: HomeAssistant, db_path: Path, dsn: str, *, password: str = PASSWORD, **extra: Any
) -> MockConfigEntry:
    """An estate that replicates from its first start (options written as the flow
    does: the DSN without its password, which is kept apart)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Maple Court",
        data={"name": "Maple Court", "db_path": str(db_path)},
        options={
            "retention_days": 180,
            "central": {
                "enabled": True,
                "dsn": without_password(dsn),
                "password": password,
                "estate_code": CODE,
                "tls": "disable",
                "ca_file": "",
                "share_names": False,
                "repair_minutes": 30,
                **extra,
            },
        },
        unique_id=str(db_path),
        subentries_data=[gate_subentry("east_gate", "switch.east_relay")],
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return entry


def link_of(entry: MockConfigEntry) -> CentralLink:
    link: CentralLink | None = entry.runtime_data.central
    assert link is not None
    return link


async def first_connection(entry: MockConfigEntry) -> CentralLink:
    """The estate's link once it has connected (the centre's schema then exists: the
    hub's first connection makes it)."""
    link = link_of(entry)
    await until(lambda: link.status().connected, "the first connection")
    return link


def caught_up(link: CentralLink) -> bool:
    """Connected, and nothing waits (an uncounted backlog is not nothing)."""
    status = link.status()
    return status.connected and status.backlog == 0


async def add_centre(
    hass: HomeAssistant, dsn: str, *, password: str = PASSWORD, **extra: Any
) -> MockConfigEntry:
    """A command-centre entry reading ``dsn``, set up through Home Assistant."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Command centre",
        data={
            "kind": "centre",
            "dsn": without_password(dsn),
            "password": password,
            "tls": "disable",
            "ca_file": "",
            **extra,
        },
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return entry


async def schema_at_the_centre(tmp_path: Path, dsn: str) -> None:
    """An estate ("maker") made the centre's schema and went: the centre can read it."""
    hub = Hub(tmp_path / "maker.db", "maker", dsn)
    await hub.start()
    try:
        await until(lambda: drained(hub), "the schema at the centre")
    finally:
        await hub.close()


class PgRole:
    """A login role of its own per test (roles are the whole server's: the session's
    superuser and the other tests' roles keep their passwords). ``creates``: it may
    create the centre's schema, as an estate's role does."""

    def __init__(self, server: PgServer, dsn: str, password: str, *, creates: bool = True) -> None:
        self.server = server
        self.database = database_of(dsn)
        self.name = "r_" + self.database
        rights = "CONNECT, CREATE" if creates else "CONNECT"
        server.psql(
            self.database,
            f"CREATE ROLE {self.name} LOGIN PASSWORD '{password}';"
            f" GRANT {rights} ON DATABASE {self.database} TO {self.name};",
        )

    def dsn(self, password: str | None = None) -> str:
        """Without a password: as an entry stores it."""
        pw = f":{password}" if password else ""
        return f"postgresql://{self.name}{pw}@127.0.0.1:{self.server.port}/{self.database}"

    def grant_read(self) -> None:
        """Read rights on the centre's schema (docs/central.md), once it exists."""
        self.server.psql(
            self.database,
            f"GRANT USAGE ON SCHEMA community_gate TO {self.name};"
            f" GRANT SELECT ON ALL TABLES IN SCHEMA community_gate TO {self.name};",
        )

    def rotate(self, password: str) -> None:
        """The administrator changes the password, and the sessions already open end
        (a changed password does not end them by itself; a restart or a pooler would)."""
        self.server.psql(
            self.database,
            f"ALTER ROLE {self.name} PASSWORD '{password}';"
            " SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE usename = '{self.name}';",
        )
