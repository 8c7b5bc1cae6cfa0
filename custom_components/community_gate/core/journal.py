"""Group commit for the passage log.

Each passage must be on disk (fsync) before anyone is told about it, and an fsync costs
0.5-5 ms on ordinary hub storage: one commit per passage caps the log at a few hundred to
a couple of thousand passages per second. Here, passages that arrive while a commit is
in flight wait for the next one and are written together in one transaction, so each
caller still gets its row only after it is durable, a lone passage is committed at once,
and a burst (morning rush, emergency open-all, a reader flood) costs one fsync per batch.

Thread-agnostic: ``submit`` may be called from any thread; commits run on the given
executor, which must be the single thread that owns the store.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
import threading

from .model import Passage
from .store import Store

DEFAULT_MAX_BATCH = 500


class PassageJournal:
    """Durable, batched passage writer on the store's own thread."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        max_batch: int = DEFAULT_MAX_BATCH,
        *,
        episode_window: float = 0.0,
    ) -> None:
        self._store = store
        # Refusals of one subject at one gate within this many seconds fold into one
        # row (core/episodes.py); 0 writes every passage as its own row.
        self.episode_window = episode_window
        self._executor = executor
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[tuple[Passage, Future[Passage]]] = []
        self._scheduled = False
        self.commits = 0
        self.written = 0

    def submit(self, passage: Passage) -> Future[Passage]:
        """Queue a passage; the future resolves to it once committed: with its id, or
        as the episode row it folded into."""
        fut: Future[Passage] = Future()
        with self._lock:
            self._queue.append((passage, fut))
            if self._scheduled:
                return fut
            self._scheduled = True
        try:
            self._executor.submit(self._flush)
        except RuntimeError as err:  # executor shut down: the caller must hear it
            with self._lock:
                self._scheduled = False
                pending, self._queue = self._queue, []
            for _p, f in pending:
                f.set_exception(err)
        return fut

    def drain(self) -> None:
        """Commit everything still queued, now. For the store's own thread just before
        it closes the store: a flush re-queued behind the close would come too late."""
        while True:
            with self._lock:
                if not self._queue:
                    return
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            if not batch:
                self._scheduled = False
                return
        try:
            saved = self._store.add_passages_returning(
                [p for p, _f in batch], episode_window=self.episode_window
            )
        except BaseException as err:  # every waiter must be told, whatever went wrong
            for _p, f in batch:
                f.set_exception(err)
        else:
            self.commits += 1
            self.written += len(saved)
            for (_p, f), row in zip(batch, saved, strict=True):
                f.set_result(row)
        with self._lock:
            more = bool(self._queue)
            if not more:
                self._scheduled = False
        if more:
            # Back of the executor's line: other store work is not starved by a flood.
            try:
                self._executor.submit(self._flush)
            except RuntimeError as err:
                with self._lock:
                    self._scheduled = False
                    pending, self._queue = self._queue, []
                for _p, f in pending:
                    f.set_exception(err)
