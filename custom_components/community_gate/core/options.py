"""An estate's options (what staff set in the options flow) as one typed object: the
only place their defaults are written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .engines import DEFAULT_ENGINE, DEFAULT_STRICTNESS
from .episodes import DEFAULT_WINDOW_S
from .rules import RuleParams


@dataclass(frozen=True, slots=True, kw_only=True)
class EstateOptions:
    """Field names are the option keys stored in the config entry."""

    # Retention, in whole days, of each kind of record (docs/privacy.md).
    retention_days: int = 180  # passages
    cluster_retention_days: int = 30  # unknown-face clusters: biometric, kept briefly
    photo_retention_days: int = 7  # enrollment photos, when kept at all
    keep_photos: bool = False
    # Stranger snapshots: one sealed face crop per stranger cluster, for the admin panel
    # only; off by default (nothing kept), and short-lived when on.
    keep_stranger_snapshots: bool = False
    stranger_snapshot_days: int = 7
    # Recognition: which engine (its encodings are not comparable with the other's), and
    # how rarely a stranger may be taken for someone who may pass (``engines.STRICTNESS``);
    # the threshold follows from the engine's calibration and the gate's scope.
    face_engine: str = DEFAULT_ENGINE
    face_strictness: str = DEFAULT_STRICTNESS
    capture_interval: float = 0.5  # seconds between frames a camera gate looks at
    face_debounce: float = 10.0  # seconds before the same face counts again at a gate
    # Digits a newly enrolled PIN needs: six make guessing a million tries, not 10,000
    # (4 to 8; PINs enrolled before keep working, flagged short_pin: docs/services.md).
    min_pin_length: int = 6
    # Seconds within which a refusal of the same stranger or person at the same gate
    # updates one passage row (an episode: first/last seen, count) instead of adding
    # one; 0 = every refusal is a row (core/episodes.py).
    episode_window: float = DEFAULT_WINDOW_S
    rules: RuleParams = field(default_factory=RuleParams)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> EstateOptions:
        """From the entry's stored options; a missing option takes its default. Values
        were checked by the options flow: this only restores their types."""
        d = DEFAULTS
        return cls(
            retention_days=int(raw.get("retention_days", d.retention_days)),
            cluster_retention_days=int(raw.get("cluster_retention_days", d.cluster_retention_days)),
            photo_retention_days=int(raw.get("photo_retention_days", d.photo_retention_days)),
            keep_photos=bool(raw.get("keep_photos", d.keep_photos)),
            keep_stranger_snapshots=bool(
                raw.get("keep_stranger_snapshots", d.keep_stranger_snapshots)
            ),
            stranger_snapshot_days=int(raw.get("stranger_snapshot_days", d.stranger_snapshot_days)),
            face_engine=str(raw.get("face_engine", d.face_engine)),
            face_strictness=str(raw.get("face_strictness", d.face_strictness)),
            capture_interval=float(raw.get("capture_interval", d.capture_interval)),
            face_debounce=float(raw.get("face_debounce", d.face_debounce)),
            min_pin_length=int(raw.get("min_pin_length", d.min_pin_length)),
            episode_window=float(raw.get("episode_window", d.episode_window)),
            rules=RuleParams.from_mapping(raw.get("rules") or {}),
        )


DEFAULTS = EstateOptions()
