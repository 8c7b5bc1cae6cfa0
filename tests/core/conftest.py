"""Fixtures for the core tests: real SQLite files in tmp_path, no mocks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from custom_components.community_gate.core.access import AccessControl
from custom_components.community_gate.core.crypto import Hasher
from custom_components.community_gate.core.model import (
    Direction,
    Gate,
    GateKind,
    Person,
    Role,
    Unit,
)
from custom_components.community_gate.core.store import Store

# Estate-local time zone (China Standard Time, no DST): fixed offset, no tzdata needed.
CST = timezone(timedelta(hours=8))
# Wednesday 25 November 2026, 10:00 estate time.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=CST)
KEY = bytes(range(32))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "estate.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    # synchronous=OFF: the tests need no power-cut durability, and an fsync per commit
    # would make the disk, not the code, set the pace. Durable opens are tested directly.
    s = Store.open(db_path, durable=False)
    yield s
    s.close()


@pytest.fixture
def hasher() -> Hasher:
    return Hasher(KEY)


@pytest.fixture
def estate(store: Store) -> Store:
    """Two buildings, one unit each, a tenant in A-101, and three gates."""
    store.add_unit(Unit("a101", "A", "101"))
    store.add_unit(Unit("b201", "B", "201"))
    store.add_person(Person("alice", Role.TENANT, "Alice", unit_id="a101"))
    store.upsert_gate(Gate("main", "Main gate"))
    store.upsert_gate(Gate("door-a", "Door A", GateKind.BUILDING_DOOR, building="A"))
    store.upsert_gate(Gate("exit", "Exit", direction=Direction.OUT))
    return store


@pytest.fixture
def ac(estate: Store, hasher: Hasher) -> AccessControl:
    return AccessControl(estate, hasher)
