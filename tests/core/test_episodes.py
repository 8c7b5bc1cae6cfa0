"""Passage episodes (issue 17, item 2): repeated refusals of one stranger or one refused
person at one gate within the window are one row (first/last seen, count); granted
passages and failed card/PIN tries never fold; a v6 database with rows migrates to 7;
the rules count episodes as they counted passages; retention and erasure cover them.
Real SQLite files, no mocks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
import os
from pathlib import Path
import random
import signal
import sqlite3
import subprocess
import sys

import pytest

from custom_components.community_gate.core import queries
from custom_components.community_gate.core.alerts import Rule
from custom_components.community_gate.core.episodes import (
    DEFAULT_WINDOW_S,
    FAILED_TRY_REASONS,
    MAX_WINDOW_S,
)
from custom_components.community_gate.core.errors import StoreError
from custom_components.community_gate.core.journal import PassageJournal
from custom_components.community_gate.core.model import (
    Direction,
    Method,
    Passage,
    Person,
    Reason,
    Role,
)
from custom_components.community_gate.core.queries import PassageFilter
from custom_components.community_gate.core.rows import PASSAGE_COLS
from custom_components.community_gate.core.rules import (
    FAILED_TRIES,
    SIGHTING_GAP_S,
    RuleEngine,
    RuleParams,
    appearances,
)
from custom_components.community_gate.core.schema import MIGRATIONS, SCHEMA_VERSION
from custom_components.community_gate.core.store import Store

W = DEFAULT_WINDOW_S
T0 = 1_800_000_000.0


def stranger(ts: float, cluster: str = "k1", gate: str = "main", **kw: object) -> Passage:
    args: dict[str, object] = {
        "ts": ts,
        "gate_id": gate,
        "direction": Direction.IN,
        "method": Method.FACE,
        "allowed": False,
        "reason": Reason.UNKNOWN_CREDENTIAL,
        "cluster_id": cluster,
    }
    return Passage(**(args | kw))  # type: ignore[arg-type]


def refused(ts: float, person: str = "alice", **kw: object) -> Passage:
    args: dict[str, object] = {
        "ts": ts,
        "gate_id": "main",
        "direction": Direction.IN,
        "method": Method.CARD,
        "allowed": False,
        "reason": Reason.OUTSIDE_SCHEDULE,
        "person_id": person,
        "unit_id": "a101",
        "credential_id": "cred_alice",
    }
    return Passage(**(args | kw))  # type: ignore[arg-type]


def granted(ts: float, person: str = "alice", gate: str = "main") -> Passage:
    return Passage(
        ts, gate, Direction.IN, Method.CARD, True, Reason.GRANTED, person, "a101", "cred_alice"
    )


def bad_pin(ts: float, gate: str = "main") -> Passage:
    return Passage(ts, gate, Direction.IN, Method.PIN, False, Reason.UNKNOWN_CREDENTIAL)


def write(store: Store, *passages: Passage, window: float = W) -> list[Passage]:
    return [store.add_passage(p, episode_window=window) for p in passages]


def rows(store: Store) -> list[Passage]:
    return list(reversed(store.recent_passages(limit=1000)))


# ------------------------------------------------------------------- folding
def test_a_loitering_stranger_is_one_row_with_first_last_and_count(estate: Store) -> None:
    out = write(estate, *(stranger(T0 + 10 * i) for i in range(6)))
    [row] = rows(estate)
    assert (row.ts, row.last_seen, row.count) == (T0, T0 + 50, 6)
    assert row.seen == T0 + 50
    # Each presentation was answered with the row as it then stood.
    assert [p.id for p in out] == [row.id] * 6
    assert [p.count for p in out] == [1, 2, 3, 4, 5, 6]
    assert out[0].last_seen is None
    assert out[-1] == row


def test_the_window_runs_from_the_latest_sighting(estate: Store) -> None:
    # 55 s apart each: all within the window of the one before, 2.5 minutes in all.
    write(estate, *(stranger(T0 + 55 * i) for i in range(4)))
    [row] = rows(estate)
    assert (row.count, row.seen - row.ts) == (4, 165)


def test_a_new_row_after_the_window(estate: Store) -> None:
    write(estate, stranger(T0), stranger(T0 + 10), stranger(T0 + 10 + W), stranger(T0 + 80))
    assert [(p.ts, p.count) for p in rows(estate)] == [(T0, 2), (T0 + 10 + W, 2)]


def test_window_zero_is_off(estate: Store) -> None:
    write(estate, *(stranger(T0 + i) for i in range(3)), window=0)
    assert [p.count for p in rows(estate)] == [1, 1, 1]


@pytest.mark.parametrize(
    "other",
    [
        stranger(T0 + 5, gate="door-a"),
        stranger(T0 + 5, cluster="k2"),
        stranger(T0 + 5, reason=Reason.METHOD_NOT_ACCEPTED),
        stranger(T0 + 5, direction=Direction.OUT),
        stranger(T0 + 5, flags=("face_ambiguous",)),
        refused(T0 + 5, person="bob", cluster_id=None),
    ],
    ids=["gate", "cluster", "reason", "direction", "flags", "subject"],
)
def test_a_different_gate_reason_or_subject_is_not_folded(estate: Store, other: Passage) -> None:
    write(estate, stranger(T0), other)
    assert [p.count for p in rows(estate)] == [1, 1]


def test_another_presence_in_between_ends_the_episode(estate: Store) -> None:
    # The same stranger at another gate, then back: two presences at main.
    write(estate, stranger(T0), stranger(T0 + 10, gate="door-a"), stranger(T0 + 20))
    assert [(p.gate_id, p.count) for p in rows(estate)] == [
        ("main", 1),
        ("door-a", 1),
        ("main", 1),
    ]


def test_a_refused_person_folds_by_person_and_credential(estate: Store) -> None:
    write(estate, refused(T0), refused(T0 + 8), refused(T0 + 16))
    write(estate, refused(T0 + 20, credential_id="cred_other", method=Method.ID_CARD))
    assert [(p.method, p.count) for p in rows(estate)] == [(Method.CARD, 3), (Method.ID_CARD, 1)]


def test_granted_passages_never_fold(estate: Store) -> None:
    write(estate, *(granted(T0 + i) for i in range(4)))
    assert [p.count for p in rows(estate)] == [1, 1, 1, 1]


def test_an_opening_at_the_gate_ends_the_episode(estate: Store) -> None:
    """Someone passed: the stranger's next sighting may be a tailgate, so it is a new
    row next to the opening (whoever opened it)."""
    write(estate, stranger(T0), stranger(T0 + 10), granted(T0 + 15, person="bob"))
    write(estate, stranger(T0 + 17), stranger(T0 + 27))
    assert [(p.allowed, p.count) for p in rows(estate)] == [(False, 2), (True, 1), (False, 2)]


def test_a_person_granted_in_between_is_a_new_refusal_row(estate: Store) -> None:
    write(estate, refused(T0), granted(T0 + 10), refused(T0 + 20))
    assert [p.count for p in rows(estate)] == [1, 1, 1]


def test_failed_card_and_pin_tries_are_never_folded(estate: Store) -> None:
    """brute_force counts every failed try: neither a subject-less guess nor a try that
    carries a person (it cannot today, but the reason alone keeps it a row)."""
    assert {r.value for r in FAILED_TRY_REASONS} == set(FAILED_TRIES)
    tries = [bad_pin(T0 + i) for i in range(5)]
    tries += [refused(T0 + 5 + i, reason=r) for i, r in enumerate(sorted(FAILED_TRY_REASONS))]
    write(estate, *tries, window=MAX_WINDOW_S)
    assert [p.count for p in rows(estate)] == [1] * 8


def test_an_unknown_face_refused_as_unknown_credential_still_folds(estate: Store) -> None:
    # The face path's "unknown" reason is the card's, but faces are not brute_force's.
    write(estate, stranger(T0), stranger(T0 + 3))
    assert [p.count for p in rows(estate)] == [2]


def test_a_repeat_out_of_order_is_a_row_of_its_own(estate: Store) -> None:
    write(estate, stranger(T0 + 10), stranger(T0))
    assert [p.count for p in rows(estate)] == [1, 1]


# ---------------------------------------------------------- durability
def test_a_batch_folds_in_its_own_commit_and_survives_reopening(db_path: Path) -> None:
    store = Store.open(db_path)  # durable: synchronous=FULL, as the hub opens it
    with ThreadPoolExecutor(max_workers=1) as ex:
        journal = PassageJournal(store, ex, episode_window=W)
        futures = [journal.submit(stranger(T0 + 10 * i)) for i in range(5)]
        futures.append(journal.submit(bad_pin(T0 + 1)))
        results = [f.result(timeout=10) for f in futures]
        ex.submit(store.close).result()
    episode = results[4]
    assert episode.count == 5
    assert {r.id for r in results[:5]} == {episode.id}
    reopened = Store.open(db_path)
    try:
        assert reopened.get_passage(episode.id or 0) == episode
        assert reopened.count_passages() == 2
    finally:
        reopened.close()


def test_a_failed_episode_update_rolls_back_with_its_batch(estate: Store) -> None:
    [first] = write(estate, stranger(T0))
    # A batch with a row the database refuses (NOT NULL gate): nothing of it is kept,
    # the episode's count included.
    broken = replace(stranger(T0 + 20), gate_id=None)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        estate.add_passages_returning([stranger(T0 + 10), broken], episode_window=W)
    assert rows(estate) == [first]


# -------------------------------------------------------------- migration
def test_a_version_6_database_with_rows_migrates_to_7(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        "BEGIN;\n" + "\n".join(MIGRATIONS[:6]) + "\nPRAGMA user_version = 6;\nCOMMIT;"
    )
    conn.executemany(
        "INSERT INTO passages (ts, gate_id, direction, method, allowed, reason, person_id,"
        " unit_id, credential_id, distance, cluster_id, flags, note)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (T0, "main", "in", "card", 1, "granted", "alice", "a101", "c1", None, None, "", None),
            (T0 + 5, "main", "in", "face", 0, "unknown_credential", None, None, None, 0.7, "k1",
             "", None),
        ],
    )  # fmt: skip
    conn.close()
    store = Store.open(path)
    try:
        assert store.schema_version == SCHEMA_VERSION >= 7
        old = rows(store)
        assert [(p.count, p.last_seen, p.seen) for p in old] == [(1, None, T0), (1, None, T0 + 5)]
        assert (old[1].distance, old[1].cluster_id) == (0.7, "k1")
        # The stranger seen again: the row written before the upgrade is the episode.
        [again] = write(store, stranger(T0 + 15))
        assert (again.id, again.count, again.ts, again.last_seen) == (old[1].id, 2, T0 + 5, T0 + 15)
    finally:
        store.close()
    # And the migrated file is what a fresh one is.
    fresh = Store.open(tmp_path / "fresh.db")
    try:
        cols = [r[1] for r in fresh.conn.execute("PRAGMA table_info(passages)")]
    finally:
        fresh.close()
    conn = sqlite3.connect(path)
    try:
        assert [r[1] for r in conn.execute("PRAGMA table_info(passages)")] == cols
    finally:
        conn.close()


# ------------------------------------------------------------------- rules
def test_the_window_never_exceeds_the_rules_sighting_gap() -> None:
    assert DEFAULT_WINDOW_S <= MAX_WINDOW_S <= SIGHTING_GAP_S


def test_appearances_over_episode_spans() -> None:
    g = SIGHTING_GAP_S
    # An episode that lasted long, then a row that starts soon after its LAST sighting:
    # one appearance, as the sightings one by one would be.
    assert appearances([(0, 2 * g), (2 * g + 10, 2 * g + 10)]) == 1
    assert appearances([(0, 2 * g), (3 * g, 3 * g)]) == 2
    # Overlapping rows (two gates): the later-ending one carries the presence on.
    assert appearances([(0, g * 1.5), (10, 20), (g * 1.5 + 30, g * 1.5 + 30)]) == 1


def _engine_run(store: Store, passages: list[Passage], window: float) -> set[tuple[Rule, str]]:
    engine = RuleEngine(store, RuleParams(frequent_stranger_count=3, tailgating_count=2))
    found: set[tuple[Rule, str]] = set()
    for p in passages:
        found |= {
            (a.rule, a.subject_id) for a in engine.on_passage(write(store, p, window=window)[0])
        }
    return found


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_rules_find_the_same_strangers_with_and_without_episodes(tmp_path: Path, seed: int) -> None:
    """Random sightings of a few strangers (bursts of loitering, single tries, some
    behind a resident) over days: unknown_face, frequent_stranger and tailgating raise
    for the same strangers whether repeats fold (largest window) or not."""
    rng = random.Random(seed)
    events: list[Passage] = []
    day = 86400.0
    for k in range(4):
        for _ in range(rng.randint(2, 6)):
            t = T0 + rng.uniform(0, 6) * day
            behind = rng.random() < 0.4
            if behind:
                events.append(
                    Passage(t - 2, "main", Direction.IN, Method.CARD, True, Reason.GRANTED, "alice")
                )
            for i in range(rng.randint(1, 12)):
                events.append(stranger(t + i * rng.uniform(5, 50), cluster=f"k{k}"))
    events.sort(key=lambda p: p.ts)
    found, logged = {}, {}
    for window in (0.0, MAX_WINDOW_S):
        store = Store.open(tmp_path / f"w{window:g}.db", durable=False)
        try:
            store.add_person(Person("alice", Role.TENANT))
            found[window] = _engine_run(store, events, window)
            logged[window] = store.count_passages()
        finally:
            store.close()
    assert found[0.0] == found[MAX_WINDOW_S]
    assert {r for r, _s in found[0.0]} >= {Rule.UNKNOWN_FACE}
    assert logged[MAX_WINDOW_S] < logged[0.0] == len(events)  # repeats did fold


def test_brute_force_still_found_among_repeated_bad_pins(estate: Store) -> None:
    engine = RuleEngine(estate, RuleParams(brute_force_count=5, brute_force_seconds=60))
    raised = []
    for i in range(5):
        raised += engine.on_passage(write(estate, bad_pin(T0 + 2 * i), window=MAX_WINDOW_S)[0])
    assert [a.rule for a in raised] == [Rule.BRUTE_FORCE]
    assert raised[0].evidence["count"] == 5
    assert estate.count_passages() == 5


def test_a_long_refused_presence_counts_as_seen_until_its_last_sighting(estate: Store) -> None:
    """special_attention / long_absence read a person's latest sighting, which for an
    episode is its last_seen, not its first."""
    estate.update_person("alice", special_attention=True)
    hours = 48
    start = T0 - hours * 3600 - 120
    write(estate, *(refused(start + 50 * i) for i in range(6)))  # until start + 250 s
    engine = RuleEngine(estate, RuleParams(special_attention_hours=hours))
    assert engine.sweep(start + hours * 3600 + 200) == []
    assert [a.rule for a in engine.sweep(start + hours * 3600 + 300)] == [Rule.SPECIAL_ATTENTION]


# ------------------------------------------------- retention, erasure, panel
def test_retention_keeps_an_episode_until_its_last_sighting_is_old(estate: Store) -> None:
    write(estate, stranger(T0), stranger(T0 + 50), stranger(T0 + 100), stranger(T0 + 300))
    assert [p.count for p in rows(estate)] == [3, 1]
    assert estate.purge_passages(T0 + 80) == 0  # the episode's last sighting is newer
    assert estate.purge_passages(T0 + 150) == 1  # the lone row at T0 + 300 stays
    assert [p.ts for p in rows(estate)] == [T0 + 300]


def test_erasure_pseudonymises_an_episode_and_keeps_its_count(estate: Store) -> None:
    write(estate, refused(T0), refused(T0 + 10), refused(T0 + 20))
    estate.erase_person("alice", "erased_0001")
    [row] = rows(estate)
    assert (row.person_id, row.credential_id, row.count, row.last_seen) == (
        "erased_0001",
        None,
        3,
        T0 + 20,
    )


def test_the_panel_page_shows_count_first_and_last(estate: Store) -> None:
    write(estate, granted(T0 - 100), *(stranger(T0 + 10 * i) for i in range(4)))
    page = queries.passage_page(estate, PassageFilter(cluster_id="k1"))
    [row] = page.rows
    assert (row.count, row.ts, row.seen) == (4, T0, T0 + 30)


# A child process writes refusals of one stranger through the journal (durable store)
# and prints each acknowledgement; it is killed -9 mid-stream. Every acknowledged
# presentation must be in the file: the episode's count at least the last acknowledged.
_WRITER = """
import sys
from concurrent.futures import ThreadPoolExecutor
from custom_components.community_gate.core.journal import PassageJournal
from custom_components.community_gate.core.model import Direction, Method, Passage, Reason
from custom_components.community_gate.core.store import Store

store = Store.open(sys.argv[1])
with ThreadPoolExecutor(max_workers=1) as ex:
    journal = PassageJournal(store, ex, episode_window=60.0)
    i = 0
    while True:
        p = Passage(1_800_000_000.0 + i * 0.01, "main", Direction.IN, Method.FACE, False,
                    Reason.UNKNOWN_CREDENTIAL, cluster_id="k%d" % (i // 20))
        row = journal.submit(p).result()
        print(row.id, row.count, flush=True)
        i += 1
"""


def test_acknowledged_repeats_survive_a_kill_9(db_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    acked: dict[int, int] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            pid, count = map(int, line.split())
            acked[pid] = count
            if sum(acked.values()) >= 45:  # into the third episode
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    store = Store.open(db_path)
    try:
        stored = {p.id: p.count for p in store.recent_passages(limit=100)}
    finally:
        store.close()
    assert len(acked) == 3
    for pid, count in acked.items():
        assert stored[pid] >= count


@pytest.mark.parametrize("column", ["cluster_id", "person_id"])
def test_finding_the_open_episode_walks_an_index(estate: Store, column: str) -> None:
    """The look-up runs on the gate path (inside the commit): an index search from the
    subject's newest row, never a scan or a sort of the log."""
    plan = " ".join(
        str(r[3])
        for r in estate.conn.execute(
            f"EXPLAIN QUERY PLAN SELECT {PASSAGE_COLS} FROM passages WHERE {column}=?"
            " ORDER BY ts DESC, id DESC LIMIT 1",
            ("x",),
        )
    )
    assert f"USING INDEX passages_{column.removesuffix('_id')}_ts" in plan
    assert "TEMP B-TREE" not in plan
