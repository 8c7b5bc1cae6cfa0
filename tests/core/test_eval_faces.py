"""The face accuracy tool (devtools/eval_faces.py) and the mask generator (devtools/masks.py).

The statistics and the pairs-file parser are tested everywhere; the runs on real photos
need ../shared/faces (beside the repository here and in CI) and the dlib engine, and skip
with the reason otherwise.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
import shutil

import numpy as np
import pytest

from custom_components.community_gate.core.faces import DEFAULT_THRESHOLD
from custom_components.community_gate.core.images import load_image_file
from devtools import eval_faces as ev
from devtools.masks import (
    MASK_RGB,
    PLEAT_RGB,
    apply_mask,
    mask_polygon,
    mask_region,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "faces"
MOUTH = range(48, 68)
EYES = range(36, 48)


@pytest.fixture(scope="module")
def engine() -> object:
    if not SHARED.is_dir():
        pytest.skip(f"the shared photo set is not beside the repository ({SHARED})")
    from custom_components.community_gate.core.faces import DlibEngine, ModelsMissingError

    try:
        return DlibEngine()
    except ModelsMissingError as err:
        pytest.skip(f"face engine unavailable: {err}")


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert ev.main(list(args)) == 0
    return capsys.readouterr().out


# --------------------------------------------------------------------- statistics
def test_clopper_pearson_bounds() -> None:
    # Zero events in n trials: the one-sided 95 % bound is about 3 / n (rule of three).
    assert ev.rate_upper(0, 3000) == pytest.approx(-math.log(0.05) / 3000, rel=0.01)
    assert ev.rate_upper(3, 3) == 1.0
    assert ev.rate_upper(0, 0) is None
    # 279 of 279 genuine pairs accepted still cannot show TAR ≥ 99 % at 95 %.
    lower = ev.rate_lower(279, 279)
    assert lower is not None
    assert 0.985 < lower < 0.99
    upper = ev.rate_upper(2, 2802)
    assert upper is not None
    assert 2 / 2802 < upper < 0.003


def test_roc_recommendation_and_eer_on_known_distances() -> None:
    genuine = np.array([0.2, 0.3, 0.4, 0.5, 0.7])
    impostor = np.linspace(0.45, 1.45, 1000)  # 1,000 pairs, evenly spaced by ~0.001
    v = ev.verification(genuine, impostor, 0.55)

    assert v["pairs"] == {"genuine": 5, "impostor": 1000}
    at = v["at_threshold"]
    assert at["tar"] == 0.8
    assert at["false_rejects"] == 1
    assert at["false_accepts"] == int(np.count_nonzero(impostor <= 0.55))
    assert not v["target"]["met_at_threshold"]

    roc = {p["far_target"]: p for p in v["roc"]}
    assert roc[0.01]["resolvable"]
    assert roc[0.01]["far"] <= 0.01
    assert roc[0.001]["resolvable"]
    assert roc[0.001]["far"] <= 0.001
    assert not roc[0.0001]["resolvable"]  # 1,000 pairs cannot resolve 0.01 %
    assert roc[0.0001]["tar"] is None
    assert roc[0.0001]["needs_impostor_pairs"] == 10_000
    assert roc[0.0]["threshold"] < impostor.min()
    assert roc[0.0]["far"] == 0.0

    rec = v["recommended"]
    # FAR ≤ 0.1 % of 1,000 pairs allows one false accept: strictly below the second.
    assert rec["false_accepts_allowed"] == 1
    assert rec["threshold"] < np.sort(impostor)[1]
    assert rec["false_accepts"] <= 1
    assert "1,000 impostor pairs" in rec["caveat"]
    assert v["eer"]["eer"] is not None
    assert 0 < v["eer"]["eer"] < 0.5


def test_perfect_separation_gives_zero_eer() -> None:
    v = ev.verification(np.array([0.1, 0.2, 0.3]), np.array([0.7, 0.8, 0.9]), 0.55)
    assert v["eer"]["eer"] == 0.0
    assert v["at_threshold"]["tar"] == 1.0
    assert v["at_threshold"]["far"] == 0.0
    assert v["target"]["met_at_threshold"]
    # Three impostor pairs resolve no FAR but 0 %.
    assert [p["resolvable"] for p in v["roc"]] == [False, False, False, True]
    assert "cannot resolve 0.1 %" in v["recommended"]["caveat"]


def test_parse_lfw_pairs() -> None:
    text = "2\t3\nAl_Pha\t1\t2\n\nAl_Pha 1 Be_Ta 4\n"
    lines = ev.parse_pairs(text)
    assert [(x.a, x.b, x.genuine) for x in lines] == [
        (("Al_Pha", 1), ("Al_Pha", 2), True),
        (("Al_Pha", 1), ("Be_Ta", 4), False),
    ]
    assert ev.parse_pairs("300\nX 1 2\n")[0].genuine  # a single-count header
    assert ev.lfw_path("Al_Pha", 7) == "Al_Pha/Al_Pha_0007.jpg"
    with pytest.raises(ValueError, match="line 2"):
        ev.parse_pairs("X 1 2\nX one 2\n")
    with pytest.raises(ValueError, match="line 1"):
        ev.parse_pairs("just_a_name\n")


def test_cli_needs_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        ev.main([])
    with pytest.raises(SystemExit):
        ev.main(["--pairs", "p.txt"])  # no --root
    capsys.readouterr()


# -------------------------------------------------------------------------- masks
def test_mask_polygon_needs_68_points() -> None:
    with pytest.raises(ValueError, match="68"):
        mask_polygon([(0.0, 0.0)] * 5)
    with pytest.raises(ValueError, match="RGB"):
        apply_mask(np.zeros((4, 4), dtype=np.uint8), [(0.0, 0.0)] * 68)


@pytest.mark.parametrize("rel", ["barack_obama/1.jpg", "john_salley/1.jpg", "paul_allen/3.jpg"])
def test_mask_is_deterministic_and_covers_the_mouth_not_the_eyes(
    engine: ev.DlibEngine, rel: str
) -> None:
    rgb = load_image_file(SHARED / rel)
    box = max(engine.detect(rgb, upsample=1), key=lambda b: b.area)
    points = engine.landmarks(rgb, box)

    first, second = apply_mask(rgb, points), apply_mask(rgb, points)
    assert first.tobytes() == second.tobytes()
    assert first.shape == rgb.shape
    assert first.dtype == np.uint8
    assert rgb.tobytes() == load_image_file(SHARED / rel).tobytes()  # input untouched

    region = mask_region(rgb.shape, points)
    h, w = region.shape
    for i in MOUTH:
        x, y = points[i]
        assert region[min(max(y, 0), h - 1), min(max(x, 0), w - 1)], f"mouth point {i}"
    for i in EYES:
        x, y = points[i]
        assert not region[y, x], f"eye point {i}"
    # Outside the region nothing changes; inside it is mask or pleat colour only.
    assert np.array_equal(first[~region], rgb[~region])
    colours = {tuple(c) for c in first[region].reshape(-1, 3).tolist()}
    assert colours <= {MASK_RGB, PLEAT_RGB}
    assert PLEAT_RGB in colours
    plain = apply_mask(rgb, points, texture=False)
    assert {tuple(c) for c in plain[region].reshape(-1, 3).tolist()} == {MASK_RGB}


# ----------------------------------------------------------------- tool on photos
@pytest.fixture
def small_set(tmp_path: Path, engine: object) -> Path:
    """Three people from the shared set (face chips: quick to encode), a no-face image
    filed under one of them, a folder that is not an identity and a stray text file."""
    root = tmp_path / "faces"
    for n in (1, 2, 3):
        _link(SHARED / "john_salley" / f"{n}.jpg", root / "salley" / f"{n}.jpg")
    _link(SHARED / "_no_face" / "1.jpg", root / "salley" / "4.jpg")
    for n in (1, 2, 3, 4, 10):  # natural order: 1, 2, 3, 4 kept by --limit-per-identity 4
        _link(SHARED / "john_savage" / f"{n}.jpg", root / "savage" / f"{n}.jpg")
    for n in (1, 2, 3, 4):
        _link(SHARED / "john_simm" / f"{n}.jpg", root / "simm" / f"{n}.jpg")
    _link(SHARED / "john_shimkus" / "1.jpg", root / "_multi_face" / "1.jpg")
    (root / "simm" / "notes.txt").write_text("not an image")
    return root


def test_folder_mode_json(small_set: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, str(small_set), "--limit-per-identity", "4", "--json")
    r = json.loads(out)

    assert str(small_set) not in out  # file names relative to DIR only
    assert r["mode"] == "folder"
    assert r["threshold"] == r["gate_threshold"] == DEFAULT_THRESHOLD
    img = r["images"]
    assert img["identities"] == 3
    assert img["images"] == 12
    assert img["encoded"] == 11
    assert img["failures_to_detect"] == ["salley/4.jpg"]
    assert img["unreadable"] == []
    # 3 + 6 + 6 genuine pairs; C(11, 2) - 15 impostor pairs.
    assert r["pairs"] == {"genuine": 15, "impostor": 40}
    at = r["at_threshold"]
    assert set(at) >= {"tar", "far", "tar_lower_95", "far_upper_95", "false_accepts"}
    assert 0.8 <= at["tar"] <= 1.0
    assert at["far"] == 0.0  # different people's chips are far apart
    assert r["distances"]["genuine"]["median"] < r["distances"]["impostor"]["median"]
    assert [p["far_target"] for p in r["roc"]] == list(ev.ROC_FARS)
    assert r["roc"][-1]["resolvable"]
    assert 0.0 <= r["eer"]["eer"] <= 0.5
    assert r["recommended"]["impostor_pairs"] == 40
    assert "40 impostor pairs" in r["recommended"]["caveat"]

    ident = r["identification"]
    assert ident["known"]["probes"] == 11
    assert (
        ident["known"]["correct"] + ident["known"]["refused"] + ident["known"]["wrong_person"] == 11
    )
    assert ident["known"]["wrong_person"] == 0
    assert ident["unknown"]["probes"] == 11
    assert ident["unknown"]["accepted"] == 0

    m = r["masked"]
    assert m["identities_used"] == 3
    assert set(m["masked_failures_to_detect"]) <= {
        "salley/1.jpg", "salley/2.jpg", "salley/3.jpg",
        *(f"savage/{n}.jpg" for n in range(1, 5)),
        *(f"simm/{n}.jpg" for n in range(1, 5)),
    }  # fmt: skip
    # Ordered triples of distinct photos: 3·2·1 + 4·3·2 + 4·3·2.
    assert m["unmasked_baseline"]["trials"] == 54
    assert m["unmasked_baseline"]["tar"] >= 0.8
    for variant in ("redetected", "known_box"):
        g = m[variant]["genuine"]
        for key in ("masked_vs_plain_reference", "masked_with_masked_reference"):
            assert g[key]["trials"] == 54
            assert 0.0 <= g[key]["tar"] <= 1.0
        # The best of two references is never worse than one of them.
        assert g["masked_with_masked_reference"]["tar"] >= g["masked_vs_plain_reference"]["tar"]
        mi = m[variant]["identification"]
        assert mi["unknown"]["probes"] == 11 - len(m["masked_failures_to_detect"]) * (
            variant == "redetected"
        )
        k = mi["known"]
        assert k["correct"] + k["wrong_person"] + k["refused"] == k["probes"]
        imp = m[variant]["impostor"]
        for key in ("masked_vs_plain", "masked_vs_masked"):
            assert imp[key]["false_accepts"] <= imp[key]["pairs"]
    # Encoded at the known box, every masked probe has an encoding: all pairs exist.
    known = m["known_box"]["impostor"]
    assert known["masked_vs_plain"]["pairs"] == 11 * 11 - (3 * 3 + 4 * 4 + 4 * 4)
    assert known["masked_vs_masked"]["pairs"] == 40


def test_folder_mode_text_report(small_set: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = run(capsys, str(small_set), "--limit-per-identity", "2", "--no-masks")
    assert "failures to detect: 0" in text  # salley/4.jpg (no face) is past the limit
    assert "6 of 3 identities" in text
    assert "ROC" in text
    assert "recommended threshold" in text
    assert "masked" not in text
    assert "TAR" in text


def test_pairs_mode(tmp_path: Path, engine: object, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "lfw"
    people = {"John_Salley": "john_salley", "John_Simm": "john_simm"}
    for name, folder in people.items():
        for n in (1, 2, 3):
            _link(SHARED / folder / f"{n}.jpg", root / name / f"{name}_{n:04d}.jpg")
    _link(SHARED / "_no_face" / "2.jpg", root / "John_Simm" / "John_Simm_0009.jpg")
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(
        "1\t4\n"
        "John_Salley\t1\t2\n"
        "John_Salley\t2\t3\n"
        "John_Simm\t1\t3\n"
        "John_Simm\t1\t9\n"  # no face in 9: skipped
        "John_Salley\t1\tJohn_Simm\t1\n"
        "John_Salley\t2\tJohn_Simm\t3\n"
        "John_Salley\t3\tJohn_Simm\t2\n"
        "John_Salley\t1\tJohn_Simm\t7\n"  # no such file: skipped
    )
    out = run(capsys, "--pairs", str(pairs), "--root", str(root), "--json")
    r = json.loads(out)

    assert str(root) not in out
    assert r["mode"] == "pairs"
    assert r["pairs_file"] == {
        "lines": 8,
        "genuine": 4,
        "impostor": 4,
        "skipped_no_encoding": 2,
    }
    assert r["pairs"] == {"genuine": 3, "impostor": 3}
    assert r["images"]["missing"] == ["John_Simm/John_Simm_0007.jpg"]
    assert r["images"]["failures_to_detect"] == ["John_Simm/John_Simm_0009.jpg"]
    assert r["images"]["encoded"] == 6
    assert r["at_threshold"]["far"] == 0.0
    assert r["at_threshold"]["tar"] > 0.5
    assert "identification" not in r
    assert "masked" not in r

    text = run(capsys, "--pairs", str(pairs), "--root", str(root), "--threshold", "0.3")
    assert "pairs file 8 lines (4 genuine, 4 impostor), 2 skipped" in text
    assert "at threshold 0.3:" in text
