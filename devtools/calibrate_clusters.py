"""Calibrate the stranger clusterer for one face engine (core/clusters.py).

An unknown face at a gate joins the nearest stranger cluster within the engine's
cluster threshold, or starts a new one. Two errors, not equal: a *split* (two ids for one
stranger) delays a frequent-stranger or tailgating alert; a *merge* (one id for two
people) blames one stranger for another's visits and cannot be undone in the log. So the
threshold is set from the impostor side on the calibration set, and splits and merges
are then counted by replaying a set nobody tuned on.

    python -m devtools.calibrate_clusters --engine ncnn_sface_2021dec \\
        --calibration ../shared/faces-calibration --test ../shared/faces --cache .cache-eval

Reported (JSON): the sighting spread (E|photo - person's mean|^2 over people with 2+
photos: the young-cluster allowance), photo-to-other-person's-mean distances (the
impostor side of a cluster), genuine pair distances, the chosen threshold (the
photo-to-other-mean distance accepted at ``--far``, rounded down), and on the test set
the extra clusters (splits) and wrongly shared clusters (merges) per random replay.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import platform
import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custom_components.community_gate.core import engines
from custom_components.community_gate.core.clusters import StrangerClusters
from devtools.eval_faces import encode_set

Floats = NDArray[np.float64]


def _people(labels: NDArray[np.str_], vectors: NDArray[np.float32]) -> dict[str, Floats]:
    ok = np.all(np.isfinite(vectors), axis=1)
    out: dict[str, list[NDArray[np.float32]]] = {}
    for label, vec, good in zip(labels.tolist(), vectors, ok, strict=True):
        if good:
            out.setdefault(str(label), []).append(vec)
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def spread_and_impostors(people: dict[str, Floats]) -> dict[str, Any]:
    """Sighting spread, and each photo's distance to every *other* person's mean."""
    multi = {k: v for k, v in people.items() if len(v) > 1}
    spreads = [float(np.mean(np.sum((v - v.mean(0)) ** 2, axis=1))) for v in multi.values()]
    names = list(people)
    means = np.asarray([people[n].mean(0) for n in names])
    impostor: list[Floats] = []
    genuine: list[float] = []
    for i, name in enumerate(names):
        vecs = people[name]
        d = np.sqrt(np.maximum(((vecs[:, None, :] - means[None, :, :]) ** 2).sum(-1), 0.0))
        impostor.append(np.delete(d, i, axis=1).ravel())
        if len(vecs) > 1:
            g = np.sqrt(((vecs[:, None, :] - vecs[None, :, :]) ** 2).sum(-1))
            genuine.extend(g[np.triu_indices(len(vecs), 1)].tolist())
    imp = np.sort(np.concatenate(impostor))
    gen = np.asarray(genuine)
    return {
        "people_with_2_plus": len(multi),
        "spread_mean": float(np.mean(spreads)),
        "spread_p90": float(np.quantile(spreads, 0.9)),
        "impostor_to_mean": imp,
        "genuine_pairs": gen,
    }


def replay(
    people: dict[str, Floats], threshold: float, var: float, runs: int, seed: int
) -> dict[str, float]:
    """Every photo of the set through a fresh clusterer, in random orders: extra clusters
    per run (splits) and clusters holding two people (merges)."""
    rng = np.random.default_rng(seed)
    items = [(name, vec) for name, vecs in people.items() for vec in vecs]
    dims = len(items[0][1])
    splits = merges = 0
    for _ in range(runs):
        clusters = StrangerClusters(dims, threshold=threshold, sighting_var=var)
        owner: dict[str, set[str]] = {}
        for k in rng.permutation(len(items)):
            name, vec = items[int(k)]
            cid = clusters.assign(vec.astype(np.float32), 0.0).cluster_id
            owner.setdefault(cid, set()).add(name)
        splits += len(owner) - len(people)
        merges += sum(1 for names in owner.values() if len(names) > 1)
    return {"splits_per_run": (splits + merges) / runs, "merges_per_run": merges / runs}


def run(args: argparse.Namespace) -> dict[str, Any]:
    cal = encode_set(
        args.engine, args.calibration, exact_enrollment=False, cache=args.cache, masks="none"
    )
    stats = spread_and_impostors(_people(cal.labels, cal.plain))
    imp: Floats = stats.pop("impostor_to_mean")
    gen: Floats = stats.pop("genuine_pairs")
    # The distance below which a photo lands on another person's cluster at rate --far:
    # an established cluster's radius, rounded down (stricter) to 0.01.
    k = max(int(args.far * imp.size), 0)
    threshold = float(np.floor(imp[k] * 100) / 100)
    var = round(float(stats["spread_mean"]), 3)
    report: dict[str, Any] = {
        "engine": args.engine,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "tuned_on": str(args.calibration),
        "images": len(cal),
        **stats,
        "impostor_to_mean": {
            "comparisons": int(imp.size),
            "min": float(imp[0]),
            **{f"q{q:g}": float(np.quantile(imp, q)) for q in (1e-5, 1e-4, 1e-3, 1e-2)},
        },
        "genuine_pairs": {
            "pairs": int(gen.size),
            **{f"q{q:g}": float(np.quantile(gen, q)) for q in (0.5, 0.9, 0.95, 0.99)},
        },
        "far": args.far,
        "threshold": threshold,
        "sighting_var": var,
        "young_cluster_radius": float(np.sqrt(threshold**2 + var)),
        "genuine_within_threshold": float(np.mean(gen <= threshold)),
    }
    if args.test is not None:
        test = encode_set(
            args.engine, args.test, exact_enrollment=True, cache=args.cache, masks="none"
        )
        people = _people(test.labels, test.plain)
        report["test"] = {
            "set": str(args.test),
            "people": len(people),
            "photos": int(sum(len(v) for v in people.values())),
            "chosen": replay(people, threshold, var, args.runs, 1),
            "dlib_default_0.5": replay(people, 0.5, 0.075, args.runs, 1),
        }
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default=engines.DEFAULT_ENGINE, choices=sorted(engines.SPECS))
    parser.add_argument("--calibration", type=Path, required=True)
    parser.add_argument("--test", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--far", type=float, default=1e-5)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args(argv)
    json.dump(run(args), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
