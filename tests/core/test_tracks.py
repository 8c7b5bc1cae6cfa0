"""Frames fused per track: one bad frame neither opens nor makes a stranger."""

from __future__ import annotations

import pytest

from custom_components.community_gate.core.faces import FaceBox
from custom_components.community_gate.core.tracks import FrameFusion, Verdict, iou

BOX = FaceBox(100, 200, 200, 100)
MOVED = FaceBox(110, 210, 210, 110)  # the same face a frame later
ELSEWHERE = FaceBox(100, 500, 200, 400)  # another face in the same frame


def test_a_confident_frame_opens_at_once() -> None:
    fusion = FrameFusion()
    assert fusion.vote("g", BOX, 0.0, "p1", confident=True) is Verdict.OPEN


def test_a_near_miss_needs_a_second_frame_that_agrees() -> None:
    fusion = FrameFusion()
    assert fusion.vote("g", BOX, 0.0, "p1", confident=False) is Verdict.WAIT
    assert fusion.vote("g", MOVED, 0.5, "p1", confident=False) is Verdict.OPEN


def test_frames_that_disagree_open_nothing() -> None:
    fusion = FrameFusion()
    assert fusion.vote("g", BOX, 0.0, "p1", confident=False) is Verdict.WAIT
    assert fusion.vote("g", MOVED, 0.5, "p2", confident=False) is Verdict.WAIT
    assert fusion.vote("g", BOX, 1.0, None, confident=False) is Verdict.WAIT
    # Two recent frames that agree decide; older votes no longer count.
    assert fusion.vote("g", BOX, 1.5, None, confident=False) is Verdict.UNKNOWN


def test_one_unrecognised_frame_of_a_resident_is_no_stranger() -> None:
    fusion = FrameFusion()
    assert fusion.vote("g", BOX, 0.0, None, confident=False) is Verdict.WAIT
    assert fusion.vote("g", MOVED, 0.5, "p1", confident=True) is Verdict.OPEN


def test_tracks_are_per_face_per_gate_and_end() -> None:
    fusion = FrameFusion()
    assert fusion.vote("g", BOX, 0.0, None, confident=False) is Verdict.WAIT
    # Another face in the frame, and the same box at another gate: their own tracks.
    assert fusion.vote("g", ELSEWHERE, 0.0, None, confident=False) is Verdict.WAIT
    assert fusion.vote("h", BOX, 0.0, None, confident=False) is Verdict.WAIT
    # The first face long gone: a face at the same place starts a new track.
    assert fusion.vote("g", BOX, 10.0, None, confident=False) is Verdict.WAIT
    assert fusion.vote("g", BOX, 10.5, None, confident=False) is Verdict.UNKNOWN


def test_iou_and_settings() -> None:
    assert iou(BOX, BOX) == 1.0
    assert iou(BOX, ELSEWHERE) == 0.0
    assert 0.6 < iou(BOX, MOVED) < 0.7
    assert FrameFusion(need=1).vote("g", BOX, 0.0, None, confident=False) is Verdict.UNKNOWN
    with pytest.raises(ValueError, match="need"):
        FrameFusion(need=0)
