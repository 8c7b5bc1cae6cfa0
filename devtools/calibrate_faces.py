"""Set an engine's thresholds on the calibration photo set (issue 14, item 2).

    python -m devtools.calibrate_faces --engine ncnn_sface_2021dec \\
        --calibration ../shared/faces-calibration --cache .cache-eval [--json]

Images are encoded by ``devtools.eval_faces.encode_set`` (the gate's camera path at
upsample 0, largest face; enrollment's quality gate; the same again with the synthetic
mask of ``devtools/masks.py``), cached per engine. An image with no face stays in: every
pair it is in counts as **rejected**, so a weak detector cannot look better by dropping
photos. From every pair of the calibration set this sets what ``core/engines.py`` holds:

* ``impostor_tail``: the score at each per-comparison impostor accept rate of
  ``TAIL_RATES`` (every impostor pair of the camera-path encodings), rounded to the
  stricter side, with the false accepts and distinct identity pairs it rests on. A point
  is used only where ``MIN_TAIL_ACCEPTS`` or more false accepts are allowed: a rate
  measured on fewer is a handful of photo pairs (on LFW the strictest ones are
  duplicate news photos filed under two names and look-alikes), not a rate; rarer
  points are still printed, marked unresolved;
* ``masked_threshold``: masked probes (camera path) against other people's masked
  references (enrollment path) at pair FAR ``MASKED_FAR``, rounded stricter; also how
  often masked impostors pass at each score of the plain tail, and the masked tail
  (masked impostor rates at ``TAIL_RATES``, the same rule);
* ``margin``: every person enrolled once, every other photo presented as its own person
  and, with that person removed, as a stranger; known accepted, accepted as someone else
  and strangers accepted for each margin of ``MARGINS`` at the pair-FAR threshold and
  at the bars of 200 / 2,000 people. The rule: the largest margin that costs at most
  ``MARGIN_COST`` of known presentations at ``MARGIN_BAR`` (a building door's scope at
  the default strictness).

``--test DIR`` adds the gate threshold's pair TAR / FAR on another set (reported, never
tuned). ``--scores N``: the detector's scores on every Nth calibration photo, plain and
masked (how the YuNet floor was set). ``--frame PHOTO``: ``analyse`` latency on a 640x480
frame with one face. Scores are the engine's own: cosine similarity (higher is closer) or
euclidean distance (lower is closer, negated inside so that higher is closer everywhere).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
import json
import math
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
    load_image_file,
    resize_max,
)
from devtools.eval_faces import Encoded, encode_set, find_identities, rate_lower, rate_upper

TAIL_RATES = (1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 5e-7)
MIN_TAIL_ACCEPTS = 10  # ± ~60 % at 95 %: fewer is not a rate
MASKED_FAR = 0.001
MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15)
MARGIN_COST = 0.003  # of known presentations ...
MARGIN_BAR = "200_people_standard"  # ... at this bar
Floats = NDArray[np.float64]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _build(name: str, threads: int) -> FaceEngine:
    if name == ncnn_engine.NAME:
        return ncnn_engine.NcnnEngine(threads=threads)
    return engines.make_engine(name)


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


def _valid(v: NDArray[np.float32]) -> NDArray[np.bool_]:
    return np.asarray(~np.isnan(v).any(axis=1))


def _stricter_round(value: float, metric: str, digits: int = 3) -> float:
    """``value`` (own units) rounded to ``digits`` decimals on the stricter side."""
    scale = 10.0**digits
    if metric == engines.COSINE:
        return math.ceil(value * scale - 1e-9) / scale
    return math.floor(value * scale + 1e-9) / scale


def _rounded_threshold(impostor: Floats, far: float, metric: str) -> float:
    """The threshold (own units) at impostor accept rate ``far``, rounded to 3 decimals
    on the stricter side: stepped once more if float rounding let one pair too many in."""
    allowed = int(far * impostor.size)
    own = _stricter_round(_own(threshold_at(impostor, far), metric), metric)
    step = 0.001 if metric == engines.COSINE else -0.001
    while int((impostor >= _signed(own, metric)).sum()) > allowed:
        own = round(own + step, 3)
    return own


def _own(signed: float, metric: str) -> float:
    """A higher-is-closer threshold back in the engine's own units."""
    return signed if metric == engines.COSINE else -signed


def _signed(own: float, metric: str) -> float:
    return own if metric == engines.COSINE else -own


def impostor_tail(
    genuine: Floats,
    impostor: Floats,
    metric: str,
    targets: Sequence[float] = TAIL_RATES,
    pair_ids: NDArray[np.int64] | None = None,
) -> list[dict[str, Any]]:
    """The score at each per-comparison impostor accept rate of ``targets``, rounded
    stricter, with how many false accepts (and, given ``pair_ids``, distinct identity
    pairs) it rests on. ``resolved``: ``MIN_TAIL_ACCEPTS`` or more false accepts
    allowed; a rate allowing none is left out."""
    out = []
    for target in targets:
        allowed = int(target * impostor.size)
        if allowed < 1:
            break
        own = _rounded_threshold(impostor, target, metric)
        signed = _signed(own, metric)
        point: dict[str, Any] = {"rate": target, "score": own, "allowed": allowed}
        point["resolved"] = allowed >= MIN_TAIL_ACCEPTS
        point |= rates(genuine, impostor, signed)
        if pair_ids is not None:
            point["identity_pairs"] = int(np.unique(pair_ids[impostor >= signed]).size)
        out.append(point)
    return out


def resolved_tail(tail: Sequence[dict[str, Any]]) -> tuple[tuple[float, float], ...]:
    """The ``EngineSpec.impostor_tail`` a measured tail gives."""
    return tuple((t["rate"], t["score"]) for t in tail if t["resolved"])


def impostor_pair_ids(labels: NDArray[Any]) -> NDArray[np.int64]:
    """An identity-pair code for each impostor pair, in ``pair_scores`` order."""
    _names, codes = np.unique(labels, return_inverse=True)
    iu = np.triu_indices(len(labels), k=1)
    a, b = codes[iu[0]].astype(np.int64), codes[iu[1]].astype(np.int64)
    other = a != b
    lo, hi = np.minimum(a, b)[other], np.maximum(a, b)[other]
    out: NDArray[np.int64] = lo * (int(codes.max()) + 1) + hi
    return out


def masked_pairs(
    labels: NDArray[Any], probes: NDArray[np.float32], refs: NDArray[np.float32], metric: str
) -> tuple[Floats, Floats]:
    """Masked probe i against masked reference j of another photo (i != j): genuine
    and impostor scores, higher = closer. A probe without a face is rejected (-inf); a
    reference refused by the quality gate is not enrolled, so its column is left out."""
    ok_ref = _valid(refs)
    ok_probe = _valid(probes)
    p = np.where(ok_probe[:, None], probes, 0).astype(np.float64)
    r = refs[ok_ref].astype(np.float64)
    if metric == engines.COSINE:
        p /= np.maximum(np.linalg.norm(p, axis=1), 1e-12)[:, None]
        r /= np.maximum(np.linalg.norm(r, axis=1), 1e-12)[:, None]
        scores = p @ r.T
    else:
        sq = (p**2).sum(1)[:, None] + (r**2).sum(1)[None, :] - 2 * p @ r.T
        scores = -np.sqrt(np.maximum(sq, 0))
    scores[~ok_probe, :] = -np.inf
    cols = np.flatnonzero(ok_ref)
    same = labels[:, None] == labels[cols][None, :]
    other_photo = np.arange(len(labels))[:, None] != cols[None, :]
    return scores[same & other_photo], scores[~same]


def masked_calibration(
    cal: Encoded, spec: engines.EngineSpec, tail: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The masked threshold: masked probes against other people's masked references at
    pair FAR ``MASKED_FAR``, rounded stricter; and how often masked impostors pass at
    each score of the plain tail (the bar a large scope gives masked references too)."""
    drawn = cal.drawn
    genuine, impostor = masked_pairs(
        cal.labels[drawn], cal.masked[drawn], cal.masked_ref[drawn], spec.metric
    )
    own = _rounded_threshold(impostor, MASKED_FAR, spec.metric)
    return {
        "masked_tail": impostor_tail(genuine, impostor, spec.metric),
        "masks_drawn": int(drawn.sum()),
        "masked_no_face": int((drawn & ~_valid(cal.masked)).sum()),
        "masked_refs_refused": int((drawn & ~_valid(cal.masked_ref)).sum()),
        "threshold": own,
        **rates(genuine, impostor, _signed(own, spec.metric)),
        "at_plain_tail": [
            {"rate": t["rate"], "score": t["score"]}
            | rates(genuine, impostor, _signed(t["score"], spec.metric))
            for t in tail
        ],
    }


def nearest_two(
    probes: NDArray[np.float32],
    probe_labels: NDArray[Any],
    refs: NDArray[np.float32],
    ref_labels: NDArray[Any],
    *,
    exclude_own: bool,
) -> tuple[Floats, NDArray[np.bool_], Floats]:
    """Per probe: euclidean (gallery) distance to the nearest reference, whether it is
    the probe's own person, and the distance to the second-nearest (one reference per
    person). ``exclude_own`` removes the probe's own person: a stranger."""
    p, r = probes.astype(np.float64), refs.astype(np.float64)
    d = np.sqrt(np.maximum((p**2).sum(1)[:, None] + (r**2).sum(1)[None, :] - 2 * p @ r.T, 0))
    own = probe_labels[:, None] == ref_labels[None, :]
    if exclude_own:
        d[own] = np.inf
    best = np.argmin(d, axis=1)
    two = np.partition(d, 1, axis=1)[:, :2]
    return two[:, 0], own[np.arange(len(p)), best], two[:, 1]


def margin_sweep(cal: Encoded, spec: engines.EngineSpec) -> dict[str, Any]:
    """Every calibration person with an enrollable photo enrolled once (their first);
    every other photo walks up, as its own person (known) and with its person removed
    (a stranger). For each margin and bar: known accepted as themselves, accepted as
    someone else, strangers accepted: what the margin costs and what it refuses."""
    ok_ref = _valid(cal.ref)
    first: dict[str, int] = {}
    for i in np.flatnonzero(ok_ref):
        first.setdefault(str(cal.labels[i]), int(i))
    ref_rows = np.array(sorted(first.values()))
    taken = set(ref_rows.tolist())
    probe_rows = np.array([i for i in range(len(cal)) if i not in taken])
    probe_ok = _valid(cal.plain[probe_rows])
    probe_rows = probe_rows[probe_ok]  # no-face probes are refused at any margin
    refs, ref_labels = cal.ref[ref_rows], cal.labels[ref_rows]
    probes, labels = cal.plain[probe_rows], cal.labels[probe_rows]
    enrolled = np.isin(labels, ref_labels)
    k_d1, k_own, k_d2 = nearest_two(
        probes[enrolled], labels[enrolled], refs, ref_labels, exclude_own=False
    )
    s_d1, _s_own, s_d2 = nearest_two(probes, labels, refs, ref_labels, exclude_own=True)
    bars = {
        "pair_far_0.001": spec.gallery_threshold,
        **{
            f"{people}_people_{level}": spec.to_gallery(
                spec.threshold_for(people, engines.STRICTNESS[level])
            )
            for people in (200, 2000)
            for level in ("relaxed", "standard")
        },
    }
    rows = []
    for margin in MARGINS:
        for name, bar in bars.items():
            k_in = (k_d1 <= bar) & (k_d2 - k_d1 >= margin)
            s_in = (s_d1 <= bar) & (s_d2 - s_d1 >= margin)
            rows.append(
                {
                    "margin": margin,
                    "bar": name,
                    "gallery_threshold": round(bar, 4),
                    "known_self": int((k_in & k_own).sum()),
                    "known_other": int((k_in & ~k_own).sum()),
                    "strangers_accepted": int(s_in.sum()),
                }
            )
    return {
        "gallery_people": len(ref_rows),
        "known_presentations": int(enrolled.sum()),
        "stranger_presentations": len(probe_rows),
        "no_face_probes_left_out": int((~probe_ok).sum()),
        "sweep": rows,
    }


def choose_margin(sweep: dict[str, Any]) -> dict[str, Any]:
    """The largest margin whose cost in known presentations accepted as themselves, at
    ``MARGIN_BAR``, is at most ``MARGIN_COST``; and what it refuses at each bar compared
    with no margin."""
    rows = sweep["sweep"]
    judged = [r for r in rows if r["bar"] == MARGIN_BAR]
    base = judged[0]["known_self"]
    budget = MARGIN_COST * sweep["known_presentations"]
    chosen = max(r["margin"] for r in judged if base - r["known_self"] <= budget)
    at = {r["bar"]: r for r in rows if r["margin"] == chosen}
    none = {r["bar"]: r for r in rows if r["margin"] == 0.0}
    return {
        "margin": chosen,
        "rule": f"known accepted drops by at most {MARGIN_COST:.1%} of known, at {MARGIN_BAR}",
        **{
            bar: {
                "known_self_lost": none[bar]["known_self"] - at[bar]["known_self"],
                "known_other_refused": none[bar]["known_other"] - at[bar]["known_other"],
                "strangers_refused": none[bar]["strangers_accepted"]
                - at[bar]["strangers_accepted"],
                "strangers_still_accepted": at[bar]["strangers_accepted"],
            }
            for bar in at
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    spec = engines.spec(args.engine)
    cal = encode_set(
        args.engine,
        args.calibration,
        exact_enrollment=False,
        cache=args.cache,
        masks=args.masks,
        available_only=args.available_only,
    )
    report: dict[str, Any] = {
        "engine": spec.name,
        "metric": spec.metric,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "tuned_on": str(args.calibration),
        "calibration_masks": args.masks,
        "cached_prefix_only": args.available_only,
        "images": len(cal),
        "people": len(set(cal.labels.tolist())),
        "no_face": int((~_valid(cal.plain)).sum()),
    }
    genuine, impostor = pair_scores(cal.labels, cal.plain, spec.metric)
    report["pairs"] = {"genuine": int(genuine.size), "impostor": int(impostor.size)}
    report["gate"] = {"threshold": spec.threshold} | rates(
        genuine, impostor, _signed(spec.threshold, spec.metric)
    )
    tail = impostor_tail(genuine, impostor, spec.metric, pair_ids=impostor_pair_ids(cal.labels))
    report["impostor_tail"] = tail
    report["masked"] = masked_calibration(cal, spec, tail)
    # The margin is judged at the bars the new tail gives, not the ones in engines.py.
    measured = replace(spec, impostor_tail=resolved_tail(tail))
    report["margin"] = margin_sweep(cal, measured)
    report["margin"]["chosen"] = choose_margin(report["margin"])
    if args.test is not None:
        test = encode_set(args.engine, args.test, exact_enrollment=True, cache=args.cache)
        tg, ti = pair_scores(test.labels, test.plain, spec.metric)
        report["test_at_gate"] = rates(tg, ti, _signed(spec.threshold, spec.metric))
    if args.scores:
        report["detector_scores_calibration"] = detector_scores(args.calibration, args.scores)
    if args.frame is not None:
        report["frame_640x480"] = frame_latency(args.engine, args.frame, args.repeats)
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default=ncnn_engine.NAME, choices=sorted(engines.SPECS))
    parser.add_argument("--calibration", type=Path, required=True)
    parser.add_argument("--test", type=Path, default=None, help="report the gate's pairs here")
    parser.add_argument("--threads", type=int, default=1)
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
    parser.add_argument("--frame", type=Path, default=None, help="photo for the 640x480 frame")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--scores", type=int, default=0, help="detector scores, every Nth image")
    parser.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=2 if not args.json else None, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
