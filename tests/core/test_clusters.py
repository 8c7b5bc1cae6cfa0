"""Stranger clustering: synthetic identities over 30 simulated days, and real dlib encodings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from itertools import combinations
import re

import numpy as np
import pytest

from custom_components.community_gate.core.clusters import (
    DEFAULT_SIGHTING_VAR,
    DEFAULT_THRESHOLD,
    MAX_WEIGHT,
    Cluster,
    ClusterAssignment,
    FloatArray,
    StrangerClusters,
    utc_day,
)

DIMS = 128
DAY = 86_400.0
# 25 November 2026 00:00 UTC: day numbers in these tests are offsets from here.
T0 = 1_795_564_800.0
DAY0 = utc_day(T0)
# How far a second sighting may be from a one-photo cluster (see the module docstring).
YOUNG_LIMIT = float(np.sqrt(DEFAULT_THRESHOLD**2 + DEFAULT_SIGHTING_VAR))


class Identities:
    """Synthetic dlib-like embeddings: one random centre per person plus per-photo noise.

    Centres have norm 0.7, so two people are ~0.99 apart (0.8-1.2); each photo is its
    centre plus Gaussian noise of norm ~0.2, so two photos of one person are ~0.28 apart
    (0.2-0.35), like dlib encodings of one face under different light and pose.
    """

    def __init__(self, count: int, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        centres = self.rng.normal(size=(count, DIMS))
        centres *= 0.7 / np.linalg.norm(centres, axis=1, keepdims=True)
        self.centres = centres.astype(np.float32)

    def photo(self, who: int) -> FloatArray:
        noise = self.rng.normal(scale=0.2 / np.sqrt(DIMS), size=DIMS)
        photo: FloatArray = (self.centres[who] + noise).astype(np.float32)
        return photo


def counter_ids() -> Callable[[], str]:
    n = iter(range(1_000_000))
    return lambda: f"stranger_{next(n):010x}"


def visits_over_30_days(people: int, rng: np.random.Generator) -> Iterator[tuple[float, int, int]]:
    """(ts, person, day offset) sightings over 30 days, interleaved in time order."""
    events: list[tuple[float, int, int]] = []
    for who in range(people):
        days = sorted(int(d) for d in rng.choice(30, size=int(rng.integers(1, 16)), replace=False))
        for day in days:
            for _ in range(int(rng.integers(1, 4))):
                ts = T0 + day * DAY + float(rng.uniform(6 * 3600, 22 * 3600))
                events.append((ts, who, day))
    events.sort()
    return iter(events)


# ------------------------------------------------------------------ the test data itself


def test_synthetic_identities_have_dlib_like_distances() -> None:
    ids = Identities(30)
    photos = {w: [ids.photo(w) for _ in range(6)] for w in range(30)}
    same = np.array([np.linalg.norm(a - b) for w in photos for a, b in combinations(photos[w], 2)])
    other = np.array(
        [np.linalg.norm(photos[w][0] - photos[v][0]) for w, v in combinations(range(30), 2)]
    )
    assert np.percentile(same, 1) >= 0.2
    assert np.percentile(same, 99) <= 0.35
    assert np.percentile(other, 1) >= 0.8
    assert np.percentile(other, 99) <= 1.2
    assert same.max() < DEFAULT_THRESHOLD < other.min()


# ------------------------------------------------------------------ 30 simulated days


def test_each_stranger_keeps_one_id_over_30_days() -> None:
    people = 60
    ids = Identities(people)
    clusters = StrangerClusters()
    rng = np.random.default_rng(11)
    seen_ids: dict[int, set[str]] = defaultdict(set)
    sightings: dict[int, int] = defaultdict(int)
    days: dict[int, set[int]] = defaultdict(set)
    times: dict[int, list[float]] = defaultdict(list)
    for ts, who, day in visits_over_30_days(people, rng):
        a = clusters.assign(ids.photo(who), ts)
        sightings[who] += 1
        days[who].add(DAY0 + day)
        times[who].append(ts)
        assert a.new == (sightings[who] == 1)
        assert a.sightings == sightings[who]
        assert a.evicted is None
        assert 0.0 <= a.distance <= YOUNG_LIMIT
        seen_ids[who].add(a.cluster_id)

    assert all(len(s) == 1 for s in seen_ids.values())  # one stable id per person
    by_id = {next(iter(s)): who for who, s in seen_ids.items()}
    assert len(by_id) == people  # no two people share an id
    assert len(clusters) == people
    for cid, who in by_id.items():
        c = clusters.get(cid)
        assert c is not None
        assert c.count == sightings[who]
        assert c.days == days[who]
        assert c.first_seen == min(times[who])
        assert c.last_seen == max(times[who])
        # The centroid sits near the person's true centre (a single photo is ~0.2 off;
        # a mean of many is closer), and nearer to it than to anyone else's.
        off = np.linalg.norm(ids.centres - c.centroid, axis=1)
        assert int(np.argmin(off)) == who
        assert off[who] < 0.25 if c.count == 1 else off[who] < 0.2
    assert clusters.merge_close() == []  # different people are never merged


def test_new_ids_are_random_and_not_guessable() -> None:
    ids = Identities(40)
    clusters = StrangerClusters()
    made = [clusters.assign(ids.photo(w), T0).cluster_id for w in range(40)]
    assert all(re.fullmatch(r"stranger_[0-9a-f]{10}", cid) for cid in made)
    assert len(set(made)) == 40
    # Not a counter: ids made in sequence do not share a long common prefix.
    assert len({cid[:12] for cid in made}) > 20


def test_id_factory_is_used_and_collisions_are_retried() -> None:
    ids = Identities(3)
    names = iter(["stranger_a", "stranger_a", "stranger_b"])
    clusters = StrangerClusters(id_factory=lambda: next(names))
    assert clusters.assign(ids.photo(0), T0).cluster_id == "stranger_a"
    assert clusters.assign(ids.photo(1), T0).cluster_id == "stranger_b"
    stuck = StrangerClusters(id_factory=lambda: "stranger_same")
    stuck.assign(ids.photo(0), T0)
    with pytest.raises(RuntimeError, match="id_factory"):
        stuck.assign(ids.photo(1), T0)


def test_running_mean_then_bounded_weight() -> None:
    ids = Identities(1)
    clusters = StrangerClusters(id_factory=counter_ids())
    first = [ids.photo(0) for _ in range(3)]
    cid = clusters.assign(first[0], T0).cluster_id
    for v in first[1:]:
        assert clusters.assign(v, T0).cluster_id == cid
    c = clusters.get(cid)
    assert c is not None
    np.testing.assert_allclose(c.centroid, np.mean(first, axis=0), atol=1e-6)

    for _ in range(200):
        clusters.assign(ids.photo(0), T0)
    before = clusters.get(cid)
    assert before is not None
    assert before.count == 203
    # One odd frame just inside the threshold moves an established cluster by 1/MAX_WEIGHT
    # of the way, not 1/204 (stays adaptive) and not all the way (cannot be hijacked).
    direction = ids.rng.normal(size=DIMS).astype(np.float32)
    odd = before.centroid + 0.45 * direction / np.linalg.norm(direction)
    assert clusters.assign(odd, T0 + 1).cluster_id == cid
    after = clusters.get(cid)
    assert after is not None
    moved = float(np.linalg.norm(after.centroid - before.centroid))
    assert moved == pytest.approx(0.45 / MAX_WEIGHT, rel=1e-3)


def test_young_clusters_allow_for_their_own_noise() -> None:
    ids = Identities(1)
    centre = ids.centres[0]
    step = ids.rng.normal(size=DIMS)
    step = (step / np.linalg.norm(step)).astype(np.float32)
    probe = centre + np.float32(0.53) * step  # beyond the threshold, inside the allowance

    def with_count(count: int, sighting_var: float = DEFAULT_SIGHTING_VAR) -> StrangerClusters:
        cluster = Cluster("stranger_seed", centre.copy(), count, T0, T0, {DAY0})
        return StrangerClusters.restore([cluster], sighting_var=sighting_var)

    # A one-photo cluster's centroid is itself ~0.24 off the face: 0.53 is the same person.
    young = with_count(1).assign(probe, T0 + 1)
    assert not young.new
    assert young.distance == pytest.approx(0.53, abs=1e-5)
    # A centroid of many photos sits on the face: 0.53 from it is somebody else.
    assert with_count(MAX_WEIGHT).assign(probe, T0 + 1).new
    assert with_count(500).assign(probe, T0 + 1).new
    # Without the allowance it is the plain nearest-centroid rule.
    assert with_count(1, sighting_var=0.0).assign(probe, T0 + 1).new
    # The allowance also ranks: a probe a little nearer an old cluster than a young one
    # goes to the young one when that is the likelier owner.
    old = Cluster("stranger_old", centre + np.float32(0.40) * step, 200, T0, T0, {DAY0})
    new = Cluster("stranger_new", centre - np.float32(0.42) * step, 1, T0, T0, {DAY0})
    both = StrangerClusters.restore([old, new])
    a = both.assign(centre, T0 + 1)
    assert a.cluster_id == "stranger_new"
    assert a.distance == pytest.approx(0.42, abs=1e-5)


def test_out_of_order_sightings_keep_first_and_last_seen() -> None:
    ids = Identities(1)
    clusters = StrangerClusters()
    cid = clusters.assign(ids.photo(0), T0 + 5 * DAY).cluster_id
    clusters.assign(ids.photo(0), T0 + 1 * DAY)
    clusters.assign(ids.photo(0), T0 + 3 * DAY)
    c = clusters.get(cid)
    assert c is not None
    assert (c.first_seen, c.last_seen) == (T0 + DAY, T0 + 5 * DAY)
    assert c.days == {DAY0 + 1, DAY0 + 3, DAY0 + 5}


def test_days_follow_the_estate_time_zone() -> None:
    ids = Identities(1)
    cst = 8 * 3600.0
    late_utc = T0 + 23.5 * 3600  # 07:30 next morning in the estate (UTC+8)
    early_utc = T0 + DAY + 0.5 * 3600  # 08:30 the same estate morning
    utc = StrangerClusters()
    local = StrangerClusters(day_of=lambda ts: int((ts + cst) // DAY))
    for clusters in (utc, local):
        for ts in (late_utc, early_utc):
            clusters.assign(ids.photo(0), ts)
    assert len(utc.export()[0].days) == 2
    assert len(local.export()[0].days) == 1


def test_nearest_does_not_record_a_sighting() -> None:
    ids = Identities(2)
    clusters = StrangerClusters()
    assert clusters.nearest(ids.photo(0)) is None
    cid = clusters.assign(ids.photo(0), T0).cluster_id
    found = clusters.nearest(ids.photo(0))
    assert found is not None
    assert found[0] == cid
    assert found[1] <= DEFAULT_THRESHOLD
    assert found[2] is True
    other = clusters.nearest(ids.photo(1))
    assert other is not None
    assert other[1] > YOUNG_LIMIT
    assert other[2] is False
    own = clusters.get(cid)
    assert own is not None
    assert own.count == 1
    assert len(clusters) == 1


# ------------------------------------------------------------------ retention and capacity


def test_expire_drops_only_stale_clusters_and_old_days() -> None:
    ids = Identities(4)
    clusters = StrangerClusters()
    a = clusters.assign(ids.photo(0), T0).cluster_id  # day 0 only
    b = clusters.assign(ids.photo(1), T0 + 1 * DAY).cluster_id  # day 1 only
    c = clusters.assign(ids.photo(2), T0).cluster_id  # days 0 and 40
    clusters.assign(ids.photo(2), T0 + 40 * DAY)
    d = clusters.assign(ids.photo(3), T0 + 35 * DAY).cluster_id  # day 35

    removed = clusters.expire(T0 + 10 * DAY)  # retention cut-off: day 10
    assert sorted(removed) == sorted([a, b])
    assert len(clusters) == 2
    assert clusters.get(a) is None
    assert clusters.get(b) is None
    kept = clusters.get(c)
    assert kept is not None
    assert kept.days == {DAY0 + 40}  # day 0 is beyond retention: forgotten
    assert kept.count == 2  # the lifetime count stays
    assert clusters.get(d) is not None
    assert clusters.expire(T0 + 10 * DAY) == []
    # An expired stranger coming back is a new stranger.
    again = clusters.assign(ids.photo(0), T0 + 41 * DAY)
    assert again.new
    assert again.cluster_id != a


def test_capacity_evicts_the_least_recently_seen() -> None:
    ids = Identities(9)
    clusters = StrangerClusters(max_clusters=5)
    first: dict[int, str] = {}
    for who in range(5):
        first[who] = clusters.assign(ids.photo(who), T0 + who).cluster_id
    # Person 0 comes back: now person 1 is the least recently seen (LRU, not FIFO).
    assert clusters.assign(ids.photo(0), T0 + 10).cluster_id == first[0]
    evictions = []
    for who in range(5, 9):
        a = clusters.assign(ids.photo(who), T0 + 10 + who)
        assert a.new
        evictions.append(a.evicted)
        first[who] = a.cluster_id
        assert len(clusters) == 5
    assert evictions == [first[1], first[2], first[3], first[4]]
    assert {c.id for c in clusters.export()} == {first[w] for w in (0, 5, 6, 7, 8)}
    back = clusters.assign(ids.photo(1), T0 + 100)
    assert back.new
    assert back.evicted == first[0]


def test_many_clusters_survive_growth_and_removal() -> None:
    people = 300  # several doublings of the matrix
    ids = Identities(people)
    clusters = StrangerClusters()
    cid = {w: clusters.assign(ids.photo(w), T0 + w).cluster_id for w in range(people)}
    assert len(clusters) == people
    for w in (0, 150, 299, 77):  # first, middle, last row
        assert clusters.remove(cid[w])
        assert not clusters.remove(cid[w])
        assert cid[w] not in clusters
    assert len(clusters) == people - 4
    for w in range(people):
        a = clusters.assign(ids.photo(w), T0 + DAY + w)
        if w in (0, 150, 299, 77):
            assert a.new
            assert a.cluster_id != cid[w]
        else:
            assert not a.new
            assert a.cluster_id == cid[w]
            assert a.sightings == 2
    assert clusters.remove("stranger_unknown") is False


# ------------------------------------------------------------------ persistence


def test_export_restore_round_trip_gives_the_same_assignments() -> None:
    people = 40
    ids = Identities(people)
    clusters = StrangerClusters()
    rng = np.random.default_rng(5)
    owner: dict[int, str] = {}
    for ts, who, _day in visits_over_30_days(people, rng):
        owner[who] = clusters.assign(ids.photo(who), ts).cluster_id

    saved = clusters.export()
    assert len(saved) == people
    assert all(c.centroid.dtype == np.float32 and c.centroid.shape == (DIMS,) for c in saved)
    saved[0].centroid[:] = 9.0  # snapshots are copies
    saved[0].days.add(-1)
    live = clusters.get(saved[0].id)
    assert live is not None
    assert -1 not in live.days
    assert not np.any(live.centroid == 9.0)
    saved = clusters.export()

    restored = StrangerClusters.restore(saved)
    assert len(restored) == people
    assert {c.id: (c.count, c.days, c.first_seen, c.last_seen) for c in restored.export()} == {
        c.id: (c.count, c.days, c.first_seen, c.last_seen) for c in saved
    }
    later = T0 + 31 * DAY
    for who in range(people):
        photo = ids.photo(who)
        a = clusters.assign(photo, later + who)
        b = restored.assign(photo, later + who)
        assert a == b
        assert a.cluster_id == owner[who]
        assert not a.new
    stranger = Identities(1, seed=99).photo(0)
    assert restored.assign(stranger, later).new


def test_restore_keeps_the_most_recent_and_checks_its_input() -> None:
    ids = Identities(6)
    clusters = StrangerClusters()
    made = [clusters.assign(ids.photo(w), T0 + w).cluster_id for w in range(6)]
    small = StrangerClusters.restore(clusters.export(), max_clusters=4)
    assert {c.id for c in small.export()} == set(made[2:])
    assert small.drain_changes() == ([], sorted(made[:2]))  # the store must drop them too
    empty = StrangerClusters.restore([])
    assert len(empty) == 0
    assert empty.dims == DIMS

    c = clusters.export()[0]
    with pytest.raises(ValueError, match="duplicate"):
        StrangerClusters.restore([c, c])
    bad_shape = Cluster("stranger_short", np.zeros(64, dtype=np.float32), 1, T0, T0, set())
    with pytest.raises(ValueError, match="128"):
        StrangerClusters.restore([c, bad_shape])
    with pytest.raises(ValueError, match="count"):
        StrangerClusters.restore([Cluster("x", c.centroid, 0, T0, T0, set())])
    with pytest.raises(ValueError, match="non-finite"):
        StrangerClusters.restore([Cluster("x", c.centroid, 1, float("nan"), T0, set())])


def test_drain_changes_reports_what_to_persist() -> None:
    ids = Identities(3)
    clusters = StrangerClusters(max_clusters=2)
    a = clusters.assign(ids.photo(0), T0).cluster_id
    b = clusters.assign(ids.photo(1), T0 + 1).cluster_id
    changed, removed = clusters.drain_changes()
    assert sorted(c.id for c in changed) == sorted([a, b])
    assert removed == []
    assert clusters.drain_changes() == ([], [])

    clusters.assign(ids.photo(1), T0 + 2)
    c = clusters.assign(ids.photo(2), T0 + 3)  # evicts a
    assert c.evicted == a
    changed, removed = clusters.drain_changes()
    assert sorted(x.id for x in changed) == sorted([b, c.cluster_id])
    assert removed == [a]
    assert clusters.remove(b)
    assert clusters.drain_changes() == ([], [b])

    restored = StrangerClusters.restore(clusters.export())
    assert restored.drain_changes() == ([], [])


# ------------------------------------------------------------------ housekeeping


def test_merge_close_joins_two_clusters_of_one_person() -> None:
    ids = Identities(2)
    clusters = StrangerClusters()
    other = clusters.assign(ids.photo(1), T0).cluster_id
    # The first two sightings of person 0 are extreme frames (harsh sun on one side at
    # the estate gate, dusk at a building door): 0.6 apart, so two ids.
    side = ids.rng.normal(size=DIMS)
    side = (0.3 * side / np.linalg.norm(side)).astype(np.float32)
    sunny = clusters.assign(ids.centres[0] + side, T0 + 1)
    dusk = clusters.assign(ids.centres[0] - side, T0 + DAY)
    assert sunny.new
    assert dusk.new
    assert sunny.cluster_id != dusk.cluster_id
    # Later frames at each door carry less and less of the lighting: each cluster keeps
    # its own door's frames, and both centroids drift towards the real face until they
    # are within threshold / 2 of each other.
    hits = {sunny.cluster_id: 1, dusk.cluster_id: 1}
    for i in range(71):
        lean = 0.6 if i < 10 else 0.25
        a = clusters.assign(ids.photo(0) + (lean if i % 2 else -lean) * side, T0 + 2 * DAY + i)
        hits[a.cluster_id] += 1
    assert hits == {sunny.cluster_id: 36, dusk.cluster_id: 37}  # each door kept its own
    s_c, d_c = clusters.get(sunny.cluster_id), clusters.get(dusk.cluster_id)
    assert s_c is not None
    assert d_c is not None
    assert np.linalg.norm(s_c.centroid - d_c.centroid) < DEFAULT_THRESHOLD / 2

    # The cluster with more sightings is kept; the log re-labels the other.
    assert clusters.merge_close() == [(dusk.cluster_id, sunny.cluster_id)]
    assert clusters.get(sunny.cluster_id) is None
    kept = clusters.get(dusk.cluster_id)
    assert kept is not None
    assert kept.count == 73
    assert kept.days == {DAY0, DAY0 + 1, DAY0 + 2}
    assert (kept.first_seen, kept.last_seen) == (T0 + 1, T0 + 2 * DAY + 70)
    assert float(np.linalg.norm(kept.centroid - ids.centres[0])) < 0.1
    assert len(clusters) == 2
    assert clusters.get(other) is not None
    assert clusters.merge_close() == []
    for i in range(4):
        lean = 0.25 if i % 2 else -0.25
        a = clusters.assign(ids.photo(0) + lean * side, T0 + 3 * DAY + i)
        assert a.cluster_id == dusk.cluster_id
    changed, removed = clusters.drain_changes()
    assert sunny.cluster_id in removed
    assert dusk.cluster_id in {c.id for c in changed}


def test_merge_close_all_pairs_after_restore() -> None:
    ids = Identities(2)
    centre = ids.centres[0]
    near = centre + np.float32(0.1) / np.sqrt(np.float32(DIMS))  # 0.1 from the centre
    restored = StrangerClusters.restore(
        [
            Cluster("stranger_one", centre.copy(), 3, T0, T0 + 5, {DAY0}),
            Cluster("stranger_two", near.astype(np.float32), 5, T0 + 1, T0 + 9, {DAY0 + 1}),
            Cluster("stranger_far", ids.centres[1].copy(), 1, T0, T0, {DAY0}),
        ]
    )
    assert restored.merge_close() == []  # nothing moved since restore
    assert restored.merge_close(all_pairs=True) == [("stranger_two", "stranger_one")]
    two = restored.get("stranger_two")
    assert two is not None
    assert (two.count, two.first_seen, two.last_seen) == (8, T0, T0 + 9)
    assert two.days == {DAY0, DAY0 + 1}
    # Weighted by sightings: 5/8 of the way from one to two.
    np.testing.assert_allclose(two.centroid, (3 * centre + 5 * near) / 8, atol=1e-6)


# ------------------------------------------------------------------ input checks


def test_bad_input_is_refused() -> None:
    clusters = StrangerClusters()
    with pytest.raises(ValueError, match="shape"):
        clusters.assign(np.zeros(127, dtype=np.float32), T0)
    with pytest.raises(ValueError, match="shape"):
        clusters.assign(np.zeros((1, 128), dtype=np.float32), T0)
    bad = np.zeros(128, dtype=np.float32)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        clusters.assign(bad, T0)
    with pytest.raises(ValueError, match="timestamp"):
        clusters.assign(np.zeros(128, dtype=np.float32), float("inf"))
    assert len(clusters) == 0
    for kwargs in ({"threshold": 0.0}, {"max_clusters": 0}, {"max_weight": 0}, {"dims": 0}):
        with pytest.raises(ValueError, match="must be positive"):
            StrangerClusters(**kwargs)
    # float64 input (face_recognition's dtype) is accepted and stored as float32.
    a = clusters.assign(np.full(128, 0.05), T0)
    c = clusters.get(a.cluster_id)
    assert c is not None
    assert c.centroid.dtype == np.float32
    assert isinstance(a, ClusterAssignment)


# ------------------------------------------------------------------ real dlib encodings

# Six people with 5-11 photos each in ../shared/faces (the five john_* are dlib's
# 150x150 face chips, guido_van_rossum ordinary photos).
REAL_IDENTITIES = (
    "guido_van_rossum",
    "john_salley",
    "john_savage",
    "john_schneider",
    "john_shimkus",
    "john_simm",
)


@pytest.fixture(scope="module")
def real_encodings() -> dict[str, list[FloatArray]]:
    """DlibEngine encodings (HOG upsample 0, as at the gate) of one face per photo."""
    pytest.importorskip(
        "custom_components.community_gate.core.faces",
        reason="core/faces.py (the dlib engine) is not importable",
    )
    from custom_components.community_gate.core.images import load_image_file
    from tests.core.photos import face_engine, identity_photos, require_shared_faces

    photos = identity_photos(require_shared_faces())
    missing = [n for n in REAL_IDENTITIES if n not in photos]
    if missing:
        pytest.skip(f"shared face set lacks {', '.join(missing)}")
    engine = face_engine()
    out: dict[str, list[FloatArray]] = {}
    for name in REAL_IDENTITIES:
        for path in photos[name]:
            found = engine.analyse(load_image_file(path), upsample=0)
            if len(found) == 1:
                out.setdefault(name, []).append(np.asarray(found[0].encoding, dtype=np.float32))
        assert len(out.get(name, [])) >= 4, f"{name}: fewer than 4 photos with one face"
    return out


def test_real_photos_one_cluster_per_person(real_encodings: dict[str, list[FloatArray]]) -> None:
    """The same stranger photographed on different days keeps one id; people never share."""
    people = sorted(real_encodings)
    longest = max(len(v) for v in real_encodings.values())
    # Photo k of every person is a sighting on day k, people interleaved.
    schedule = [
        (T0 + k * DAY + i * 60.0, name, real_encodings[name][k])
        for k in range(longest)
        for i, name in enumerate(people)
        if k < len(real_encodings[name])
    ]
    for order in (schedule, schedule[::-1]):
        clusters = StrangerClusters()
        got: dict[str, set[str]] = defaultdict(set)
        for ts, name, vec in order:
            got[name].add(clusters.assign(vec, ts).cluster_id)
        assert {n: len(ids) for n, ids in got.items()} == dict.fromkeys(people, 1)
        assert len({next(iter(ids)) for ids in got.values()}) == len(people)
        for name, ids in got.items():
            c = clusters.get(next(iter(ids)))
            assert c is not None
            assert c.count == len(real_encodings[name])
            assert len(c.days) == len(real_encodings[name])
        assert clusters.merge_close() == []
        # Every photo's nearest cluster is its own person's, within the threshold.
        for name, vecs in real_encodings.items():
            for vec in vecs:
                found = clusters.nearest(vec)
                assert found is not None
                assert found[0] in got[name]
                assert found[1] <= DEFAULT_THRESHOLD
                assert found[2] is True


def test_default_threshold_fits_real_distances(
    real_encodings: dict[str, list[FloatArray]],
) -> None:
    """The reasoning behind DEFAULT_THRESHOLD, checked against the real encodings."""
    genuine = np.array(
        [
            np.linalg.norm(a - b)
            for vecs in real_encodings.values()
            for a, b in combinations(vecs, 2)
        ]
    )
    impostor = np.array(
        [
            np.linalg.norm(a - b)
            for n, m in combinations(sorted(real_encodings), 2)
            for a in real_encodings[n]
            for b in real_encodings[m]
        ]
    )
    # Nearly every pair of photos of one person is within the threshold, and every pair
    # within the allowance a one-photo cluster gets (a centroid of several photos,
    # being a mean, is closer still) ...
    assert np.mean(genuine <= DEFAULT_THRESHOLD) >= 0.95
    assert np.percentile(genuine, 99) <= YOUNG_LIMIT
    # ... while the nearest two different people stay well beyond both.
    assert impostor.min() >= DEFAULT_THRESHOLD + 0.1
    assert impostor.min() >= YOUNG_LIMIT + 0.04
    assert np.median(genuine) < 0.4
    assert np.median(impostor) > 0.7
