"""The privacy benchmark runs end to end on a tiny estate (no timing thresholds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools import bench

TINY = ["--people", "30", "--passages", "400", "--sample", "6", "--audit", "5"]


def test_privacy_benchmark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["privacy", "--dir", str(tmp_path), *TINY, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rotate"]["templates"] == 30
    # About half of 360 days of passages are older than the 180-day retention.
    assert 100 < result["purge"]["passages_removed"] < 300
    assert result["export_ms"]["p50"] >= 0
    assert result["erase_ms"]["max"] >= result["erase_ms"]["p50"]
    assert not (tmp_path / "privacy").exists()  # cleaned up unless --keep

    assert bench.main(["privacy", "--dir", str(tmp_path), *TINY]) == 0
    text = capsys.readouterr().out
    assert "rotate sealing key: 30 templates" in text
