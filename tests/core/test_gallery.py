"""core.gallery: semantics on small hand-made vectors, correctness at 100,000 references
against a brute-force numpy reference, and genuine / impostor matching on real photos."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from custom_components.community_gate.core.faces import DEFAULT_THRESHOLD, face_distance
from custom_components.community_gate.core.gallery import Gallery, Match
from tests.core.photos import (
    identity_photos,
    largest_face,
    needs_package_photos,
    needs_shared_faces,
    package_photo,
    require_shared_faces,
)

Vec = npt.NDArray[np.float32]
DIMS = 128


def unit(i: int, scale: float = 1.0, dims: int = DIMS) -> Vec:
    v = np.zeros(dims, dtype=np.float32)
    v[i] = scale
    return v


def at_distance(base: Vec, distance: float, axis: int) -> Vec:
    """``base`` moved by ``distance`` along a coordinate axis."""
    v = base.copy()
    v[axis] += distance
    return v


# ------------------------------------------------------------ small cases
def test_empty_gallery() -> None:
    g = Gallery()
    m = g.match(unit(0))
    assert m == Match(None, math.inf, None, None, math.inf, False, "empty")
    assert m.matched_person is None
    assert g.nearest_people(unit(0)) == []
    assert len(g) == 0
    assert g.persons == 0


def test_defaults() -> None:
    g = Gallery()
    assert g.dims == 128
    assert g.threshold == DEFAULT_THRESHOLD
    assert g.margin == 0.05


def test_exact_match() -> None:
    g = Gallery()
    g.add("e1", "alice", unit(0))
    m = g.match(unit(0))
    assert m.accepted
    assert m.reason == "match"
    assert (m.person_id, m.embedding_id, m.distance) == ("alice", "e1", 0.0)
    assert m.second_person_id is None
    assert m.second_distance == math.inf
    assert m.matched_person == "alice"


def test_no_match_still_names_the_nearest() -> None:
    g = Gallery(threshold=0.5)
    g.add("e1", "alice", unit(0))
    m = g.match(at_distance(unit(0), 0.6, 1))
    assert not m.accepted
    assert m.reason == "no_match"
    assert m.person_id == "alice"
    assert m.matched_person is None
    assert m.distance == pytest.approx(0.6, abs=1e-6)


def test_threshold_is_inclusive() -> None:
    g = Gallery(threshold=0.5, margin=0.0)
    g.add("e1", "alice", unit(0, 0.0))
    assert g.match(unit(1, 0.5)).accepted  # exactly 0.5 apart
    assert not g.match(unit(1, 0.5 + 1e-3)).accepted


def test_best_per_person_and_margin() -> None:
    g = Gallery(threshold=0.55, margin=0.05)
    base = np.zeros(DIMS, dtype=np.float32)
    # alice: three references, the nearest 0.30 from the probe; bob: one at 0.40
    g.add("a1", "alice", at_distance(base, 0.50, 1))
    g.add("a2", "alice", at_distance(base, 0.30, 2))
    g.add("a3", "alice", at_distance(base, 0.45, 3))
    g.add("b1", "bob", at_distance(base, 0.40, 4))
    m = g.match(base)
    assert (m.person_id, m.embedding_id) == ("alice", "a2")
    assert m.distance == pytest.approx(0.30, abs=1e-6)
    assert m.second_person_id == "bob"
    assert m.second_distance == pytest.approx(0.40, abs=1e-6)
    assert m.accepted
    # bob moves to 0.33: within the margin of alice's 0.30 -> ambiguous, refused
    g.remove("b1")
    g.add("b2", "bob", at_distance(base, 0.33, 4))
    m = g.match(base)
    assert (m.person_id, m.second_person_id) == ("alice", "bob")
    assert not m.accepted
    assert m.reason == "ambiguous"
    assert m.matched_person is None
    g.margin = 0.02
    assert g.match(base).accepted


def test_same_person_references_never_make_it_ambiguous() -> None:
    g = Gallery(margin=0.05)
    base = np.zeros(DIMS, dtype=np.float32)
    g.add("a1", "alice", at_distance(base, 0.20, 1))
    g.add("a2", "alice", at_distance(base, 0.21, 2))
    m = g.match(base)
    assert m.accepted
    assert m.second_person_id is None


def test_nearest_people() -> None:
    g = Gallery()
    base = np.zeros(DIMS, dtype=np.float32)
    for i, (person, d) in enumerate([("c", 0.7), ("a", 0.2), ("b", 0.4), ("a", 0.3), ("d", 0.9)]):
        g.add(f"e{i}", person, at_distance(base, d, i + 1))
    near = g.nearest_people(base, k=3)
    assert [p for p, _ in near] == ["a", "b", "c"]
    assert [round(d, 5) for _, d in near] == [0.2, 0.4, 0.7]
    assert len(g.nearest_people(base, k=10)) == 4
    assert g.nearest_people(base, k=0) == []


def test_one_person_with_many_close_references() -> None:
    """More references of one person than the rows first examined: the search widens."""
    g = Gallery()
    base = np.zeros(DIMS, dtype=np.float32)
    for i in range(300):
        g.add(f"a{i}", "alice", at_distance(base, 0.1 + i * 1e-4, i % DIMS))
    g.add("b", "bob", at_distance(base, 0.5, 0))
    g.add("c", "carol", at_distance(base, 0.6, 1))
    near = g.nearest_people(base, k=3)
    assert [p for p, _ in near] == ["alice", "bob", "carol"]
    m = g.match(base)
    assert (m.person_id, m.second_person_id) == ("alice", "bob")
    assert m.second_distance == pytest.approx(0.5, abs=1e-6)


def test_duplicate_id_refused_and_nothing_changes() -> None:
    g = Gallery()
    g.add("e1", "alice", unit(0))
    with pytest.raises(ValueError, match="duplicate"):
        g.add("e1", "bob", unit(1))
    assert len(g) == 1
    assert g.person_of("e1") == "alice"
    assert g.persons == 1


@pytest.mark.parametrize(
    "bad",
    [np.zeros(127), np.zeros((1, 128)), np.full(128, np.nan), np.full(128, np.inf)],
    ids=["short", "2d", "nan", "inf"],
)
def test_bad_vectors_refused(bad: npt.NDArray[np.float64]) -> None:
    g = Gallery()
    with pytest.raises(ValueError, match="vector"):
        g.add("e", "p", bad)
    with pytest.raises(ValueError, match="vector"):
        g.match(bad)
    assert len(g) == 0


def test_settings_validated() -> None:
    with pytest.raises(ValueError, match="threshold"):
        Gallery(threshold=0)
    with pytest.raises(ValueError, match="margin"):
        Gallery(margin=-0.1)
    with pytest.raises(ValueError, match="dims"):
        Gallery(0)
    g = Gallery()
    with pytest.raises(ValueError, match="threshold"):
        g.threshold = math.nan


def test_float32_storage_for_any_input_dtype() -> None:
    g = Gallery(4)
    g.add("e1", "alice", np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float64))
    assert g._vectors.dtype == np.float32
    assert g._norms.dtype == np.float32
    m = g.match(np.array([0.1, 0.2, 0.3, 0.4]))
    assert m.distance < 1e-6
    assert isinstance(m.distance, float)


def test_growth_by_doubling_keeps_every_reference() -> None:
    g = Gallery(8)
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(1000, 8)).astype(np.float32)
    capacities = set()
    for i, v in enumerate(vectors):
        g.add(f"e{i}", f"p{i % 250}", v)
        capacities.add(len(g._norms))
    assert len(g) == 1000
    assert g.persons == 250
    assert sorted(capacities) == [64, 128, 256, 512, 1024]
    for i in range(0, 1000, 37):
        m = g.match(vectors[i])
        assert (m.embedding_id, m.person_id) == (f"e{i}", f"p{i % 250}")


def test_add_many() -> None:
    g = Gallery(2)
    n = g.add_many([("e1", "a", np.array([1, 0])), ("e2", "b", np.array([0, 1]))])
    assert n == 2
    assert len(g) == 2
    with pytest.raises(ValueError, match="duplicate"):
        g.add_many([("e3", "c", np.array([1, 1])), ("e1", "d", np.array([2, 2]))])
    assert "e3" in g  # those before the bad item stay
    assert "e1" in g
    assert g.person_of("e1") == "a"


def test_remove_swaps_with_last() -> None:
    g = Gallery(8)
    rng = np.random.default_rng(4)
    vectors = {f"e{i}": rng.normal(size=8).astype(np.float32) for i in range(10)}
    for i, (eid, v) in enumerate(vectors.items()):
        g.add(eid, f"p{i}", v)
    assert g.remove("e3")
    assert not g.remove("e3")
    assert not g.remove("never")
    assert len(g) == 9
    assert "e3" not in g
    assert g.person_of("e3") is None
    assert g.persons == 9
    for eid, v in vectors.items():
        m = g.match(v)
        if eid == "e3":
            assert m.embedding_id != "e3"
        else:
            assert m.embedding_id == eid
            assert m.distance < 1e-5
    # remove everything, then reuse
    for eid in vectors:
        g.remove(eid)
    assert len(g) == 0
    assert g.persons == 0
    assert g.match(vectors["e0"]).reason == "empty"
    g.add("e0", "p0", vectors["e0"])
    assert g.match(vectors["e0"]).embedding_id == "e0"


def test_remove_person() -> None:
    g = Gallery(4)
    g.add("a1", "alice", np.array([1, 0, 0, 0]))
    g.add("b1", "bob", np.array([0, 1, 0, 0]))
    g.add("a2", "alice", np.array([0, 0, 1, 0]))
    g.add("c1", "carol", np.array([0, 0, 0, 1]))
    g.add("a3", "alice", np.array([1, 1, 0, 0]))
    assert sorted(g.embeddings_of("alice")) == ["a1", "a2", "a3"]
    assert g.remove_person("alice") == 3
    assert g.remove_person("alice") == 0
    assert g.remove_person("nobody") == 0
    assert len(g) == 2
    assert g.persons == 2
    assert g.embeddings_of("alice") == []
    assert g.match(np.array([1, 0, 0, 0])).person_id in {"bob", "carol"}
    assert g.match(np.array([0, 0, 0, 1])).embedding_id == "c1"
    # the freed person slot is reused without mixing people up
    g.add("d1", "dave", np.array([1, 0, 0, 0]))
    assert g.match(np.array([1, 0, 0, 0])).person_id == "dave"
    assert g.embeddings_of("dave") == ["d1"]


def test_clear() -> None:
    g = Gallery(2, threshold=0.3, margin=0.01)
    g.add("e", "p", np.array([1, 0]))
    g.clear()
    assert len(g) == 0
    assert (g.threshold, g.margin) == (0.3, 0.01)


# ------------------------------------------------------------ 100,000 references
class BruteForce:
    """The obvious float64 implementation, for reference."""

    def __init__(self, vectors: npt.NDArray[np.float32], owners: npt.NDArray[np.int64]) -> None:
        self.vectors = vectors.astype(np.float64)
        self.owners = owners

    def people(self, probe: Vec) -> list[tuple[int, float]]:
        d = np.sqrt(((self.vectors - probe.astype(np.float64)) ** 2).sum(axis=1))
        best = np.full(self.owners.max() + 1, np.inf)
        np.minimum.at(best, self.owners, d)
        order = np.argsort(best)
        return [(int(p), float(best[p])) for p in order if np.isfinite(best[p])]


def _check_against(g: Gallery, ref: BruteForce, probes: npt.NDArray[np.float32]) -> None:
    for probe in probes:
        expected = ref.people(probe)
        m = g.match(probe)
        assert m.person_id == f"p{expected[0][0]}"
        assert m.distance == pytest.approx(expected[0][1], abs=1e-5)
        assert m.second_person_id == f"p{expected[1][0]}"
        assert m.second_distance == pytest.approx(expected[1][1], abs=1e-5)
        assert face_distance(g._vectors[g._row[m.embedding_id or ""]], probe) == pytest.approx(
            m.distance, abs=1e-5
        )
        near = g.nearest_people(probe, k=5)
        assert [p for p, _ in near] == [f"p{p}" for p, _ in expected[:5]]
        assert [d for _, d in near] == pytest.approx([d for _, d in expected[:5]], abs=1e-5)


def test_hundred_thousand_references_match_brute_force() -> None:
    rng = np.random.default_rng(5)
    n, people = 100_000, 30_000
    # Unit-norm-ish vectors like real encodings; several references per person.
    vectors = rng.normal(size=(n, DIMS)).astype(np.float32) / np.float32(math.sqrt(DIMS))
    owners = rng.integers(0, people, size=n)
    g = Gallery()
    assert g.add_many((f"e{i}", f"p{owners[i]}", vectors[i]) for i in range(n)) == n
    assert len(g) == n
    assert g.persons == len(np.unique(owners))
    assert g._vectors.dtype == np.float32
    assert 128 * 4 * n < g.memory_bytes() < 150 * 2**20
    near_existing = vectors[rng.integers(0, n, size=6)] + rng.normal(
        scale=0.02, size=(6, DIMS)
    ).astype(np.float32)
    fresh = rng.normal(size=(4, DIMS)).astype(np.float32) / np.float32(math.sqrt(DIMS))
    probes = np.concatenate([near_existing, fresh])
    _check_against(g, BruteForce(vectors, owners), probes)

    # Remove 10 % of the references and a few whole people: still exact.
    keep = np.ones(n, dtype=bool)
    for i in rng.choice(n, size=10_000, replace=False):
        assert g.remove(f"e{i}")
        keep[i] = False
    for person in rng.choice(people, size=50, replace=False):
        removed = g.remove_person(f"p{person}")
        assert removed == int((keep & (owners == person)).sum())
        keep &= owners != person
    assert len(g) == int(keep.sum())
    _check_against(g, BruteForce(vectors[keep], owners[keep]), probes)


# ------------------------------------------------------------ real photos
@needs_package_photos
def test_genuine_and_impostor_package_photos() -> None:
    """Enroll one photo; another photo of the same person opens, a different person
    does not (face_recognition's test photos: obama x3, biden)."""
    obama = largest_face(package_photo("obama.jpg"))
    obama2 = largest_face(package_photo("obama2.jpg"))
    obama3 = largest_face(package_photo("obama3.jpg"))
    biden = largest_face(package_photo("biden.jpg"))

    g = Gallery()
    g.add("obama-1", "obama", obama.encoding)
    for probe in (obama2, obama3):
        m = g.match(probe.encoding)
        assert m.accepted, m
        assert (m.person_id, m.embedding_id) == ("obama", "obama-1")
    m = g.match(biden.encoding)
    assert not m.accepted
    assert m.reason == "no_match"

    g.add("biden-1", "biden", biden.encoding)
    m = g.match(obama2.encoding)
    assert (m.accepted, m.person_id, m.second_person_id) == (True, "obama", "biden")
    assert m.second_distance > DEFAULT_THRESHOLD
    # 1:N duplicate check at enrollment: obama's new photo is already obama's
    assert g.nearest_people(obama3.encoding, k=2)[0][0] == "obama"


@pytest.fixture(scope="module")
def shared_identities() -> dict[str, list[Path]]:
    return identity_photos(require_shared_faces())


@needs_shared_faces
def test_genuine_and_impostor_shared_photos(shared_identities: dict[str, list[Path]]) -> None:
    """Every identity: its first two photos enrolled (two references per person), the
    third opens; with the person removed, their photo opens for nobody; a person never
    enrolled (lin_manuel_miranda, one photo) opens for nobody."""
    g = Gallery()
    probes: dict[str, Path] = {}
    unknown: list[Path] = []
    for identity, photos in shared_identities.items():
        if len(photos) == 1:
            unknown.append(photos[0])
            continue
        references = photos[:2] if len(photos) >= 3 else photos[:1]
        for path in references:
            g.add(f"{identity}/{path.name}", identity, largest_face(path).encoding)
        probes[identity] = photos[2] if len(photos) >= 3 else photos[1]
    assert len(probes) >= 12
    assert unknown

    for identity, path in probes.items():
        m = g.match(largest_face(path).encoding)
        assert m.accepted, (identity, m)
        assert m.person_id == identity

    for path in unknown:
        m = g.match(largest_face(path).encoding)
        assert not m.accepted, m

    for identity, path in probes.items():
        encoding = largest_face(path).encoding
        references = g.embeddings_of(identity)
        vectors = [g._vectors[g._row[e]].copy() for e in references]
        g.remove_person(identity)
        m = g.match(encoding)
        assert not m.accepted, (identity, m)
        assert m.person_id != identity
        for eid, vec in zip(references, vectors, strict=True):
            g.add(eid, identity, vec)


@needs_shared_faces
def test_threshold_separates_the_encoded_shared_photos(
    shared_identities: dict[str, list[Path]],
) -> None:
    """On the photos encoded above (three per identity at most): every genuine pair is
    within DEFAULT_THRESHOLD and every impostor pair beyond it."""
    items = [
        (identity, largest_face(p).encoding)
        for identity, photos in shared_identities.items()
        for p in photos[:3]
    ]
    genuine, impostor = [], []
    for i, (who_a, a) in enumerate(items):
        for who_b, b in items[i + 1 :]:
            (genuine if who_a == who_b else impostor).append(face_distance(a, b))
    assert len(genuine) >= 30
    assert len(impostor) >= 500
    assert max(genuine) <= DEFAULT_THRESHOLD
    assert min(impostor) > DEFAULT_THRESHOLD


def test_verify_measures_only_that_persons_references() -> None:
    """1:1 (a card named the person): their nearest reference, exactly as a direct
    computation gives it, however near someone else is; nobody by that id is empty."""
    rng = np.random.default_rng(21)
    g = Gallery(threshold=0.6)
    refs = rng.normal(0, 0.05, (3, DIMS)).astype(np.float32)
    for i, v in enumerate(refs):
        g.add(f"r{i}", "resident", v)
    probe = refs[1] + rng.normal(0, 0.02, DIMS).astype(np.float32)
    g.add("twin", "sibling", probe.copy())  # nearer than any of hers
    found = g.verify(probe, "resident")
    expected = np.linalg.norm(refs - probe, axis=1)
    assert found.embedding_id == f"r{int(np.argmin(expected))}"
    assert found.distance == pytest.approx(float(expected.min()), abs=1e-5)
    assert (found.person_id, found.accepted, found.second_person_id) == ("resident", True, None)
    assert g.match(probe).person_id == "sibling"  # the 1:N search names the twin
    assert not g.verify(probe, "resident", threshold=float(expected.min()) / 2).accepted
    assert g.verify(probe, "nobody").reason == "empty"
