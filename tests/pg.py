"""The throwaway PostgreSQL of the command-centre tests (``devtools/pgserver.py``; CI
installs Debian's ``postgresql``, scripts/setup too).

Fixtures: ``postgres_server`` (one per session) and ``postgres_dsn`` (a fresh database
on it per test). Both skip, saying why, when no PostgreSQL is installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.pgserver import PASSWORD, USER, PgServer, pg_bindir

__all__ = ["PASSWORD", "USER", "PgServer", "make_server", "postgres_dsn", "postgres_server"]


def make_server(**kwargs: Any) -> PgServer:
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    server = PgServer(bindir, **kwargs)
    server.start()
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    server = make_server()
    yield server
    server.destroy()


@pytest.fixture
def postgres_dsn(postgres_server: PgServer, socket_enabled: None) -> str:
    """A DSN to a fresh, empty database of the session's server."""
    if not postgres_server.running:
        postgres_server.start()  # a test that cut the link and failed before restoring
    return postgres_server.dsn(postgres_server.create_database())
