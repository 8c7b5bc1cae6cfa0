"""Central store configuration: validation, the connection test's reasons, no secret
in any message."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from custom_components.community_gate.core import central_schema as cs
from custom_components.community_gate.core.replicator import (
    CentralConfig,
    CentralError,
    test_connection as check_connection,
)
from tests.central.hubkit import DEADLINE_S, Hub, connect
from tests.pg import PASSWORD, PgServer


def test_estate_code_and_tls_are_validated() -> None:
    for bad in ("", "-x", "Upper", "a" * 33, "a_b", "ä"):
        with pytest.raises(ValueError, match="estate code"):
            CentralConfig("postgresql://u@h/db", bad)
    with pytest.raises(ValueError, match="tls"):
        CentralConfig("postgresql://u@h/db", "e1", tls="maybe")
    for dsn in ("mysql://u@h/db", "host=h user=u", "postgresql://u@h:notaport/db"):
        with pytest.raises(CentralError) as err:
            CentralConfig(dsn, "e1")
        assert err.value.reason == "invalid_dsn"
    assert CentralConfig("postgresql://u:pw@h/db", "a" * 32).estate_code == "a" * 32


def test_redacted_dsn_drops_the_password() -> None:
    cfg = CentralConfig("postgresql://staff:s3cret@centre.example:5433/cg", "e1")
    assert cfg.redacted_dsn() == "postgresql://staff:***@centre.example:5433/cg"
    assert "s3cret" not in cfg.scrub(f"failed: {cfg.dsn} s3cret")
    assert CentralConfig("postgresql://staff@h/cg", "e1").redacted_dsn() == (
        "postgresql://staff@h/cg"
    )
    # A password in the query is no better hidden from a driver's error message.
    cfg = CentralConfig("postgresql://staff@h/cg?sslmode=require&password=qs3cret", "e1")
    assert cfg.redacted_dsn() == "postgresql://staff@h/cg?sslmode=***&password=***"
    assert "qs3cret" not in cfg.scrub(f"failed: {cfg.dsn} (password qs3cret)")


async def test_connection_reasons(postgres_server: PgServer, postgres_dsn: str) -> None:
    await check_connection(CentralConfig(postgres_dsn, "e1"))
    db = postgres_dsn.rsplit("/", 1)[1]
    wrong = CentralConfig(postgres_server.dsn(db, password="not-it"), "e1")
    with pytest.raises(CentralError) as err:
        await check_connection(wrong)
    assert err.value.reason == "invalid_auth"
    assert "not-it" not in str(err.value)
    assert PASSWORD not in str(err.value)
    closed = postgres_dsn.replace(f":{postgres_server.port}/", ":1/")
    with pytest.raises(CentralError) as err:
        await check_connection(CentralConfig(closed, "e1"))
    assert err.value.reason == "cannot_connect"
    assert PASSWORD not in str(err.value)
    # The test server speaks no TLS: requiring it fails as a TLS problem.
    with pytest.raises(CentralError) as err:
        await check_connection(CentralConfig(postgres_dsn, "e1", tls="require"))
    assert err.value.reason == "tls"
    with pytest.raises(CentralError) as err:
        await check_connection(CentralConfig(postgres_dsn.rsplit("/", 1)[0] + "/nodb", "e1"))
    assert err.value.reason == "cannot_connect"


async def test_a_newer_centre_schema_is_refused(postgres_dsn: str) -> None:
    conn = await connect(postgres_dsn)
    try:
        await cs.ensure_schema(conn)
        await cs.ensure_schema(conn)  # idempotent
        await conn.execute(f"INSERT INTO {cs.SCHEMA}.schema_version VALUES (99)")
    finally:
        await conn.close()
    with pytest.raises(CentralError) as err:
        await check_connection(CentralConfig(postgres_dsn, "e1"))
    assert err.value.reason == "schema_newer"


async def test_a_role_without_rights_is_a_permission_problem(
    postgres_server: PgServer, postgres_dsn: str
) -> None:
    db = postgres_dsn.rsplit("/", 1)[1]
    conn = await connect(postgres_dsn)
    try:
        await conn.execute("CREATE ROLE reader LOGIN PASSWORD 'reader-pw'")
        await conn.execute(f"REVOKE CREATE ON DATABASE {db} FROM PUBLIC")
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    finally:
        await conn.close()
    dsn = f"postgresql://reader:reader-pw@127.0.0.1:{postgres_server.port}/{db}"
    with pytest.raises(CentralError) as err:
        await check_connection(CentralConfig(dsn, "e1"))
    assert err.value.reason == "permission"
    assert "reader-pw" not in str(err.value)


async def test_replicator_reports_each_failed_try(
    tmp_path: Path, postgres_server: PgServer, postgres_dsn: str
) -> None:
    """``on_error`` hears every refused try with its reason (the glue asks for a new
    password on invalid_auth); a callback that raises does not end replication."""
    db = postgres_dsn.rsplit("/", 1)[1]
    heard: list[str] = []

    def on_error(reason: str) -> None:
        heard.append(reason)
        raise RuntimeError("the glue's bug")

    hub = Hub(
        tmp_path / "e1.db", "e1", postgres_server.dsn(db, password="not-it"), on_error=on_error
    )
    await hub.start()
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + DEADLINE_S
        while len(heard) < 3:
            assert loop.time() < end, "timed out waiting for three tries"
            await asyncio.sleep(0.05)
        assert set(heard) == {"invalid_auth"}
        assert hub.replicator.status().last_error == "invalid_auth"
    finally:
        await hub.close()
