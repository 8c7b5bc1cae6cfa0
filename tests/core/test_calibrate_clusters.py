"""devtools/calibrate_clusters.py: the spread, impostor and replay figures it reports
are what they say, on people made of known vectors."""

from __future__ import annotations

import numpy as np

from devtools.calibrate_clusters import replay, spread_and_impostors


def _people(spread: float, n: int = 6, photos: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = np.eye(n, 16) * 3.0  # people 3 apart, far beyond any radius below
    return {f"p{i}": centres[i] + rng.normal(scale=spread, size=(photos, 16)) for i in range(n)}


def test_spread_and_impostor_distances() -> None:
    people = _people(0.05)
    stats = spread_and_impostors(people)
    assert stats["people_with_2_plus"] == 6
    # E|x - mean|^2 of 16 normal coordinates of sd 0.05, from 4 samples: 16 * 0.0025 * 3/4.
    assert 0.01 < stats["spread_mean"] < 0.05
    assert stats["impostor_to_mean"].min() > 3.0
    assert stats["genuine_pairs"].max() < 0.6


def test_replay_counts_splits_and_merges() -> None:
    people = _people(0.05)
    assert replay(people, threshold=0.5, var=0.05, runs=5, seed=1) == {
        "splits_per_run": 0.0,
        "merges_per_run": 0.0,
    }
    # A radius below the photos' own spread splits every person into several clusters.
    assert replay(people, threshold=0.01, var=0.0, runs=2, seed=1)["splits_per_run"] >= 6
    # A radius wider than the gap between people merges them.
    assert replay(people, threshold=10.0, var=0.0, runs=2, seed=1)["merges_per_run"] >= 1
