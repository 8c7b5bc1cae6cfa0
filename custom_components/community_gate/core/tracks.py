"""Frames fused into one decision: one bad frame neither opens a gate nor logs a stranger.

A camera gate sees the same face in several consecutive frames. Each frame's match is a
*vote* in the face's *track* (same gate, boxes overlapping, frames close in time):

* a frame accepted at the **confident** bar (the engine's threshold for a ten times
  stricter strictness target) opens at once: no extra wait for a clear face;
* a frame accepted only at the gate's own bar opens when ``need`` frames of the track
  (the current one included) were accepted as the **same** person: a one-frame near
  miss of a stranger, or a resident's blurred frame landing on a neighbour, does not open;
* an unrecognised face is logged as a stranger only when ``need`` frames of the track
  were unrecognised: a resident turning the head for one frame does not make a stranger
  row, a stranger cluster and an alert.

Otherwise the answer is :data:`WAIT` and the next frame decides. Edge terminals send one
embedding, already chosen by the terminal, and are decided as they come.

With presentation-attack detection on (a gate's ``pad_level``: ``stream`` or
``challenge``, ``liveness.py``) each track also gathers liveness evidence from its
frames: an accepted face opens only once its track is LIVE (until then :data:`WAIT`),
and a track judged an attack answers :data:`ATTACK` whoever it matched. An unrecognised
face is decided as before: it opens nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from .faces import FaceBox
from .liveness import (
    DEFAULT,
    LEVEL_CHALLENGE,
    LEVEL_OFF,
    Challenge,
    Liveness,
    Sample,
    Thresholds,
    TrackLiveness,
    new_challenge as _new_challenge,
)

NEED: Final = 2  # agreeing frames for a non-confident decision
WINDOW_S: Final = 2.0  # a track ends when its face was not seen for this long
MIN_IOU: Final = 0.3  # boxes of one face in consecutive frames overlap at least this much
MAX_TRACKS: Final = 64  # per gate; oldest dropped (a crowd, not a memory leak)


class Verdict(StrEnum):
    OPEN = "open"  # present the accepted person
    UNKNOWN = "unknown"  # present an unrecognised face (a stranger)
    WAIT = "wait"  # not yet: the next frame of this track decides
    ATTACK = "attack"  # a presentation attack: refuse (presentation_attack)


def iou(a: FaceBox, b: FaceBox) -> float:
    top, bottom = max(a.top, b.top), min(a.bottom, b.bottom)
    left, right = max(a.left, b.left), min(a.right, b.right)
    inter = max(0, bottom - top) * max(0, right - left)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


@dataclass(slots=True)
class _Track:
    box: FaceBox
    last: float
    votes: list[str | None] = field(default_factory=list)  # person id, or None: unknown
    live: TrackLiveness | None = None  # made on the track's first frame with PAD on


class FrameFusion:
    """Tracks of faces per gate. Not thread-safe: the face thread owns it."""

    def __init__(
        self,
        *,
        need: int = NEED,
        window_s: float = WINDOW_S,
        challenge: Callable[[], Challenge] = _new_challenge,
        liveness: Thresholds = DEFAULT,
    ) -> None:
        if need < 1:
            raise ValueError("need must be >= 1")
        self.need = need
        self.window_s = window_s
        self._challenge = challenge
        self._liveness = liveness
        self._tracks: dict[str, list[_Track]] = {}
        # The challenge the last ``vote`` asked for (a new track at a challenge gate):
        # the caller shows it on the terminal once.
        self.issued: Challenge | None = None

    def vote(
        self,
        gate_id: str,
        box: FaceBox,
        ts: float,
        person_id: str | None,
        *,
        confident: bool,
        sample: Sample | None = None,
        pad: str = LEVEL_OFF,
    ) -> Verdict:
        """One frame's face at ``gate_id``: ``person_id`` if its match was accepted (None
        if not), ``confident`` if accepted at the confident bar. With ``pad`` on,
        ``sample`` is the frame's liveness evidence (None: this frame has none)."""
        track = self._track(gate_id, box, ts)
        self.issued = None
        live = Liveness.LIVE
        if pad != LEVEL_OFF:
            if track.live is None:
                challenge = self._challenge() if pad == LEVEL_CHALLENGE else None
                track.live = TrackLiveness(self._liveness, challenge)
                self.issued = challenge
            live = track.live.state if sample is None else track.live.add(sample, ts)
        if live is Liveness.ATTACK:
            return Verdict.ATTACK
        track.votes.append(person_id)
        del track.votes[: -self.need]  # only the latest frames count
        if person_id is not None and confident:
            verdict = Verdict.OPEN
        elif len(track.votes) < self.need or any(v != person_id for v in track.votes):
            return Verdict.WAIT
        else:
            verdict = Verdict.UNKNOWN if person_id is None else Verdict.OPEN
        if verdict is Verdict.OPEN and live is not Liveness.LIVE:
            return Verdict.WAIT  # the right face, no life shown yet
        return verdict

    def pending(self, gate_id: str, ts: float) -> bool:
        """Whether a face at ``gate_id`` (seen within the track window) is still showing
        whether it is alive: the capture loop then samples faster."""
        return any(
            t.live is not None and t.live.state is Liveness.PENDING
            for t in self._tracks.get(gate_id, ())
            if ts - t.last <= self.window_s
        )

    def liveness(self, gate_id: str, box: FaceBox) -> TrackLiveness | None:
        """The liveness state of the track ``box`` belongs to now (None: PAD off)."""
        best = max(self._tracks.get(gate_id, ()), key=lambda t: iou(t.box, box), default=None)
        return best.live if best is not None and iou(best.box, box) >= MIN_IOU else None

    def _track(self, gate_id: str, box: FaceBox, ts: float) -> _Track:
        tracks = [t for t in self._tracks.get(gate_id, ()) if ts - t.last <= self.window_s]
        best = max(tracks, key=lambda t: iou(t.box, box), default=None)
        if best is None or iou(best.box, box) < MIN_IOU:
            best = _Track(box, ts)
            tracks.append(best)
            del tracks[:-MAX_TRACKS]
        best.box, best.last = box, ts
        self._tracks[gate_id] = tracks
        return best
