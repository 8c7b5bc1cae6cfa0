"""The command-centre benchmark runs end to end on a tiny setup (no timing thresholds)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import json

import pytest

from devtools import bench


def test_central_benchmark(postgres_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    tiny = ["--estates", "3", "--rate", "30", "--steady", "1", "--warmup", "0.2"]
    tiny += ["--residents", "50", "--dsn", postgres_dsn]
    # In a thread of its own: the bench's asyncio.run must not leave this thread
    # without the event loop the async tests after it expect.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(bench.main, ["central", *tiny, "--json"]).result() == 0
    r = json.loads(capsys.readouterr().out)
    assert r["estates"] == 3
    # Everything written in the window reached the centre (counted when committed).
    assert r["shipped"] > 0
    assert r["lag_ms"]["p95_ms"] >= r["lag_ms"]["p50_ms"] >= 0
    # 3 estates x 50 residents x 10 a day x 12 % in the busiest hour, split evenly.
    assert r["outage"]["passages"] == 3 * (180 // 3)
    assert r["outage"]["drained_rows"] >= r["outage"]["passages"]
    assert r["postgresql"] == "given by --dsn"
