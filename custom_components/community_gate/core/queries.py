"""Read-only queries for the staff panel: people search and the paged passage log.

The passage log is paged with a keyset on ``(ts, id)``, newest first, never with OFFSET:
page 10,000 of a 10-million-row log costs what page 1 costs, because every filtered
query walks an index that is already in time order (``passages_ts``, ``passages_gate_ts``,
``passages_person_ts``, ``passages_unit_ts``, ``passages_cluster_ts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
import math
from typing import Any, Final

from .errors import InvalidValueError
from .model import Method, Passage, Person, Role
from .person_fields import PERSON_FIELDS, FieldKind
from .rows import PASSAGE_COLS, PERSON_COLS, passage_from_row, person_from_row
from .store import Store

MAX_PAGE: Final = 200
# The yes/no fields the people list filters on (one at a time).
PERSON_FLAGS: Final = tuple(f.name for f in PERSON_FIELDS if f.kind is FieldKind.FLAG)


@dataclass(frozen=True, slots=True)
class PassageFilter:
    gate_id: str | None = None
    person_id: str | None = None
    unit_id: str | None = None
    cluster_id: str | None = None
    person_name: str | None = None  # part of a name, as staff type it
    method: Method | None = None
    allowed: bool | None = None
    since: float | None = None  # inclusive
    until: float | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class PassagePage:
    rows: list[Passage]
    cursor: str | None  # pass back to get the next (older) page; None at the end


def encode_cursor(p: Passage) -> str:
    return f"{p.ts!r}:{p.id}"


def decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        ts_text, _, id_text = cursor.rpartition(":")
        ts, pid = float(ts_text), int(id_text)
    except ValueError as err:
        raise InvalidValueError("bad cursor", field="cursor") from err
    if not math.isfinite(ts) or pid < 0:
        raise InvalidValueError("bad cursor", field="cursor")
    return ts, pid


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidValueError(f"limit must be 1..{MAX_PAGE}", field="limit")
    return limit


def passage_page(
    store: Store, flt: PassageFilter, *, cursor: str | None = None, limit: int = 50
) -> PassagePage:
    """One page of the log, newest first, matching every given filter."""
    limit = _check_limit(limit)
    where: list[str] = []
    args: list[Any] = []
    for column, value in (
        ("gate_id", flt.gate_id),
        ("person_id", flt.person_id),
        ("unit_id", flt.unit_id),
        ("cluster_id", flt.cluster_id),
    ):
        if value is not None:
            where.append(f"{column}=?")
            args.append(value)
    if flt.person_name:
        where.append("person_id IN (SELECT id FROM people WHERE display_name LIKE ? ESCAPE '\\')")
        args.append(_like(flt.person_name.strip()))
    if flt.method is not None:
        where.append("method=?")
        args.append(Method(flt.method).value)
    if flt.allowed is not None:
        where.append("allowed=?")
        args.append(1 if flt.allowed else 0)
    if flt.since is not None:
        where.append("ts>=?")
        args.append(flt.since)
    if flt.until is not None:
        where.append("ts<?")
        args.append(flt.until)
    if cursor is not None:
        ts, pid = decode_cursor(cursor)
        # "ts <= ?" lets SQLite range-scan the time index; the OR breaks ties on id.
        where.append("ts<=? AND (ts<? OR id<?)")
        args += [ts, ts, pid]
    sql = f"SELECT {PASSAGE_COLS} FROM passages"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts DESC, id DESC LIMIT ?"
    args.append(limit + 1)
    rows = [passage_from_row(r) for r in store.conn.execute(sql, args)]
    more = len(rows) > limit
    rows = rows[:limit]
    return PassagePage(rows, encode_cursor(rows[-1]) if more and rows else None)


def _people_rows(
    store: Store, columns: str, person_ids: Iterable[str | None]
) -> Iterator[tuple[Any, ...]]:
    """``id, <columns>`` of the given people. ``columns`` is a literal from this module,
    never input."""
    ids = sorted({p for p in person_ids if p})
    # Chunks under SQLite's bound-parameter limit.
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        yield from store.conn.execute(
            f"SELECT id, {columns} FROM people WHERE id IN ({marks})", chunk
        )


def names_of(store: Store, person_ids: Iterable[str | None]) -> dict[str, str]:
    """Display names of the given people (for staff views only: never in events,
    states or logs). Unknown or erased ids are simply absent."""
    return {pid: name for pid, name in _people_rows(store, "display_name", person_ids) if name}


def names_and_units_of(
    store: Store, person_ids: Iterable[str | None]
) -> tuple[dict[str, str], dict[str, str]]:
    """``names_of`` and the unit each of them lives in, read once: to name a person as
    staff know them, *Wang Fang (3-1201)*. People with no unit are absent from the
    second."""
    names: dict[str, str] = {}
    units: dict[str, str] = {}
    for pid, name, unit in _people_rows(store, "display_name, unit_id", person_ids):
        if name:
            names[pid] = name
        if unit:
            units[pid] = unit
    return names, units


@dataclass(frozen=True, slots=True)
class PeoplePage:
    rows: list[Person]
    total: int


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def people_page(
    store: Store,
    *,
    search: str | None = None,
    role: Role | None = None,
    flag: str | None = None,
    unit_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> PeoplePage:
    """People matching a search over id, name, company and unit; with the total count.

    OFFSET is fine here: an estate has at most some 100,000 people and staff page
    through a search result, not the whole register."""
    limit = _check_limit(limit)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidValueError("offset must be 0 or more", field="offset")
    where: list[str] = []
    args: list[Any] = []
    if search:
        pattern = _like(search.strip())
        where.append(
            "(id LIKE ? ESCAPE '\\' OR display_name LIKE ? ESCAPE '\\'"
            " OR company LIKE ? ESCAPE '\\' OR unit_id LIKE ? ESCAPE '\\')"
        )
        args += [pattern] * 4
    if role is not None:
        where.append("role=?")
        args.append(Role(role).value)
    if flag is not None:
        if flag not in PERSON_FLAGS:
            raise InvalidValueError("unknown flag", field="flag")
        where.append(f"{flag}=1")
    if unit_id is not None:
        where.append("unit_id=?")
        args.append(unit_id)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = int(store.conn.execute(f"SELECT count(*) FROM people{clause}", args).fetchone()[0])
    rows = store.conn.execute(
        f"SELECT {PERSON_COLS} FROM people{clause} ORDER BY id LIMIT ? OFFSET ?",
        [*args, limit, offset],
    )
    return PeoplePage([person_from_row(r) for r in rows], total)
