"""The centre view names what staff know (issue 17, item 1, at the command centre):
gates by the name their estate gave them, people by name only where their estate
shares names, with their unit; ids are all an estate that does not share sends."""

from __future__ import annotations

from pathlib import Path
import time

from custom_components.community_gate.core import central_schema as cs, centre
from custom_components.community_gate.core.model import (
    Direction,
    Gate,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    Unit,
)
from custom_components.community_gate.core.outbox import SharePolicy
from custom_components.community_gate.core.store import Store
from tests.central.hubkit import Hub, connect, drained, wait_until


def _estate(s: Store) -> None:
    s.upsert_gate(Gate("main", "Main gate"))
    s.add_unit(Unit("3-1201", "3", "1201"))
    s.add_person(Person("p-wang", Role.TENANT, "Wang Fang", unit_id="3-1201"))
    s.add_person(Person("p-guard", Role.STAFF, "Guard Zhou"))
    for who in ("p-wang", "p-guard"):
        unit = "3-1201" if who == "p-wang" else None
        s.add_passage(
            Passage(
                time.time() - 10,
                "main",
                Direction.IN,
                Method.CARD,
                True,
                Reason.GRANTED,
                person_id=who,
                unit_id=unit,
            )
        )


async def test_gates_are_named_and_people_only_where_names_are_shared(
    tmp_path: Path, postgres_dsn: str
) -> None:
    named = Hub(tmp_path / "n.db", "names-shared", postgres_dsn, share=SharePolicy(names=True))
    anon = Hub(tmp_path / "a.db", "names-kept", postgres_dsn)
    hubs = (named, anon)
    try:
        for hub in hubs:
            await hub.call(_estate)
            await hub.start()
        for hub in hubs:
            await wait_until(lambda hub=hub: drained(hub), f"{hub.code} to drain")
        conn = await connect(postgres_dsn)
        try:
            pages = {h.code: await centre.passages_page(conn, h.code, None) for h in hubs}
            assert {code: len(rows) for code, rows in pages.items()} == {
                "names-shared": 2,
                "names-kept": 2,
            }
            rows = [p for code in pages for p in pages[code]]
            names = await centre.directory_names(
                conn,
                {(p.estate, p.gate_id) for p in rows} | {("names-kept", "gone")},
                {(p.estate, p.person_id) for p in rows} | {("names-kept", None)},
            )
        finally:
            await conn.close()
    finally:
        for hub in hubs:
            await hub.close()
    # Gates are the estate's equipment: named wherever they are; an unknown id is absent.
    assert names.gates == {
        ("names-shared", "main"): "Main gate",
        ("names-kept", "main"): "Main gate",
    }
    # A name crosses only from the estate that shares names.
    assert names.people == {
        ("names-shared", "p-wang"): "Wang Fang",
        ("names-shared", "p-guard"): "Guard Zhou",
    }
    # Units are directory fields every estate sends; staff have none.
    assert names.units == {("names-shared", "p-wang"): "3-1201", ("names-kept", "p-wang"): "3-1201"}


async def test_an_empty_page_needs_no_names(postgres_dsn: str) -> None:
    conn = await connect(postgres_dsn)
    try:
        await cs.ensure_schema(conn)
        names = await centre.directory_names(conn, set(), set())
    finally:
        await conn.close()
    assert (names.gates, names.people, names.units) == ({}, {}, {})
