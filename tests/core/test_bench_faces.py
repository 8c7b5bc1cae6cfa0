"""``bench faces`` runs end to end on a handful of frames and small galleries (no timing
thresholds). Needs the dlib engine and real photos (../shared/faces or the package photos
that scripts/fetch_photos caches); skips with the reason otherwise."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import numpy as np
import pytest

from devtools import bench, bench_faces

TINY = ["--frames", "6", "--gallery", "40", "300", "--embeddings", "30", "--detect-side", "320"]


@pytest.fixture(scope="module")
def photo_source() -> Path:
    try:
        source, _photos = bench_faces.find_photos()
    except FileNotFoundError as err:
        pytest.skip(f"no face photos: {err}")
    from custom_components.community_gate.core.faces import DlibEngine, ModelsMissingError

    try:
        DlibEngine()
    except ModelsMissingError as err:
        pytest.skip(f"face engine unavailable: {err}")
    return Path(source)


@pytest.fixture
def photos(tmp_path: Path, photo_source: Path) -> Path:
    """Three small photos in the flat layout (person from the file name)."""
    _source, found = bench_faces.find_photos(photo_source)
    out = tmp_path / "photos"
    out.mkdir()
    picked: dict[str, Path] = {}
    for identity, path in found:
        # Small files first: they decode and letterbox fastest.
        if identity not in picked or path.stat().st_size < picked[identity].stat().st_size:
            picked[identity] = path
    for i, (identity, path) in enumerate(sorted(picked.items())[:3]):
        shutil.copyfile(path, out / f"{identity.replace('_', '')}{i}{path.suffix}")
    return out


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert bench.main(list(args)) == 0
    return capsys.readouterr().out


def test_registered_beside_store() -> None:
    assert {"store", "faces"} <= set(bench.COMMANDS)
    args = bench.build_parser().parse_args(["faces"])
    assert args.gallery == [1_000, 100_000]
    assert args.upsample == 0


def test_faces_benchmark_json(photos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = json.loads(run(capsys, "faces", "--photos", str(photos), *TINY, "--json"))

    assert r["benchmark"] == "faces"
    assert set(r) >= {
        "date",
        "machine",
        "software",
        "sizes",
        "stages",
        "frame_to_decision",
        "staged_sum",
        "detect_downscaled",
        "embedding_to_decision",
        "memory",
        "targets",
        "load_average",
        "cpu_during_frames",
    }
    assert r["cpu_during_frames"]["wall_s"] > 0
    assert set(r["machine"]) >= {"cpu", "cores", "ram_gb", "os", "python"}
    assert r["software"]["dlib-bin"]
    s = r["sizes"]
    assert s["frames"] == 6
    assert s["galleries"] == [40, 300]
    assert s["frame"].startswith("640x480")
    assert s["distinct_photos"] == 3

    st = r["stages"]
    assert set(st) == {
        "decode",
        "detect",
        "landmarks",
        "encode",
        "decide",
        "match_40",
        "match_300",
    }
    assert st["decode"]["count"] == st["detect"]["count"] == 6
    assert r["frames_with_face"] >= 1
    for name in ("landmarks", "encode", "match_40", "match_300", "decide"):
        assert st[name]["count"] == r["frames_with_face"]
        assert 0 < st[name]["p50_ms"] <= st[name]["p95_ms"] <= st[name]["max_ms"]

    f = r["frame_to_decision"]
    assert f["count"] + f["no_face_frames"]["count"] == 6
    assert f["count"] >= 1
    assert 0 < f["p50_ms"] <= f["p95_ms"]
    assert f["faces_encoded_mean"] >= 1
    # The gallery holds the photos' own people: some frames open the gate.
    assert 0 < f["granted"] <= f["count"]
    # End to end includes at least the detection and the encoding.
    assert f["p50_ms"] >= st["encode"]["p50_ms"] * 0.5

    # The hub's path, through the face process: the same frames find the same faces.
    w = r["frame_to_decision_worker"]
    assert w["count"] == f["count"]
    assert 0 < w["p50_ms"] <= w["p95_ms"]
    assert w["worker_start_s"] > 0
    assert r["targets"]["frame_p95_met"] == (w["p95_ms"] <= r["targets"]["frame_p95_ms"])

    ds = r["detect_downscaled"]
    assert ds["side"] == 320
    assert ds["detect"]["count"] == 6
    assert ds["frame_to_decision"]["count"] == ds["frames_with_face"]

    e = r["embedding_to_decision"]
    assert e["count"] == 30
    assert 0 < e["p50_ms"] <= e["p95_ms"]
    assert 0 < e["granted"] < 30  # about a fifth are unknown faces

    mem = r["memory"]
    assert mem["gallery_size"] == 300
    # 300 float32 vectors of 128 at least, with the ids.
    assert mem["gallery_memory_bytes"] >= 300 * 128 * 4
    if mem["rss_start_mb"] is not None:  # /proc is there (Linux)
        # The models; ">=": in a test process that ran an engine before, freed memory
        # can take a second engine's 19 MB without the RSS growing.
        assert mem["rss_after_engine_mb"] >= mem["rss_start_mb"]
        assert mem["faces_total_mb"] > 0
    t = r["targets"]
    assert t["at_full_size"] is False
    for key in ("frame_p50_met", "frame_p95_met", "embedding_p95_met"):
        assert isinstance(t[key], bool)


def test_faces_benchmark_text(photos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = run(
        capsys,
        "faces",
        "--photos",
        str(photos),
        *("--frames", "2", "--gallery", "20", "--embeddings", "5", "--detect-side", "0"),
    )
    assert "frame -> decision (in process), 20" in text
    assert "frame -> decision (face process, hub path)" in text
    assert "embedding -> decision, 20" in text
    assert "investigation" not in text
    assert "not the target" in text


def test_letterbox_and_flat_folder_names(tmp_path: Path) -> None:
    wide = np.full((100, 400, 3), 200, dtype=np.uint8)
    frame = np.asarray(bench_faces.letterbox(wide))
    assert frame.shape == (480, 640, 3)
    assert frame[0, 320].tolist() == [0, 0, 0]  # bars above and below
    assert frame[240, 320].tolist() == [200, 200, 200]
    tall = np.asarray(bench_faces.letterbox(np.zeros((900, 300, 3), dtype=np.uint8)))
    assert tall.shape == (480, 640, 3)

    for name in ("obama.jpg", "obama2.jpg", "obama_partial_face.jpg", "astronaut.png"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    _source, found = bench_faces.find_photos(tmp_path)
    assert sorted(identity for identity, _p in found) == ["astronaut", "obama", "obama", "obama"]
    with pytest.raises(FileNotFoundError):
        bench_faces.find_photos(tmp_path / "missing")


def test_synthetic_gallery_vectors_are_float32_near_their_base() -> None:
    base = np.zeros((2, 128), dtype=np.float32)
    vecs = list(bench_faces.synthetic(base, 25, np.random.default_rng(1)))
    assert len(vecs) == 25
    assert all(v.dtype == np.float32 and v.shape == (128,) for v in vecs)
    norms = [float(np.linalg.norm(v)) for v in vecs]
    assert 0.5 < float(np.median(norms)) < 0.9  # σ 0.06 · √128 ≈ 0.68
