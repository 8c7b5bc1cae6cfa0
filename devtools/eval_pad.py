"""Presentation-attack detection measured like ISO/IEC 30107-3 (issue 15).

    python -m devtools.eval_pad ../shared/faces --out .cache-pad/test [--repeats 3] [--json]

Builds (or reuses) the synthetic corpus of ``devtools.pad_corpus`` for the photo folder,
runs every frame through the gate's own detector (``--engine``: YuNet on ncnn by default,
or dlib's HOG and 68 points; the camera path's upsample 0, largest face) and the hub's
liveness code (``core.liveness``), and reports
for each PAD level:

* **APCER** per attack type: the share of attack presentations the level let through
  (judged live; at ``off`` every attack whose face is found passes);
* **BPCER**: the share of bona-fide presentations refused (no face found counts as
  refused, at every level).

A presentation is one sequence (``pad_corpus.FRAMES`` frames, one track); the verdict
is the track's at its last frame, a track still pending at the end refused. At level
``challenge`` each sequence is asked its corpus prompt: the bona-fide person of the
prompt corpus (``--prompts``, built beside the stream corpus) does it, attacks do not
know it. Rates carry one-sided 95 % Clopper-Pearson bounds. The added latency is the
liveness work per frame (the chip and the track's verdict), timed here on this machine.

Thresholds live in ``core/liveness.py`` and were set on the calibration photos
(``--thresholds`` prints the cue values there); report on the test photos.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, replace
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

from custom_components.community_gate.core import liveness as lv
from custom_components.community_gate.core.engines import ENGINES
from custom_components.community_gate.core.images import decode_image
from custom_components.community_gate.core.ncnn_engine import NAME as NCNN
from devtools import pad_corpus as pc
from devtools.eval_faces import share

LEVELS = lv.LEVELS


@dataclass(frozen=True, slots=True)
class Track:
    """One presentation as the hub sees it: the samples of the frames with a face."""

    kind: str
    identity: str
    prompt: str | None
    samples: tuple[lv.Sample | None, ...]


def _engine(name: str) -> Any:
    from custom_components.community_gate.core.engines import make_engine

    return make_engine(name)


def _points(engine: Any, rgb: Any) -> Any:
    """The largest face's 5 points as the hub's face process gets them
    (``face_worker._analyse_live``), or None: YuNet's unrounded points for ncnn; for
    dlib its full camera-path analysis (HOG at upsample 0, the false-positive filter)
    and its 68 integer points reduced to 5."""
    if hasattr(engine, "detections"):
        dets = engine.detections(rgb, upsample=0)
        return max(dets, key=lambda d: d.box.area).points if dets else None
    faces = engine.analyse(rgb, upsample=0, max_faces=1)
    return lv.five_points(faces[0].landmarks) if faces else None


def analyse(
    root: Path, entries: Sequence[pc.Entry], engine: Any
) -> tuple[list[Track], list[float]]:
    """Every frame through the detector; returns the tracks and the liveness time per
    frame (making the chip: the part the hub adds to a frame's analysis)."""
    # v2: with the registration windows; one cache per engine (ncnn's keeps its name).
    suffix = "" if engine.name == NCNN else f"-{engine.name}"
    cache = root / f"samples-v2{suffix}.npz"
    tracks: list[Track] = []
    timings: list[float] = []
    if cache.is_file():
        data = np.load(cache, allow_pickle=False)
        points, patches, found = data["points"], data["patches"], data["found"]
        crops, origins = data["crops"], data["origins"]
        i = 0
        for e in entries:
            samples: list[lv.Sample | None] = []
            for _ in e.frames:
                origin = (int(origins[i][0]), int(origins[i][1]))
                sample = lv.Sample(points[i], patches[i], crops[i], origin)
                samples.append(sample if found[i] else None)
                i += 1
            tracks.append(Track(e.kind, e.identity, e.prompt, tuple(samples)))
        return tracks, [float(x) for x in data["timings"]]
    all_points, all_patches, all_found, all_crops, all_origins = [], [], [], [], []
    for n, e in enumerate(entries):
        samples = []
        for name in e.frames:
            rgb = decode_image((root / name).read_bytes())
            points = _points(engine, rgb)
            if points is None:
                samples.append(None)
                all_points.append(np.zeros((5, 2)))
                all_patches.append(np.zeros((lv.PATCH, lv.PATCH), np.uint8))
                all_crops.append(np.zeros((lv.CROP, lv.CROP), np.uint8))
                all_origins.append((0, 0))
                all_found.append(False)
                continue
            start = time.perf_counter()
            s = lv.sample(rgb, points)
            timings.append(time.perf_counter() - start)
            samples.append(s)
            all_points.append(s.points)
            all_patches.append(
                s.patch if s.patch is not None else np.zeros((lv.PATCH, lv.PATCH), np.uint8)
            )
            all_crops.append(
                s.crop if s.crop is not None else np.zeros((lv.CROP, lv.CROP), np.uint8)
            )
            all_origins.append(s.origin)
            all_found.append(True)
        tracks.append(Track(e.kind, e.identity, e.prompt, tuple(samples)))
        if n % 50 == 0:
            print(f"{n}/{len(entries)}", file=sys.stderr)
    np.savez(
        cache,
        points=np.array(all_points),
        patches=np.array(all_patches),
        found=np.array(all_found),
        crops=np.array(all_crops, dtype=np.uint8),
        origins=np.array(all_origins),
        timings=np.array(timings),
    )
    return tracks, timings


def judge(track: Track, level: str, th: lv.Thresholds = lv.DEFAULT) -> tuple[bool, str]:
    """Would the gate let this presentation through at ``level``? (and why not)."""
    present = [s for s in track.samples if s is not None]
    if not present:
        return False, "no_face"
    if level == lv.LEVEL_OFF:
        return True, ""
    challenge = None
    if level == lv.LEVEL_CHALLENGE:
        if track.prompt is None:
            raise ValueError("challenge level needs a prompt corpus")
        challenge = lv.Challenge(track.prompt)
    state = lv.TrackLiveness(th, challenge)
    verdict = lv.Liveness.PENDING
    for s in present:
        verdict = state.add(s)
        if verdict is not lv.Liveness.PENDING:
            break
    return verdict is lv.Liveness.LIVE, state.why or "pending"


def rates(
    tracks: Sequence[Track], prompted: Sequence[Track], th: lv.Thresholds = lv.DEFAULT
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for level in LEVELS:
        row: dict[str, Any] = {}
        bona = prompted if level == lv.LEVEL_CHALLENGE else tracks
        bona = [t for t in bona if t.kind == pc.BONA_FIDE]
        if level == lv.LEVEL_CHALLENGE:  # the prompts the gate draws (no blink)
            bona = [t for t in bona if t.prompt in {c.value for c in lv.DRAWN}]
        if bona:
            refused = sum(1 for t in bona if not judge(t, level, th)[0])
            row["bpcer"] = share(refused, len(bona), bound="upper")
        for kind in pc.ATTACKS:
            att = [t for t in tracks if t.kind == kind]
            if level == lv.LEVEL_CHALLENGE:
                att = [t for t in att if t.prompt is not None]
            if not att:
                continue
            passed = sum(1 for t in att if judge(t, level, th)[0])
            no_face = sum(1 for t in att if not any(s is not None for s in t.samples))
            row[kind] = {**share(passed, len(att), bound="upper"), "no_face": no_face}
        out[level] = row
    return out


def features(samples: Sequence[lv.Sample]) -> list[float]:
    """The cues ``liveness.score`` weighs, in its order."""
    return lv.cues(samples)


STATIC_ATTACKS = ("print_still", "still_photo")  # the APCER <= 1 % target


def fit(tracks: Sequence[Track]) -> dict[str, Any]:
    """Logistic regression of bona fide against the planar attacks (prints, still
    photos) on the full window's cues, then the score threshold at which the gate's own
    sequential rule (``judge``) keeps static attacks at most ``apcer``. Run it on the
    calibration corpus only; paste the result into ``core/liveness.py``."""
    rows, labels, weights = [], [], []
    for t in tracks:
        present = [s for s in t.samples if s is not None]
        if len(present) < 3 or t.kind in ("screen", "replay"):
            continue
        rows.append(features(present))
        labels.append(1.0 if t.kind == pc.BONA_FIDE else 0.0)
        weights.append(0.5 if t.kind == "print_hand" else 1.0)
    x, y, sw = np.array(rows), np.array(labels), np.array(weights)
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(5000):  # plain gradient descent: five cues, a few hundred rows
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = (p - y) * sw
        w -= 0.1 * (z.T @ g / len(y) + 1e-3 * w)
        b -= 0.1 * float(g.mean())
    weights_raw = w / sd
    bias = b - float((mu / sd) @ w)
    # The bars: the lowest (in steps of 0.1) at which no static attack of this corpus
    # passes, on the full window (``live``) and on the earlier frames (``live_early``).
    th = lv.DEFAULT
    early: dict[str, list[float]] = {"bona": [], "static": []}
    final: dict[str, list[float]] = {"bona": [], "static": []}
    with _weights(weights_raw, bias):
        for t in tracks:
            if t.kind not in (*STATIC_ATTACKS, pc.BONA_FIDE):
                continue
            key = "bona" if t.kind == pc.BONA_FIDE else "static"
            present = [s for s in t.samples if s is not None]
            scores = [lv.score(present[:n]) for n in range(th.min_frames, th.max_frames)]
            early[key].append(max(scores, default=-math.inf))
            full = present[: th.max_frames]
            final[key].append(lv.score(full) if len(full) >= th.max_frames else -math.inf)
    live = math.floor(max(final["static"]) * 10 + 1) / 10
    live_early = math.floor(max(early["static"]) * 10 + 1) / 10
    bona = [e >= live_early or f >= live for e, f in zip(early["bona"], final["bona"], strict=True)]
    return {
        "weights": [round(float(v), 4) for v in weights_raw],
        "bias": round(bias, 4),
        "live": live,
        "live_early": live_early,
        "bpcer": round(1 - float(np.mean(bona)), 4),
        "decided_early": round(float(np.mean([e >= live_early for e in early["bona"]])), 4),
    }


class _weights:
    """Temporarily score with other weights (fitting only)."""

    def __init__(self, weights: Any, bias: float) -> None:
        self.new = (tuple(float(v) for v in weights), bias)

    def __enter__(self) -> None:
        self.old = (lv.WEIGHTS, lv.BIAS)
        lv.WEIGHTS, lv.BIAS = self.new  # type: ignore[misc]

    def __exit__(self, *exc: object) -> None:
        lv.WEIGHTS, lv.BIAS = self.old  # type: ignore[misc]


def cues(tracks: Sequence[Track]) -> dict[str, Any]:
    """Each cue's distribution per kind (for setting thresholds on calibration data)."""
    out: dict[str, Any] = {}
    names = (
        "log_parallax",
        "log_parallax_jitter",
        "log_sway",
        "log_sway_jitter",
        "blink",
        "log_drift",
        "log_drift_jitter",
    )
    for kind in pc.KINDS:
        rows = [[s for s in t.samples if s is not None] for t in tracks if t.kind == kind]
        feats = np.array([[*features(r), lv.score(r)] for r in rows if len(r) >= 3])
        if not len(feats):
            continue
        q = [0, 1, 5, 50, 95, 99, 100]
        out[kind] = {"n": len(feats)} | {
            name: np.percentile(feats[:, i], q).round(3).tolist()
            for i, name in enumerate((*names, "score"))
        }
    return out


def latency(timings: Sequence[float], tracks: Sequence[Track]) -> dict[str, float]:
    """Per frame: the chip (``timings``) plus one ``TrackLiveness.add``, timed here."""
    adds: list[float] = []
    for t in tracks[:200]:
        state = lv.TrackLiveness()
        for s in t.samples:
            if s is None:
                continue
            start = time.perf_counter()
            state.add(s)
            adds.append(time.perf_counter() - start)
            if state.state is not lv.Liveness.PENDING:
                break
    chip = np.array(timings) * 1000
    add = np.array(adds) * 1000
    return {
        "chip_ms_p50": round(float(np.percentile(chip, 50)), 3),
        "chip_ms_p95": round(float(np.percentile(chip, 95)), 3),
        "verdict_ms_p50": round(float(np.percentile(add, 50)), 3),
        "verdict_ms_p95": round(float(np.percentile(add, 95)), 3),
        "frame_ms_p95": round(float(np.percentile(chip, 95) + np.percentile(add, 95)), 3),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine(args.engine)
    entries = pc.build(
        args.source,
        args.out,
        people=args.people,
        photos_per_person=args.photos or None,
        repeats=args.repeats,
        seed=args.seed,
        progress=lambda s: print(s, file=sys.stderr),
    )
    # The prompt corpus: bona fide only (attacks do not depend on the prompt; each is
    # asked the prompt its seed picks).
    pentries = pc.build(
        args.source,
        args.out / "prompted",
        people=args.people,
        photos_per_person=args.photos or None,
        kinds=(pc.BONA_FIDE,),
        repeats=args.repeats,
        prompts=True,
        seed=args.seed,
    )
    tracks, timings = analyse(args.out, entries, engine)
    prompted, _ = analyse(args.out / "prompted", pentries, engine)
    # Each attack is asked what the gate would draw for it (seeded, not known to it).
    tracks = [
        replace(t, prompt=lv.DRAWN[e.seed % len(lv.DRAWN)].value)
        for t, e in zip(tracks, entries, strict=True)
    ]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "source": str(args.source),
        "engine": engine.name,
        "presentations": {k: sum(1 for t in tracks if t.kind == k) for k in pc.KINDS},
        "prompted_bona_fide": len(prompted),
        "thresholds": lv.DEFAULT.__repr__(),
        "levels": rates(tracks, prompted),
        "latency": latency(timings, tracks),
        "cues": cues(tracks) if args.cues else None,
        "fit": fit(tracks) if args.fit else None,
    }


def _pct(entry: dict[str, Any]) -> str:
    bound = entry.get("upper_95")
    b = "" if bound is None else f" (≤ {100 * bound:.1f} %)"
    return f"{100 * (entry['rate'] or 0):.1f} % {entry['count']}/{entry['of']}{b}"


def format_report(r: dict[str, Any]) -> str:
    lines = [f"{r['date']} {r['machine']} {r['engine']} {r['source']}: {r['presentations']}"]
    for level, row in r["levels"].items():
        parts = [f"{k} {_pct(v)}" for k, v in row.items()]
        lines.append(f"  {level}: " + "; ".join(parts))
    lines.append(f"  latency: {r['latency']}")
    if r.get("cues"):
        lines.append(json.dumps(r["cues"], indent=1))
    if r.get("fit"):
        lines.append(f"  fit: {r['fit']}")
    return "\n".join(lines)


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", type=Path, help="identity folders (../shared/faces)")
    p.add_argument("--out", type=Path, required=True, help="corpus directory (a cache)")
    p.add_argument("--people", type=int, default=None)
    p.add_argument("--photos", type=int, default=0, help="photos per person (0: all)")
    p.add_argument("--repeats", type=int, default=1, help="bona-fide sequences per photo")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--engine", choices=ENGINES, default=NCNN, help="whose detector")
    p.add_argument("--cues", action="store_true", help="print the cue distributions")
    p.add_argument("--fit", action="store_true", help="fit the score (calibration only)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m devtools.eval_pad", description=__doc__)
    add_args(p)
    p.add_argument("--json", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
