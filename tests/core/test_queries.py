"""The staff panel's queries: a keyset-paged passage log and the people search."""

from __future__ import annotations

from pathlib import Path
import random

import pytest

from custom_components.community_gate.core.errors import InvalidValueError
from custom_components.community_gate.core.model import (
    Direction,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    Unit,
)
from custom_components.community_gate.core.queries import (
    PassageFilter,
    passage_page,
    people_page,
)
from custom_components.community_gate.core.store import Store

GATES = ("east_gate", "north_door", "south_gate")
PEOPLE = ("p1", "p2", "p3", None)
METHODS = (Method.CARD, Method.FACE, Method.PIN)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "q.db", durable=False)
    rng = random.Random(5)
    rows = []
    for i in range(1200):
        # Every third timestamp repeats: ties on ts must still page exactly once each.
        ts = 1_700_000_000.0 + (i - i % 3) * 10
        allowed = rng.random() < 0.8
        rows.append(
            Passage(
                ts,
                rng.choice(GATES),
                Direction.IN,
                rng.choice(METHODS),
                allowed,
                Reason.GRANTED if allowed else Reason.UNKNOWN_CREDENTIAL,
                person_id=rng.choice(PEOPLE),
            )
        )
    s.add_passages(rows)
    return s


def _all_pages(store: Store, flt: PassageFilter, limit: int) -> list[Passage]:
    out: list[Passage] = []
    cursor = None
    for _ in range(10_000):
        page = passage_page(store, flt, cursor=cursor, limit=limit)
        assert len(page.rows) <= limit
        out += page.rows
        if page.cursor is None:
            return out
        assert len(page.rows) == limit
        cursor = page.cursor
    raise AssertionError("paging never ended")


@pytest.mark.parametrize(
    "flt",
    [
        PassageFilter(),
        PassageFilter(gate_id="north_door"),
        PassageFilter(person_id="p2"),
        PassageFilter(method=Method.FACE, allowed=False),
        PassageFilter(gate_id="east_gate", since=1_700_003_000.0, until=1_700_009_000.0),
        PassageFilter(person_id="nobody"),
    ],
)
@pytest.mark.parametrize("limit", [1, 7, 50, 200])
def test_pages_cover_every_match_once_newest_first(
    store: Store, flt: PassageFilter, limit: int
) -> None:
    got = _all_pages(store, flt, limit)
    expected = [
        p
        for p in store.recent_passages(limit=100_000)
        if (flt.gate_id is None or p.gate_id == flt.gate_id)
        and (flt.person_id is None or p.person_id == flt.person_id)
        and (flt.method is None or p.method is flt.method)
        and (flt.allowed is None or p.allowed == flt.allowed)
        and (flt.since is None or p.ts >= flt.since)
        and (flt.until is None or p.ts < flt.until)
    ]
    assert sorted(p.id for p in got) == sorted(p.id for p in expected)  # type: ignore[type-var]
    assert len({p.id for p in got}) == len(got)
    keys = [(p.ts, p.id) for p in got]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize(
    ("flt", "index"),
    [
        (PassageFilter(), "passages_ts"),
        (PassageFilter(gate_id="east_gate"), "passages_gate_ts"),
        (PassageFilter(person_id="p1"), "passages_person_ts"),
        (PassageFilter(unit_id="u1"), "passages_unit_ts"),
        (PassageFilter(cluster_id="stranger_x"), "passages_cluster_ts"),
    ],
)
def test_every_page_walks_a_time_ordered_index(
    store: Store, flt: PassageFilter, index: str
) -> None:
    """No sort of the whole match set: what keeps page N as cheap as page 1 on 10M rows."""
    store.conn.execute("ANALYZE")
    plans = []
    for cursor in (None, "1700005000.0:600"):
        page_sql = _explain(store, flt, cursor)
        plans.append(page_sql)
        assert index in page_sql, page_sql
        assert "TEMP B-TREE" not in page_sql, page_sql


def _explain(store: Store, flt: PassageFilter, cursor: str | None) -> str:
    captured: list[str] = []

    def trace(sql: str) -> None:
        if sql.startswith("SELECT") and "FROM passages" in sql:
            captured.append(sql)

    store.conn.set_trace_callback(trace)
    try:
        passage_page(store, flt, cursor=cursor, limit=5)
    finally:
        store.conn.set_trace_callback(None)
    sql = captured[-1]
    # The traced text has the values inlined; EXPLAIN it as it ran.
    rows = store.conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    return " | ".join(str(r[-1]) for r in rows)


@pytest.mark.parametrize("cursor", ["", "abc", "1.5", "x:3", "nan:4", "1.0:-1", "inf:1"])
def test_bad_cursor_is_a_clear_error(store: Store, cursor: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        passage_page(store, PassageFilter(), cursor=cursor)
    assert err.value.placeholders["field"] == "cursor"


@pytest.mark.parametrize("limit", [0, -1, 201, True])
def test_page_size_is_bounded(store: Store, limit: int) -> None:
    with pytest.raises(InvalidValueError):
        passage_page(store, PassageFilter(), limit=limit)


@pytest.fixture
def register(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "p.db", durable=False)
    s.add_unit(Unit("3-1201", "3", "1201"))
    s.add_unit(Unit("5-0301", "5", "0301"))
    s.add_people(
        [
            Person("p-wang", Role.TENANT, "Wang Fang", "3-1201"),
            Person("p-li", Role.CO_RESIDENT, "Li Ming", "3-1201"),
            Person("p-chen", Role.TENANT, "Chen 100%", "5-0301", special_attention=True),
            Person("p-x_y", Role.SERVICE, "Courier", company="Swift Express"),
            Person("p-old", Role.TENANT, "Former", "5-0301", blocked=True),
        ]
    )
    return s


@pytest.mark.parametrize(
    ("kwargs", "ids", "total"),
    [
        ({}, ["p-chen", "p-li", "p-old", "p-wang", "p-x_y"], 5),
        ({"search": "wang"}, ["p-wang"], 1),  # case-insensitive name
        ({"search": "3-1201"}, ["p-li", "p-wang"], 2),  # unit
        ({"search": "express"}, ["p-x_y"], 1),  # company
        ({"search": "100%"}, ["p-chen"], 1),  # % is a character, not a wildcard
        ({"search": "_"}, ["p-x_y"], 1),  # so is _
        ({"role": Role.TENANT}, ["p-chen", "p-old", "p-wang"], 3),
        ({"flag": "blocked"}, ["p-old"], 1),
        ({"flag": "special_attention", "role": Role.TENANT}, ["p-chen"], 1),
        ({"unit_id": "5-0301"}, ["p-chen", "p-old"], 2),
        ({"limit": 2, "offset": 2}, ["p-old", "p-wang"], 5),
        ({"search": "nobody"}, [], 0),
    ],
)
def test_people_search(register: Store, kwargs: dict, ids: list[str], total: int) -> None:
    page = people_page(register, **kwargs)
    assert [p.id for p in page.rows] == ids
    assert page.total == total


@pytest.mark.parametrize(
    "kwargs", [{"flag": "rent"}, {"offset": -1}, {"limit": 0}, {"flag": "1=1; DROP TABLE x"}]
)
def test_people_search_refuses_bad_input(register: Store, kwargs: dict) -> None:
    with pytest.raises(InvalidValueError):
        people_page(register, **kwargs)
