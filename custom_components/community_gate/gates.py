"""A configured gate at run time: its domain record, how it opens and what it takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .actuators import Actuator
from .const import (
    CONF_BUILDING,
    CONF_DIRECTION,
    CONF_FACE_MODE,
    CONF_GATE_ID,
    CONF_GATE_KIND,
    CONF_METHODS,
    CONF_OPENERS,
    CONF_PAD_LEVEL,
)
from .core.model import CredentialKind, Direction, FaceMode, Gate, GateKind, PadLevel, Passage

# The credential kinds a gate subentry may list, and those that are not biometric (a
# gate must keep one of these: not everyone consents to, or is recognised by, a face).
GATE_METHODS = ("face", "card", "id_card", "qr", "pin", "fingerprint")
NON_BIOMETRIC = frozenset({"card", "id_card", "qr", "pin"})


@dataclass(slots=True)
class GateRuntime:
    """A configured gate: its domain record plus the HA entities that serve it."""

    subentry_id: str
    gate: Gate
    actuator_entity: str
    camera: str | None
    presence: str | None
    actuator: Actuator
    stream_url: str | None = None
    last_passage: Passage | None = None
    # Credential kinds this gate accepts (the gate subentry's "methods"; default all).
    methods: frozenset[str] = frozenset(m.value for m in CredentialKind)
    # HA users (ids) who may open this gate remotely besides administrators.
    openers: frozenset[str] = frozenset()
    # Presentation-attack defence for faces at this gate (issue 15); stream by default.
    pad_level: PadLevel = PadLevel.STREAM
    # Face alone, or face and a second credential of the same person (issue 15).
    face_mode: FaceMode = FaceMode.FACE_ALONE


def gate_from_subentry(data: dict[str, Any] | Any) -> Gate:
    return Gate(
        id=data[CONF_GATE_ID],
        name=data.get("name") or data[CONF_GATE_ID],
        kind=GateKind(data.get(CONF_GATE_KIND, GateKind.ESTATE_GATE)),
        direction=Direction(data.get(CONF_DIRECTION, Direction.BOTH)),
        building=data.get(CONF_BUILDING) or None,
    )


def gate_methods(data: dict[str, Any] | Any) -> frozenset[str]:
    """The credential kinds a gate accepts (all of them unless configured)."""
    methods = data.get(CONF_METHODS) or GATE_METHODS
    return frozenset(m for m in methods if m in GATE_METHODS)


def gate_openers(data: dict[str, Any] | Any) -> frozenset[str]:
    """The HA user ids the gate subentry allows to open it remotely (none unless set)."""
    return frozenset(u for u in data.get(CONF_OPENERS) or () if isinstance(u, str) and u)


def gate_pad_level(data: dict[str, Any] | Any) -> PadLevel:
    """The gate's PAD level; a gate configured before issue 15 gets the default."""
    try:
        return PadLevel(data.get(CONF_PAD_LEVEL) or PadLevel.STREAM)
    except ValueError:
        return PadLevel.STREAM


def gate_face_mode(data: dict[str, Any] | Any) -> FaceMode:
    try:
        return FaceMode(data.get(CONF_FACE_MODE) or FaceMode.FACE_ALONE)
    except ValueError:
        return FaceMode.FACE_ALONE
