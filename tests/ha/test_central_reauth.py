"""The central store's password changed at the server, against a real PostgreSQL
(tests/pg.py): the estate's replicator and the command centre each start Home
Assistant's reauthentication flow (once), a wrong password is refused with the form's
translated error, the right one is tested, kept where the password lives and the entry
reloads and works again. The password is in no log record, diagnostics or form."""

from __future__ import annotations

from functools import partial
import json
import logging
from pathlib import Path
import time
from typing import Any
import uuid

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir, translation
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.community_gate import central_link
from custom_components.community_gate.const import DOMAIN
from custom_components.community_gate.core.replicator import Replicator
from tests.central.hubkit import Hub, drained
from tests.ha.helpers import add_tenant, gate_subentry, present
from tests.ha.test_central_ha import CODE, link_of, scalar, until
from tests.pg import PgServer

OLD_PW = "old-" + uuid.uuid4().hex[:10]
NEW_PW = "new-" + uuid.uuid4().hex[:10]
WRONG_PW = "wrong-" + uuid.uuid4().hex[:10]
SECRETS = (OLD_PW, NEW_PW, WRONG_PW)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused try is retried within a second (the product waits up to a minute), and
    an idle link touches its connection every half second (the product's heartbeat is
    30 s): an ended session is found soon without a passage to ship."""
    monkeypatch.setattr(central_link, "RETRY_MAX_S", 0.5)
    monkeypatch.setattr(central_link, "Replicator", partial(Replicator, heartbeat=0.5))


class Role:
    """A login role of its own per test (roles are the whole server's: the session's
    superuser and the other tests' roles keep their passwords)."""

    def __init__(self, server: PgServer, database: str, password: str = OLD_PW) -> None:
        self.server = server
        self.database = database
        self.name = "r_" + database
        server.psql(
            database,
            f"CREATE ROLE {self.name} LOGIN PASSWORD '{password}';"
            f" GRANT CONNECT, CREATE ON DATABASE {database} TO {self.name};",
        )

    def dsn(self, password: str | None = None) -> str:
        """Without a password: as the entry stores it."""
        pw = f":{password}" if password else ""
        return f"postgresql://{self.name}{pw}@127.0.0.1:{self.server.port}/{self.database}"

    def rotate(self, password: str) -> None:
        """The administrator changes the password, and the sessions already open end
        (a changed password does not end them by itself; a restart or a pooler would)."""
        self.server.psql(
            self.database,
            f"ALTER ROLE {self.name} PASSWORD '{password}';"
            " SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE usename = '{self.name}';",
        )


def reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[dict[str, Any]]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
        and flow["context"].get("entry_id") == entry.entry_id
    ]


def reauth_issues(hass: HomeAssistant, entry: MockConfigEntry) -> list[tuple[str, str]]:
    """The repair issues about the entry's link: ours (down too long) and the one Home
    Assistant raises beside a reauthentication flow."""
    ours = (DOMAIN, central_link.issue_id(entry.entry_id))
    theirs = (HOMEASSISTANT_DOMAIN, f"config_entry_reauth_{DOMAIN}_{entry.entry_id}")
    return [key for key in (ours, theirs) if key in ir.async_get(hass).issues]


async def error_text(hass: HomeAssistant, key: str) -> str:
    """The form error as the user reads it (English)."""
    texts = await translation.async_get_translations(hass, "en", "config", [DOMAIN])
    return texts[f"component.{DOMAIN}.config.error.{key}"]


def assert_no_secret(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.get_records("call"))
    for secret in SECRETS:
        assert secret not in logged
        for text in texts:
            assert secret not in text


async def finish_reauth(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> list[str]:
    """Wrong password, then the right one. Returns what the forms showed."""
    (flow,) = reauth_flows(hass, entry)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    # The password alone is asked, with nothing filled in or suggested.
    (key,) = result["data_schema"].schema
    assert str(key) == "password"
    assert getattr(key, "description", None) is None
    assert not callable(key.default)
    placeholders = result["description_placeholders"]
    assert placeholders["host"].startswith("127.0.0.1:")
    assert "@" not in placeholders["host"]
    assert placeholders["name"] == entry.title
    shown = [json.dumps(placeholders)]

    wrong = await hass.config_entries.flow.async_configure(flow["flow_id"], {"password": WRONG_PW})
    assert wrong["type"] is FlowResultType.FORM
    assert wrong["errors"] == {"base": "central_invalid_auth"}
    assert "refused" in await error_text(hass, "central_invalid_auth")
    shown.append(json.dumps(wrong["description_placeholders"]))

    done = await hass.config_entries.flow.async_configure(flow["flow_id"], {"password": NEW_PW})
    assert done["type"] is FlowResultType.ABORT
    assert done["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert reauth_flows(hass, entry) == []
    return shown


# ------------------------------------------------------------------------ estate
async def test_estate_reauth_after_the_password_changed(
    hass: HomeAssistant,
    db_path: Path,
    postgres_server: PgServer,
    postgres_dsn: str,
    hass_client: ClientSessionGenerator,
    relay_calls: list[tuple[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    role = Role(postgres_server, postgres_dsn.rsplit("/", 1)[1])
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Maple Court",
        data={"name": "Maple Court", "db_path": str(db_path)},
        options={
            "retention_days": 180,
            "central": {
                "enabled": True,
                "dsn": role.dsn(),
                "password": OLD_PW,
                "estate_code": CODE,
                "tls": "disable",
                "ca_file": "",
                "share_names": False,
                "repair_minutes": 1,
            },
        },
        unique_id=str(db_path),
        subentries_data=[gate_subentry("east_gate", "switch.east_relay")],
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    link = link_of(entry)
    await until(lambda: link.status().connected, "the first connection")

    # Count the replicator's failed tries and the reauth requests.
    tries: list[str] = []
    on_error = link.replicator._on_error
    assert on_error is not None

    def counting(reason: str) -> None:
        tries.append(reason)
        on_error(reason)

    link.replicator._on_error = counting
    asked: list[None] = []
    start_reauth = entry.async_start_reauth

    def counting_reauth(*args: Any, **kwargs: Any) -> None:
        asked.append(None)
        start_reauth(*args, **kwargs)

    entry.async_start_reauth = counting_reauth  # type: ignore[method-assign]

    role.rotate(NEW_PW)
    await until(lambda: bool(reauth_flows(hass, entry)), "the reauth flow")
    # Retried, and asked once.
    await until(lambda: tries.count("invalid_auth") >= 3, "more refused tries")
    assert len(asked) == 1
    assert len(reauth_flows(hass, entry)) == 1
    assert entry.state is ConfigEntryState.LOADED  # the estate's gates work meanwhile
    assert link.status().last_error == "invalid_auth"
    # The reauth flow is the notice: no "link down" repair issue beside it, however long.
    link.async_check(time.time())
    link.async_check(time.time() + 3600)
    issue = (DOMAIN, central_link.issue_id(entry.entry_id))
    assert ir.async_get(hass).async_get_issue(*issue) is None
    # Queued meanwhile, shipped once the new password is in.
    await add_tenant(hass, settle=True)
    await present(hass, "east_gate")

    shown = await finish_reauth(hass, entry, caplog)
    # Kept where the password lives (the central option, apart from the DSN); the rest
    # of the link is unchanged.
    assert entry.options["central"]["password"] == NEW_PW
    assert entry.options["central"]["dsn"] == role.dsn()
    assert entry.options["central"]["estate_code"] == CODE
    assert entry.options["retention_days"] == 180
    # Reloaded: a new link, which replicates again.
    assert entry.state is ConfigEntryState.LOADED
    fresh = link_of(entry)
    assert fresh is not link
    assert not fresh.reauth_asked

    async def arrived() -> bool:
        n = await scalar(
            postgres_dsn,
            "SELECT count(*) FROM community_gate.passages WHERE estate=$1",
            CODE,
        )
        return bool(n == 1 and fresh.status().connected and fresh.status().backlog == 0)

    await until(arrived, "the passage at the centre")
    assert ir.async_get(hass).async_get_issue(*issue) is None

    diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert_no_secret(caplog, json.dumps(diag), *shown)
    assert "password" not in diag["entry"]["options"]["central"]
    assert any("asking for a new one" in r.getMessage() for r in caplog.records)


async def test_estate_link_back_by_itself_asks_again_next_time(
    hass: HomeAssistant,
    db_path: Path,
    postgres_server: PgServer,
    postgres_dsn: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The administrator puts the old password back: the link heals by itself, the
    flow asking for a new password closes with its repair issue, and a later refusal
    asks again."""
    role = Role(postgres_server, postgres_dsn.rsplit("/", 1)[1])
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Maple Court",
        data={"name": "Maple Court", "db_path": str(db_path)},
        options={
            "central": {
                "enabled": True,
                "dsn": role.dsn(),
                "password": OLD_PW,
                "estate_code": CODE,
                "tls": "disable",
            },
        },
        unique_id=str(db_path),
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    link = link_of(entry)
    await until(lambda: link.status().connected, "the first connection")
    role.rotate(NEW_PW)
    await until(lambda: bool(reauth_flows(hass, entry)), "the reauth flow")
    assert reauth_issues(hass, entry)  # Home Assistant's "needs attention" beside it
    role.rotate(OLD_PW)
    await until(lambda: link.status().connected, "the link back")
    # Connected again: the flow asks for nothing, so it is gone, and so is its issue.
    assert reauth_flows(hass, entry) == []
    assert reauth_issues(hass, entry) == []
    assert not link.reauth_asked
    link.async_check(time.time())
    assert reauth_issues(hass, entry) == []
    # The password changes again: asked again.
    role.rotate(NEW_PW)
    await until(lambda: bool(reauth_flows(hass, entry)), "the second reauth flow")
    assert entry.options["central"]["password"] == OLD_PW  # nothing changed by itself
    assert_no_secret(caplog)


# ----------------------------------------------------------------- command centre
def _schema_at_the_centre(tmp_path: Path, postgres_dsn: str) -> Hub:
    return Hub(tmp_path / "maker.db", "maker", postgres_dsn)


def _reader(role: Role) -> None:
    """Read rights on the centre's schema (docs/central.md), for the test's role."""
    role.server.psql(
        role.database,
        f"GRANT USAGE ON SCHEMA community_gate TO {role.name};"
        f" GRANT SELECT ON ALL TABLES IN SCHEMA community_gate TO {role.name};",
    )


async def _centre(hass: HomeAssistant, role: Role, password: str) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Command centre",
        data={
            "kind": "centre",
            "dsn": role.dsn(),
            "password": password,
            "tls": "disable",
            "ca_file": "",
        },
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return entry


async def _estate_at_the_centre(tmp_path: Path, postgres_dsn: str) -> None:
    hub = _schema_at_the_centre(tmp_path, postgres_dsn)
    await hub.start()
    try:
        await until(lambda: drained(hub), "the schema at the centre")
    finally:
        await hub.close()


async def test_centre_reauth_when_a_poll_is_refused(
    hass: HomeAssistant,
    tmp_path: Path,
    postgres_server: PgServer,
    postgres_dsn: str,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await _estate_at_the_centre(tmp_path, postgres_dsn)
    role = Role(postgres_server, postgres_dsn.rsplit("/", 1)[1])
    _reader(role)
    entry = await _centre(hass, role, OLD_PW)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.maker_open_alerts").state == "0"
    coordinator = entry.runtime_data.coordinator

    role.rotate(NEW_PW)

    async def asked() -> bool:
        # A poll on a connection the server ended opens a new one: refused.
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        return bool(reauth_flows(hass, entry))

    await until(asked, "the reauth flow")
    assert not coordinator.last_update_success
    await coordinator.async_refresh()  # polled again: still one flow
    await hass.async_block_till_done()
    assert len(reauth_flows(hass, entry)) == 1

    shown = await finish_reauth(hass, entry, caplog)
    assert entry.data["password"] == NEW_PW
    assert entry.data["dsn"] == role.dsn()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator is not coordinator  # reloaded
    assert entry.runtime_data.coordinator.last_update_success
    assert hass.states.get("sensor.maker_open_alerts").state == "0"

    diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert_no_secret(caplog, json.dumps(diag), *shown)
    assert role.name not in json.dumps(diag)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_centre_password_put_back_closes_the_flow(
    hass: HomeAssistant,
    tmp_path: Path,
    postgres_server: PgServer,
    postgres_dsn: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused poll asks for a new password; the old one put back at the server, the
    next poll (Home Assistant polls no more after a refusal: here by hand) reads again
    and closes the flow with its repair issue."""
    await _estate_at_the_centre(tmp_path, postgres_dsn)
    role = Role(postgres_server, postgres_dsn.rsplit("/", 1)[1])
    _reader(role)
    entry = await _centre(hass, role, OLD_PW)
    coordinator = entry.runtime_data.coordinator
    role.rotate(NEW_PW)

    async def asked() -> bool:
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        return bool(reauth_flows(hass, entry))

    await until(asked, "the reauth flow")
    assert reauth_issues(hass, entry)
    role.rotate(OLD_PW)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert coordinator.last_update_success
    assert reauth_flows(hass, entry) == []
    assert reauth_issues(hass, entry) == []
    assert entry.data["password"] == OLD_PW  # nothing changed by itself
    assert_no_secret(caplog)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_centre_set_up_with_a_refused_password_asks_for_a_new_one(
    hass: HomeAssistant,
    tmp_path: Path,
    postgres_server: PgServer,
    postgres_dsn: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Refused at set-up (Home Assistant restarted after the change): no endless
    retries of a password that cannot work, a reauth flow instead."""
    caplog.set_level(logging.DEBUG)
    await _estate_at_the_centre(tmp_path, postgres_dsn)
    role = Role(postgres_server, postgres_dsn.rsplit("/", 1)[1])
    _reader(role)
    role.rotate(NEW_PW)
    entry = await _centre(hass, role, OLD_PW)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert len(reauth_flows(hass, entry)) == 1

    await finish_reauth(hass, entry, caplog)
    assert entry.data["password"] == NEW_PW
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.maker_open_alerts").state == "0"
    assert_no_secret(caplog)
    assert await hass.config_entries.async_unload(entry.entry_id)
