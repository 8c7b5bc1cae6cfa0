"""The gate evaluator (devtools/eval_faces.py) and the mask generator (devtools/masks.py).

The counting (no face is a rejection; open-set tallies through the Recogniser) is tested
on tiny synthetic galleries everywhere; the run on real photos needs ../shared/faces
(beside the repository here and in CI) and skips with the reason otherwise.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
import shutil

import numpy as np
import pytest

from custom_components.community_gate.core import engines, ncnn_engine
from custom_components.community_gate.core.images import load_image_file
from custom_components.community_gate.core.model import FaceVariant
from custom_components.community_gate.core.recognition import Recogniser
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
SPEC = engines.spec(ncnn_engine.NAME)


@pytest.fixture(scope="module")
def engine() -> object:
    if not SHARED.is_dir():
        pytest.skip(f"the shared photo set is not beside the repository ({SHARED})")
    from custom_components.community_gate.core.faces import DlibEngine, ModelsMissingError

    try:
        return DlibEngine()
    except ModelsMissingError as err:
        pytest.skip(f"face engine unavailable: {err}")


def _unit(*rows: list[float]) -> np.ndarray:
    v = np.zeros((len(rows), SPEC.dims), dtype=np.float32)
    for i, row in enumerate(rows):
        v[i, : len(row)] = row
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norms > 0, norms, 1)


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


def test_share_reports_the_bound_asked_for() -> None:
    assert ev.share(0, 0, bound="upper") == {"count": 0, "of": 0, "rate": None, "upper_95": None}
    low = ev.share(98, 100, bound="lower")
    assert low["rate"] == 0.98
    assert low["lower_95"] < 0.98


# --------------------------------------------------------------------- counting
def test_no_face_is_a_rejection_for_residents_and_strangers() -> None:
    rec = Recogniser(SPEC)
    rec.plain.add("a1", "a", _unit([1, 0])[0])
    probes = _unit([1, 0.01], [1, 0.01], [0, 1])
    probes[1] = np.nan  # the camera found no face in the second frame of a
    tally = ev.present(rec, ["a", "a", "b"], probes)
    assert (tally.known, tally.known_self, tally.known_no_face) == (2, 1, 1)
    assert (tally.strangers, tally.strangers_accepted) == (1, 0)
    summary = tally.summary()
    assert summary["known_accepted_as_themselves"]["rate"] == 0.5


def test_open_set_counts_on_a_tiny_gallery() -> None:
    # Three enrolled people on three axes; a's look-alike is a stranger near a.
    rec = Recogniser(SPEC)
    for person, ref in zip("abc", _unit([1, 0, 0], [0, 1, 0], [0, 0, 1]), strict=True):
        assert ev.enroll(rec, person, ref, FaceVariant.PLAIN, person)
    assert not ev.enroll(rec, "d", np.full(SPEC.dims, np.nan, np.float32), FaceVariant.PLAIN, "d")
    probes = _unit(
        [1, 0.1, 0],  # a: accepted as a
        [0.05, 1, 0],  # b: accepted as b
        [0, 1, 0.02],  # c, but looks like b: accepted as someone else
        [0.3, 0.3, 0.3],  # c, as near everyone: ambiguous, refused
        [0, 0.05, 1],  # stranger near c: accepted (a false accept)
        [-1, 0, 0],  # stranger far from everyone: refused
    )
    tally = ev.present(rec, ["a", "b", "c", "c", "x", "y"], probes)
    assert ev.Tally(6 - 2, 2, 1, 0, 2, 1, 0) == tally
    # Scope sets the bar only: the nearest person is still searched among everyone, so
    # the stranger is named c (whom the policy then refuses at a's gate); the tally
    # counts it as a false accept, the worst case.
    scoped = ev.present(rec, ["x"], probes[4:5], frozenset({"a"}))
    assert scoped.strangers_accepted == 1
    total = ev.Tally()
    total.add(tally)
    total.add(scoped)
    assert (total.strangers, total.strangers_accepted) == (3, 2)


def test_pairs_through_a_one_person_recogniser() -> None:
    data = ev.Encoded(
        labels=np.array(["a", "a", "a", "b"]),
        plain=_unit([1, 0], [1, 0.1], [1, 0.2], [0, 1]),
        ref=_unit([1, 0], [1, 0.1], [1, 0.2], [0, 1]),
        drawn=np.array([True, True, False, True]),
        masked=_unit([1, 0.05], [1, 0.1], [1, 0.2], [0.1, 1]),
        masked_ref=_unit([1, 0.05], [1, 0.1], [1, 0.2], [0.1, 1]),
        ms=np.zeros(4),
    )
    data.plain[2] = np.nan  # no face in a's third photo: its pairs are rejected
    lines = ev.folder_pairs(data.labels.tolist())
    assert len(lines) == 6
    assert sum(line.genuine for line in lines) == 3
    plain = ev.pair_tally(SPEC, "standard", data, lines)
    assert (plain["tar"]["count"], plain["tar"]["of"]) == (1, 3)
    assert (plain["far"]["count"], plain["far"]["of"]) == (0, 3)
    # Masked pairs: both orders, only photos a mask was drawn on (a1, a2, b1).
    masked = ev.pair_tally(SPEC, "standard", data, lines, probe="masked", reference="masked_ref")
    assert (masked["tar"]["count"], masked["tar"]["of"]) == (2, 2)
    assert masked["far"]["of"] == 4
    missing = ev.pair_tally(SPEC, "standard", data, [ev.PairLine(("a", 1), ("a", 9))])
    assert missing["missing_images"] == 1


def test_masked_pairs_against_both_references() -> None:
    """A card + face resident enrolled plain and masked: a masked probe passes if either
    reference takes it; a masked reference the quality gate refused leaves the plain."""
    data = ev.Encoded(
        labels=np.array(["a", "a", "b"]),
        plain=_unit([1, 0], [1, 0], [0, 1]),
        ref=_unit([1, 0], [1, -0.5], [0, 1]),  # a1's plain takes a2's probe, a2's not a1's
        drawn=np.array([True, True, True]),
        masked=_unit([0.6, 1], [1, 0.05], [-1, 0]),
        masked_ref=_unit([0, 1], [0.6, 1], [-1, 0]),  # a2's masked takes a1's, a1's not
        ms=np.zeros(3),
    )
    lines = ev.folder_pairs(data.labels.tolist())

    def genuine(reference: str) -> tuple[int, int]:
        t = ev.pair_tally(SPEC, "standard", data, lines, probe="masked", reference=reference)
        return t["tar"]["count"], t["tar"]["of"]

    assert genuine("ref") == (1, 2)
    assert genuine("masked_ref") == (1, 2)
    assert genuine("both") == (2, 2)  # the union
    data.masked_ref[1] = np.nan  # a2's masked reference refused: its plain one remains
    assert genuine("both") == (1, 2)


def test_parse_lfw_pairs() -> None:
    text = "2\t3\nAl_Pha\t1\t2\n\nAl_Pha 1 Be_Ta 4\n"
    lines = ev.parse_pairs(text)
    assert [(x.a, x.b, x.genuine) for x in lines] == [
        (("Al_Pha", 1), ("Al_Pha", 2), True),
        (("Al_Pha", 1), ("Be_Ta", 4), False),
    ]
    assert ev.parse_pairs("300\nX 1 2\n")[0].genuine  # a single-count header
    with pytest.raises(ValueError, match="line 2"):
        ev.parse_pairs("X 1 2\nX one 2\n")
    with pytest.raises(ValueError, match="line 1"):
        ev.parse_pairs("just_a_name\n")


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
def test_the_tool_on_three_people(
    tmp_path: Path, engine: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three people of the shared set, one photo without a face filed under one of them:
    the no-face photo is a refused presentation, not dropped; nothing names anyone."""
    root = tmp_path / "faces"
    for person, numbers in (("john_salley", (1, 2)), ("john_savage", (1, 2)), ("john_simm", (1,))):
        for n in numbers:
            dst = root / person / f"{n}.jpg"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SHARED / person / f"{n}.jpg", dst)
    shutil.copyfile(SHARED / "_no_face" / "2.jpg", root / "john_salley" / "3.jpg")
    cache = tmp_path / "cache"
    args = [str(root), "--strictness", "standard", "--cache", str(cache), "--json"]
    assert ev.main(args) == 0
    out = capsys.readouterr().out
    r = json.loads(out)
    assert "john" not in out
    assert r["test_set"]["images"] == 6
    assert r["test_set"]["no_face"] == 1
    pairs = r["pairs"]["plain"]
    assert pairs["tar"]["of"] == 3 + 1  # two of one person (a no-face photo among 3), 2 of another
    assert pairs["tar"]["count"] <= 2
    (run,) = r["open_set"]
    assert run["gallery"] == 0
    counts = run["test_plain"]
    # Halves: one person per side, every non-reference photo once known, every photo once
    # a stranger; the no-face photo is one of them, refused either way.
    known = counts["known_accepted_as_themselves"]["of"]
    strangers = counts["strangers_accepted"]["of"]
    assert known + strangers == 6 - 3 + 6
    assert counts["known_no_face"] + counts["strangers_no_face"] == 2
    assert len(list(cache.glob("*.npz"))) == 1
    assert ev.main([*args[:-1]]) == 0  # from the cache, as text
    assert "open set" in capsys.readouterr().out
