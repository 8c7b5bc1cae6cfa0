"""The PAD evaluator (devtools/eval_pad.py) on a corpus of one person, through each
engine's own camera path: the report names the engine, counts every presentation, and
the default level refuses the held-still attacks while ``off`` lets the live face by."""

from __future__ import annotations

from pathlib import Path
import shutil

import pytest

from custom_components.community_gate.core.engines import ENGINES
from custom_components.community_gate.core.ncnn_engine import NAME as NCNN
from devtools import eval_pad, pad_corpus as pc
from tests.core.photos import package_photo


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pad-source")
    (root / "obama").mkdir()
    for name in ("obama.jpg", "obama2.jpg"):
        shutil.copy(package_photo(name), root / "obama" / name)
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One corpus for both engines: the frames are the same, the detections cached apart.
    return tmp_path_factory.mktemp("pad-corpus")


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_is_measured_on_its_own_detections(
    engine: str, source: Path, corpus: Path
) -> None:
    args = eval_pad.build_parser().parse_args(
        [str(source), "--out", str(corpus), "--photos", "1", "--engine", engine]
    )
    report = eval_pad.run(args)
    assert report["engine"] == engine
    assert report["presentations"] == dict.fromkeys(pc.KINDS, 1)
    # Each engine keeps its own detections beside the shared frames.
    cached = {p.name for p in corpus.glob("samples-v2*.npz")}
    assert ("samples-v2.npz" if engine == NCNN else f"samples-v2-{engine}.npz") in cached
    levels = report["levels"]
    assert levels["off"]["bpcer"]["count"] == 0  # the live face was found
    for attack in eval_pad.STATIC_ATTACKS:
        assert levels["stream"][attack]["count"] == 0, attack
    assert engine in eval_pad.format_report(report).splitlines()[0]
