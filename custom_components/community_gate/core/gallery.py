"""1:N face matching over every enrolled embedding, vectorised.

All references live in one float32 matrix that grows by doubling (amortised O(1) add)
and shrinks by swapping the last row into a removed slot (O(1) remove, no rebuild). Their
squared norms are kept beside them, so a match is one matrix-vector product:
``||x - y||² = ||y||² - 2 x·y + ||x||²`` (~4.6 ms over 100,000 references on 2 cores).

A person may have several references (plain, masked, older photos): the decision uses
each person's *best* distance. The k nearest rows are found with ``argpartition`` and
people are resolved among those only, never by a Python loop over all rows. A probe is
accepted when the best person is within the threshold *and* the next person is at least
``margin`` further away; within the margin it is ``ambiguous`` and refused.

Not thread-safe by itself: a lock serialises mutations and matches, so the hub may add
from one thread and match from another.
"""

from __future__ import annotations

from collections.abc import Iterable, KeysView
from dataclasses import dataclass
import math
import sys
import threading
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .faces import DEFAULT_THRESHOLD

MATCH: Final = "match"
NO_MATCH: Final = "no_match"
AMBIGUOUS: Final = "ambiguous"
EMPTY: Final = "empty"

_INITIAL_CAPACITY: Final = 64
# Rows examined per person wanted; widened automatically when one person fills them.
_ROWS_PER_PERSON: Final = 8


@dataclass(frozen=True, slots=True)
class Match:
    """The outcome of a 1:N match.

    ``person_id`` is the *nearest* person even when not accepted (for logs and the
    duplicate check): ``accepted`` is the decision. ``matched_person`` is the person only
    when accepted. Distances are euclidean; ``inf`` when there is nobody.
    """

    person_id: str | None
    distance: float
    embedding_id: str | None
    second_person_id: str | None
    second_distance: float
    accepted: bool
    reason: str

    @property
    def matched_person(self) -> str | None:
        return self.person_id if self.accepted else None


class Gallery:
    """Enrolled face references of one estate, for 1:N matching."""

    def __init__(
        self, dims: int = 128, *, threshold: float = DEFAULT_THRESHOLD, margin: float = 0.05
    ) -> None:
        if dims <= 0:
            raise ValueError("dims must be positive")
        self.dims = dims
        self.threshold = threshold
        self.margin = margin
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._vectors = np.zeros((_INITIAL_CAPACITY, self.dims), dtype=np.float32)
        self._norms = np.zeros(_INITIAL_CAPACITY, dtype=np.float32)
        self._owner = np.zeros(_INITIAL_CAPACITY, dtype=np.int32)  # row -> person code
        self._ids: list[str] = []  # row -> embedding id
        self._row: dict[str, int] = {}  # embedding id -> row
        self._code: dict[str, int] = {}  # person id -> code
        self._people: list[str | None] = []  # code -> person id (None: free code)
        self._count: list[int] = []  # code -> references
        self._free: list[int] = []
        self._n = 0
        self.version = getattr(self, "version", 0) + 1  # bumped by every change of rows

    # ----------------------------------------------------------------- settings
    @property
    def threshold(self) -> float:
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        if not math.isfinite(value) or value <= 0:
            raise ValueError("threshold must be a positive number")
        self._threshold = float(value)

    @property
    def margin(self) -> float:
        return self._margin

    @margin.setter
    def margin(self, value: float) -> None:
        if not math.isfinite(value) or value < 0:
            raise ValueError("margin must be a number >= 0")
        self._margin = float(value)

    # ------------------------------------------------------------------ content
    def __len__(self) -> int:
        return self._n

    def __contains__(self, embedding_id: object) -> bool:
        return embedding_id in self._row

    @property
    def persons(self) -> int:
        return len(self._code)

    def has_person(self, person_id: str) -> bool:
        return person_id in self._code

    def people(self) -> list[str]:
        return list(self._code)

    def person_ids(self) -> KeysView[str]:
        """A live view of the enrolled people (set operations without copying)."""
        return self._code.keys()

    def person_of(self, embedding_id: str) -> str | None:
        row = self._row.get(embedding_id)
        return None if row is None else self._people[int(self._owner[row])]

    def embeddings_of(self, person_id: str) -> list[str]:
        code = self._code.get(person_id)
        if code is None:
            return []
        rows = np.flatnonzero(self._owner[: self._n] == code)
        return [self._ids[int(r)] for r in rows]

    def memory_bytes(self) -> int:
        """Bytes held: the matrices (at capacity) plus the id indexes and their strings."""
        arrays = self._vectors.nbytes + self._norms.nbytes + self._owner.nbytes
        index = (
            sys.getsizeof(self._ids)
            + sys.getsizeof(self._row)
            + sys.getsizeof(self._code)
            + sys.getsizeof(self._people)
            + sys.getsizeof(self._count)
        )
        strings = sum(sys.getsizeof(s) for s in self._ids) + sum(
            sys.getsizeof(s) for s in self._code
        )
        return arrays + index + strings

    # ----------------------------------------------------------------- mutation
    def add(self, embedding_id: str, person_id: str, vector: npt.NDArray[Any]) -> None:
        """Add one reference. A duplicate ``embedding_id`` raises ValueError."""
        vec = self._vector(vector)
        with self._lock:
            self._add(embedding_id, person_id, vec)

    def add_many(self, items: Iterable[tuple[str, str, npt.NDArray[Any]]]) -> int:
        """Add references in bulk (start-up load); returns how many were added. Stops at
        the first invalid or duplicate item with ValueError (those before it stay)."""
        added = 0
        with self._lock:
            for embedding_id, person_id, vector in items:
                self._add(embedding_id, person_id, self._vector(vector))
                added += 1
        return added

    def remove(self, embedding_id: str) -> bool:
        """Remove one reference (swap-with-last). False if it was not there."""
        with self._lock:
            return self._remove(embedding_id)

    def remove_person(self, person_id: str) -> int:
        """Remove every reference of a person; returns how many."""
        with self._lock:
            code = self._code.get(person_id)
            if code is None:
                return 0
            rows = np.flatnonzero(self._owner[: self._n] == code)
            ids = [self._ids[int(r)] for r in rows]
            for embedding_id in ids:
                self._remove(embedding_id)
            return len(ids)

    def clear(self) -> None:
        """Forget every reference (settings stay)."""
        with self._lock:
            self._reset()

    # ----------------------------------------------------------------- matching
    def match(self, vector: npt.NDArray[Any], *, threshold: float | None = None) -> Match:
        """Best person for a probe, with the margin to the second person. ``threshold``
        (stricter than the gallery's own, never looser) is the bar for this one match:
        the gate's, set for how many people may pass it (``recognition.py``)."""
        limit = self._threshold if threshold is None else min(threshold, self._threshold)
        probe = self._vector(vector)
        with self._lock:
            if self._n == 0:
                return Match(None, math.inf, None, None, math.inf, False, EMPTY)
            best = self._best_people(probe, 2)
            (person, distance, row) = best[0]
            embedding_id = self._ids[row]
        second_person, second_distance = (
            (best[1][0], best[1][1]) if len(best) > 1 else (None, math.inf)
        )
        if distance > limit:
            accepted, reason = False, NO_MATCH
        elif second_distance - distance < self._margin:
            accepted, reason = False, AMBIGUOUS
        else:
            accepted, reason = True, MATCH
        return Match(
            person, distance, embedding_id, second_person, second_distance, accepted, reason
        )

    def verify(
        self, vector: npt.NDArray[Any], person_id: str, *, threshold: float | None = None
    ) -> Match:
        """1:1: is the probe ``person_id``? Their nearest reference against the bar, and
        nobody else's: a card (or another credential) already named the person, so no
        margin to a second person applies. ``threshold`` as for ``match``."""
        limit = self._threshold if threshold is None else min(threshold, self._threshold)
        probe = self._vector(vector)
        with self._lock:
            code = self._code.get(person_id)
            if code is None:
                return Match(None, math.inf, None, None, math.inf, False, EMPTY)
            # Only that person's rows: the 1:1 check costs their references, not the
            # whole gallery's (a 1:N search may follow it on the same frame).
            rows = np.flatnonzero(self._owner[: self._n] == code)
            d2 = np.einsum("ij,j->i", self._vectors[rows], probe)
            d2 *= -2.0
            d2 += self._norms[rows]
            d2 += np.dot(probe, probe)
            np.maximum(d2, 0.0, out=d2)
            best = int(np.argmin(d2))
            distance = float(np.sqrt(d2[best]))
            embedding_id = self._ids[int(rows[best])]
        accepted = distance <= limit
        reason = MATCH if accepted else NO_MATCH
        return Match(person_id, distance, embedding_id, None, math.inf, accepted, reason)

    def nearest_people(self, vector: npt.NDArray[Any], k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` nearest people (best reference each), nearest first: the 1:N
        duplicate check at enrollment."""
        if k <= 0:
            return []
        probe = self._vector(vector)
        with self._lock:
            if self._n == 0:
                return []
            return [(p, d) for p, d, _row in self._best_people(probe, k)]

    # ---------------------------------------------------------------- internals
    def _vector(self, vector: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        vec = np.asarray(vector, dtype=np.float32)
        if vec.shape != (self.dims,):
            raise ValueError(f"expected a vector of {self.dims} numbers, got shape {vec.shape}")
        if not np.all(np.isfinite(vec)):
            raise ValueError("vector has non-finite values")
        return vec

    def _add(self, embedding_id: str, person_id: str, vec: npt.NDArray[np.float32]) -> None:
        if embedding_id in self._row:
            raise ValueError(f"duplicate embedding id {embedding_id!r}")
        if self._n == len(self._norms):
            self._grow()
        code = self._code.get(person_id)
        if code is None:
            if self._free:
                code = self._free.pop()
                self._people[code] = person_id
                self._count[code] = 0
            else:
                code = len(self._people)
                self._people.append(person_id)
                self._count.append(0)
            self._code[person_id] = code
        row = self._n
        self._vectors[row] = vec
        self._norms[row] = np.dot(vec, vec)
        self._owner[row] = code
        self._ids.append(embedding_id)
        self._row[embedding_id] = row
        self._count[code] += 1
        self._n += 1
        self.version += 1

    def _grow(self) -> None:
        capacity = max(_INITIAL_CAPACITY, 2 * len(self._norms))
        vectors = np.zeros((capacity, self.dims), dtype=np.float32)
        vectors[: self._n] = self._vectors[: self._n]
        norms = np.zeros(capacity, dtype=np.float32)
        norms[: self._n] = self._norms[: self._n]
        owner = np.zeros(capacity, dtype=np.int32)
        owner[: self._n] = self._owner[: self._n]
        self._vectors, self._norms, self._owner = vectors, norms, owner

    def _remove(self, embedding_id: str) -> bool:
        row = self._row.pop(embedding_id, None)
        if row is None:
            return False
        code = int(self._owner[row])
        last = self._n - 1
        if row != last:
            self._vectors[row] = self._vectors[last]
            self._norms[row] = self._norms[last]
            self._owner[row] = self._owner[last]
            moved = self._ids[last]
            self._ids[row] = moved
            self._row[moved] = row
        self._ids.pop()
        self._vectors[last] = 0.0
        self._n = last
        self.version += 1
        self._count[code] -= 1
        if self._count[code] == 0:
            person = self._people[code]
            if person is not None:
                del self._code[person]
            self._people[code] = None
            self._free.append(code)
        return True

    def _squared(self, probe: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        n = self._n
        # einsum, not @: a BLAS matrix-vector product leaves OpenBLAS worker threads
        # spinning after each match (a whole core on a hub); einsum is single-threaded
        # and about as fast at 100k x 128.
        d2: npt.NDArray[np.float32] = np.einsum("ij,j->i", self._vectors[:n], probe)
        d2 *= -2.0
        d2 += self._norms[:n]
        d2 += np.dot(probe, probe)
        np.maximum(d2, 0.0, out=d2)  # float32 rounding can dip just below zero
        return d2

    def _best_people(self, probe: npt.NDArray[np.float32], k: int) -> list[tuple[str, float, int]]:
        """(person, exact distance, best row) of the ``k`` nearest people, nearest first.

        Among the m nearest rows, the first k distinct owners in distance order are the
        k nearest people: a person whose best row is not among them is further than all
        of them. m starts at ``8 k`` and widens only if those rows hold fewer than k
        people (one person with many references); the work stays O(n) numpy.
        """
        n = self._n
        d2 = self._squared(probe)
        people_wanted = min(k, len(self._code))
        m = min(n, max(_ROWS_PER_PERSON * k, 16))
        while True:
            if m < n:
                rows = np.argpartition(d2, m - 1)[:m]
                rows = rows[np.argsort(d2[rows], kind="stable")]
            else:
                rows = np.argsort(d2, kind="stable")
            owners = self._owner[rows]
            _codes, first = np.unique(owners, return_index=True)
            if len(first) >= people_wanted or m >= n:
                break
            m = min(n, 4 * m)
        picked = rows[np.sort(first)[:people_wanted]]
        out = []
        for row in picked:
            r = int(row)
            person = self._people[int(self._owner[r])]
            assert person is not None
            # Exact distance for the reported rows (float64): the float32 expansion is
            # only used to rank.
            diff = self._vectors[r].astype(np.float64) - probe.astype(np.float64)
            out.append((person, float(np.sqrt(np.dot(diff, diff))), r))
        out.sort(key=lambda item: item[1])
        return out
