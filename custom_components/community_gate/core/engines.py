"""Which engine made an encoding, and how that engine's encodings are compared.

Two engines make 128-number encodings that mean different things: dlib's ResNet
(euclidean distance, gate at 0.55) and SFace on ncnn (L2-normalised, cosine similarity).
A number from one compared with a number from the other is noise that can still fall
under a threshold, so every comparison here names both engines and refuses a mismatch.
The gallery (``gallery.py``) matches on euclidean distance; for a normalised engine that
is ``sqrt(2 - 2 cos)``, so :attr:`EngineSpec.gallery_threshold` gives it the same
decision as the cosine threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import functools
import math
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from . import faces, ncnn_engine
from .errors import InvalidValueError
from .faces import Encoding, FaceEngine

EUCLIDEAN: Final = "euclidean"
COSINE: Final = "cosine"
Metric = Literal["euclidean", "cosine"]

# SFace gate threshold on cosine similarity (accept iff >=), set on the calibration set
# (shared/faces-calibration: 4,325 LFW photos of 2,436 people, every pair, no-face
# counted as a rejection): its pair FAR of 0.1 % falls at 0.3587; rounded up (stricter).
# Reported on shared/faces, never tuned there: docs/benchmarks.md (2026-12-02). Per
# comparison: a stranger against N enrolled people has ~N chances (scoped 1:N, issue 14).
NCNN_THRESHOLD: Final = 0.36

# SFace per-comparison impostor tail, same set and encodings (camera path, no face a
# rejection), all 9,346,027 impostor pairs (devtools.calibrate_faces, 2026-12-02): the
# cosine at which that share of impostor pairs is accepted, rounded up (stricter). A
# point is used only where >= 10 false accepts are allowed (a rarer "rate" is a handful
# of photo pairs: at 1e-6, 9 pairs of 7 identity pairs, the top one the same news photo
# under two names); beyond 3e-6 ``threshold_for`` keeps 0.50. False accepts per point:
# 9,237 / 2,788 / 914 / 274 / 90 / 28 (from 23 identity pairs); genuine pairs accepted
# 97.4 / 96.3 / 94.9 / 93.1 / 90.4 / 85.5 %.
NCNN_TAIL: Final = (
    (1e-3, 0.359),
    (3e-4, 0.391),
    (1e-4, 0.418),
    (3e-5, 0.444),
    (1e-5, 0.467),
    (3e-6, 0.500),
)
# Masked probe (synthetic mask of devtools/masks.py, camera path) against other people's
# masked references (enrollment path), same set (4,301 photos a mask could be drawn on):
# pair FAR 0.1 % at 0.433 (rounded up); 15,563 false accepts of 15,622,705 pairs;
# masked-vs-masked genuine pairs accepted 82.8 % (6,457 of 7,795). Masks make strangers
# alike: at the plain tail's 0.50 masked impostors pass 1.1e-4 of the time, 37 times the
# plain 3e-6, hence a masked tail of its own (same rule; 1e-6 rests on 15 pairs).
NCNN_MASKED_THRESHOLD: Final = 0.433
NCNN_MASKED_TAIL: Final = (
    (1e-3, 0.433),
    (3e-4, 0.471),
    (1e-4, 0.504),
    (3e-5, 0.538),
    (1e-5, 0.563),
    (3e-6, 0.599),
    (1e-6, 0.642),
)
# Margin (euclidean gallery units) to the second-nearest person, same set: everyone
# enrolled once (2,168 people), 1,871 other photos presented as themselves and, with
# their person removed, 2,157 as strangers. At the bar for 200 people (standard) 0.05
# costs 5 of 1,871 known accepts (0.27 %; 0.08 costs 16) and refuses 1 of 6 accepted
# as someone else; at the pair threshold (the loosest bar) it refuses 1,447 of 1,691
# stranger accepts and 58 of 68 wrong-person accepts for 68 known accepts (3.6 %).
NCNN_MARGIN: Final = 0.05

# Stranger clusters under SFace (python -m devtools.calibrate_clusters, 2026-12-02, camera
# path). dlib's 0.5 is a cosine of 0.875 here: with it, 79 photos of 13 people made 55
# extra clusters per replay (every photo a stranger of its own), so frequent_stranger and
# tailgating never added up under the default engine. On faces-calibration (4,325 photos,
# 2,436 people): sighting spread E|photo - mean|^2 0.235 (p90 0.348); a photo lands
# within 0.95 of another person's mean at 1e-5. Replaying the whole set (2,436 strangers
# at once) through the clusterer: 0.95 / 0.235 merged 148 clusters of two people per run,
# 0.90 / 0.10 merged 10 (about 7 are the same news photo filed under two names: they
# merge at any radius), with 274 splits among those celebrities' photos of many years;
# stricter radii cut merges no further and split far more. Chosen: 0.90 and 0.10 (a
# one-photo cluster takes photos within sqrt(0.90^2 + 0.10) = 0.954, cosine 0.545, below a
# 3e-6 pair false accept). Reported on ../shared/faces (13 people, 79 photos, 100
# replays): 1.65 extra clusters per replay, no merge.
NCNN_CLUSTER_THRESHOLD: Final = 0.90
NCNN_CLUSTER_VAR: Final = 0.10

# How often, at most, a stranger at a gate may be accepted as one of the people who may
# pass there (per decision), by the estate's "face strictness" option. The threshold that
# gives it depends on how many people may pass (``EngineSpec.threshold_for``).
STRICTNESS: Final[dict[str, float]] = {"relaxed": 0.01, "standard": 0.001, "strict": 0.0001}
DEFAULT_STRICTNESS: Final = "standard"


# dlib, the same way on the same set (HOG upsample 0 and its false-positive filter; 31
# photos without a face, rejected): euclidean distance, rounded down (stricter). False
# accepts per point: 9,194 / 2,716 / 916 / 278 / 89 / 28 (from 27 identity pairs);
# genuine pairs accepted 90.8 / 82.7 / 71.6 / 57.1 / 42.2 / 29.1 %: dlib's genuine and
# impostor distances overlap far more than SFace's. 1e-6 (0.382) rests on 9 pairs.
DLIB_TAIL: Final = (
    (1e-3, 0.552),
    (3e-4, 0.517),
    (1e-4, 0.487),
    (3e-5, 0.455),
    (1e-5, 0.427),
    (3e-6, 0.400),
)
# dlib masked references, same set, each person's first two photos masked (dlib is slow:
# 1,691 masks drawn; HOG found no face in 633 of them, rejected): masked-vs-masked pair
# FAR 0.1 % at 0.427 (rounded down; 1,612 false accepts of 1,680,558 pairs), genuine
# accepted 45.4 % (450 of 992). The earlier 0.38 was set on the developer set. Masked
# tail, same rule (1e-5 rests on 14 pairs).
DLIB_MASKED_THRESHOLD: Final = 0.427
DLIB_MASKED_TAIL: Final = (
    (1e-3, 0.427),
    (3e-4, 0.402),
    (1e-4, 0.381),
    (3e-5, 0.359),
    (1e-5, 0.347),
)
# dlib margin by the ncnn rule (2,366 people enrolled, 1,867 known and 1,928 stranger
# presentations): 0.05 costs 5 known accepts (0.27 %) at the 200-person bar and refuses
# 6 of 12 strangers and 3 of 5 wrong-person accepts there; at 0.55 it refuses 888 of 996
# strangers and 126 of 140 wrong-person accepts for 239 of 1,658 known accepts.
DLIB_MARGIN: Final = 0.05


class EngineMismatchError(InvalidValueError):
    """Two encodings from different engines (or an encoding the engine did not make)."""

    code = "face_engine_mismatch"


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """How one engine's encodings are compared. ``threshold`` is in ``metric``'s own
    units: a distance at most it (euclidean), or a similarity at least it (cosine)."""

    name: str
    dims: int
    metric: Metric
    threshold: float
    normalised: bool
    # Masked probes against masked references (everyone's lower face is the same mask).
    masked_threshold: float
    # Euclidean (gallery) distance the second-nearest person must be further away.
    margin: float
    # (per-comparison impostor accept rate, score at that rate), measured on the
    # calibration set, loosest first: the tail ``threshold_for`` reads.
    impostor_tail: tuple[tuple[float, float], ...] = ()
    # The same for masked probes against masked references (``masked_threshold_for``).
    masked_tail: tuple[tuple[float, float], ...] = ()
    # The stranger clusterer's radius and sighting spread in this engine's gallery
    # (euclidean) units (core/clusters.py); dlib's defaults there.
    cluster_threshold: float = 0.5
    cluster_var: float = 0.075

    @property
    def gallery_threshold(self) -> float:
        """The euclidean threshold that makes the same decisions as ``threshold``."""
        if self.metric == EUCLIDEAN:
            return self.threshold
        return math.sqrt(max(2.0 - 2.0 * self.threshold, 0.0))

    def to_gallery(self, threshold: float) -> float:
        """A threshold in this engine's own units as a euclidean gallery distance."""
        if self.metric == EUCLIDEAN:
            return threshold
        return math.sqrt(max(2.0 - 2.0 * threshold, 0.0))

    def stricter(self, a: float, b: float) -> float:
        return min(a, b) if self.metric == EUCLIDEAN else max(a, b)

    def threshold_for(self, people: int, target: float) -> float:
        """The threshold (own units) at which a stranger is accepted as any one of
        ``people`` with a chance of at most ``target``: each comparison may false-accept
        at ``target / people`` (the union bound), read off the calibrated impostor tail.
        Never looser than ``threshold``; past the tail's last measured rate the tail's
        strictest score is used (stated in docs/benchmarks.md)."""
        return self._from_tail(self.impostor_tail, self.threshold, people, target)

    def masked_threshold_for(self, people: int, target: float) -> float:
        """:meth:`threshold_for` for masked references: read off the masked tail, never
        looser than ``masked_threshold`` nor than the plain bar for ``people``."""
        masked = self._from_tail(self.masked_tail, self.masked_threshold, people, target)
        return self.stricter(masked, self.threshold_for(people, target))

    def _from_tail(
        self, tail: tuple[tuple[float, float], ...], floor: float, people: int, target: float
    ) -> float:
        rate = target / max(people, 1)
        chosen = floor
        for tail_rate, score in tail:
            chosen = self.stricter(chosen, score)
            if tail_rate <= rate:
                break
        return chosen

    def score(self, a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> float:
        """Distance (euclidean) or similarity (cosine) of two of this engine's vectors."""
        va, vb = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if va.shape != (self.dims,) or vb.shape != (self.dims,):
            raise EngineMismatchError(
                f"{self.name} encodings have {self.dims} numbers", engine=self.name
            )
        if self.metric == EUCLIDEAN:
            return float(np.linalg.norm(va - vb))
        denom = float(np.linalg.norm(va) * np.linalg.norm(vb))
        return float(va @ vb / denom) if denom > 0 else 0.0

    def accepts(self, score: float) -> bool:
        return score <= self.threshold if self.metric == EUCLIDEAN else score >= self.threshold


SPECS: Final[dict[str, EngineSpec]] = {
    faces.DlibEngine.name: EngineSpec(
        faces.DlibEngine.name,
        faces.DIMS,
        EUCLIDEAN,
        faces.DEFAULT_THRESHOLD,
        False,
        masked_threshold=DLIB_MASKED_THRESHOLD,
        margin=DLIB_MARGIN,
        impostor_tail=DLIB_TAIL,
        masked_tail=DLIB_MASKED_TAIL,
    ),
    ncnn_engine.NAME: EngineSpec(
        ncnn_engine.NAME,
        ncnn_engine.DIMS,
        COSINE,
        NCNN_THRESHOLD,
        True,
        masked_threshold=NCNN_MASKED_THRESHOLD,
        margin=NCNN_MARGIN,
        impostor_tail=NCNN_TAIL,
        masked_tail=NCNN_MASKED_TAIL,
        cluster_threshold=NCNN_CLUSTER_THRESHOLD,
        cluster_var=NCNN_CLUSTER_VAR,
    ),
}
DEFAULT_ENGINE: Final = ncnn_engine.NAME
DLIB_ENGINE: Final = faces.DlibEngine.name
ENGINES: Final = tuple(SPECS)


def spec(name: str) -> EngineSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise EngineMismatchError(f"unknown face engine {name!r}", engine=name) from None


@dataclass(frozen=True, slots=True, eq=False)
class TaggedEncoding:
    """An encoding with the name of the engine that made it."""

    engine: str
    vector: Encoding


def compare(a: TaggedEncoding, b: TaggedEncoding) -> tuple[float, bool]:
    """(score, accepted) for two encodings of the same engine; refuses two engines."""
    if a.engine != b.engine:
        raise EngineMismatchError(
            f"cannot compare a {a.engine} encoding with a {b.engine} one",
            engine=a.engine,
            other=b.engine,
        )
    engine = spec(a.engine)
    score = engine.score(a.vector, b.vector)
    return score, engine.accepts(score)


def make_engine(name: str) -> FaceEngine:
    """A new engine by name (for a worker's factory: ``engine_factory(name)``)."""
    if name == faces.DlibEngine.name:
        return faces.DlibEngine()
    if name == ncnn_engine.NAME:
        return ncnn_engine.NcnnEngine()
    raise EngineMismatchError(f"unknown face engine {name!r}", engine=name)


def engine_factory(name: str) -> Callable[[], FaceEngine]:
    """A picklable factory (the worker's child process is spawned, not forked)."""
    spec(name)  # fail early on a typo, in the parent
    return functools.partial(make_engine, name)
