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
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.community_gate import central_link
from custom_components.community_gate.const import DOMAIN
from custom_components.community_gate.core.replicator import Replicator
from tests.ha.central_helpers import (
    CODE,
    PgRole,
    add_centre,
    caught_up,
    central_estate,
    centre_passages,
    first_connection,
    link_of,
    schema_at_the_centre,
    until,
)
from tests.ha.helpers import add_tenant, present
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
    role = PgRole(postgres_server, postgres_dsn, OLD_PW)
    entry = await central_estate(hass, db_path, role.dsn(), password=OLD_PW, repair_minutes=1)
    link = await first_connection(entry)

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
        return await centre_passages(postgres_dsn) == 1 and caught_up(fresh)

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
    role = PgRole(postgres_server, postgres_dsn, OLD_PW)
    entry = await central_estate(hass, db_path, role.dsn(), password=OLD_PW)
    link = await first_connection(entry)
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
async def centre_reader(tmp_path: Path, server: PgServer, dsn: str) -> PgRole:
    """The centre's schema (an estate made it) and the test's own role reading it."""
    await schema_at_the_centre(tmp_path, dsn)
    role = PgRole(server, dsn, OLD_PW)
    role.grant_read()
    return role


async def refused_poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Poll by hand until a poll is refused and asks for a new password (a poll on a
    connection the server ended opens a new one: refused)."""
    coordinator = entry.runtime_data.coordinator

    async def asked() -> bool:
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        return bool(reauth_flows(hass, entry))

    await until(asked, "the reauth flow")


async def test_centre_reauth_when_a_poll_is_refused(
    hass: HomeAssistant,
    tmp_path: Path,
    postgres_server: PgServer,
    postgres_dsn: str,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    role = await centre_reader(tmp_path, postgres_server, postgres_dsn)
    entry = await add_centre(hass, role.dsn(), password=OLD_PW)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.maker_open_alerts").state == "0"
    coordinator = entry.runtime_data.coordinator

    role.rotate(NEW_PW)
    await refused_poll(hass, entry)
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
    role = await centre_reader(tmp_path, postgres_server, postgres_dsn)
    entry = await add_centre(hass, role.dsn(), password=OLD_PW)
    coordinator = entry.runtime_data.coordinator
    role.rotate(NEW_PW)
    await refused_poll(hass, entry)
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
    role = await centre_reader(tmp_path, postgres_server, postgres_dsn)
    role.rotate(NEW_PW)
    entry = await add_centre(hass, role.dsn(), password=OLD_PW)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert len(reauth_flows(hass, entry)) == 1

    await finish_reauth(hass, entry, caplog)
    assert entry.data["password"] == NEW_PW
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.maker_open_alerts").state == "0"
    assert_no_secret(caplog)
    assert await hass.config_entries.async_unload(entry.entry_id)
