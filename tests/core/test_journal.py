"""Group commit: every caller gets its own durable row; concurrent callers share commits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import threading

import pytest

from custom_components.community_gate.core.errors import StoreError
from custom_components.community_gate.core.journal import PassageJournal
from custom_components.community_gate.core.model import Direction, Method, Passage, Reason
from custom_components.community_gate.core.store import Store


def _passage(i: int) -> Passage:
    return Passage(
        ts=1_800_000_000.0 + i,
        gate_id=f"gate_{i % 4}",
        direction=Direction.IN,
        method=Method.CARD,
        allowed=i % 3 != 0,
        reason=Reason.GRANTED,
        person_id=f"p{i}",
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


def test_lone_passage_is_committed_and_gets_its_id(db: Path) -> None:
    store = Store.open(db)
    with ThreadPoolExecutor(max_workers=1) as ex:
        journal = PassageJournal(store, ex)
        row = journal.submit(_passage(1)).result(timeout=10)
        assert row.id == 1
        assert journal.commits == 1
        ex.submit(store.close).result()
    reopened = Store.open(db)
    assert reopened.get_passage(1) == row
    reopened.close()


def test_concurrent_gates_share_commits_and_lose_nothing(db: Path) -> None:
    store = Store.open(db)
    gates, per_gate = 16, 40
    results: list[list[Passage]] = [[] for _ in range(gates)]
    with ThreadPoolExecutor(max_workers=1) as ex:
        journal = PassageJournal(store, ex, max_batch=64)
        start = threading.Barrier(gates)

        def gate(g: int) -> None:
            start.wait()
            for k in range(per_gate):
                results[g].append(journal.submit(_passage(g * per_gate + k)).result(timeout=30))

        threads = [threading.Thread(target=gate, args=(g,)) for g in range(gates)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = gates * per_gate
        assert journal.written == total
        # Group commit happened: fewer transactions than passages.
        assert journal.commits < total
        ex.submit(store.close).result()
    ids = [p.id for rs in results for p in rs]
    assert len(set(ids)) == total
    reopened = Store.open(db)
    assert reopened.count_passages() == total
    for rs in results:
        for p in rs:
            assert reopened.get_passage(p.id or 0) == p
    reopened.close()


def test_a_failed_commit_is_reported_to_every_waiter(db: Path) -> None:
    store = Store.open(db)
    with ThreadPoolExecutor(max_workers=1) as ex:
        journal = PassageJournal(store, ex)
        ex.submit(store.close).result()  # the connection is gone under the journal
        futures = [journal.submit(_passage(i)) for i in range(3)]
        for f in futures:
            with pytest.raises(StoreError):
                f.result(timeout=10)
        # The journal is not wedged: it keeps answering (with the same error).
        with pytest.raises(StoreError):
            journal.submit(_passage(9)).result(timeout=10)


def test_a_shut_down_executor_fails_the_caller_instead_of_hanging(db: Path) -> None:
    store = Store.open(db)
    ex = ThreadPoolExecutor(max_workers=1)
    journal = PassageJournal(store, ex)
    ex.shutdown()
    with pytest.raises(RuntimeError):
        journal.submit(_passage(1)).result(timeout=10)
    store.close()


def test_drain_before_close_writes_what_waits_behind_a_commit(db: Path) -> None:
    """The hub closes the store on its own thread. Passages queued behind a running
    commit get their follow-up flush only after that close: ``drain`` writes them first,
    so none is refused."""
    store = Store.open(db)
    release = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as ex:
        ex.submit(release.wait, 10)  # the store's thread is busy while they queue
        journal = PassageJournal(store, ex, max_batch=2)
        futures = [journal.submit(_passage(i)) for i in range(5)]

        def close() -> None:
            journal.drain()
            store.close()

        closed = ex.submit(close)
        release.set()
        closed.result(timeout=10)
        rows = [f.result(timeout=10) for f in futures]
    assert len({r.id for r in rows}) == 5
    reopened = Store.open(db)
    assert reopened.count_passages() == 5
    reopened.close()
