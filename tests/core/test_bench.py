"""The benchmark tool runs end to end on a tiny estate (no timing thresholds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.community_gate.core.store import Store
from devtools import bench, bench_store

TINY = [
    *("--people", "40", "--passages", "600", "--decisions", "60", "--inserts", "30"),
    *("--probe-rounds", "10"),
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert bench.main(list(args)) == 0
    return capsys.readouterr().out


def test_store_benchmark_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = json.loads(run(capsys, "store", "--dir", str(tmp_path), *TINY, "--json"))

    assert result["benchmark"] == "store"
    assert set(result) >= {
        "date",
        "machine",
        "sizes",
        "build",
        "file_size_bytes",
        "data_bytes",
        "decisions",
        "inserts",
        "fsync_probe",
        "targets",
    }
    assert set(result["machine"]) >= {"cpu", "cores", "ram_gb", "os", "python", "sqlite"}
    assert result["machine"]["cores"] >= 1
    assert result["sizes"] == {
        "people": 40,
        "units": 10,
        "credentials": 40,
        "passages": 600,
        "decisions": 60,
        "inserts": 30,
    }
    assert result["build"]["reused"] is False
    assert result["build"]["seconds"] > 0
    assert result["file_size_bytes"] >= result["data_bytes"] > 0

    d = result["decisions"]
    assert d["count"] == 60
    assert 0 < d["p50_ms"] <= d["p95_ms"] <= d["p99_ms"] <= d["max_ms"]
    assert d["per_s"] > 0
    assert sum(d["reasons"].values()) == 60
    assert d["granted"] > 0
    assert set(d["reasons"]) <= {"granted", "unknown_credential", "gate_not_allowed"}

    ins = result["inserts"]
    assert set(ins) == {"durable", "journal", "no_sync", "group_commit_10", "group_commit_100"}
    journal = ins["journal"]
    assert journal["durable"] is True
    assert journal["gates"] >= 1
    assert 1 <= journal["commits"] <= journal["count"]
    assert journal["per_s"] > 0
    assert ins["durable"]["durable"] is True
    assert ins["no_sync"]["durable"] is False
    for x in ins.values():
        assert x["count"] == 30
        assert x["per_s"] > 0
        assert 0 < x["p50_ms"] <= x["p95_ms"]
    for when in ("before", "after"):
        assert result["fsync_probe"][when]["p50_ms"] > 0
    assert isinstance(result["targets"]["passages_per_s_met"], bool)
    assert isinstance(result["targets"]["decision_p95_met"], bool)

    # The measurements leave the cached store exactly at its stated size ...
    (cached,) = tmp_path.glob("store-*.db")
    store = Store.open(cached)
    try:
        assert store.count_passages() == 600
        assert all(c.uses == 0 for c in store.list_credentials(bench_store.person_id(0)))
    finally:
        store.close()

    # ... so a second run reuses it; without --json it prints a table.
    table = run(capsys, "store", "--dir", str(tmp_path), *TINY)
    assert "(reused)" in table
    assert "decision (evaluate)" in table
    assert "synchronous=FULL" in table
    assert "40 people" in table
    assert "passages/s durable" in table


def test_cli_requires_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench.main([])
    with pytest.raises(SystemExit):
        bench.main(["store", "--people", "0"])
    capsys.readouterr()


def test_cache_key_follows_sizes_and_schema(tmp_path: Path) -> None:
    a = bench_store.cache_path(tmp_path, 10, 100)
    assert a != bench_store.cache_path(tmp_path, 10, 101)
    assert a != bench_store.cache_path(tmp_path, 11, 100)
    assert bench_store.schema_tag() in a.name


def test_scope_benchmark_counts_the_people_who_may_pass(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = json.loads(
        run(capsys, "scope", "--people", "2000", "--units", "400", "--repeat", "1", "--json")
    )
    # Everyone may pass the estate gate; one building of 20 at its door.
    assert result["may_pass"] == {"east": 2000, "door3": 100}
    assert result["bars"] == {"people": 2000}
    for key in ("roster_build_ms", "scope_count_first_ms", "classify_ms"):
        assert result[key] >= 0
