"""The central store in Home Assistant, against a real PostgreSQL (tests/pg.py): the
estate options' section (a good DSN, a wrong password, nothing listening), replication
from a Home Assistant estate, the link down → repair issue → recovery, the command
centre's entry (sensors and events from two estates) and diagnostics redaction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
import json
from pathlib import Path
import time
from typing import Any

import asyncpg
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.community_gate import central_link
from custom_components.community_gate.const import DOMAIN, EVENT_CENTRAL_ALERT
from custom_components.community_gate.core import central_schema as cs
from custom_components.community_gate.core.access import AccessControl
from custom_components.community_gate.core.alerts import AlertLog, Rule, SubjectKind
from custom_components.community_gate.core.central_settings import CentralSettings
from custom_components.community_gate.core.crypto import Hasher
from custom_components.community_gate.core.model import (
    CredentialKind,
    Direction,
    Gate,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    Unit,
)
from custom_components.community_gate.core.outbox import card_token
from custom_components.community_gate.core.replicator import RunDb
from custom_components.community_gate.core.store import Store
from custom_components.community_gate.hub import EstateHub
from devtools.pgserver import free_port
from tests.central.hubkit import Hub, drained
from tests.ha.central_helpers import (
    CODE,
    PgRole,
    add_centre,
    caught_up,
    central_estate,
    centre_passages,
    database_of,
    first_connection,
    link_of,
    scalar,
    schema_at_the_centre,
    until,
    without_password,
)
from tests.ha.helpers import (
    NAME,
    add_estate,
    add_tenant,
    call,
    gate_subentry,
    hub_of,
    present,
    present_credential,
    private,
)
from tests.pg import PASSWORD, PgServer

READER_PW = "reader-pw"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A restored link is found within a second (the product waits up to a minute)."""
    monkeypatch.setattr(central_link, "RETRY_MAX_S", 0.5)


async def central_options(
    hass: HomeAssistant, entry: MockConfigEntry, **central: Any
) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    return await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"central": {"enabled": True, "estate_code": CODE, "tls": "disable", **central}},
    )


def _shown(schema: Any) -> str:
    """Every default and suggested value a form would show, sections included."""
    out: list[str] = []
    for key, value in schema.schema.items():
        description = getattr(key, "description", None)
        if description:
            out.append(repr(description))
        default = getattr(key, "default", None)
        if callable(default):
            out.append(repr(default()))
        inner = getattr(value, "schema", None)
        if inner is not None and hasattr(inner, "schema"):
            out.append(_shown(inner))
    return " ".join(out)


@pytest.fixture
async def estate(hass: HomeAssistant, db_path: Path) -> MockConfigEntry:
    return await add_estate(hass, db_path, gate_subentry("east_gate", "switch.east_relay"))


# ------------------------------------------------------------------ options flow
async def test_options_good_dsn_turns_replication_on(
    hass: HomeAssistant, estate: MockConfigEntry, postgres_dsn: str
) -> None:
    result = await central_options(hass, estate, dsn=postgres_dsn)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    stored = estate.options["central"]
    # The password is kept apart from the DSN, which is shown back without it.
    assert stored["dsn"] == without_password(postgres_dsn)
    assert stored["password"] == PASSWORD
    assert (stored["enabled"], stored["estate_code"], stored["share_names"]) == (True, CODE, False)
    assert stored["repair_minutes"] == 30
    assert estate.state is ConfigEntryState.LOADED
    hub = hub_of(estate)
    assert hub.store.outbox_share is not None
    assert not hub.store.outbox_share.names

    # The form shows the DSN back, never the password.
    form = await hass.config_entries.options.async_init(estate.entry_id)
    shown = _shown(form["data_schema"])
    assert without_password(postgres_dsn) in shown
    assert PASSWORD not in shown
    hass.config_entries.options.async_abort(form["flow_id"])

    # Turned off: the queue goes and nothing more is written for the centre.
    result = await hass.config_entries.options.async_configure(
        (await hass.config_entries.options.async_init(estate.entry_id))["flow_id"],
        {"central": {"enabled": False}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert estate.options["central"]["enabled"] is False
    assert hub_of(estate).store.outbox_share is None


@pytest.mark.parametrize(
    ("make_dsn", "error"),
    [
        (lambda dsn: dsn.replace(PASSWORD, "not-the-password"), "central_invalid_auth"),
        (
            lambda dsn: f"postgresql://cg_test:x@127.0.0.1:{free_port()}/nowhere",
            "central_cannot_connect",
        ),
        (lambda dsn: "mysql://cg_test@127.0.0.1/x", "central_invalid_dsn"),
        (lambda dsn: dsn, "central_tls"),  # TLS required of a server that has none
    ],
    ids=["bad_password", "unreachable", "not_postgresql", "tls_refused"],
)
async def test_options_refuse_a_link_that_does_not_work(
    hass: HomeAssistant,
    estate: MockConfigEntry,
    postgres_dsn: str,
    make_dsn: Callable[[str], str],
    error: str,
) -> None:
    tls = "require" if error == "central_tls" else "disable"
    result = await central_options(hass, estate, dsn=make_dsn(postgres_dsn), tls=tls)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert "central" not in estate.options
    assert hub_of(estate).store.outbox_share is None


async def test_options_refuse_a_bad_estate_code(
    hass: HomeAssistant, estate: MockConfigEntry, postgres_dsn: str
) -> None:
    result = await central_options(hass, estate, dsn=postgres_dsn, estate_code="Maple Court!")
    assert result["errors"] == {"base": "central_estate_code"}
    assert "central" not in estate.options


async def claim_for_another_hub(dsn: str, code: str = CODE) -> None:
    """The centre already holds ``code`` for some other hub."""
    conn = await asyncpg.connect(dsn)
    try:
        await cs.ensure_schema(conn)
        await conn.execute(
            "INSERT INTO community_gate.estates (code, owner) VALUES ($1, 'another-hub')", code
        )
    finally:
        await conn.close()


async def test_options_refuse_a_code_another_hub_owns(
    hass: HomeAssistant, estate: MockConfigEntry, postgres_dsn: str
) -> None:
    await claim_for_another_hub(postgres_dsn)
    result = await central_options(hass, estate, dsn=postgres_dsn)
    assert result["errors"] == {"base": "central_estate_code_taken"}
    assert "central" not in estate.options
    assert hub_of(estate).store.outbox_share is None
    # Another code is free.
    result = await central_options(hass, estate, dsn=postgres_dsn, estate_code="maple-court-2")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert estate.options["central"]["estate_code"] == "maple-court-2"


# --------------------------------------------------------------- replication
async def test_passages_replicate_from_home_assistant(
    hass: HomeAssistant,
    db_path: Path,
    postgres_dsn: str,
    relay_calls: list[tuple[str, str]],
) -> None:
    entry = await central_estate(hass, db_path, postgres_dsn)
    link = await first_connection(entry)
    await add_tenant(hass, settle=True)
    await present(hass, "east_gate")
    await present(hass, "east_gate", "999999")  # an unknown card: refused, logged

    async def arrived() -> bool:
        return await centre_passages(postgres_dsn) == 2 and link.status().backlog == 0

    await until(arrived, "both passages at the centre")
    rows = await scalar(
        postgres_dsn,
        "SELECT json_agg(json_build_object('person', person_id, 'allowed', allowed)"
        " ORDER BY id) FROM community_gate.passages WHERE estate=$1",
        CODE,
    )
    assert json.loads(rows) == [
        {"person": "p1", "allowed": True},
        {"person": None, "allowed": False},
    ]
    # Names are not shared by default: the directory at the centre has none.
    people = await scalar(postgres_dsn, "SELECT json_agg(p) FROM community_gate.people p")
    assert NAME not in people
    assert "p1" in people

    # The diagnostic sensors follow the link's watch.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done()
    assert hass.states.get("sensor.maple_court_central_store_backlog").state == "0"
    assert hass.states.get("sensor.maple_court_central_store_lag").state == "0.0"


async def test_backlog_sensor_is_unknown_until_the_queue_is_counted(
    hass: HomeAssistant,
    db_path: Path,
    postgres_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the replicator has not counted the outbox yet (its database thread held
    here), the backlog sensor reads unknown, never 0 while rows wait."""
    counted = asyncio.Event()
    runner = central_link._runner

    def held(hub: EstateHub) -> RunDb:
        run = runner(hub)

        async def gated[T](fn: Callable[[Store], T], /) -> T:
            await counted.wait()
            return await run(fn)

        return gated

    monkeypatch.setattr(central_link, "_runner", held)
    entry = await central_estate(hass, db_path, postgres_dsn)
    link = link_of(entry)
    backlog = "sensor.maple_court_central_store_backlog"
    try:
        link.async_check(time.time())  # the watch writes the sensors
        await hass.async_block_till_done()
        assert link.status().backlog is None
        assert hass.states.get(backlog).state == "unknown"
    finally:
        counted.set()
    await first_connection(entry)
    link.async_check(time.time())
    await hass.async_block_till_done()
    assert hass.states.get(backlog).state.isdigit()


async def test_link_down_raises_a_repair_and_recovers(
    hass: HomeAssistant,
    db_path: Path,
    postgres_server: PgServer,
    postgres_dsn: str,
    relay_calls: list[tuple[str, str]],
) -> None:
    entry = await central_estate(hass, db_path, postgres_dsn, repair_minutes=10)
    link = await first_connection(entry)
    issues = ir.async_get(hass)
    issue = (DOMAIN, central_link.issue_id(entry.entry_id))

    postgres_server.stop()
    try:
        await add_tenant(hass, settle=True)
        await present(hass, "east_gate")  # queued; shipping it finds the link down
        await until(lambda: not link.status().connected, "the link seen down")
        # The watch at its times: seen down now, then 5 minutes later, then 11.
        start = time.time()
        link.async_check(start)
        link.async_check(start + 5 * 60)
        assert issues.async_get_issue(*issue) is None  # not yet past the threshold
        link.async_check(start + 11 * 60)
        raised = issues.async_get_issue(*issue)
        assert raised is not None
        assert raised.translation_key == "central_down"
        assert raised.translation_placeholders is not None
        assert raised.translation_placeholders["minutes"] == "10"
        assert int(raised.translation_placeholders["backlog"]) >= 1
    finally:
        postgres_server.start()

    await until(lambda: caught_up(link), "recovery")
    link.async_check(start + 12 * 60)
    assert issues.async_get_issue(*issue) is None
    # The passage written while the link was down arrived, once.
    assert await centre_passages(postgres_dsn) == 1


async def test_a_taken_estate_code_stops_shipping_and_raises_a_repair(
    hass: HomeAssistant,
    db_path: Path,
    postgres_dsn: str,
    relay_calls: list[tuple[str, str]],
) -> None:
    """A hub whose code another hub owns at the centre writes nothing there and says
    so at once (no waiting for the link-down threshold); released, it resumes."""
    await claim_for_another_hub(postgres_dsn)
    entry = await central_estate(hass, db_path, postgres_dsn, repair_minutes=30)
    link = link_of(entry)
    await add_tenant(hass, settle=True)
    await present(hass, "east_gate")
    await until(
        lambda: link.status().last_error == "estate_code_taken", "the claim met by the replicator"
    )
    issues = ir.async_get(hass)
    issue = (DOMAIN, central_link.issue_id(entry.entry_id))
    link.async_check(time.time())
    raised = issues.async_get_issue(*issue)
    assert raised is not None
    assert raised.translation_key == "central_estate_code_taken"
    assert raised.translation_placeholders == {"estate": "Maple Court", "code": CODE}
    assert link.status().shipped_total == 0
    assert link.status().backlog >= 1  # kept on the hub
    for table in ("passages", "people", "gates", "units"):
        n = await scalar(
            postgres_dsn, f"SELECT count(*) FROM community_gate.{table} WHERE estate=$1", CODE
        )
        assert n == 0, table

    # The centre's admin releases the code (docs/central.md): the hub claims it.
    await scalar(postgres_dsn, "UPDATE community_gate.estates SET owner=NULL WHERE code=$1", CODE)
    await until(lambda: caught_up(link), "the claim")
    link.async_check(time.time())
    assert issues.async_get_issue(*issue) is None
    assert await centre_passages(postgres_dsn) == 1


async def test_diagnostics_hold_no_secret(
    hass: HomeAssistant,
    db_path: Path,
    postgres_dsn: str,
    hass_client: ClientSessionGenerator,
    relay_calls: list[tuple[str, str]],
) -> None:
    entry = await central_estate(hass, db_path, postgres_dsn)
    link = link_of(entry)

    def working() -> bool:
        # Caught up: a batch committed and nothing left (connected alone is not enough:
        # the backlog is counted once the session has read its first batch).
        s = link.status()
        return s.connected and s.last_success is not None and s.backlog == 0

    await until(working, "caught up")
    diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diag)
    assert PASSWORD not in text
    assert postgres_dsn not in text
    assert without_password(postgres_dsn) not in text  # no user name either
    central = diag["central"]
    assert central["connected"] is True
    assert central["backlog"] == 0
    assert central["failed_tries"] == 0
    assert central["settings"]["host"].startswith("127.0.0.1:")
    assert central["settings"]["database"] == database_of(postgres_dsn)
    assert diag["entry"]["options"]["central"]["estate_code"] == CODE
    assert "password" not in diag["entry"]["options"]["central"]


# ------------------------------------------------------------ the command centre
def _raise(rule: Rule, kind: SubjectKind, subject: str) -> Callable[[Store], None]:
    def run(s: Store) -> None:
        if not s.list_gates():
            s.upsert_gate(Gate("main", "Main"))
        AlertLog(s).add(time.time(), rule, kind, subject, "main", {})

    return run


def _resident_p9(s: Store) -> None:
    """A resident of 3-1201 with a name (kept at the estate) and one passage."""
    if not s.list_gates():
        s.upsert_gate(Gate("main", "Main"))
    s.add_unit(Unit("3-1201", "3", "1201"))
    s.add_person(Person("p9", Role.TENANT, "Zhou Min", unit_id="3-1201"))
    s.add_passage(
        Passage(
            time.time(),
            "main",
            Direction.IN,
            Method.CARD,
            True,
            Reason.GRANTED,
            person_id="p9",
            unit_id="3-1201",
        )
    )


async def test_centre_entry_sensors_and_events_from_two_estates(
    hass: HomeAssistant,
    tmp_path: Path,
    postgres_server: PgServer,
    postgres_dsn: str,
    hass_client: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    hubs = [Hub(tmp_path / f"{c}.db", c, postgres_dsn) for c in ("east-park", "west-lake")]
    for hub in hubs:
        await hub.call(_raise(Rule.TAILGATING, SubjectKind.CLUSTER, "k1"))
        await hub.start()
    try:
        for hub in hubs:
            await until(lambda hub=hub: drained(hub), "the estates at the centre")
        # A read-only role on the centre's schema, as docs/central.md sets it up.
        reader = PgRole(postgres_server, postgres_dsn, READER_PW, creates=False)
        reader.grant_read()

        # The user picks "command centre"; the read-only DSN is tested and saved.
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        assert result["type"] is FlowResultType.MENU
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "centre"}
        )
        assert result["step_id"] == "centre"
        bad = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"dsn": reader.dsn("nope"), "tls": "disable"}
        )
        assert bad["errors"] == {"base": "central_invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"dsn": reader.dsn(READER_PW), "tls": "disable"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        centre = result["result"]
        assert READER_PW not in centre.data["dsn"]
        await hass.async_block_till_done()
        assert centre.state is ConfigEntryState.LOADED

        # Per-estate sensors (by estate code), and the feed's event entity.
        for code in ("east_park", "west_lake"):
            assert hass.states.get(f"sensor.{code}_open_alerts").state == "1"
            assert hass.states.get(f"sensor.{code}_passages_today").state == "0"
            assert hass.states.get(f"sensor.{code}_hub_backlog").state == "0"
        event_entity = "event.command_centre_estate_alerts"
        assert hass.states.get(event_entity).state == "unknown"  # history is not replayed

        events: list[Event] = []

        @callback
        def _on(event: Event) -> None:
            events.append(event)

        hass.bus.async_listen(EVENT_CENTRAL_ALERT, _on)
        await hubs[0].call(_resident_p9)
        await hubs[0].call(_raise(Rule.SPECIAL_ATTENTION, SubjectKind.PERSON, "p9"))
        await hubs[1].call(_raise(Rule.FORCED_OPEN, SubjectKind.GATE, "main"))
        for hub in hubs:
            hub.replicator.wake()
            await until(lambda hub=hub: drained(hub), "the new alerts at the centre")
        await centre.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()

        got = sorted(
            (e.data["estate"], e.data["rule"], e.data["subject_id"], e.data["state"])
            for e in events
        )
        assert got == [
            ("east-park", "special_attention", "p9", "new"),
            ("west-lake", "forced_open", "main", "new"),
        ]
        # The entity (every user reads it) shows the forced door, not who is vulnerable.
        state = hass.states.get(event_entity)
        assert state.attributes["event_type"] == "forced_open"
        assert state.attributes["estate"] == "west-lake"
        assert hass.states.get("sensor.east_park_open_alerts").state == "2"

        # The panel's centre view names the gates; the person only by id and unit, as
        # these estates do not share names (a name never reached the centre).
        # (diagnostics registers its views first: a started client freezes the router)
        assert await async_setup_component(hass, "diagnostics", {})
        client = await hass_ws_client(hass)
        await client.send_json_auto_id({"type": "community_gate/centre"})
        view = await client.receive_json()
        assert view["success"], view
        seen = {
            (a["estate"], a["rule"]): (a["subject_name"], a["subject_unit"], a["gate_name"])
            for a in view["result"]["alerts"]
        }
        assert seen[("west-lake", "forced_open")] == ("Main", None, "Main")
        assert seen[("east-park", "special_attention")] == (None, "3-1201", "Main")
        await client.send_json_auto_id(
            {"type": "community_gate/centre/passages", "estate": "east-park"}
        )
        page = await client.receive_json()
        [passage] = page["result"]["passages"]
        assert (passage["gate_name"], passage["person_id"], passage["person_name"]) == (
            "Main",
            "p9",
            None,
        )
        assert "Zhou Min" not in json.dumps([view, page, [e.data for e in events]])

        # An acknowledgement at the estate is not a new alert at the centre.
        events.clear()
        await hubs[1].call(lambda s: AlertLog(s).acknowledge(2, "staff", time.time()))
        hubs[1].replicator.wake()
        await until(lambda: drained(hubs[1]), "the acknowledgement")
        await centre.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()
        assert events == []

        # The centre's diagnostics: host and database, never the password or the DSN.
        diag = await get_diagnostics_for_config_entry(hass, hass_client, centre)
        text = json.dumps(diag)
        assert READER_PW not in text
        assert reader.name not in text
        assert diag["entry"]["data"]["database"] == database_of(postgres_dsn)
        assert sorted(e["code"] for e in diag["estates"]) == ["east-park", "west-lake"]

        assert await hass.config_entries.async_unload(centre.entry_id)
    finally:
        for hub in hubs:
            await hub.close()


async def test_other_options_save_without_the_centre(
    hass: HomeAssistant,
    estate: MockConfigEntry,
    postgres_server: PgServer,
    postgres_dsn: str,
) -> None:
    """The link is tested when it changes, not each time staff change a retention: a
    centre that is down never blocks the estate's own settings."""
    assert (await central_options(hass, estate, dsn=postgres_dsn))["type"] is (
        FlowResultType.CREATE_ENTRY
    )
    await hass.async_block_till_done()
    postgres_server.stop()
    try:
        result = await hass.config_entries.options.async_init(estate.entry_id)
        # What the form sends back untouched: the DSN shown, the password left empty.
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                "retention_days": 90,
                "central": {
                    "enabled": True,
                    "dsn": without_password(postgres_dsn),
                    "estate_code": CODE,
                    "tls": "disable",
                },
            },
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert estate.options["retention_days"] == 90
        assert estate.options["central"]["password"] == PASSWORD  # kept
        # A changed link is tested, and refused while the centre is down.
        result = await hass.config_entries.options.async_init(estate.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {"central": {"enabled": True, "dsn": postgres_dsn, "estate_code": "other-code"}},
        )
        assert result["errors"] == {"base": "central_cannot_connect"}
        assert estate.options["central"]["estate_code"] == CODE
    finally:
        postgres_server.start()


async def test_centre_reconfigure_takes_a_new_password(
    hass: HomeAssistant, tmp_path: Path, postgres_dsn: str
) -> None:
    await schema_at_the_centre(tmp_path, postgres_dsn)
    entry = await add_centre(hass, postgres_dsn, password="stale-password")
    # The old password is refused: no retries, a reauth flow (test_central_reauth.py);
    # reconfiguring is the other way to give the new one.
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert [f["context"]["source"] for f in hass.config_entries.flow.async_progress()] == ["reauth"]

    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_centre"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"dsn": without_password(postgres_dsn), "password": PASSWORD, "tls": "disable"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["password"] == PASSWORD
    assert entry.state is ConfigEntryState.LOADED
    assert hass.config_entries.flow.async_progress() == []  # the reload ended the reauth
    assert hass.states.get("sensor.maker_open_alerts").state == "0"
    # Even a role that may write (this one owns the database) cannot through the centre.
    async with entry.runtime_data.pool.acquire() as conn:
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute("DELETE FROM community_gate.passages")
    assert await hass.config_entries.async_unload(entry.entry_id)


# ------------------------------------------------ the cross-estate visitor-card rule
ID_NUMBER = "11010519491231002X"
SECRET = "operator-wide secret"


async def test_card_secret_gives_visitor_cards_a_token_at_the_centre(
    hass: HomeAssistant,
    db_path: Path,
    postgres_dsn: str,
    relay_calls: list[tuple[str, str]],
) -> None:
    entry = await central_estate(hass, db_path, postgres_dsn, card_secret=SECRET)
    await first_connection(entry)
    await call(hass, "add_person", {"person_id": "v1", "role": "visitor"}, settle=True)
    await private(
        hass, "add_credential", {"person_id": "v1", "kind": "id_card", "value": ID_NUMBER}
    )
    await present_credential(
        hass, {"gate_id": "east_gate", "kind": "id_card", "value": ID_NUMBER}, settle=True
    )

    async def arrived() -> bool:
        return bool(
            await scalar(
                postgres_dsn,
                "SELECT count(*) FROM community_gate.passages WHERE estate=$1 AND card IS NOT NULL",
                CODE,
            )
        )

    await until(arrived, "the ID card's passage with its token")
    token = await scalar(postgres_dsn, "SELECT card FROM community_gate.passages LIMIT 1")
    assert ID_NUMBER not in token
    # The same secret gives the same token at any estate of the operator.
    assert token == card_token(
        CentralSettings(enabled=True, card_secret=SECRET).card_key, ID_NUMBER
    )
    diag = json.dumps(entry.runtime_data.central.diagnostics())
    assert SECRET not in diag


async def test_centre_finds_a_visitor_card_at_three_estates(
    hass: HomeAssistant, tmp_path: Path, postgres_dsn: str
) -> None:
    key = CentralSettings(enabled=True, card_secret=SECRET).card_key
    now = time.time()
    codes = ("e1", "e2", "e3")
    hubs = [Hub(tmp_path / f"{c}.db", c, postgres_dsn) for c in codes]

    def visit(k: int) -> Callable[[Store], None]:
        def run(s: Store) -> None:
            s.upsert_gate(Gate("main", "Main"))
            access = AccessControl(s, Hasher(bytes([k + 1]) * 32), card_key=key)
            s.add_person(Person("v", Role.VISITOR))
            card, _ = access.add_credential("v", CredentialKind.ID_CARD, ID_NUMBER)
            s.add_passage(
                Passage(
                    now - 600 * (k + 1),
                    "main",
                    Direction.IN,
                    Method.ID_CARD,
                    True,
                    Reason.GRANTED,
                    person_id="v",
                    credential_id=card.id,
                )
            )

        return run

    # Two estates have seen the card; the centre starts; then a third estate sees it.
    for k, hub in enumerate(hubs):
        if k < 2:
            await hub.call(visit(k))
        await hub.start()
    try:
        for hub in hubs:
            await until(lambda hub=hub: drained(hub), "the estates at the centre")
        events: list[Event] = []

        @callback
        def _on(event: Event) -> None:
            events.append(event)

        hass.bus.async_listen(EVENT_CENTRAL_ALERT, _on)
        centre = await add_centre(hass, postgres_dsn)
        cards = "sensor.command_centre_visitor_cards_at_several_estates"
        assert hass.states.get(cards).state == "0"

        await hubs[2].call(visit(2))
        hubs[2].replicator.wake()
        await until(lambda: drained(hubs[2]), "the third estate's visit")
        await centre.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()
        assert hass.states.get(cards).state == "1"
        (event,) = events
        assert event.data["rule"] == "repeat_visitor_card"
        assert event.data["estates"] == ["e1", "e2", "e3"]
        assert ID_NUMBER not in json.dumps(event.data)
        state = hass.states.get("event.command_centre_estate_alerts")
        assert state.attributes["event_type"] == "repeat_visitor_card"
        # Announced once, not at every poll.
        await centre.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()
        assert len(events) == 1
        assert await hass.config_entries.async_unload(centre.entry_id)
    finally:
        for hub in hubs:
            await hub.close()


async def test_centre_runs_the_nightly_retention_purge(
    hass: HomeAssistant, tmp_path: Path, postgres_dsn: str
) -> None:
    """With the purge on, the centre deletes each night what is past an estate's
    retention (365 days until the hub says otherwise) and keeps the rest."""
    now = time.time()
    hub = Hub(tmp_path / "old.db", "old-estate", postgres_dsn)

    def history(s: Store) -> None:
        s.upsert_gate(Gate("main", "Main"))
        for age_days in (400, 1):
            s.add_passage(
                Passage(
                    now - age_days * 86400,
                    "main",
                    Direction.IN,
                    Method.CARD,
                    True,
                    Reason.GRANTED,
                    person_id="p1",
                )
            )

    await hub.call(history)
    await hub.start()
    try:
        await until(lambda: drained(hub), "the history at the centre")
    finally:
        await hub.close()
    count = "SELECT count(*) FROM community_gate.passages"
    assert await scalar(postgres_dsn, count) == 2
    entry = await add_centre(hass, postgres_dsn, purge=True)

    night = dt_util.now().replace(hour=3, minute=41, second=0, microsecond=0)
    async_fire_time_changed(hass, night + timedelta(days=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await scalar(postgres_dsn, count) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)
