"""The rules benchmark runs end to end on a tiny estate (no timing thresholds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools import bench

TINY = ["--people", "400", "--passages", "3000", "--decisions", "300", "--sweeps", "2"]


def test_rules_benchmark_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["rules", "--dir", str(tmp_path), *TINY, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["benchmark"] == "rules"
    assert r["sizes"] == {
        "people": 400,
        "units": 100,
        "special_attention": 20,
        "passages": 3000,
    }
    assert r["build"]["reused"] is False
    # The planted silences are found by the first sweep: the unit numbered 07 and
    # special-attention person 0; the steady sweeps raise nothing new.
    assert r["sweep"]["first_alerts"] == {"long_absence": 1, "special_attention": 1}
    assert r["sweep"]["first_s"] > 0
    assert 0 < r["sweep"]["steady_s"]["min"] <= r["sweep"]["steady_s"]["max"]
    p = r["passages"]
    assert p["count"] == 300
    assert 0 < p["p50_ms"] <= p["p95_ms"] <= p["p99_ms"] <= p["max_ms"]
    assert set(p["alerts"]) <= {"unknown_face", "rent_arrears", "tailgating", "frequent_stranger"}
    assert p["alerts"]["unknown_face"] >= 1
    assert set(r["targets"]) == {"sweep_s", "sweep_met", "passage_p95_ms", "passage_met"}

    # A second run reuses the cached estate and starts from a clean alerts table.
    assert bench.main(["rules", "--dir", str(tmp_path), *TINY]) == 0
    text = capsys.readouterr().out
    assert "sweep: first" in text
    assert "raised {'special_attention': 1, 'long_absence': 1}" in text
