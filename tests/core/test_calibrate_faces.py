"""The threshold tool (devtools/calibrate_faces.py) and the model converter's numpy
dequantisation (devtools/convert_ncnn_models.py), on numbers small enough to check by
hand: no face is a rejection, the FAR threshold lets exactly the allowed pairs through."""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.community_gate.core import engines
from devtools.calibrate_faces import (
    _stricter_round,
    impostor_pair_ids,
    impostor_tail,
    masked_pairs,
    masked_rates,
    nearest_two,
    pair_scores,
    rates,
    resolved_tail,
    threshold_at,
)
from devtools.convert_ncnn_models import _dequantise

NCNN = engines.spec("ncnn_sface_2021dec")
DLIB = engines.spec("dlib_resnet_v1")


def _unit(*rows: list[float]) -> np.ndarray:
    v = np.array(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_threshold_at_lets_exactly_the_allowed_impostors_through() -> None:
    impostor = np.arange(1000, dtype=np.float64) / 1000  # 0.000 .. 0.999
    t = threshold_at(impostor, 0.01)
    assert int((impostor >= t).sum()) == 10
    assert int((impostor >= threshold_at(impostor, 0.001)).sum()) == 1
    assert int((impostor >= threshold_at(impostor, 0.0)).sum()) == 0


def test_a_photo_without_a_face_rejects_every_pair_it_is_in() -> None:
    labels = np.array(["a", "a", "a", "b"])
    vectors = _unit([1, 0], [1, 0.1], [1, 0.2], [0, 1])
    vectors[2] = np.nan  # no face found in the third photo of a
    genuine, impostor = pair_scores(labels, vectors, engines.COSINE)
    assert genuine.size == 3  # a1-a2, a1-a3, a2-a3: kept, not dropped
    assert impostor.size == 3
    assert np.isneginf(genuine).sum() == 2
    result = rates(genuine, impostor, NCNN.threshold)
    assert result["tar"] == pytest.approx(1 / 3)
    assert result["false_accepts"] == 0


def test_euclidean_scores_are_negated_so_higher_is_closer() -> None:
    labels = np.array(["a", "a", "b"])
    vectors = np.array([[0.0, 0.0], [0.3, 0.0], [1.0, 0.0]], dtype=np.float32)
    genuine, impostor = pair_scores(labels, vectors, engines.EUCLIDEAN)
    assert genuine.tolist() == pytest.approx([-0.3])
    assert sorted(impostor.tolist()) == pytest.approx([-1.0, -0.7])
    assert rates(genuine, impostor, -DLIB.threshold)["tar"] == 1.0


def test_masked_probes_meet_other_photos_only() -> None:
    labels = np.array(["a", "a", "b"])
    plain = _unit([1, 0], [1, 0.1], [0, 1])
    masked = _unit([1, 0.05], [1, 0.15], [0.1, 1])
    masked[1] = np.nan  # a masked face the detector missed
    result = masked_rates(labels, plain, masked, NCNN)
    # Genuine: masked a1 x plain a2, masked a2 x plain a1 (missed: rejected).
    assert result["genuine_pairs"] == 2
    assert result["tar"] == 0.5
    assert result["masked_no_face"] == 1
    assert result["impostor_pairs"] == 4


def test_the_impostor_tail_rounds_stricter_and_marks_what_pairs_cannot_resolve() -> None:
    impostor = np.arange(100_000, dtype=np.float64) / 100_000  # scores 0 .. 0.99999
    genuine = np.array([0.5, 0.9999, 1.0])
    labels = np.arange(100_000) % 7  # an identity-pair code per impostor pair
    targets = (1e-3, 1e-4, 3e-5, 1e-5, 1e-6)
    tail = impostor_tail(genuine, impostor, engines.COSINE, targets=targets, pair_ids=labels)
    # 1e-6 of 100,000 pairs allows no false accept: left out. 3e-5 allows 3 and 1e-5
    # one: measured, but fewer than the 10 that make a rate.
    assert [t["rate"] for t in tail] == [1e-3, 1e-4, 3e-5, 1e-5]
    assert [t["resolved"] for t in tail] == [True, True, False, False]
    assert resolved_tail(tail) == ((1e-3, 0.999), (1e-4, 1.0))
    for t in tail:
        assert t["false_accepts"] <= t["allowed"]  # rounded stricter, never looser
    assert tail[0]["false_accepts"] == 100
    assert tail[0]["identity_pairs"] == 7
    # Euclidean: higher-is-closer inside, a distance (rounded down) outside.
    tail = impostor_tail(-genuine, -impostor, engines.EUCLIDEAN, targets=(1e-3,))
    assert tail[0]["score"] == 0.0
    assert tail[0]["false_accepts"] <= 100


def test_impostor_pair_ids_follow_pair_scores_order() -> None:
    labels = np.array(["a", "b", "a", "c"])
    ids = impostor_pair_ids(labels)
    # Impostor pairs (i < j) in order: a-b, a-c, b-a, b-c, a-c.
    assert ids.size == 5
    assert ids[0] == ids[2]
    assert ids[1] == ids[4]
    assert np.unique(ids).size == 3


def test_stricter_rounding() -> None:
    assert _stricter_round(0.3587, engines.COSINE) == 0.359
    assert _stricter_round(0.5525, engines.EUCLIDEAN) == 0.552
    assert _stricter_round(0.36, engines.COSINE) == 0.36


def test_masked_pairs_leave_out_refused_references_and_reject_missed_probes() -> None:
    labels = np.array(["a", "a", "b"])
    probes = _unit([1, 0], [1, 0.1], [0, 1])
    refs = _unit([1, 0.05], [1, 0.1], [0.1, 1])
    probes[2] = np.nan  # a masked face the detector missed
    refs[1] = np.nan  # a masked photo enrollment refused
    genuine, impostor = masked_pairs(labels, probes, refs, engines.COSINE)
    # Genuine: probe a2 x ref a1 (a1 x its own photo is not a pair; a2's ref refused).
    assert genuine.size == 1
    # Impostor: probes a1, a2 x ref b1; probe b1 (missed, -inf) x ref a1.
    assert impostor.size == 3
    assert np.isneginf(impostor).sum() == 1


def test_nearest_two_finds_the_second_person_and_removes_the_own_one() -> None:
    refs = np.array([[0, 0], [1, 0], [0, 3]], dtype=np.float32)
    ref_labels = np.array(["a", "b", "c"])
    probes = np.array([[0.1, 0]], dtype=np.float32)
    d1, own, d2 = nearest_two(probes, np.array(["a"]), refs, ref_labels, exclude_own=False)
    assert (d1[0], own[0], d2[0]) == (pytest.approx(0.1), True, pytest.approx(0.9))
    d1, own, d2 = nearest_two(probes, np.array(["a"]), refs, ref_labels, exclude_own=True)
    assert (d1[0], own[0], d2[0]) == (pytest.approx(0.9), False, pytest.approx(3.0, abs=0.01))


def test_block_dequantisation() -> None:
    q = np.array([[1, 2, 3, 4, 5], [-1, -2, -3, -4, -5]], dtype=np.int8)
    scale = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    zero = np.array([[0, 1, 0], [0, 0, -5]], dtype=np.int8)
    out = _dequantise(q, scale, zero, axis=1, block=2)
    assert out.tolist() == [[0.5, 1.0, 2.0, 3.0, 10.0], [-1, -2, -3, -4, 0]]
    per_tensor = _dequantise(q, np.array(0.5, np.float32), np.array(1, np.int8), 1, 0)
    assert per_tensor[0].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
