"""Face accuracy: genuine and impostor pairs, ROC, masked probes (issue 3, DESIGN §6).

    python -m devtools.eval_faces DIR [--json]
    python -m devtools.eval_faces --pairs pairs.txt --root DIR

**Folder mode.** ``DIR`` holds one folder per person (``DIR/<identity>/<images>``);
folders whose names start with ``_`` (or ``.``) are not identities. Every image is decoded
once with the hub's own decoder (``core.images``), faces are found with the hub's engine
(``core.faces.DlibEngine``, HOG, ``--upsample`` 1 by default: photos are not gate
frames), and the **largest** face is encoded. Images where no face is found are failures
to detect: listed by their path relative to ``DIR`` and left out of the pairs. Then:

* genuine pairs: every two distinct images of the same identity; impostor pairs: every
  two images of different identities; distance = Euclidean between the 128-d encodings
  (as ``core.faces.face_distance``), a pair is accepted when ``distance <= threshold``;
* TAR and FAR at the gate threshold (``DEFAULT_THRESHOLD`` unless ``--threshold``),
  with 95 % Clopper-Pearson bounds (a perfect score on a few hundred pairs does not
  prove 99 %);
* ROC points: the best TAR at FAR ≤ 1 %, 0.1 %, 0.01 % and 0 %, each only where the
  number of impostor pairs can resolve it (at least 1 / FAR pairs);
* the equal error rate, and a recommended threshold: the largest with FAR ≤ 0.1 %,
  stating how many impostor pairs — and false accepts — it rests on;
* open-set identification with the hub's matcher (``core.gallery.Gallery``: best per
  person, threshold and margin to the next person): each image against all the others
  (its own person still enrolled), then against everyone but its own person (an unknown
  face that must be refused);
* masked faces (``--no-masks`` to skip): each image gets a synthetic mask drawn from its
  landmarks (``devtools.masks``: deterministic, documented there), the masked image goes
  through the whole pipeline again (detect, landmarks, encode), and for every identity with
  at least 3 encoded images and every ordered triple (probe p, reference r, second
  reference s) of distinct images: TAR of masked p against plain r only, and TAR when a
  masked photo of s is enrolled as an extra reference (best of the person's references),
  beside the plain p-against-r baseline; on the impostor side, masked probes against other
  people's plain and masked references (masks look alike: the masked reference is where
  false accepts come from).

**Pairs mode** (``--pairs FILE --root DIR``): an LFW-style list — lines ``name n1 n2``
(genuine) and ``name1 n1 name2 n2`` (impostor), images at ``DIR/name/name_%04d.jpg``, an
optional header line of counts. Each image is encoded once; the pair metrics as above.

Only file names relative to ``DIR`` appear in the output: no identity list, no encodings.
Progress goes to stderr; the result to stdout (``--json``: one JSON object).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
import itertools
import json
import math
from pathlib import Path
import re
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custom_components.community_gate.core.faces import DEFAULT_THRESHOLD, DlibEngine, FaceBox
from custom_components.community_gate.core.gallery import Gallery
from custom_components.community_gate.core.images import ImageError, load_image_file
from devtools.masks import apply_mask

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"})
ROC_FARS = (0.01, 0.001, 0.0001, 0.0)
TARGET_TAR = 0.99  # DESIGN §6: genuine pairs accepted ≥ 99 % ...
TARGET_FAR = 0.001  # ... impostor pairs accepted ≤ 0.1 %
CONFIDENCE = 0.95
DEFAULT_UPSAMPLE = 1
MASK_MIN_IMAGES = 3  # probe, plain reference, masked reference: three distinct photos

Vector = NDArray[np.float32]
Floats = NDArray[np.float64]


def log(msg: str) -> None:
    print(f"[eval_faces] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------- encoding
@dataclass(slots=True)
class Sample:
    """One image: where it is, whose it is, and what the engine made of it."""

    rel: str  # path relative to the root, the only name that leaves this tool
    identity: str
    encoding: Vector | None = None
    faces: int = 0
    error: str | None = None  # "no_face" or "unreadable: <why>"
    masked: Vector | None = None  # the masked image, face found again by the detector
    masked_error: str | None = None  # the masked probe: "no_face" or None
    masked_at_box: Vector | None = None  # the masked image, encoded at the plain face's box


def _natural(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def find_identities(root: Path, limit: int | None = None) -> dict[str, list[Path]]:
    """``{identity: [image paths]}`` in natural order; ``_``/``.`` folders are skipped."""
    if not root.is_dir():
        raise FileNotFoundError(f"not a directory: {root}")
    out: dict[str, list[Path]] = {}
    for folder in sorted(root.iterdir(), key=lambda p: _natural(p.name)):
        if not folder.is_dir() or folder.name.startswith(("_", ".")):
            continue
        images = sorted(
            (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: _natural(p.name),
        )
        if limit is not None:
            images = images[:limit]
        if images:
            out[folder.name] = images
    return out


class Encoder:
    """Decode, detect, keep the largest face, encode; optionally the masked probe too."""

    def __init__(self, *, upsample: int = DEFAULT_UPSAMPLE, masks: bool = True) -> None:
        self.engine = DlibEngine()
        self.upsample = upsample
        self.masks = masks

    def _largest(self, rgb: NDArray[np.uint8]) -> tuple[FaceBox | None, int]:
        boxes = self.engine.detect(rgb, upsample=self.upsample)
        if not boxes:
            return None, 0
        return max(boxes, key=lambda b: b.area), len(boxes)

    def sample(self, path: Path, rel: str, identity: str) -> Sample:
        s = Sample(rel, identity)
        try:
            rgb = load_image_file(path)
        except ImageError as err:
            s.error = f"unreadable: {err.why}"
            return s
        box, s.faces = self._largest(rgb)
        if box is None:
            s.error = "no_face"
            return s
        s.encoding = np.asarray(self.engine.encode(rgb, box), dtype=np.float32)
        if self.masks:
            landmarks = self.engine.landmarks(rgb, box)
            masked = apply_mask(rgb, landmarks)
            s.masked_at_box = np.asarray(self.engine.encode(masked, box), dtype=np.float32)
            mbox, _n = self._largest(masked)
            if mbox is None:
                s.masked_error = "no_face"
            else:
                s.masked = np.asarray(self.engine.encode(masked, mbox), dtype=np.float32)
        return s


_WORKER: Encoder | None = None


def _init_worker(upsample: int, masks: bool) -> None:
    global _WORKER  # noqa: PLW0603 - one engine per worker process
    _WORKER = Encoder(upsample=upsample, masks=masks)


def _work(job: tuple[Path, str, str]) -> Sample:
    assert _WORKER is not None
    return _WORKER.sample(*job)


def encode_all(
    jobs: Sequence[tuple[Path, str, str]], *, upsample: int, masks: bool, processes: int
) -> list[Sample]:
    """Encode every (path, rel, identity) once, in order. dlib holds the GIL, so more
    than one worker means processes, each loading its own models."""
    started = time.perf_counter()
    out: list[Sample] = []

    def progress(s: Sample) -> None:
        out.append(s)
        note = s.error or (f"{s.faces} faces, largest used" if s.faces > 1 else "ok")
        if s.masked_error:
            note += f"; masked probe: {s.masked_error}"
        log(f"{len(out)}/{len(jobs)} {s.rel}: {note}")

    if processes <= 1:
        encoder = Encoder(upsample=upsample, masks=masks)
        for job in jobs:
            progress(encoder.sample(*job))
    else:
        with ProcessPoolExecutor(
            processes, initializer=_init_worker, initargs=(upsample, masks)
        ) as pool:
            for s in pool.map(_work, jobs):
                progress(s)
    log(f"encoded {len(jobs)} images in {time.perf_counter() - started:.1f} s")
    return out


# -------------------------------------------------------------------- statistics
def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    lp, lq = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
        for i in range(k + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def rate_upper(k: int, n: int, confidence: float = CONFIDENCE) -> float | None:
    """One-sided Clopper-Pearson upper bound of a rate seen k times in n trials."""
    if n <= 0:
        return None
    if k >= n:
        return 1.0
    lo, hi = k / n, 1.0
    alpha = 1.0 - confidence
    for _ in range(80):
        mid = (lo + hi) / 2
        if _binom_cdf(k, n, mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def rate_lower(k: int, n: int, confidence: float = CONFIDENCE) -> float | None:
    """One-sided Clopper-Pearson lower bound (the upper bound of the misses, mirrored)."""
    upper = rate_upper(n - k, n, confidence)
    return None if upper is None else 1.0 - upper


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(float(x), digits)


def _summary(d: Floats) -> dict[str, float | None]:
    if d.size == 0:
        return {"min": None, "p5": None, "median": None, "p95": None, "max": None}
    q = np.quantile(d, [0.05, 0.5, 0.95])
    return {
        "min": _r(d.min(), 4),
        "p5": _r(q[0], 4),
        "median": _r(q[1], 4),
        "p95": _r(q[2], 4),
        "max": _r(d.max(), 4),
    }


def accepted(d: Floats, threshold: float) -> int:
    """How many distances a gate at ``threshold`` accepts (``distance <= threshold``)."""
    return int(np.count_nonzero(d <= threshold))


def at_threshold(genuine: Floats, impostor: Floats, threshold: float) -> dict[str, Any]:
    ng, ni = genuine.size, impostor.size
    ga, ia = accepted(genuine, threshold), accepted(impostor, threshold)
    return {
        "threshold": threshold,
        "tar": _r(ga / ng) if ng else None,
        "tar_lower_95": _r(rate_lower(ga, ng)),
        "far": _r(ia / ni) if ni else None,
        "far_upper_95": _r(rate_upper(ia, ni)),
        "false_rejects": ng - ga,
        "false_accepts": ia,
    }


def _below(limit: float) -> float:
    """The largest 4-decimal threshold strictly below ``limit`` (accepts d <= t < limit)."""
    t = math.floor(limit * 10_000) / 10_000
    if t >= limit:
        t = round(t - 0.0001, 4)
    return t


def threshold_for_far(impostor_sorted: Floats, far: float) -> tuple[float, int] | None:
    """The largest (4-decimal) threshold whose FAR is at most ``far``, and how many
    false accepts that allows; None without impostor pairs."""
    n = impostor_sorted.size
    if n == 0:
        return None
    allowed = math.floor(far * n + 1e-9)
    if allowed >= n:
        return _below(float(impostor_sorted[-1]) + 1.0), n
    return _below(float(impostor_sorted[allowed])), allowed


def roc_points(genuine: Floats, impostor: Floats) -> list[dict[str, Any]]:
    imp = np.sort(impostor)
    points = []
    for far in ROC_FARS:
        resolvable = far == 0.0 or far * imp.size >= 1.0
        found = threshold_for_far(imp, far) if genuine.size and resolvable else None
        if found is None:
            points.append(
                {
                    "far_target": far,
                    "resolvable": False,
                    "tar": None,
                    "threshold": None,
                    "needs_impostor_pairs": math.ceil(1 / far) if far else 1,
                }
            )
            continue
        t, allowed = found
        points.append(
            {
                "far_target": far,
                "resolvable": True,
                "threshold": t,
                "tar": _r(accepted(genuine, t) / genuine.size),
                "far": _r(accepted(impostor, t) / imp.size),
                "false_accepts_allowed": allowed,
            }
        )
    return points


def equal_error_rate(genuine: Floats, impostor: Floats) -> dict[str, float | None]:
    """EER: where FAR (impostors ≤ t) meets FRR (genuine > t), over every distance seen."""
    if not genuine.size or not impostor.size:
        return {"eer": None, "threshold": None}
    g, i = np.sort(genuine), np.sort(impostor)
    ts = np.unique(np.concatenate([g, i]))
    far = np.searchsorted(i, ts, side="right") / i.size
    frr = 1.0 - np.searchsorted(g, ts, side="right") / g.size
    k = int(np.argmin(np.abs(far - frr)))
    return {"eer": _r((far[k] + frr[k]) / 2), "threshold": _r(ts[k], 4)}


def recommend(genuine: Floats, impostor: Floats, gate_threshold: float) -> dict[str, Any]:
    """The largest threshold with FAR ≤ 0.1 %, with what it rests on."""
    imp = np.sort(impostor)
    found = threshold_for_far(imp, TARGET_FAR)
    if found is None or not genuine.size:
        return {"threshold": None, "caveat": "no impostor or no genuine pairs"}
    t, allowed = found
    ia = accepted(impostor, t)
    up = rate_upper(ia, imp.size)
    caveat = (
        f"rests on {imp.size:,} impostor pairs: FAR ≤ {100 * TARGET_FAR:g} % allows at most"
        f" {allowed} false accept(s) here (observed {ia}); with {ia} in {imp.size:,} the 95 %"
        f" upper bound of the true FAR is {100 * (up or 0):.3f} %."
        " The pairs share images and people, so they are not independent and the real"
        " uncertainty is larger. A threshold set at the edge of the impostors seen is"
        " optimistic by construction: measure on other photos before moving the gate's."
    )
    if imp.size < 1 / TARGET_FAR:
        caveat += f" {imp.size:,} pairs cannot resolve 0.1 % (it needs 1,000 or more)."
    if t > gate_threshold:
        caveat += f" It is above the gate threshold {gate_threshold}."
    return {
        "threshold": t,
        "far_target": TARGET_FAR,
        "impostor_pairs": int(imp.size),
        "false_accepts_allowed": allowed,
        "false_accepts": ia,
        "far": _r(ia / imp.size),
        "far_upper_95": _r(up),
        "tar": _r(accepted(genuine, t) / genuine.size),
        "caveat": caveat,
    }


def verification(genuine: Floats, impostor: Floats, threshold: float) -> dict[str, Any]:
    at = at_threshold(genuine, impostor, threshold)
    met = (
        at["tar"] is not None
        and at["far"] is not None
        and at["tar"] >= TARGET_TAR
        and at["far"] <= TARGET_FAR
    )
    return {
        "pairs": {"genuine": int(genuine.size), "impostor": int(impostor.size)},
        "distances": {"genuine": _summary(genuine), "impostor": _summary(impostor)},
        "at_threshold": at,
        "roc": roc_points(genuine, impostor),
        "eer": equal_error_rate(genuine, impostor),
        "recommended": recommend(genuine, impostor, threshold),
        "target": {"tar": TARGET_TAR, "far": TARGET_FAR, "met_at_threshold": met},
    }


# -------------------------------------------------------------------------- pairs
def distance_matrix(a: NDArray[Any], b: NDArray[Any]) -> Floats:
    """Euclidean distances between the rows of ``a`` and ``b`` (float64)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    sq = (a64 * a64).sum(1)[:, None] + (b64 * b64).sum(1)[None, :] - 2.0 * a64 @ b64.T
    out: Floats = np.sqrt(np.maximum(sq, 0.0))
    return out


def folder_pairs(samples: Sequence[Sample]) -> tuple[Floats, Floats]:
    """Distances of all genuine and all impostor pairs among the encoded samples."""
    ok = [s for s in samples if s.encoding is not None]
    if len(ok) < 2:
        return np.zeros(0), np.zeros(0)
    enc = np.stack([s.encoding for s in ok if s.encoding is not None])
    ids = np.array([s.identity for s in ok])
    d = distance_matrix(enc, enc)
    upper = np.triu(np.ones(d.shape, dtype=bool), k=1)
    same = ids[:, None] == ids[None, :]
    return d[upper & same], d[upper & ~same]


def _dist(a: Vector, b: Vector) -> float:
    return float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))


# ------------------------------------------------------------------ identification
def identification(samples: Sequence[Sample], threshold: float) -> dict[str, Any]:
    """Leave-one-out open-set identification with the hub's Gallery (threshold + margin).

    known: each image of a person with ≥ 2 encoded images, against all other images
    (its own person still enrolled with the rest): correct / wrong person / refused.
    unknown: each image against everyone but its own person: must be refused.
    """
    ok = [(s.identity, s.encoding) for s in samples if s.encoding is not None]
    gallery = Gallery(threshold=threshold)
    gallery.add_many((f"e{i}", person, vec) for i, (person, vec) in enumerate(ok))
    by_person: dict[str, list[int]] = {}
    for i, (person, _vec) in enumerate(ok):
        by_person.setdefault(person, []).append(i)
    known = {"probes": 0, "correct": 0, "wrong_person": 0, "refused": 0}
    refused_reasons: dict[str, int] = {}
    unknown = {"probes": 0, "refused": 0, "accepted": 0}
    for i, (person, vec) in enumerate(ok):
        if len(by_person[person]) >= 2:
            gallery.remove(f"e{i}")
            m = gallery.match(vec)
            gallery.add(f"e{i}", person, vec)
            known["probes"] += 1
            if not m.accepted:
                known["refused"] += 1
                refused_reasons[str(m.reason)] = refused_reasons.get(str(m.reason), 0) + 1
            elif m.person_id == person:
                known["correct"] += 1
            else:
                known["wrong_person"] += 1
        gallery.remove_person(person)
        m = gallery.match(vec)
        unknown["probes"] += 1
        unknown["accepted" if m.accepted else "refused"] += 1
        gallery.add_many((f"e{j}", person, ok[j][1]) for j in by_person[person])
    return {
        "known": {
            **known,
            "rate": _r(known["correct"] / known["probes"]) if known["probes"] else None,
            "refused_reasons": refused_reasons,
        },
        "unknown": {
            **unknown,
            "false_accept_rate": _r(unknown["accepted"] / unknown["probes"])
            if unknown["probes"]
            else None,
        },
    }


# --------------------------------------------------------------------------- masks
def _tar(ds: Sequence[float], threshold: float) -> dict[str, Any]:
    arr = np.asarray(ds, dtype=np.float64)
    n, k = arr.size, accepted(arr, threshold)
    return {
        "trials": n,
        "tar": _r(k / n) if n else None,
        "tar_lower_95": _r(rate_lower(k, n)),
        "distance": _summary(arr[np.isfinite(arr)]),
    }


def _far(arr: Floats, threshold: float) -> dict[str, Any]:
    k = accepted(arr, threshold)
    return {
        "pairs": int(arr.size),
        "far": _r(k / arr.size) if arr.size else None,
        "far_upper_95": _r(rate_upper(k, int(arr.size))),
        "false_accepts": k,
        "distance": _summary(arr),
    }


def _masked_variant(
    groups: Sequence[Sequence[Sample]],
    probes: Sequence[Sample],
    masked_of: Callable[[Sample], Vector | None],
    threshold: float,
) -> dict[str, Any]:
    """Masked-probe TAR without/with a masked reference, and masked-probe FAR, where
    ``masked_of`` gives a sample's masked encoding (None: the detector lost the face,
    so the gate sees nobody — a reject — and that masked photo cannot be enrolled)."""
    plain_only: list[float] = []  # d(masked p, plain r)
    with_masked: list[float] = []  # min(d(masked p, plain r), d(masked p, masked s))
    for people in groups:
        for p, r, s in itertools.permutations(people, 3):
            assert r.encoding is not None
            mp, ms = masked_of(p), masked_of(s)
            if mp is None:
                plain_only.append(math.inf)
                with_masked.append(math.inf)
                continue
            d_plain = _dist(mp, r.encoding)
            plain_only.append(d_plain)
            with_masked.append(min(d_plain, _dist(mp, ms) if ms is not None else math.inf))

    # Impostors: masked probes against other people's plain and masked photos.
    ok = [(s, v) for s in probes if (v := masked_of(s)) is not None and s.encoding is not None]
    imp_plain: Floats = np.zeros(0)
    imp_masked: Floats = np.zeros(0)
    if len(ok) >= 2:
        m = np.stack([v for _s, v in ok])
        e = np.stack([s.encoding for s, _v in ok if s.encoding is not None])
        ids = np.array([s.identity for s, _v in ok])
        other = ids[:, None] != ids[None, :]
        imp_plain = distance_matrix(m, e)[other]  # ordered: probe masked, reference plain
        upper = np.triu(np.ones(other.shape, dtype=bool), k=1)
        imp_masked = distance_matrix(m, m)[other & upper]
    # What a separate, stricter threshold for masked faces would give: the largest with
    # FAR ≤ 0.1 % among masked-vs-masked impostor pairs (masks look alike).
    strict: dict[str, Any] = {"threshold": None}
    found = threshold_for_far(np.sort(imp_masked), TARGET_FAR)
    if found is not None and with_masked:
        t, _allowed = found
        strict = {
            "threshold": t,
            "impostor_pairs": int(imp_masked.size),
            "far_masked_vs_masked": _r(accepted(imp_masked, t) / imp_masked.size),
            "tar_masked_with_masked_reference": _r(
                accepted(np.asarray(with_masked), t) / len(with_masked)
            ),
            "tar_masked_vs_plain_reference": _r(
                accepted(np.asarray(plain_only), t) / len(plain_only)
            ),
        }
    return {
        "strict_threshold": strict,
        "identification": _masked_identification(probes, masked_of, threshold),
        "genuine": {
            "masked_vs_plain_reference": _tar(plain_only, threshold),
            "masked_with_masked_reference": _tar(with_masked, threshold),
        },
        "impostor": {
            "masked_vs_plain": _far(imp_plain, threshold),
            "masked_vs_masked": _far(imp_masked, threshold),
        },
    }


def _masked_identification(
    probes: Sequence[Sample], masked_of: Callable[[Sample], Vector | None], threshold: float
) -> dict[str, Any]:
    """1:N with the Gallery when everyone enrolled a plain and a masked reference of
    each photo: each masked probe with its own photo's references left out (known),
    then with its whole person left out (an unknown masked face, which must be refused)."""
    gallery = Gallery(threshold=threshold)
    refs: dict[str, list[tuple[str, Vector]]] = {}
    for i, s in enumerate(probes):
        assert s.encoding is not None
        mine = refs.setdefault(s.identity, [])
        mine.append((f"p{i}", s.encoding))
        if (masked := masked_of(s)) is not None:
            mine.append((f"m{i}", masked))
    gallery.add_many((eid, person, vec) for person, rs in refs.items() for eid, vec in rs)
    known = {"probes": 0, "correct": 0, "wrong_person": 0, "refused": 0}
    unknown = {"probes": 0, "refused": 0, "accepted": 0}
    for i, s in enumerate(probes):
        probe = masked_of(s)
        if probe is None:
            continue
        own = [(eid, vec) for eid, vec in refs[s.identity] if eid in (f"p{i}", f"m{i}")]
        if len(refs[s.identity]) > len(own):
            for eid, _vec in own:
                gallery.remove(eid)
            m = gallery.match(probe)
            for eid, vec in own:
                gallery.add(eid, s.identity, vec)
            known["probes"] += 1
            if not m.accepted:
                known["refused"] += 1
            elif m.person_id == s.identity:
                known["correct"] += 1
            else:
                known["wrong_person"] += 1
        gallery.remove_person(s.identity)
        m = gallery.match(probe)
        unknown["probes"] += 1
        unknown["accepted" if m.accepted else "refused"] += 1
        gallery.add_many((eid, s.identity, vec) for eid, vec in refs[s.identity])
    return {"known": known, "unknown": unknown}


def masked_metrics(samples: Sequence[Sample], threshold: float) -> dict[str, Any]:
    """Masked probes, with and without a masked reference photo (see the module doc),
    two ways: the masked image through the whole pipeline again (``redetected``: what a
    gate running HOG sees), and encoded at the plain photo's face box (``known_box``:
    the encoder alone, as if the detector always found the masked face)."""
    by_person: dict[str, list[Sample]] = {}
    for s in samples:
        if s.encoding is not None:
            by_person.setdefault(s.identity, []).append(s)
    probes = [s for ss in by_person.values() for s in ss]
    groups = [people for people in by_person.values() if len(people) >= MASK_MIN_IMAGES]
    baseline = [
        _dist(p.encoding, r.encoding)
        for people in groups
        for p, r, _s in itertools.permutations(people, 3)
        if p.encoding is not None and r.encoding is not None
    ]
    return {
        "method": "tools.masks: polygon jaw 2..14 + nose bridge 29, flat light blue, 3 pleats",
        "threshold": threshold,
        "probes": len(probes),
        "identities_used": len(groups),
        "masked_failures_to_detect": sorted(s.rel for s in probes if s.masked is None),
        "unmasked_baseline": _tar(baseline, threshold),
        "redetected": _masked_variant(groups, probes, lambda s: s.masked, threshold),
        "known_box": _masked_variant(groups, probes, lambda s: s.masked_at_box, threshold),
    }


# --------------------------------------------------------------------- LFW pairs
@dataclass(frozen=True, slots=True)
class PairLine:
    a: tuple[str, int]
    b: tuple[str, int]

    @property
    def genuine(self) -> bool:
        return self.a[0] == self.b[0]


def parse_pairs(text: str) -> list[PairLine]:
    """LFW ``pairs.txt``: ``name n1 n2`` / ``name1 n1 name2 n2``; a header of counts is
    skipped. Raises ValueError naming the first bad line."""
    out: list[PairLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        try:
            if len(fields) == 3:
                out.append(PairLine((fields[0], int(fields[1])), (fields[0], int(fields[2]))))
                continue
            if len(fields) == 4:
                out.append(PairLine((fields[0], int(fields[1])), (fields[2], int(fields[3]))))
                continue
        except ValueError:
            pass
        if not out and all(f.isdigit() for f in fields) and len(fields) <= 2:
            continue  # header: "10 300" (folds, pairs per fold) or a single count
        raise ValueError(f"pairs file line {number}: expected 'name n1 n2' or 'name1 n1 name2 n2'")
    return out


def lfw_path(name: str, number: int) -> str:
    return f"{name}/{name}_{number:04d}.jpg"


def run_pairs(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(args.root)
    lines = parse_pairs(Path(args.pairs).read_text(encoding="utf-8"))
    images = sorted({lfw_path(*x) for line in lines for x in (line.a, line.b)})
    log(f"{len(lines):,} pairs over {len(images):,} images")
    jobs = [(root / rel, rel, rel.split("/", 1)[0]) for rel in images]
    missing = [rel for p, rel, _i in jobs if not p.is_file()]
    present = [j for j in jobs if j[0].is_file()]
    samples = {
        s.rel: s
        for s in encode_all(present, upsample=args.upsample, masks=False, processes=args.jobs)
    }
    genuine: list[float] = []
    impostor: list[float] = []
    skipped = 0
    for line in lines:
        sa, sb = samples.get(lfw_path(*line.a)), samples.get(lfw_path(*line.b))
        if sa is None or sb is None or sa.encoding is None or sb.encoding is None:
            skipped += 1
            continue
        (genuine if line.genuine else impostor).append(_dist(sa.encoding, sb.encoding))
    result = _header(args, "pairs")
    result["images"] = _images_block(list(samples.values()), missing=missing)
    result["pairs_file"] = {
        "lines": len(lines),
        "genuine": sum(1 for x in lines if x.genuine),
        "impostor": sum(1 for x in lines if not x.genuine),
        "skipped_no_encoding": skipped,
    }
    result.update(
        verification(
            np.asarray(genuine, dtype=np.float64),
            np.asarray(impostor, dtype=np.float64),
            args.threshold,
        )
    )
    return result


# -------------------------------------------------------------------------- folder
def _header(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    return {
        "tool": "eval_faces",
        "mode": mode,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "engine": {
            "name": "dlib",
            "detector": "hog",
            "upsample": args.upsample,
            "face_used": "largest",
            "distance": "euclidean",
            "accepts": "distance <= threshold",
        },
        "threshold": args.threshold,
        "gate_threshold": DEFAULT_THRESHOLD,
    }


def _images_block(samples: Sequence[Sample], *, missing: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "identities": len({s.identity for s in samples}),
        "images": len(samples) + len(missing),
        "encoded": sum(1 for s in samples if s.encoding is not None),
        "failures_to_detect": sorted(s.rel for s in samples if s.error == "no_face"),
        "unreadable": sorted(s.rel for s in samples if s.error and s.error != "no_face"),
        "missing": sorted(missing),
        "several_faces_largest_used": sorted(s.rel for s in samples if s.faces > 1),
    }


def run_folder(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(args.dir)
    found = find_identities(root, args.limit_per_identity)
    jobs = [
        (p, p.relative_to(root).as_posix(), identity)
        for identity, paths in found.items()
        for p in paths
    ]
    log(f"{len(found)} identities, {len(jobs)} images under {root}")
    samples = encode_all(jobs, upsample=args.upsample, masks=args.masks, processes=args.jobs)
    genuine, impostor = folder_pairs(samples)
    result = _header(args, "folder")
    result["images"] = _images_block(samples)
    result.update(verification(genuine, impostor, args.threshold))
    result["identification"] = identification(samples, args.threshold)
    result["masked"] = masked_metrics(samples, args.threshold) if args.masks else None
    return result


# -------------------------------------------------------------------------- report
def _pct(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f} %"


def format_report(r: dict[str, Any]) -> str:
    img, pairs, at = r["images"], r["pairs"], r["at_threshold"]
    lines = [
        f"face accuracy ({r['mode']} mode), {r['date']}",
        f"engine    dlib HOG upsample {r['engine']['upsample']}, largest face,"
        f" accepts distance <= threshold",
        f"images    {img['images']} of {img['identities']} identities, {img['encoded']} encoded;"
        f" failures to detect: {len(img['failures_to_detect'])}"
        + (f" ({', '.join(img['failures_to_detect'])})" if img["failures_to_detect"] else ""),
    ]
    for key, label in (("unreadable", "unreadable"), ("missing", "missing")):
        if img[key]:
            lines.append(f"          {label}: {', '.join(img[key])}")
    if img["several_faces_largest_used"]:
        several = ", ".join(img["several_faces_largest_used"])
        lines.append(f"          several faces (largest used): {several}")
    if "pairs_file" in r:
        pf = r["pairs_file"]
        lines.append(
            f"pairs file {pf['lines']} lines ({pf['genuine']} genuine, {pf['impostor']} impostor),"
            f" {pf['skipped_no_encoding']} skipped for want of an encoding"
        )
    dg, di = r["distances"]["genuine"], r["distances"]["impostor"]
    lines += [
        f"pairs     {pairs['genuine']:,} genuine, {pairs['impostor']:,} impostor",
        f"distance  genuine median {dg['median']} max {dg['max']};"
        f" impostor min {di['min']} median {di['median']}",
        "",
        f"at threshold {at['threshold']}"
        + (" (the gate's)" if at["threshold"] == r["gate_threshold"] else "")
        + f": TAR {_pct(at['tar'])} ({at['false_rejects']} false rejects; 95 % lower bound"
        f" {_pct(at['tar_lower_95'])}), FAR {_pct(at['far'], 3)} ({at['false_accepts']}"
        f" false accepts; 95 % upper bound {_pct(at['far_upper_95'], 3)})",
        "target TAR ≥ 99 % at FAR ≤ 0.1 %: "
        + ("met" if r["target"]["met_at_threshold"] else "MISSED")
        + " on these pairs",
        "",
        "ROC       FAR ≤      threshold   TAR",
    ]
    for p in r["roc"]:
        far = f"{100 * p['far_target']:g} %"
        if p["resolvable"]:
            lines.append(f"          {far:<10} {p['threshold']:<11} {_pct(p['tar'])}")
        else:
            lines.append(
                f"          {far:<10} n/a (needs ≥ {p['needs_impostor_pairs']:,} impostor pairs)"
            )
    eer, rec = r["eer"], r["recommended"]
    lines += [
        f"EER       {_pct(eer['eer'])} at {eer['threshold']}",
        f"recommended threshold {rec['threshold']} (largest with FAR ≤ 0.1 %):"
        f" TAR {_pct(rec.get('tar'))}, FAR {_pct(rec.get('far'), 3)}",
        f"          {rec['caveat']}",
    ]
    ident = r.get("identification")
    if ident:
        k, u = ident["known"], ident["unknown"]
        lines += [
            "",
            "identification (Gallery: best per person, threshold + margin), leave one out:",
            f"          known   {k['correct']}/{k['probes']} correct, {k['wrong_person']} wrong"
            f" person, {k['refused']} refused"
            + (f" {k['refused_reasons']}" if k["refused_reasons"] else ""),
            f"          unknown {u['refused']}/{u['probes']} refused, {u['accepted']} accepted",
        ]
    masked = r.get("masked")
    if masked:
        base = masked["unmasked_baseline"]
        ftd = masked["masked_failures_to_detect"]
        lines += [
            "",
            f"masked probes ({masked['method']}),"
            f" {masked['identities_used']} identities with ≥ 3 photos,"
            f" {base['trials']:,} (probe, reference, masked reference) trials:",
            f"          HOG finds no face in {len(ftd)} of {masked['probes']} masked probes"
            + (f" ({', '.join(ftd)})" if ftd else ""),
            f"          {'unmasked probe vs plain reference':<46} TAR {_pct(base['tar'])}"
            f" (median distance {base['distance']['median']})",
        ]
        for variant, title in (
            ("redetected", "face found again by HOG (the gate)"),
            ("known_box", "encoded at the plain photo's box (encoder only)"),
        ):
            g, imp = masked[variant]["genuine"], masked[variant]["impostor"]
            lines.append(f"          {title}:")
            for key, label in (
                ("masked_vs_plain_reference", "masked probe vs plain reference only"),
                ("masked_with_masked_reference", "masked probe, masked reference enrolled too"),
            ):
                x = g[key]
                lines.append(
                    f"            {label:<44} TAR {_pct(x['tar'])}"
                    f" (median distance {x['distance']['median']})"
                )
            sx = masked[variant]["strict_threshold"]
            if sx["threshold"] is not None:
                lines.append(
                    f"            {'stricter threshold for masked faces:':<44}"
                    f" {sx['threshold']} ("
                    + (
                        "masked-vs-masked FAR ≤ 0.1 %"
                        if sx["impostor_pairs"] >= 1 / TARGET_FAR
                        else "no masked-vs-masked false accept"
                    )
                    + f" among {sx['impostor_pairs']:,} pairs): TAR"
                    f" {_pct(sx['tar_masked_with_masked_reference'])} with a masked reference,"
                    f" {_pct(sx['tar_masked_vs_plain_reference'])} with the plain one only"
                )
            mi = masked[variant]["identification"]
            k, u = mi["known"], mi["unknown"]
            lines.append(
                f"            {'1:N, everyone enrolled plain + masked:':<44}"
                f" known {k['correct']}/{k['probes']} correct ({k['wrong_person']} wrong"
                f" person), unknown {u['accepted']}/{u['probes']} accepted"
            )
            for key, label in (
                ("masked_vs_plain", "impostors: masked probe vs plain photo"),
                ("masked_vs_masked", "impostors: masked probe vs masked photo"),
            ):
                x = imp[key]
                lines.append(
                    f"            {label:<44} FAR {_pct(x['far'], 3)} ({x['false_accepts']}/"
                    f"{x['pairs']:,}; min distance {x['distance']['min']})"
                )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- cli
def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m devtools.eval_faces",
        description="Face accuracy on a folder of <identity>/<images> or an LFW pairs list",
    )
    p.add_argument("dir", nargs="?", help="folder of <identity>/<images>")
    p.add_argument("--pairs", help="LFW-style pairs.txt (with --root)")
    p.add_argument("--root", help="image root for --pairs: ROOT/name/name_0001.jpg")
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="accept distance <= this [the gate's: %(default)s]",
    )
    p.add_argument(
        "--upsample", type=_non_negative, default=DEFAULT_UPSAMPLE, help="HOG [%(default)s]"
    )
    p.add_argument("--limit-per-identity", type=_positive, help="first N images per identity")
    p.add_argument("--no-masks", dest="masks", action="store_false", help="skip masked probes")
    p.add_argument("--jobs", type=_positive, default=1, help="worker processes [%(default)s]")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.pairs:
        if not args.root or args.dir:
            parser.error("--pairs needs --root DIR (and no positional DIR)")
        run: Callable[[argparse.Namespace], dict[str, Any]] = run_pairs
    elif args.dir:
        run = run_folder
    else:
        parser.error("give DIR, or --pairs FILE --root DIR")
    result = run(args)
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else format_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
