"""Incremental clustering of unknown-face embeddings ("stranger clusters").

An unknown face at a gate is logged with a cluster id so the same stranger is
recognisable across days without any photo or name (DESIGN §3 Passage; the
``tailgating`` and ``frequent_stranger`` rules of §4 count by that id). Only the
centroid of a cluster is kept, never the individual embeddings.

Each embedding is compared with every cluster centroid in one vectorised pass (a
float32 matrix with precomputed squared norms, like the gallery). The nearest
centroid within ``threshold`` takes the sighting and moves towards it as a running
mean whose weight is capped at ``MAX_WEIGHT`` sightings: the first 20 sightings form a
true mean, later ones an exponential average, so the centroid follows slow changes
(beard, glasses, season) yet one odd frame cannot drag an established cluster far.
Anything further away starts a new cluster with a random, non-guessable id.

"Within threshold" allows for how well a centroid is known. A young cluster's centroid
is one or two photos, each off the person's true centre by the sighting spread ``s``;
a mean of many sits on it. For a new photo of the same person the expected squared
distance is ``s**2 * (1 + 1/n)`` for a centroid of ``n`` sightings, so the test is
``d**2 - sighting_var / n <= threshold**2``: a second sighting may be up to
``sqrt(threshold**2 + sighting_var)`` (0.570 with the defaults) from a one-photo
cluster, while an established cluster is held to ``threshold`` itself. The same
corrected distance picks the nearest cluster. ``sighting_var=0`` gives the plain
nearest-centroid rule.

Bounded by construction: at ``max_clusters`` the least recently seen cluster is
evicted; ``expire`` drops clusters not seen since a cut-off (privacy: unknown faces
are kept 30 days by default); the per-cluster set of days seen is pruned to the same
window. Rows are removed in O(1) by moving the last row into the hole, and the
matrix grows by doubling up to ``max_clusters``.

Not thread-safe: every call must come from one thread (the hub's face worker, or
whatever single executor owns it); the class takes no locks.

Persistence: ``drain_changes()`` yields what to upsert and delete since the last call
(shaped for ``Store.save_clusters``), ``export()`` everything, and ``restore()``
rebuilds at start-up. Centroids are biometric data: the HA side seals them at rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
import math
import secrets

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
_Int64Array = npt.NDArray[np.int64]
_Float64Array = npt.NDArray[np.float64]

# Default match threshold (Euclidean distance between dlib 128-d encodings) and the
# sighting spread behind the young-cluster allowance (module docstring).
# Measured on ../shared/faces with core.faces.DlibEngine (HOG upsample 0, as at the gate;
# the 79 photos holding one face, 12 identities); upsample 1 and face_recognition agree
# within 0.02:
#   genuine pairs  (279): median 0.332, p95 0.476, p99 0.539, max 0.569
#   impostor pairs (2802): min 0.622, p0.1 0.654, median 0.869
#   nearest impostor photo to another identity's mean encoding: 0.614
#   sighting spread E|photo - person's mean|^2, per identity: 0.040-0.111, mean 0.074
# Replaying all 79 photos through this clusterer in 300-500 random orders, extra (split)
# clusters per run: plain rule at 0.45: 2.7, at 0.50: 1.1, at 0.55: 0.07; flat 0.60
# already put two people in one cluster (0.003 per run). 0.50 with the allowance below:
# 0.002 splits per run, never two people in one cluster.
# The two errors are not equal. A split stranger (two ids for one face) only delays a
# frequent_stranger / tailgating alert. A merged pair (one id for two faces) blames one
# stranger for another's visits, cannot be undone in the log, and grows likelier with
# every cluster kept (an estate sees hundreds of strangers a month, and dlib's impostor
# distances run shorter for some groups of faces than in this set). Nearly all splits
# happen at the second sighting, against a one-photo centroid: two photos of one person
# differ by up to 0.57, while a photo is at most ~0.4 from its person's mean.
# So: 0.50 for an established cluster, a 0.11 margin below the nearest impostor to a
# mean (0.614), and up to sqrt(0.50^2 + 0.075) = 0.570 for a one-photo cluster, above
# 99 % of genuine pairs and 0.05 below the nearest impostor pair (0.622). A flat 0.55
# splits more (young clusters) and lets an established cluster take a stranger 0.55
# from its mean, halving the margin where it matters most.
DEFAULT_THRESHOLD = 0.5
DEFAULT_SIGHTING_VAR = 0.075
DEFAULT_DIMS = 128
DEFAULT_MAX_CLUSTERS = 50_000
# Privacy default for callers: unknown-face clusters are kept 30 days after last seen.
DEFAULT_RETENTION_S = 30 * 86_400.0
# Running-mean weight cap: after MAX_WEIGHT sightings each new one moves the centroid
# by 1/MAX_WEIGHT of the difference.
MAX_WEIGHT = 20
ID_PREFIX = "stranger_"

_INITIAL_CAPACITY = 64
_SECONDS_PER_DAY = 86_400.0
# merge_close compares at most this many centroid floats per block (16 MB of float32).
_MERGE_BLOCK_FLOATS = 4_000_000


def utc_day(ts: float) -> int:
    """Default day numbering: days since the Unix epoch, UTC."""
    return math.floor(ts / _SECONDS_PER_DAY)


def random_cluster_id() -> str:
    """A non-guessable id such as ``stranger_3fa9c01b7e`` (40 random bits)."""
    return ID_PREFIX + secrets.token_hex(5)


@dataclass(frozen=True, slots=True)
class ClusterAssignment:
    """Outcome of one sighting: which cluster, how far from its centroid, and whether new.

    ``distance`` is to the centroid before it was updated (0.0 for a new cluster);
    ``sightings`` is the cluster's count including this sighting; ``evicted`` names
    the least recently seen cluster dropped to make room, if any.
    """

    cluster_id: str
    distance: float
    new: bool
    sightings: int
    evicted: str | None = None


@dataclass(slots=True)
class Cluster:
    """A snapshot of one stranger cluster (also the persistence format).

    ``count`` is every sighting since the cluster was created; ``days`` holds the
    distinct day numbers it was seen on, pruned by ``expire`` to the retention window.
    """

    id: str
    centroid: FloatArray
    count: int
    first_seen: float
    last_seen: float
    days: set[int] = field(default_factory=set)


class StrangerClusters:
    """Online clustering of unknown-face embeddings; see the module docstring."""

    def __init__(
        self,
        dims: int = DEFAULT_DIMS,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        max_clusters: int = DEFAULT_MAX_CLUSTERS,
        id_factory: Callable[[], str] | None = None,
        day_of: Callable[[float], int] | None = None,
        max_weight: int = MAX_WEIGHT,
        sighting_var: float = DEFAULT_SIGHTING_VAR,
    ) -> None:
        if dims < 1:
            raise ValueError(f"dims must be positive, got {dims}")
        if not (math.isfinite(threshold) and threshold > 0):
            raise ValueError(f"threshold must be positive, got {threshold}")
        if max_clusters < 1:
            raise ValueError(f"max_clusters must be positive, got {max_clusters}")
        if max_weight < 1:
            raise ValueError(f"max_weight must be positive, got {max_weight}")
        if not (math.isfinite(sighting_var) and sighting_var >= 0):
            raise ValueError(f"sighting_var must be zero or positive, got {sighting_var}")
        self.dims = dims
        self.threshold = float(threshold)
        self.max_clusters = max_clusters
        self.max_weight = max_weight
        self.sighting_var = float(sighting_var)
        self._id_factory = id_factory or random_cluster_id
        self._day_of = day_of or utc_day
        cap = min(_INITIAL_CAPACITY, max_clusters)
        self._n = 0
        self._centroids: FloatArray = np.zeros((cap, dims), dtype=np.float32)
        self._sqnorms: FloatArray = np.zeros(cap, dtype=np.float32)
        self._counts: _Int64Array = np.zeros(cap, dtype=np.int64)
        # sighting_var / min(count, max_weight) per row, kept with the counts.
        self._allow: FloatArray = np.zeros(cap, dtype=np.float32)
        self._first: _Float64Array = np.zeros(cap, dtype=np.float64)
        self._last: _Float64Array = np.zeros(cap, dtype=np.float64)
        self._ids: list[str] = []
        self._days: list[set[int]] = []
        self._index: dict[str, int] = {}
        # Clusters whose centroid moved since the last merge_close (by id: rows move).
        self._moved: set[str] = set()
        # Changed and removed since the last drain_changes, for incremental persistence.
        self._changed: set[str] = set()
        self._removed: set[str] = set()

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return self._n

    def __contains__(self, cluster_id: object) -> bool:
        return cluster_id in self._index

    def get(self, cluster_id: str) -> Cluster | None:
        """A snapshot (copied centroid) of one cluster, or None."""
        row = self._index.get(cluster_id)
        return None if row is None else self._snapshot(row)

    def export(self) -> list[Cluster]:
        """Snapshots of every cluster, for persisting (encrypted) in the store."""
        return [self._snapshot(row) for row in range(self._n)]

    @classmethod
    def restore(
        cls,
        clusters: Iterable[Cluster],
        *,
        dims: int | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        max_clusters: int = DEFAULT_MAX_CLUSTERS,
        id_factory: Callable[[], str] | None = None,
        day_of: Callable[[float], int] | None = None,
        max_weight: int = MAX_WEIGHT,
        sighting_var: float = DEFAULT_SIGHTING_VAR,
    ) -> StrangerClusters:
        """Rebuild from ``export()`` output; keyword arguments as for the constructor.

        ``dims`` defaults to the first centroid's length. If there are more clusters
        than ``max_clusters``, the most recently seen are kept. Clusters whose centroids
        moved just before they were exported are not re-checked by ``merge_close``
        unless it is called with ``all_pairs=True``.
        """
        items = list(clusters)
        if dims is None:
            dims = int(np.asarray(items[0].centroid).shape[0]) if items else DEFAULT_DIMS
        inst = cls(
            dims,
            threshold=threshold,
            max_clusters=max_clusters,
            id_factory=id_factory,
            day_of=day_of,
            max_weight=max_weight,
            sighting_var=sighting_var,
        )
        seen: set[str] = set()
        for c in items:
            if c.id in seen:
                raise ValueError(f"duplicate cluster id {c.id!r}")
            seen.add(c.id)
            if c.count < 1:
                raise ValueError(f"cluster {c.id!r} has count {c.count}")
            if not (math.isfinite(c.first_seen) and math.isfinite(c.last_seen)):
                raise ValueError(f"cluster {c.id!r} has a non-finite timestamp")
        items.sort(key=lambda c: c.last_seen, reverse=True)
        for c in items[: inst.max_clusters]:
            vec = inst._check_vector(c.centroid)
            inst._append(c.id, vec, c.count, c.first_seen, c.last_seen, set(c.days))
        inst._changed.clear()
        # Clusters dropped for capacity must go from the store too.
        inst._removed = {c.id for c in items[inst.max_clusters :]}
        return inst

    def nearest(self, vector: npt.ArrayLike) -> tuple[str, float, bool] | None:
        """The nearest cluster, the distance to its centroid, and whether ``assign``
        would put the vector there; records nothing."""
        vec = self._check_vector(vector)
        found = self._nearest(vec)
        if found is None:
            return None
        row, dist, within = found
        return self._ids[row], dist, within

    def drain_changes(self) -> tuple[list[Cluster], list[str]]:
        """Clusters created or changed, and ids removed, since the last call.

        Made for ``Store.save_clusters(changed, removed)``: the HA side persists only
        what moved instead of re-sealing every centroid. Removals include evictions,
        expiries and merges. A freshly restored instance starts with no changes.
        """
        changed = [self._snapshot(self._index[c]) for c in sorted(self._changed)]
        removed = sorted(self._removed)
        self._changed.clear()
        self._removed.clear()
        return changed, removed

    # ---------------------------------------------------------------- mutation

    def assign(self, vector: npt.ArrayLike, ts: float) -> ClusterAssignment:
        """Record one sighting of an unknown face and say which cluster it belongs to."""
        vec = self._check_vector(vector)
        ts = float(ts)
        if not math.isfinite(ts):
            raise ValueError(f"timestamp must be finite, got {ts}")
        day = self._day_of(ts)
        found = self._nearest(vec)
        if found is not None and found[2]:
            row, dist, _within = found
            self._update(row, vec, ts, day)
            return ClusterAssignment(self._ids[row], dist, False, int(self._counts[row]))
        evicted: str | None = None
        if self._n >= self.max_clusters:
            evicted = self._ids[int(np.argmin(self._last[: self._n]))]
            self.remove(evicted)
        cid = self._new_id()
        self._append(cid, vec, 1, ts, ts, {day})
        return ClusterAssignment(cid, 0.0, True, 1, evicted)

    def remove(self, cluster_id: str) -> bool:
        """Forget a cluster (e.g. staff say it is an enrolled person); O(1)."""
        row = self._index.pop(cluster_id, None)
        if row is None:
            return False
        self._moved.discard(cluster_id)
        self._changed.discard(cluster_id)
        self._removed.add(cluster_id)
        last = self._n - 1
        if row != last:
            self._centroids[row] = self._centroids[last]
            self._sqnorms[row] = self._sqnorms[last]
            self._counts[row] = self._counts[last]
            self._allow[row] = self._allow[last]
            self._first[row] = self._first[last]
            self._last[row] = self._last[last]
            self._ids[row] = self._ids[last]
            self._days[row] = self._days[last]
            self._index[self._ids[row]] = row
        self._ids.pop()
        self._days.pop()
        # Zero the freed row so no centroid of a forgotten stranger lingers in memory.
        self._centroids[last] = 0.0
        self._sqnorms[last] = 0.0
        self._n = last
        return True

    def expire(self, before_ts: float) -> list[str]:
        """Drop clusters last seen before ``before_ts``; return their ids.

        Survivors also forget the days before ``before_ts``, so no record of when a
        stranger came is kept beyond the retention window (``count`` is unchanged).
        """
        n = self._n
        stale = [self._ids[r] for r in np.flatnonzero(self._last[:n] < before_ts)]
        for cid in stale:
            self.remove(cid)
        first_day = self._day_of(before_ts)
        for row, days in enumerate(self._days):
            if days and min(days) < first_day:
                days.difference_update([d for d in days if d < first_day])
                self._changed.add(self._ids[row])
        return stale

    def merge_close(self, *, all_pairs: bool = False) -> list[tuple[str, str]]:
        """Merge clusters whose centroids came within ``threshold / 2`` of each other.

        New clusters start more than ``threshold`` from every other, so only centroids
        that moved since the last call can have come close: those are compared with all
        clusters (``all_pairs=True`` compares every pair, e.g. after ``restore``). The
        cluster with more sightings (then the older) is kept and takes the other's
        sightings, days and a weighted share of its centroid. Returns ``(kept, merged)``
        pairs in merge order so the passage log can be re-labelled; a chain a<-b, b<-c
        is reported as such.
        """
        limit = self.threshold / 2.0
        pending = set(self._ids) if all_pairs else set(self._moved)
        self._moved.clear()
        merged: list[tuple[str, str]] = []
        while pending:
            rows = np.array(sorted(self._index[c] for c in pending if c in self._index))
            pending = set()
            if rows.size == 0:
                break
            block = max(1, _MERGE_BLOCK_FLOATS // max(self._n, 1))
            pairs: list[tuple[float, str, str]] = []
            for start in range(0, rows.size, block):
                part = rows[start : start + block]
                d2 = self._sq_distances(self._centroids[part])
                d2[np.arange(part.size), part] = np.inf  # a cluster is not close to itself
                for i, j in np.argwhere(d2 <= limit * limit):
                    pairs.append((float(d2[i, j]), self._ids[int(part[i])], self._ids[int(j)]))
            pairs.sort()
            for _d2, a, b in pairs:
                if a not in self._index or b not in self._index:
                    continue  # already merged into something else in this round
                ra, rb = self._index[a], self._index[b]
                if self._exact_distance(self._centroids[ra], self._centroids[rb]) > limit:
                    continue  # an earlier merge in this round moved one of them
                kept, gone = (a, b) if self._keeps(ra, rb) else (b, a)
                self._absorb(self._index[kept], self._index[gone])
                self.remove(gone)
                merged.append((kept, gone))
                pending.add(kept)  # its centroid moved: check it again
        return merged

    # ---------------------------------------------------------------- internals

    def _check_vector(self, vector: npt.ArrayLike) -> FloatArray:
        vec = np.asarray(vector, dtype=np.float32)
        if vec.shape != (self.dims,):
            raise ValueError(f"expected a ({self.dims},) embedding, got shape {vec.shape}")
        if not np.all(np.isfinite(vec)):
            raise ValueError("embedding has non-finite values")
        return vec

    def _sq_distances(self, queries: FloatArray) -> FloatArray:
        """Squared distances from each query row to every cluster, shape (q, n)."""
        n = self._n
        mat = self._centroids[:n]
        q_sq = np.einsum("ij,ij->i", queries, queries)
        d2: FloatArray = self._sqnorms[:n][None, :] - 2.0 * (queries @ mat.T) + q_sq[:, None]
        np.maximum(d2, 0.0, out=d2)
        return d2

    @staticmethod
    def _exact_distance(a: FloatArray, b: FloatArray) -> float:
        diff = a.astype(np.float64) - b.astype(np.float64)
        return float(np.sqrt(diff @ diff))

    def _nearest(self, vec: FloatArray) -> tuple[int, float, bool] | None:
        """Best row by corrected squared distance, its plain distance, and acceptance."""
        n = self._n
        if n == 0:
            return None
        d2 = self._sq_distances(vec[None, :])[0]
        allowance = self._allow[:n]
        row = int(np.argmin(d2 - allowance))
        # The expanded form loses precision for near-equal vectors: decide on exact values.
        dist = self._exact_distance(self._centroids[row], vec)
        within = dist * dist - float(allowance[row]) <= self.threshold * self.threshold
        return row, dist, within

    def _set_count(self, row: int, count: int) -> None:
        """Set a row's count and its allowance: the centroid's own expected squared
        error, ``sighting_var / n`` (n capped at ``max_weight``)."""
        self._counts[row] = count
        self._allow[row] = self.sighting_var / min(count, self.max_weight)

    def _update(self, row: int, vec: FloatArray, ts: float, day: int) -> None:
        count = int(self._counts[row]) + 1
        weight = min(count, self.max_weight)
        old = self._centroids[row].astype(np.float64)
        new = (old + (vec.astype(np.float64) - old) / weight).astype(np.float32)
        self._centroids[row] = new
        self._sqnorms[row] = float(new @ new)
        self._set_count(row, count)
        self._first[row] = min(self._first[row], ts)
        self._last[row] = max(self._last[row], ts)
        self._days[row].add(day)
        self._moved.add(self._ids[row])
        self._changed.add(self._ids[row])

    def _keeps(self, ra: int, rb: int) -> bool:
        """Whether row ``ra`` survives a merge with ``rb`` (more sightings, then older)."""
        ca, cb = int(self._counts[ra]), int(self._counts[rb])
        if ca != cb:
            return ca > cb
        return bool(self._first[ra] <= self._first[rb])

    def _absorb(self, keep: int, gone: int) -> None:
        wk = min(int(self._counts[keep]), self.max_weight)
        wg = min(int(self._counts[gone]), self.max_weight)
        mix = (
            self._centroids[keep].astype(np.float64) * wk
            + self._centroids[gone].astype(np.float64) * wg
        ) / (wk + wg)
        new = mix.astype(np.float32)
        self._centroids[keep] = new
        self._sqnorms[keep] = float(new @ new)
        self._set_count(keep, int(self._counts[keep]) + int(self._counts[gone]))
        self._first[keep] = min(self._first[keep], self._first[gone])
        self._last[keep] = max(self._last[keep], self._last[gone])
        self._days[keep] |= self._days[gone]
        self._changed.add(self._ids[keep])

    def _new_id(self) -> str:
        for _ in range(100):
            cid = self._id_factory()
            if cid not in self._index:
                return cid
        raise RuntimeError("id_factory keeps returning ids already in use")

    def _append(
        self, cid: str, vec: FloatArray, count: int, first: float, last: float, days: set[int]
    ) -> None:
        if cid in self._index:
            raise ValueError(f"duplicate cluster id {cid!r}")
        if self._n == self._centroids.shape[0]:
            self._grow()
        row = self._n
        self._centroids[row] = vec
        self._sqnorms[row] = float(vec @ vec)
        self._set_count(row, count)
        self._first[row] = first
        self._last[row] = last
        self._ids.append(cid)
        self._days.append(days)
        self._index[cid] = row
        self._n = row + 1
        self._removed.discard(cid)
        self._changed.add(cid)

    def _grow(self) -> None:
        cap = self._centroids.shape[0]
        new_cap = min(max(cap * 2, 1), self.max_clusters)
        if new_cap <= cap:  # pragma: no cover - assign evicts before reaching this
            raise RuntimeError("stranger clusters are at capacity")
        extra = new_cap - cap
        self._centroids = np.concatenate(
            [self._centroids, np.zeros((extra, self.dims), dtype=np.float32)]
        )
        self._sqnorms = np.concatenate([self._sqnorms, np.zeros(extra, dtype=np.float32)])
        self._counts = np.concatenate([self._counts, np.zeros(extra, dtype=np.int64)])
        self._allow = np.concatenate([self._allow, np.zeros(extra, dtype=np.float32)])
        self._first = np.concatenate([self._first, np.zeros(extra, dtype=np.float64)])
        self._last = np.concatenate([self._last, np.zeros(extra, dtype=np.float64)])

    def _snapshot(self, row: int) -> Cluster:
        return Cluster(
            id=self._ids[row],
            centroid=self._centroids[row].copy(),
            count=int(self._counts[row]),
            first_seen=float(self._first[row]),
            last_seen=float(self._last[row]),
            days=set(self._days[row]),
        )
