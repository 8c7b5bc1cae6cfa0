"""Liveness from a track's landmarks (issue 15): the geometry the verdicts rest on, on a
3D face model whose points are projected exactly (no detector noise), and the track's
verdicts in FrameFusion. The fitted score needs real pixels (its cues include the face's
pixel drift): it is checked on real frames through the real detector in
test_pad_corpus.py and tests/ha/test_pad_ha.py; here, where a verdict only needs *some*
evidence, the stream bar is lifted (``NO_BAR``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from custom_components.community_gate.core import liveness as lv
from custom_components.community_gate.core.faces import FaceBox
from custom_components.community_gate.core.tracks import FrameFusion, Verdict

# A head in millimetres, camera looking down -z: eyes, nose tip (in front), mouth corners.
HEAD = np.array(
    [[-32.0, -35, 0], [32, -35, 0], [0, 0, 28], [-25, 30, 3], [25, 30, 3]], dtype=np.float64
)
BOX = FaceBox(100, 400, 400, 200)
NO_BAR = lv.Thresholds(live=-math.inf)  # any distinct frames count as life


def project(points3d: np.ndarray, *, yaw: float = 0.0, pitch: float = 0.0) -> np.ndarray:
    """The 5 image points of the head turned by ``yaw`` (degrees; positive: the person
    turns to their left, the nose towards the image's right) at 600 mm, focal 800 px."""
    a, b = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    p = points3d @ (rx @ ry).T
    z = 600.0 - p[:, 2]
    return np.stack([320 + 800 * p[:, 0] / z, 240 + 800 * p[:, 1] / z], axis=1)


def homography_of(points: np.ndarray, h: np.ndarray) -> np.ndarray:
    q = np.hstack([points, np.ones((len(points), 1))]) @ h.T
    return q[:, :2] / q[:, 2:]


def test_a_flat_picture_keeps_its_planar_nose_however_it_is_held() -> None:
    face = project(HEAD)
    rng = np.random.default_rng(1)
    base = lv.planar_nose(face)
    for _ in range(20):
        h = np.eye(3) + rng.normal(0, [[0.05, 0.05, 5], [0.05, 0.05, 5], [1e-4, 1e-4, 0]])
        assert np.allclose(lv.planar_nose(homography_of(face, h)), base, atol=1e-6)
    # A real head turning 10 degrees moves it (parallax), towards the image's right.
    turned = lv.planar_nose(project(HEAD, yaw=10))
    assert turned[0] - base[0] > 0.05


def test_five_points_from_dlibs_68() -> None:
    pts = np.arange(136, dtype=np.float64).reshape(68, 2)
    five = lv.five_points([tuple(p) for p in pts])
    assert five.shape == (5, 2)
    assert np.allclose(five[0], pts[36:42].mean(axis=0))
    assert np.allclose(five[2], pts[30])
    with pytest.raises(ValueError, match="5 or 68"):
        lv.five_points([(0.0, 0.0)] * 7)


def samples(yaws: list[float]) -> list[lv.Sample]:
    return [lv.Sample(project(HEAD, yaw=y, pitch=0.3 * y)) for y in yaws]


def test_a_repeated_picture_is_judged_by_how_long_it_stays() -> None:
    """A camera asked faster than it makes frames repeats its picture: that is no
    attack until the same picture has stayed ``static_s`` (a photo held still)."""
    first, again = samples([0.0, 0.0])
    state = lv.TrackLiveness()
    assert state.add(first, 0.0) is lv.Liveness.PENDING
    assert [state.add(again, t / 5) for t in range(1, 10)] == [lv.Liveness.PENDING] * 9
    assert state.add(again, 2.0) is lv.Liveness.ATTACK
    assert state.why == "static"


def test_a_byte_identical_face_is_refused_as_static() -> None:
    state = lv.TrackLiveness()
    verdicts = [state.add(s) for s in samples([0.0] * 8)]
    assert verdicts[: lv.DEFAULT.static_frames] == [lv.Liveness.PENDING] * 4
    assert verdicts[lv.DEFAULT.static_frames] is lv.Liveness.ATTACK
    assert state.why == "static"
    # The verdict sticks for the track, whatever comes next.
    assert state.add(samples([20.0])[0]) is lv.Liveness.ATTACK


def test_a_flat_face_has_no_parallax_a_turning_head_has() -> None:
    turning = samples([8 * math.sin(t / 2.5) for t in range(8)])
    rng = np.random.default_rng(3)
    face = project(HEAD)
    flat = []
    for t in range(8):
        h = np.eye(3)
        h[0, 2], h[1, 2] = 4 * math.sin(t), 3 * math.cos(t)
        h[2, :2] = rng.normal(0, 2e-4, 2)
        flat.append(lv.Sample(homography_of(face, h)))
    assert lv.parallax(flat)[0] < 1e-6  # swayed and tilted: the planar nose stays put
    assert lv.parallax(turning)[0] > 0.05
    assert lv.sway(flat)[0] > 0.01  # ... though the face itself moved


def test_a_track_without_life_ends_as_an_attack() -> None:
    state = lv.TrackLiveness(lv.Thresholds(live=math.inf))
    verdicts = [state.add(s) for s in samples([float(t) for t in range(8)])]
    assert verdicts[:-1] == [lv.Liveness.PENDING] * 7
    assert verdicts[-1] is lv.Liveness.ATTACK
    assert state.why == "no_life"


def test_a_live_track_that_freezes_is_refused() -> None:
    """A photo put where the live face stood (the same track) does not inherit its life."""
    state = lv.TrackLiveness(NO_BAR)
    assert lv.Liveness.LIVE in [state.add(s) for s in samples([float(t) for t in range(8)])]
    frozen = samples([7.0])[0]
    verdicts = [state.add(frozen) for _ in range(5)]
    assert verdicts[-1] is lv.Liveness.ATTACK
    assert state.why == "static"


@pytest.mark.parametrize(
    ("challenge", "yaw", "live"),
    [
        (lv.Challenge.TURN_LEFT, 15.0, True),
        (lv.Challenge.TURN_RIGHT, -15.0, True),
        (lv.Challenge.TURN_RIGHT, 15.0, False),  # the wrong way (a replay's turn)
        (lv.Challenge.BLINK, 15.0, False),  # a turn is not a blink
    ],
)
def test_the_challenge_counts_only_what_was_asked(
    challenge: lv.Challenge, yaw: float, live: bool
) -> None:
    state = lv.TrackLiveness(NO_BAR, challenge)
    ramp = [0, 0.1, yaw / 3, 2 * yaw / 3, yaw, yaw + 0.1, yaw, yaw + 0.2]
    verdicts = [state.add(s) for s in samples(ramp)]
    assert (lv.Liveness.LIVE in verdicts) is live
    if not live:
        assert verdicts[-1] is lv.Liveness.ATTACK


def test_fusion_waits_for_life_and_refuses_an_attack() -> None:
    fusion = FrameFusion(liveness=NO_BAR)
    turning = samples([8 * math.sin(t / 2.5) for t in range(8)])
    verdicts = [
        fusion.vote("g", BOX, t * 0.3, "p1", confident=True, sample=s, pad="stream")
        for t, s in enumerate(turning)
    ]
    # The resident's face matched from the first frame; the gate opened once life showed.
    assert verdicts[0] is Verdict.WAIT
    assert Verdict.OPEN in verdicts
    first_open = verdicts.index(Verdict.OPEN)
    assert set(verdicts[:first_open]) == {Verdict.WAIT}
    # A photo of the same resident at another gate: the same face, no life.
    still = samples([0.0] * 6)
    answers = [
        fusion.vote("h", BOX, t * 0.5, "p1", confident=True, sample=s, pad="stream")
        for t, s in enumerate(still)
    ]
    assert Verdict.OPEN not in answers
    assert answers[-1] is Verdict.ATTACK
    assert fusion.pending("g", 3.0) is False  # decided: LIVE
    assert fusion.pending("h", 2.5) is False  # decided: ATTACK
    fusion.vote("j", BOX, 0.0, "p1", confident=True, sample=turning[0], pad="stream")
    assert fusion.pending("j", 0.5) is True
    assert fusion.pending("j", 10.0) is False  # the face has gone: its track ended
    # PAD off: the photo opens at once (the level exists for terminals with their own).
    assert fusion.vote("k", BOX, 0.0, "p1", confident=True, sample=still[0]) is Verdict.OPEN


def test_a_challenge_gate_issues_one_prompt_per_track() -> None:
    fusion = FrameFusion(challenge=lambda: lv.Challenge.TURN_LEFT)
    fusion.vote("g", BOX, 0.0, None, confident=False, sample=samples([0])[0], pad="challenge")
    assert fusion.issued is lv.Challenge.TURN_LEFT
    fusion.vote("g", BOX, 0.3, None, confident=False, sample=samples([1])[0], pad="challenge")
    assert fusion.issued is None  # the same track: asked once
    # The gate draws only head turns (a blink was too faint to check: liveness.DRAWN).
    assert {lv.new_challenge() for _ in range(64)} == set(lv.DRAWN)


def test_the_chip_is_aligned_and_small() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    s = lv.sample(rgb, [tuple(p) for p in project(HEAD)])
    assert s.patch is not None
    assert s.patch.shape == (lv.PATCH, lv.PATCH)
    assert s.patch.dtype == np.uint8
