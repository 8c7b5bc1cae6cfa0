"""Set an engine's gate threshold on one photo set, report its accuracy on another.

    python -m devtools.calibrate_faces --engine ncnn_sface_2021dec \\
        --calibration ../shared/faces-calibration --test ../shared/faces [--json]

Both sets are folders of people (``DIR/<identity>/<images>``; ``_``/``.`` folders are
skipped). Each image goes through the engine's own ``analyse`` at ``--upsample`` (0 by
default, as the camera path) and the largest face is kept. An image with no face is
kept too: every pair it is in counts as **rejected** (a false reject if genuine, a
correct reject if impostor), so a weak detector cannot look better by dropping photos.

* Calibration: every genuine and impostor pair of the calibration set; the threshold is
  the strictest score that keeps the impostor accept rate (FAR) at or under 0.1 % (and,
  for reference, 1 %).
* Test: TAR and FAR of every pair of the test set at those thresholds, with one-sided
  95 % Clopper-Pearson bounds. The test set's own best TAR at FAR 0.1 % is printed
  beside it as an oracle, never used to choose anything.
* Latency: ``analyse`` time per image as measured during the run (photos of many sizes;
  the machine's other load included), and a 640x480 frame with one face, repeated, at
  1 and 2 ncnn threads.

* ``--masked``: each test photo again with the synthetic mask of ``devtools/masks.py``
  (drawn from dlib's 68 points), against the plain photos of everyone, at the gate
  threshold (reported, not tuned; a masked threshold is not set here).
* ``--scores N``: the detector's scores on every Nth calibration photo, plain and masked
  (how the YuNet floor was set).

Scores are the engine's own: cosine similarity (higher is closer) or euclidean distance
(lower is closer, negated here so that higher is closer everywhere). ``--cache DIR``
keeps each set's encodings in a ``.npz``, so a second report costs no inference.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
import hashlib
import json
import os
from pathlib import Path
import platform
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custom_components.community_gate.core import engines, ncnn_engine
from custom_components.community_gate.core.faces import FaceEngine
from custom_components.community_gate.core.images import (
    ImageError,
    load_image_file,
    resize_max,
)
from devtools.eval_faces import find_identities, rate_lower, rate_upper

FARS = (0.001, 0.01)
Floats = NDArray[np.float64]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _build(name: str, threads: int) -> FaceEngine:
    if name == ncnn_engine.NAME:
        return ncnn_engine.NcnnEngine(threads=threads)
    return engines.make_engine(name)


def embed_set(engine: FaceEngine, root: Path, upsample: int, cache: Path | None) -> dict[str, Any]:
    """Identities, encodings (NaN rows for no face), per-image latency in ms."""
    people = find_identities(root)
    paths = [(ident, p) for ident, images in people.items() for p in images]
    key = hashlib.sha256(
        f"{engine.name}|{upsample}|{getattr(engine, 'min_score', '')}|".encode()
        + "\n".join(str(p) for _i, p in paths).encode()
    ).hexdigest()[:16]
    cached = cache / f"{root.name}-{engine.name}-{key}.npz" if cache else None
    if cached is not None and cached.is_file():
        data = np.load(cached)
        log(f"{root}: {len(paths)} images from {cached}")
        return {"labels": data["labels"], "vectors": data["vectors"], "ms": data["ms"]}
    labels = np.array([ident for ident, _p in paths])
    vectors = np.full((len(paths), engine.dims), np.nan, dtype=np.float32)
    ms = np.full(len(paths), np.nan)
    started = time.perf_counter()
    for i, (_ident, path) in enumerate(paths):
        try:
            rgb = load_image_file(path)
        except ImageError:
            continue
        t0 = time.perf_counter()
        faces = engine.analyse(rgb, upsample=upsample, max_faces=1)
        ms[i] = (time.perf_counter() - t0) * 1000
        if faces:
            vectors[i] = faces[0].encoding
        if (i + 1) % 250 == 0:
            log(f"{root.name}: {i + 1}/{len(paths)} ({time.perf_counter() - started:.0f} s)")
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, labels=labels, vectors=vectors, ms=ms)
    return {"labels": labels, "vectors": vectors, "ms": ms}


def pair_scores(
    labels: NDArray[Any], vectors: NDArray[np.float32], metric: str
) -> tuple[Floats, Floats]:
    """Scores of every genuine and every impostor pair (i < j), higher = closer;
    ``-inf`` where either image has no face (always rejected)."""
    ok: NDArray[np.bool_] = np.asarray(~np.isnan(vectors).any(axis=1))
    v = np.where(ok[:, None], vectors, 0).astype(np.float64)
    if metric == engines.COSINE:
        norms = np.linalg.norm(v, axis=1)
        v = v / np.where(norms > 0, norms, 1)[:, None]
        scores = v @ v.T
    else:
        sq = (v**2).sum(axis=1)
        scores = -np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * v @ v.T, 0))
    scores[~ok, :] = -np.inf
    scores[:, ~ok] = -np.inf
    iu = np.triu_indices(len(labels), k=1)
    same = labels[iu[0]] == labels[iu[1]]
    flat = scores[iu]
    return flat[same], flat[~same]


def threshold_at(impostor: Floats, far: float) -> float:
    """The smallest score threshold (accept iff score >= it) with FAR <= ``far``."""
    allowed = int(far * impostor.size)
    ordered = np.sort(impostor)[::-1]
    if allowed >= ordered.size:
        return float("-inf")
    return float(np.nextafter(ordered[allowed], np.inf))


def rates(genuine: Floats, impostor: Floats, threshold: float) -> dict[str, Any]:
    ta, fa = int((genuine >= threshold).sum()), int((impostor >= threshold).sum())
    return {
        "tar": ta / genuine.size,
        "tar_lower95": rate_lower(ta, genuine.size),
        "genuine_pairs": int(genuine.size),
        "far": fa / impostor.size,
        "far_upper95": rate_upper(fa, impostor.size),
        "false_accepts": fa,
        "impostor_pairs": int(impostor.size),
    }


def frame_latency(name: str, photo: Path, repeats: int) -> dict[str, Any]:
    """Median / p95 ms of ``analyse`` on a 640x480 frame with one face, per thread count."""
    rgb, _scale = resize_max(load_image_file(photo), 480)
    frame = np.full((480, 640, 3), 96, dtype=np.uint8)
    h, w = rgb.shape[:2]
    frame[:h, (640 - w) // 2 : (640 - w) // 2 + w] = rgb
    out: dict[str, Any] = {}
    for threads in (1, 2) if name == ncnn_engine.NAME else (1,):
        engine = _build(name, threads)
        engine.analyse(frame)
        times, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            faces = engine.analyse(frame)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        # CPU time of this process: with one thread, the work itself, whatever else
        # the machine runs; wall time includes waiting for a core.
        out[f"threads_{threads}"] = {
            "faces": len(faces),
            "p50_ms": round(float(np.median(times)), 1),
            "p95_ms": round(float(np.percentile(times, 95)), 1),
            "cpu_p50_ms": round(float(np.median(cpu)), 1),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
    return out


def detector_scores(root: Path, every: int) -> dict[str, Any]:
    """YuNet scores on every ``every``-th image of ``root``, plain and with the accuracy
    tool's synthetic mask (drawn from dlib's 68 points): the best score on the face
    (the detection overlapping dlib's box) and every other detection's score. Sets the
    detector floor on the calibration set, like the threshold."""
    from custom_components.community_gate.core.faces import DlibEngine
    from devtools.masks import apply_mask

    yunet = ncnn_engine.NcnnEngine(min_score=0.3)
    dlib = DlibEngine()
    paths = [p for images in find_identities(root).values() for p in images][::every]
    best: dict[str, list[float]] = {"plain": [], "masked": []}
    elsewhere: dict[str, list[float]] = {"plain": [], "masked": []}
    for path in paths:
        rgb = load_image_file(path)
        boxes = dlib.detect(rgb, upsample=1)
        if not boxes:
            continue
        box = max(boxes, key=lambda b: b.area)
        images = {"plain": rgb, "masked": apply_mask(rgb, dlib.landmarks(rgb, box))}
        for kind, image in images.items():
            found = yunet.detections(image)
            on = [d.score for d in found if ncnn_engine.box_iou(d.box, box) > 0.3]
            best[kind].append(max(on, default=0.0))
            elsewhere[kind] += [d.score for d in found if ncnn_engine.box_iou(d.box, box) <= 0.3]
    out: dict[str, Any] = {"images": len(paths), "dlib_found": len(best["plain"])}
    for kind, scores in best.items():
        b = np.array(scores)
        out[kind] = {
            "face_min": round(float(b.min()), 3) if b.size else None,
            "face_p1": round(float(np.percentile(b, 1)), 3) if b.size else None,
            "faces_below": {str(t): int((b < t).sum()) for t in (0.5, 0.6, 0.7, 0.75, 0.8, 0.9)},
            "other_detections_top": sorted((round(x, 3) for x in elsewhere[kind]), reverse=True)[
                :10
            ],
        }
    return out


def masked_probes(engine: FaceEngine, root: Path, upsample: int) -> NDArray[np.float32]:
    """Encodings of each image of ``root`` with the accuracy tool's synthetic mask drawn
    from dlib's 68 points (NaN rows where dlib or the engine finds no face), in
    ``find_identities`` order like :func:`embed_set`."""
    from custom_components.community_gate.core.faces import DlibEngine
    from devtools.masks import apply_mask

    dlib = DlibEngine()
    paths = [p for images in find_identities(root).values() for p in images]
    out = np.full((len(paths), engine.dims), np.nan, dtype=np.float32)
    for i, path in enumerate(paths):
        rgb = load_image_file(path)
        boxes = dlib.detect(rgb, upsample=1)
        if not boxes:
            continue
        box = max(boxes, key=lambda b: b.area)
        faces = engine.analyse(apply_mask(rgb, dlib.landmarks(rgb, box)), upsample=upsample)
        if faces:
            out[i] = faces[0].encoding
    return out


def masked_rates(
    labels: NDArray[Any],
    plain: NDArray[np.float32],
    masked: NDArray[np.float32],
    spec: engines.EngineSpec,
) -> dict[str, Any]:
    """Masked probe i against plain reference j (i != j) at the gate threshold."""
    n = len(labels)
    both = np.concatenate([masked, plain])
    gen, imp = pair_scores(np.concatenate([labels, labels]), both, spec.metric)
    # pair_scores pairs every row with every later row; keep masked x plain only.
    iu = np.triu_indices(2 * n, k=1)
    cross = (iu[0] < n) & (iu[1] >= n) & (iu[0] != iu[1] - n)
    same = np.concatenate([labels, labels])[iu[0]] == np.concatenate([labels, labels])[iu[1]]
    genuine = gen[cross[same]]
    impostor = imp[cross[~same]]
    sign = -1.0 if spec.metric == engines.EUCLIDEAN else 1.0
    return {
        "masked_no_face": int(np.isnan(masked).any(axis=1).sum()),
        **rates(genuine, impostor, sign * spec.threshold),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    spec = engines.spec(args.engine)
    engine = _build(args.engine, args.threads)
    sets = {
        "calibration": embed_set(engine, args.calibration, args.upsample, args.cache),
        "test": embed_set(engine, args.test, args.upsample, args.cache),
    }
    report: dict[str, Any] = {
        "engine": spec.name,
        "metric": spec.metric,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "upsample": args.upsample,
        "threads": args.threads,
        "tuned_on": str(args.calibration),
        "reported_on": str(args.test),
    }
    scored = {}
    for name, data in sets.items():
        vectors = data["vectors"]
        no_face = int(np.isnan(vectors).any(axis=1).sum())
        ms = data["ms"][~np.isnan(data["ms"])]
        scored[name] = pair_scores(data["labels"], vectors, spec.metric)
        report[name] = {
            "images": len(vectors),
            "people": len(set(data["labels"].tolist())),
            "no_face": no_face,
            "latency_ms": {
                "p50": round(float(np.median(ms)), 1),
                "p95": round(float(np.percentile(ms, 95)), 1),
            },
        }
    sign = -1.0 if spec.metric == engines.EUCLIDEAN else 1.0
    cal_gen, cal_imp = scored["calibration"]
    test_gen, test_imp = scored["test"]
    report["thresholds"] = {}
    for far in FARS:
        t = threshold_at(cal_imp, far)
        report["thresholds"][f"far_{far}"] = {
            "threshold": sign * t,
            "calibration": rates(cal_gen, cal_imp, t),
            "test": rates(test_gen, test_imp, t),
        }
    gate = sign * spec.threshold
    report["gate"] = {
        "threshold": spec.threshold,
        "calibration": rates(cal_gen, cal_imp, gate),
        "test": rates(test_gen, test_imp, gate),
    }
    oracle = threshold_at(test_imp, 0.001)
    report["test_oracle_far_0.001"] = {
        "threshold": sign * oracle,
        **rates(test_gen, test_imp, oracle),
    }
    if args.masked:
        test = sets["test"]
        masked = masked_probes(engine, args.test, args.upsample)
        report["test_masked_vs_plain_at_gate"] = masked_rates(
            test["labels"], test["vectors"], masked, spec
        )
    if args.scores:
        report["detector_scores_calibration"] = detector_scores(args.calibration, args.scores)
    if args.frame is not None:
        report["frame_640x480"] = frame_latency(args.engine, args.frame, args.repeats)
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default=ncnn_engine.NAME, choices=sorted(engines.SPECS))
    parser.add_argument("--calibration", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--upsample", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--frame", type=Path, default=None, help="photo for the 640x480 frame")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--scores", type=int, default=0, help="detector scores, every Nth image")
    parser.add_argument("--masked", action="store_true", help="masked probes of the test set")
    parser.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=2 if not args.json else None, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
