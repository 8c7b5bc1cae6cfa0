"""The gate's face accuracy, measured the way the gate decides (issue 14, item 2).

    python -m devtools.eval_faces ../shared/faces --engine ncnn_sface_2021dec \\
        --calibration ../shared/faces-calibration --cache .cache-eval \\
        [--galleries 200 2000] [--strictness standard] [--masks pairs] [--json]
    python -m devtools.eval_faces DIR --pairs pairs.txt   # an LFW pairs file over DIR

**Same path as the gate.** The engine comes from ``engines.make_engine`` (what the hub's
face worker builds). A probe is the camera path's ``analyse`` at upsample 0 (dlib: HOG
plus its false-positive filter; ncnn: YuNet at its score floor), largest face; **no face
is a rejection**, never dropped. A reference goes through enrollment's quality gate:
on the test set exactly as the hub enrolls (``faces.enrollment_face``: upsample 1, one
face, size, light, blur); on the calibration set, to save an analysis per photo, the
same ``check_enrollment`` on the upsample-0 faces. Decisions are
``recognition.Recogniser.classify``: the hub's code, thresholds and margin, not a copy.

**Which photos do what.** ``--calibration`` (thresholds were set there by
``devtools.calibrate_faces``) supplies gallery distractors: G people (``--galleries``)
with real embeddings, one reference each. ``DIR`` (the test set) supplies residents:
its people are split in two halves; each half in turn is enrolled beside the G
distractors while the other half walks up as strangers. Figures, with the scope set
to everyone enrolled (the worst case):

* known residents (test photos other than the reference): accepted as themselves,
  accepted as someone else, refused (no face included);
* strangers: test-set people not enrolled (held-out, nothing tuned on them) and, apart,
  calibration people not in the gallery (every calibration image is a stranger once: the
  people are split in six, or more parts when G needs it, and each part walks up
  against a gallery drawn from the rest; these photos set the thresholds, so that
  figure is optimistic by construction);
* masked: every enrolled person also has a masked reference (their reference photo
  with the synthetic mask of ``devtools.masks``, drawn from dlib's 68 points), and masked
  photos walk up through the Recogniser's masked-reference path;
* pairs: every genuine and impostor pair of ``DIR`` (or of an LFW ``--pairs`` file; none
  is available offline), each decided by a Recogniser holding the pair's first photo as
  its one person: the bar for one person is the pair threshold set at pair FAR 0.1 % on
  the calibration set, so this is TAR / FAR at FAR 0.1 %; masked pairs likewise with a
  masked probe against a masked (or a plain) reference.

``--masks pairs`` masks only each calibration person's first two photos, after every
plain encoding is made (dlib is several times slower than ncnn); ``--available-only``
uses the calibration chunks already cached, a prefix of the set in name order, and the
report says so.

Every rate has a one-sided 95 % Clopper-Pearson bound (lower for accept rates of known
people, upper for false accepts). Presentations from one photo set share people, so the
bounds are a floor on the real uncertainty. ``--cache DIR`` keeps each set's encodings
(``.npz``): a second report costs no inference. Only counts leave this tool: no names,
no file names, no encodings.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
import functools
import hashlib
import json
import math
import os
from pathlib import Path
import platform
import re
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custom_components.community_gate.core import engines
from custom_components.community_gate.core.faces import (
    DlibEngine,
    Face,
    FaceEngine,
    FaceQualityError,
    check_enrollment,
    enrollment_face,
)
from custom_components.community_gate.core.images import ImageError, RGBImage, load_image_file
from custom_components.community_gate.core.model import FaceVariant
from custom_components.community_gate.core.recognition import Recogniser
from devtools.masks import apply_mask

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"})
CONFIDENCE = 0.95
CAMERA_UPSAMPLE = 0  # face.py: worker.analyse(image) with the default upsample
MASK_UPSAMPLE = 1  # dlib finds the face to draw the mask on (a devtools step, not the gate)
ROTATIONS = 6  # calibration people split in sixths (or more): each a stranger once
MAX_ROTATIONS = 40
SEED = 14
CACHE_VERSION = "v2"
CHUNK = 250  # images per cache file

Vector = NDArray[np.float32]
Floats = NDArray[np.float64]


def log(msg: str) -> None:
    print(f"[eval_faces] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------- photos
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


# --------------------------------------------------------------------- encoding
@dataclass(slots=True)
class Encoded:
    """What one engine made of every image of a set, in ``find_identities`` order.
    NaN rows: no face (probe) or refused by the quality gate (reference)."""

    labels: NDArray[np.str_]
    plain: Vector  # camera path, largest face
    ref: Vector  # enrollment of the same photo
    drawn: NDArray[np.bool_]  # dlib found the face the mask is drawn on
    masked: Vector  # the masked photo through the camera path
    masked_ref: Vector  # the masked photo through enrollment
    ms: Floats  # camera-path analyse wall time per image

    def __len__(self) -> int:
        return len(self.labels)


def _enroll_vector(
    engine: FaceEngine, rgb: RGBImage, camera: list[Face], exact: bool
) -> Vector | None:
    try:
        if exact:
            return enrollment_face(engine, rgb).encoding
        return check_enrollment(rgb, camera).encoding
    except FaceQualityError:
        return None


def _mask_points(dlib: DlibEngine, rgb: RGBImage) -> tuple[tuple[int, int], ...] | None:
    """dlib's 68 points of the largest face it finds at upsample 1: where the mask goes."""
    boxes = dlib.detect(rgb, upsample=MASK_UPSAMPLE)
    if not boxes:
        return None
    return dlib.landmarks(rgb, max(boxes, key=lambda b: b.area))


def encode_set(
    engine_name: str,
    root: Path,
    *,
    exact_enrollment: bool,
    cache: Path | None = None,
    limit: int | None = None,
    masks: str = "all",
    available_only: bool = False,
) -> Encoded:
    """Every image of ``root`` through ``engine_name``: the camera path, enrollment, and
    the same two again with the synthetic mask drawn on the face (see the docstring).
    ``masks``: ``"all"`` images, ``"pairs"`` (the first two photos of each person with
    two or more: a masked reference and a masked probe; saves time on a slow engine), or
    ``"none"``; with ``"pairs"`` every plain encoding is made before the first masked
    one. With ``cache``, work is kept in chunks of ``CHUNK`` images, so an
    interrupted run resumes; ``available_only`` returns the cached chunks (a prefix of
    the set, in order) without encoding anything more."""
    people = find_identities(root, limit)
    paths = [(ident, p) for ident, images in people.items() for p in images]
    if masks == "all":
        wanted = set(range(len(paths)))
    elif masks == "pairs":
        starts = np.cumsum([0] + [len(v) for v in people.values()])[:-1]
        wanted = {
            int(s) + k
            for s, v in zip(starts, people.values(), strict=True)
            if len(v) > 1
            for k in (0, 1)
        }
    elif masks == "none":
        wanted = set()
    else:
        raise ValueError(f"masks must be all, pairs or none, not {masks!r}")

    def series(mode: str, masked: set[int], plain: bool) -> Encoded:
        key = hashlib.sha256(
            f"{CACHE_VERSION}|{engine_name}|{exact_enrollment}|{mode}".encode()
            + "\n".join(str(p) for _i, p in paths).encode()
        ).hexdigest()[:16]
        return _series(
            engine_name,
            paths,
            masked,
            plain=plain,
            exact_enrollment=exact_enrollment,
            stem=f"{root.name}-{engine_name}-{key}",
            cache=cache,
            available_only=available_only,
        )

    if masks == "all":
        return series("", wanted, plain=True)
    # Plain first, masks after: the plain encodings are what most figures need.
    out = series("masks=none|", set(), plain=True)
    if masks == "none":
        return out
    extra = series(f"masks={masks}-only|", wanted, plain=False)
    n = min(len(out), len(extra))
    for name in ("drawn", "masked", "masked_ref"):
        getattr(out, name)[:n] = getattr(extra, name)[:n]
    return out


def _series(
    engine_name: str,
    paths: Sequence[tuple[str, Path]],
    masked: set[int],
    *,
    plain: bool,
    exact_enrollment: bool,
    stem: str,
    cache: Path | None,
    available_only: bool,
) -> Encoded:
    whole = cache / f"{stem}.npz" if cache else None
    if whole is not None and whole.is_file():
        log(f"{len(paths)} images from {whole}")
        return _load(whole)
    parts: list[Encoded] = []
    engines_: list[FaceEngine] = []
    started = time.perf_counter()
    for first in range(0, len(paths), CHUNK):
        chunk = cache / f"{stem}-{first // CHUNK:03d}.npz" if cache else None
        if chunk is not None and chunk.is_file():
            parts.append(_load(chunk))
            continue
        if available_only:
            log(f"{stem}: only the first {first} of {len(paths)} images are encoded")
            break
        if not engines_:
            engines_.append(engines.make_engine(engine_name))
        rows = range(first, min(first + CHUNK, len(paths)))
        part = _encode_rows(
            engines_[0],
            [paths[i] for i in rows],
            [i in masked for i in rows],
            exact_enrollment,
            plain=plain,
        )
        parts.append(part)
        if chunk is not None:
            chunk.parent.mkdir(parents=True, exist_ok=True)
            np.savez(chunk, **{k: getattr(part, k) for k in Encoded.__slots__})
        took = time.perf_counter() - started
        log(f"{stem}: {rows.stop}/{len(paths)} ({took:.0f} s)")
    if not parts:
        return _empty(engines.spec(engine_name).dims)
    return Encoded(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in Encoded.__slots__})


def _load(path: Path) -> Encoded:
    data = np.load(path)
    return Encoded(**{k: data[k] for k in Encoded.__slots__})


def _encode_rows(
    engine: FaceEngine,
    paths: Sequence[tuple[str, Path]],
    masked: Sequence[bool],
    exact_enrollment: bool,
    *,
    plain: bool = True,
) -> Encoded:
    # dlib's 68 points only place the synthetic mask; the ncnn gate never needs them.
    marker = engine if isinstance(engine, DlibEngine) else _dlib()
    n = len(paths)
    dims = engine.dims
    out = Encoded(
        labels=np.array([ident for ident, _p in paths]),
        plain=np.full((n, dims), np.nan, np.float32),
        ref=np.full((n, dims), np.nan, np.float32),
        drawn=np.zeros(n, bool),
        masked=np.full((n, dims), np.nan, np.float32),
        masked_ref=np.full((n, dims), np.nan, np.float32),
        ms=np.full(n, np.nan),
    )
    for i, (_ident, path) in enumerate(paths):
        try:
            rgb = load_image_file(path)
        except ImageError:
            continue  # unreadable: no face, a rejection
        if plain:
            t0 = time.perf_counter()
            faces = engine.analyse(rgb, upsample=CAMERA_UPSAMPLE, max_faces=2)
            out.ms[i] = (time.perf_counter() - t0) * 1000
            if faces:
                out.plain[i] = faces[0].encoding
            ref = _enroll_vector(engine, rgb, faces, exact_enrollment)
            if ref is not None:
                out.ref[i] = ref
        points = _mask_points(marker, rgb) if masked[i] else None
        if points is not None:
            masked_rgb = apply_mask(rgb, points)
            out.drawn[i] = True
            mfaces = engine.analyse(masked_rgb, upsample=CAMERA_UPSAMPLE, max_faces=2)
            if mfaces:
                out.masked[i] = mfaces[0].encoding
            mref = _enroll_vector(engine, masked_rgb, mfaces, exact_enrollment)
            if mref is not None:
                out.masked_ref[i] = mref
    return out


@functools.cache
def _dlib() -> DlibEngine:
    return DlibEngine()


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


def share(k: int, n: int, *, bound: str) -> dict[str, Any]:
    """``k`` of ``n`` with its one-sided 95 % bound (``"lower"`` or ``"upper"``)."""
    b = rate_lower(k, n) if bound == "lower" else rate_upper(k, n)
    return {
        "count": k,
        "of": n,
        "rate": None if n == 0 else round(k / n, 6),
        f"{bound}_95": None if b is None else round(b, 6),
    }


# ------------------------------------------------------------------- open set
@dataclass(slots=True)
class Tally:
    """Presentations to a Recogniser, counted as the gate decides them."""

    known: int = 0  # the person is enrolled
    known_self: int = 0  # ... and was accepted as themselves
    known_other: int = 0  # ... and was accepted as someone else
    known_no_face: int = 0  # ... and no face was found (refused)
    strangers: int = 0  # not enrolled
    strangers_accepted: int = 0  # ... and accepted as an enrolled person
    strangers_no_face: int = 0

    def add(self, other: Tally) -> None:
        for name in Tally.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> dict[str, Any]:
        return {
            "known_accepted_as_themselves": share(self.known_self, self.known, bound="lower"),
            "known_accepted_as_someone_else": share(self.known_other, self.known, bound="upper"),
            "known_no_face": self.known_no_face,
            "strangers_accepted": share(self.strangers_accepted, self.strangers, bound="upper"),
            "strangers_no_face": self.strangers_no_face,
        }


def present(
    recogniser: Recogniser,
    identities: Sequence[str],
    vectors: Vector,
    scope: frozenset[str] | None = None,
) -> Tally:
    """Each row of ``vectors`` (NaN: no face found) presented as ``identities[i]``: no
    face is a refusal; otherwise ``Recogniser.classify`` decides, as at the gate."""
    enrolled = recogniser.enrolled()
    tally = Tally()
    for identity, vector in zip(identities, vectors, strict=True):
        known = identity in enrolled
        no_face = bool(np.isnan(vector).any())
        match = None if no_face else recogniser.classify(vector, scope)
        person = None if match is None else match.matched_person
        if known:
            tally.known += 1
            tally.known_no_face += no_face
            tally.known_self += person == identity
            tally.known_other += person is not None and person != identity
        else:
            tally.strangers += 1
            tally.strangers_no_face += no_face
            tally.strangers_accepted += person is not None
    return tally


def enroll(
    recogniser: Recogniser, person: str, vector: Vector, variant: FaceVariant, ref: str
) -> bool:
    """One reference, as the hub adds it after enrollment; False if the photo was
    refused by the quality gate (NaN)."""
    if np.isnan(vector).any():
        return False
    recogniser.gallery(variant).add(f"{ref}:{variant.value}", person, vector)
    return True


def first_references(data: Encoded) -> dict[str, int]:
    """Each person's first photo that passed enrollment: their reference."""
    out: dict[str, int] = {}
    for i in np.flatnonzero(~np.isnan(data.ref).any(axis=1)):
        out.setdefault(str(data.labels[i]), int(i))
    return out


@dataclass(slots=True)
class OpenSet:
    """Tallies of one engine, gallery size and strictness."""

    test_plain: Tally = field(default_factory=Tally)  # plain references only
    test_plain_with_masked_refs: Tally = field(default_factory=Tally)
    test_masked: Tally = field(default_factory=Tally)  # masked probes, masked references
    calibration_plain: Tally = field(default_factory=Tally)
    calibration_masked: Tally = field(default_factory=Tally)
    gallery_people: list[int] = field(default_factory=list)
    bars: list[float] = field(default_factory=list)


def _empty(dims: int) -> Encoded:
    none = np.zeros((0, dims), np.float32)
    return Encoded(np.array([], dtype=str), none, none, np.zeros(0, bool), none, none, np.zeros(0))


def _recogniser(
    spec: engines.EngineSpec,
    strictness: str,
    sets: Sequence[tuple[Encoded, dict[str, int], Sequence[str]]],
    masked_refs: bool,
) -> Recogniser:
    rec = Recogniser(spec, strictness)
    for data, refs, people in sets:
        for person in people:
            row = refs[person]
            enroll(rec, person, data.ref[row], FaceVariant.PLAIN, f"{id(data)}-{row}")
            if masked_refs and data.drawn[row]:
                enroll(rec, person, data.masked_ref[row], FaceVariant.MASKED, f"{id(data)}-{row}")
    return rec


def _probes(
    data: Encoded, people: Sequence[str], skip_rows: set[int], masked: bool
) -> tuple[list[str], Vector]:
    wanted = set(people)
    rows = [
        i
        for i, label in enumerate(data.labels.tolist())
        if label in wanted and i not in skip_rows and (not masked or data.drawn[i])
    ]
    vectors = (data.masked if masked else data.plain)[rows]
    return [str(data.labels[i]) for i in rows], vectors


def open_set(
    spec: engines.EngineSpec,
    strictness: str,
    gallery: int,
    cal: Encoded | None,
    test: Encoded,
    rotations: int = ROTATIONS,
) -> OpenSet:
    """The open-set runs of the module docstring for one gallery size and strictness
    (without a calibration set: the test residents alone, two rotations)."""
    rng = np.random.default_rng(SEED)
    if cal is None:
        cal, rotations = _empty(test.plain.shape[1]), 2
    cal_refs, test_refs = first_references(cal), first_references(test)
    cal_people = sorted(set(cal.labels.tolist()))
    # Enough rotations that the people left out of each still leave G to enroll.
    if gallery > 0 and cal_refs:
        spare = len(cal_refs) - gallery
        needed = math.ceil(1.15 * len(cal_refs) / spare) if spare > 0 else MAX_ROTATIONS
        rotations = min(max(rotations, needed), MAX_ROTATIONS)
    sixth = {
        p: int(g)
        for p, g in zip(cal_people, rng.permutation(len(cal_people)) % rotations, strict=True)
    }
    test_people = sorted(test_refs)
    halves = [test_people[0::2], test_people[1::2]]
    # Test people without an enrollable photo can only ever be strangers.
    test_never = sorted(set(test.labels.tolist()) - set(test_refs))
    out = OpenSet()
    for r in range(rotations):
        pool = sorted(p for p in cal_refs if sixth[p] != r)
        distractors = sorted(rng.choice(pool, size=min(gallery, len(pool)), replace=False))
        h = r % 2
        residents = halves[h]
        sets = [(cal, cal_refs, distractors), (test, test_refs, residents)]
        plain_only = _recogniser(spec, strictness, sets, masked_refs=False)
        with_masked = _recogniser(spec, strictness, sets, masked_refs=True)
        out.gallery_people.append(plain_only.people)
        out.bars.append(plain_only.bars(None).plain)
        strangers = [p for p in cal_people if sixth[p] == r]
        for masked, tally, rec in (
            (False, out.calibration_plain, plain_only),
            (True, out.calibration_masked, with_masked),
        ):
            ids, vecs = _probes(cal, strangers, set(), masked)
            tally.add(present(rec, ids, vecs))
        if r < 2:  # each test half enrolled once, the other half strangers once
            ref_rows = {test_refs[p] for p in residents}
            walkers = residents + halves[1 - h] + (test_never if r == 0 else [])
            for masked, tally, rec in (
                (False, out.test_plain, plain_only),
                (False, out.test_plain_with_masked_refs, with_masked),
                (True, out.test_masked, with_masked),
            ):
                ids, vecs = _probes(test, walkers, ref_rows, masked)
                tally.add(present(rec, ids, vecs))
    return out


# ------------------------------------------------------------------------ pairs
@dataclass(frozen=True, slots=True)
class PairLine:
    """Two images as (person, n): the n-th image of the person, 1-based, natural order
    (LFW's ``name_%04d.jpg`` numbering)."""

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


def folder_pairs(labels: Sequence[str]) -> list[PairLine]:
    """Every genuine and impostor pair of a folder set (no pairs file offline)."""
    numbered: list[tuple[str, int]] = []
    seen: dict[str, int] = {}
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        numbered.append((label, seen[label]))
    return [
        PairLine(numbered[i], numbered[j])
        for i in range(len(numbered))
        for j in range(i + 1, len(numbered))
    ]


def pair_tally(
    spec: engines.EngineSpec,
    strictness: str,
    data: Encoded,
    lines: Sequence[PairLine],
    *,
    probe: str = "plain",
    reference: str = "plain",
) -> dict[str, Any]:
    """Each pair decided by a Recogniser with one person enrolled (the pair's first
    image, ``reference`` encoding; masked references go in the masked gallery) and the
    second image presented (``probe`` encoding): with one person there is no margin to
    keep and the bar is ``threshold_for(1)``, the pair-FAR threshold. No face, or a
    reference the quality gate refused, is a rejection. Both orders of a masked pair
    differ, so masked pairs are taken in both orders."""
    index: dict[tuple[str, int], int] = {}
    seen: dict[str, int] = {}
    for i, label in enumerate(data.labels.tolist()):
        seen[label] = seen.get(label, 0) + 1
        index[(label, seen[label])] = i
    probes: Vector = getattr(data, probe)
    # ``both``: the person enrolled with a plain and a masked reference, as a resident
    # who enrolled both is (the card + face gate's 1:1 check against the card holder).
    names = ("ref", "masked_ref") if reference == "both" else (reference,)
    refs = [
        (getattr(data, n), FaceVariant.MASKED if n == "masked_ref" else FaceVariant.PLAIN)
        for n in names
    ]
    ordered = list(lines)
    if probe != reference:
        ordered += [PairLine(line.b, line.a) for line in lines]
    counts = {"genuine": [0, 0], "impostor": [0, 0]}
    missing = 0
    for line in ordered:
        if line.a not in index or line.b not in index:
            missing += 1
            continue
        ra, rb = index[line.a], index[line.b]
        if probe.startswith("masked") and not (data.drawn[ra] and data.drawn[rb]):
            continue  # no mask could be drawn: not a masked pair
        kind = counts["genuine" if line.genuine else "impostor"]
        kind[1] += 1
        rec = Recogniser(spec, strictness)
        enrolled = [enroll(rec, "a", v[ra], variant, f"ref-{variant}") for v, variant in refs]
        if not any(enrolled) or np.isnan(probes[rb]).any():
            continue
        kind[0] += rec.classify(probes[rb]).accepted
    return {
        "tar": share(*counts["genuine"], bound="lower"),
        "far": share(*counts["impostor"], bound="upper"),
        "missing_images": missing,
    }


# ------------------------------------------------------------------------ report
def run(args: argparse.Namespace) -> dict[str, Any]:
    spec = engines.spec(args.engine)
    test = encode_set(args.engine, args.test, exact_enrollment=True, cache=args.cache)
    cal = (
        encode_set(
            args.engine,
            args.calibration,
            exact_enrollment=False,
            cache=args.cache,
            masks=args.masks,
            available_only=args.available_only,
        )
        if args.calibration is not None
        else None
    )
    report: dict[str, Any] = {
        "tool": "eval_faces",
        "engine": spec.name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "thresholds_set_on": "calibration set (devtools.calibrate_faces); see core/engines.py",
        "calibration_masks": args.masks,
        "cached_prefix_only": args.available_only,
        "gate_threshold": spec.threshold,
        "masked_threshold": spec.masked_threshold,
        "margin": spec.margin,
    }
    for name, data in (("test", test), ("calibration", cal)):
        if data is None:
            continue
        report[f"{name}_set"] = {
            "images": len(data),
            "people": len(set(data.labels.tolist())),
            "no_face": int(np.isnan(data.plain).any(axis=1).sum()),
            "refused_by_enrollment": int(np.isnan(data.ref).any(axis=1).sum()),
            "masks_drawn": int(data.drawn.sum()),
            "masked_no_face": int((data.drawn & np.isnan(data.masked).any(axis=1)).sum()),
            "analyse_ms_p50": round(float(np.nanmedian(data.ms)), 1),
        }
    if args.pairs is not None:
        lines = parse_pairs(args.pairs.read_text(encoding="utf-8"))
        source = "pairs file"
    else:
        lines = folder_pairs(test.labels.tolist())
        source = "every pair of the test set (no LFW pairs file offline)"
    strict = args.strictness
    report["pairs"] = {
        "source": source,
        "plain": pair_tally(spec, "standard", test, lines),
        "masked_probe_masked_reference": pair_tally(
            spec, "standard", test, lines, probe="masked", reference="masked_ref"
        ),
        "masked_probe_plain_reference": pair_tally(spec, "standard", test, lines, probe="masked"),
        "masked_probe_both_references": pair_tally(
            spec, "standard", test, lines, probe="masked", reference="both"
        ),
    }
    report["open_set"] = []
    for gallery in args.galleries if cal is not None else [0]:
        for level in strict:
            result = open_set(spec, level, gallery, cal, test)
            report["open_set"].append(
                {
                    "gallery": gallery,
                    "strictness": level,
                    "enrolled_people": sorted(set(result.gallery_people)),
                    "gallery_bar": round(max(result.bars), 4),
                    **{
                        name: getattr(result, name).summary()
                        for name in (
                            "test_plain",
                            "test_plain_with_masked_refs",
                            "test_masked",
                            "calibration_plain",
                            "calibration_masked",
                        )
                        if getattr(result, name).known or getattr(result, name).strangers
                    },
                }
            )
            log(f"{spec.name}: gallery {gallery}, {level} done")
    return report


def _pct(entry: dict[str, Any]) -> str:
    if entry["of"] == 0:
        return "n/a"
    bound = next(k for k in entry if k.endswith("_95"))
    return (
        f"{100 * entry['rate']:.2f} % ({entry['count']}/{entry['of']},"
        f" {bound.split('_')[0]} {100 * entry[bound]:.2f} %)"
    )


def format_report(r: dict[str, Any]) -> str:
    lines = [f"{r['engine']} ({r['date']}, load {r['load_average']})"]
    for kind, block in r["pairs"].items():
        if isinstance(block, dict):
            lines.append(f"pairs {kind}: TAR {_pct(block['tar'])}, FAR {_pct(block['far'])}")
    for o in r["open_set"]:
        lines.append(f"open set: gallery {o['gallery']} + residents, {o['strictness']}:")
        for name in ("test_plain", "test_masked", "calibration_plain", "calibration_masked"):
            if name in o:
                s = o[name]
                lines.append(
                    f"  {name}: known self {_pct(s['known_accepted_as_themselves'])},"
                    f" other {_pct(s['known_accepted_as_someone_else'])},"
                    f" strangers {_pct(s['strangers_accepted'])}"
                )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("test", type=Path, help="residents: DIR/<person>/<photos>")
    parser.add_argument("--engine", default=engines.DEFAULT_ENGINE, choices=sorted(engines.SPECS))
    parser.add_argument("--calibration", type=Path, default=None, help="gallery distractors")
    parser.add_argument("--galleries", type=int, nargs="+", default=[200, 2000])
    parser.add_argument(
        "--strictness", nargs="+", default=list(engines.STRICTNESS), choices=engines.STRICTNESS
    )
    parser.add_argument("--pairs", type=Path, default=None, help="LFW pairs file over the test set")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument(
        "--masks",
        default="all",
        choices=("all", "pairs", "none"),
        help="calibration photos to mask: all, or each person's first two (a slow engine)",
    )
    parser.add_argument(
        "--available-only",
        action="store_true",
        help="use the calibration encodings already cached (a prefix of the set)",
    )
    parser.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    report = run(args)
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
