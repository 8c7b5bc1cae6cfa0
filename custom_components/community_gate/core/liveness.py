"""Is the face at the camera a live person? Evidence from the frames of its track.

A Home Assistant camera is one RGB stream: no infrared, no depth. What a print, a phone
screen or a photo set as the camera's image cannot do is move like a head. Per track
(``tracks.py``), from each frame's 5 landmarks (eyes, nose tip, mouth corners: YuNet's,
or dlib's 68 reduced to those) and a small grey chip aligned on them:

* **parallax**: the four outer points (eyes, mouth corners) of a flat picture move by a
  homography, however the sheet is tilted or swayed; the nose tip, in front of them on a
  real head, does not. Mapping the four onto a unit square and the nose with them gives
  the nose's *planar position*; its spread over the track is ~0 for anything flat (up
  to the detector's jitter) and grows with a real head's turns and nods;
* **blink**: the eye regions of the aligned chip lose their contrast for a frame or two
  while the rest of the face does not;
* **static**: a face whose points and pixels do not change at all for several frames
  (a photo set as the camera's image) is refused without waiting for the window.

A track is ``LIVE`` once it shows parallax or a blink, ``ATTACK`` when it is static or
its window of frames passes without life, else ``PENDING`` (the gate waits). Both
verdicts stick for the track's life. At level ``challenge`` the terminal asks for a
random action (turn left / right, blink) and only that action, seen after it was asked,
counts: a replayed video does not know what will be asked, and a tilted photo cannot
turn its nose.

Thresholds were set on sequences synthesised from the calibration photos
(``devtools/pad_corpus.py``, ``devtools/eval_pad.py``), never on the test photos the
error rates are reported on (docs/benchmarks.md). Pure numpy: no Home Assistant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import secrets
from typing import Final

import numpy as np
import numpy.typing as npt

from .images import RGBImage
from .ncnn_engine import TEMPLATE, similarity_transform, warp_affine

Points = npt.NDArray[np.float64]
Patch = npt.NDArray[np.uint8]

PATCH: Final = 48  # side of the aligned grey chip the hub keeps per frame
_T = TEMPLATE * (PATCH / 112.0)  # the 5 template points at that size
_EYE_HALF: Final = (5, 3)  # eye region half width, half height (chip pixels)

# Levels, as a gate's ``pad_level`` option names them.
LEVEL_OFF: Final = "off"
LEVEL_STREAM: Final = "stream"
LEVEL_CHALLENGE: Final = "challenge"
LEVELS: Final = (LEVEL_OFF, LEVEL_STREAM, LEVEL_CHALLENGE)


class Liveness(StrEnum):
    LIVE = "live"
    ATTACK = "attack"
    PENDING = "pending"


class Challenge(StrEnum):
    """What the terminal asks for. Left and right are the *person's*: turning to one's
    left moves the nose towards the image's right on a camera facing them."""

    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    BLINK = "blink"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Set on the calibration corpus (see the module docstring)."""

    parallax: float = 0.06  # spread of the planar nose (unit square) for LIVE
    blink: float = 0.30  # relative drop of eye contrast for a blink
    static: float = 0.004  # below: points and pixels did not move (fraction of the face)
    static_frames: int = 4  # that many static frames refuse at once
    min_frames: int = 3  # frames before a LIVE verdict
    max_frames: int = 8  # frames without life: ATTACK
    turn: float = 0.08  # planar-nose shift towards the asked side for a turn
    challenge_frames: int = 10  # frames after the prompt to do it


DEFAULT: Final = Thresholds()


@dataclass(frozen=True, slots=True)
class Sample:
    """One frame's face as liveness needs it: 5 points (float frame pixels, order
    image-left eye, image-right eye, nose tip, image-left and image-right mouth corner)
    and the grey chip aligned on them (None if the frame was not at hand)."""

    points: Points
    patch: Patch | None = None


def five_points(landmarks: Sequence[tuple[float, float]]) -> Points:
    """The 5 points from an engine's landmarks: YuNet's 5 as they are; dlib's 68 reduced
    (eye centres, nose tip 30, mouth corners 48 and 54)."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape == (5, 2):
        return pts
    if pts.shape == (68, 2):
        return np.stack(
            [pts[36:42].mean(axis=0), pts[42:48].mean(axis=0), pts[30], pts[48], pts[54]]
        )
    raise ValueError(f"expected 5 or 68 landmarks, got {pts.shape}")


def patch(rgb: RGBImage, points: Points) -> Patch:
    """The ``PATCH`` x ``PATCH`` grey chip of the face, aligned on its 5 points."""
    chip = warp_affine(rgb, similarity_transform(np.asarray(points, np.float64), _T), PATCH)
    grey = chip.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    out: Patch = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return out


def sample(rgb: RGBImage, landmarks: Sequence[tuple[float, float]]) -> Sample:
    pts = five_points(landmarks)
    return Sample(pts, patch(rgb, pts))


# ------------------------------------------------------------------------ cues
_SQUARE: Final = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def _homography(src: Points, dst: Points) -> npt.NDArray[np.float64]:
    rows = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, -u])
        rows.append([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, -v])
    _, _, vt = np.linalg.svd(np.asarray(rows))
    out: npt.NDArray[np.float64] = vt[-1].reshape(3, 3)
    return out


def planar_nose(points: Points) -> npt.NDArray[np.float64]:
    """The nose tip in the unit square the eyes and mouth corners are mapped onto by a
    homography: fixed for any picture of a face on a flat sheet, however it is held."""
    h = _homography(points[[0, 1, 3, 4]], _SQUARE)
    x, y = points[2]
    p = h @ np.array([x, y, 1.0])
    if abs(p[2]) < 1e-12:
        return np.array([0.5, 0.5])
    nose: Points = p[:2] / p[2]
    return nose


def parallax(samples: Sequence[Sample]) -> float:
    """How far the planar nose moved over the frames: the larger of its ranges in x and
    y, the single most extreme frame left out (one bad detection is not a turn)."""
    if len(samples) < 2:
        return 0.0
    noses = np.array([planar_nose(s.points) for s in samples])
    spread = 0.0
    for axis in (0, 1):
        vals = np.sort(noses[:, axis])
        med = float(np.median(vals))
        # Drop the value furthest from the median, then take the range.
        far = int(np.argmax(np.abs(vals - med)))
        rest = np.delete(vals, far) if len(vals) > 2 else vals
        spread = max(spread, float(rest.max() - rest.min()))
    return spread


def _eye_contrast(p: Patch) -> float:
    """Contrast of both eye regions against the whole chip (a closed eye is skin)."""
    f = p.astype(np.float32)
    hw, hh = _EYE_HALF
    parts = []
    for x, y in _T[:2]:
        cx, cy = round(float(x)), round(float(y))
        parts.append(f[cy - hh : cy + hh + 1, cx - hw : cx + hw + 1])
    eyes = np.concatenate([q.reshape(-1) for q in parts])
    return float(eyes.std() / (f.std() + 1e-3))


def blink(samples: Sequence[Sample]) -> float:
    """The largest drop of eye contrast in one frame against the track's typical
    contrast (0: none; 1: the eyes became flat skin). A blink lasts a frame or two."""
    values = [_eye_contrast(s.patch) for s in samples if s.patch is not None]
    if len(values) < 3:
        return 0.0
    typical = float(np.median(values))
    if typical <= 1e-6:
        return 0.0
    return max(0.0, 1.0 - min(values) / typical)


def motion(samples: Sequence[Sample]) -> float:
    """How much anything changed between the latest frames: the largest point move
    (in eye distances) or mean chip change (fraction of full scale)."""
    if len(samples) < 2:
        return 1.0
    a, b = samples[-2], samples[-1]
    iod = float(np.linalg.norm(b.points[1] - b.points[0])) or 1.0
    moved = float(np.abs(b.points - a.points).max()) / iod
    if a.patch is not None and b.patch is not None:
        diff = np.abs(a.patch.astype(np.float32) - b.patch.astype(np.float32))
        moved = max(moved, float(diff.mean()) / 255.0)
    return moved


def yaw_shift(samples: Sequence[Sample]) -> float:
    """The planar nose's largest move along x from the first sample (positive: towards
    the image's right, the person turning to their left)."""
    if len(samples) < 2:
        return 0.0
    xs = [float(planar_nose(s.points)[0]) for s in samples]
    first = xs[0]
    right, left = max(xs) - first, first - min(xs)
    return right if right >= left else -left


# ---------------------------------------------------------------------- a track
@dataclass(slots=True)
class TrackLiveness:
    """The liveness of one face track. ``challenge`` set: only that action, done in the
    frames after it was asked, makes the track LIVE."""

    thresholds: Thresholds = DEFAULT
    challenge: Challenge | None = None
    samples: list[Sample] = field(default_factory=list)
    state: Liveness = Liveness.PENDING
    why: str = ""  # what decided: parallax / blink / challenge / static / no_life
    _static_run: int = 0

    def add(self, s: Sample) -> Liveness:
        if self.state is not Liveness.PENDING:
            return self.state  # a verdict sticks for the track
        th = self.thresholds
        self.samples.append(s)
        window = th.challenge_frames if self.challenge is not None else th.max_frames
        del self.samples[:-window]
        self._static_run = self._static_run + 1 if motion(self.samples) < th.static else 0
        if self._static_run >= th.static_frames:
            return self._decide(Liveness.ATTACK, "static")
        if len(self.samples) >= th.min_frames:
            if self.challenge is not None:
                if self._challenge_met():
                    return self._decide(Liveness.LIVE, "challenge")
            elif parallax(self.samples) >= th.parallax:
                return self._decide(Liveness.LIVE, "parallax")
            elif blink(self.samples) >= th.blink:
                return self._decide(Liveness.LIVE, "blink")
        if len(self.samples) >= window:
            return self._decide(Liveness.ATTACK, "no_life")
        return Liveness.PENDING

    def _challenge_met(self) -> bool:
        th = self.thresholds
        if self.challenge is Challenge.BLINK:
            return blink(self.samples) >= th.blink
        shift = yaw_shift(self.samples)
        if self.challenge is Challenge.TURN_LEFT:
            return shift >= th.turn
        return shift <= -th.turn

    def _decide(self, state: Liveness, why: str) -> Liveness:
        self.state, self.why = state, why
        return state


def new_challenge() -> Challenge:
    """A prompt nobody can know in advance (an attacker preparing a video included)."""
    return secrets.choice(list(Challenge))
