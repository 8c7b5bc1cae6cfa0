"""Domain records of an estate. Plain dataclasses: no Home Assistant, no SQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    """Who a person is to the estate."""

    TENANT = "tenant"  # 主申请人: the lease holder
    CO_RESIDENT = "co_resident"  # 同住人
    VISITOR = "visitor"
    SERVICE = "service"  # courier, delivery, contractor
    STAFF = "staff"  # property staff


RESIDENT_ROLES = frozenset({Role.TENANT, Role.CO_RESIDENT})
# Who still passes while the estate is locked down (core/access.py ``apply_lockdown``).
LOCKDOWN_ROLES = frozenset({Role.STAFF})


class CredentialKind(StrEnum):
    """What a person presents at a reader."""

    FACE = "face"
    CARD = "card"
    ID_CARD = "id_card"
    QR = "qr"
    PIN = "pin"
    FINGERPRINT = "fingerprint"


class Method(StrEnum):
    """How a passage happened: a credential kind or a staff/system action."""

    FACE = "face"
    CARD = "card"
    ID_CARD = "id_card"
    QR = "qr"
    PIN = "pin"
    FINGERPRINT = "fingerprint"
    REMOTE = "remote"
    EMERGENCY = "emergency"


class GateKind(StrEnum):
    ESTATE_GATE = "estate_gate"
    BUILDING_DOOR = "building_door"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"
    BOTH = "both"


class PadLevel(StrEnum):
    """How hard a face gate checks that a live person, not a picture, stands there."""

    OFF = "off"  # any face that matches opens (an edge terminal with its own PAD)
    STREAM = "stream"  # the face must show life across the frames of its track
    CHALLENGE = "challenge"  # ... and follow a random prompt (turn the head, blink)


class FaceMode(StrEnum):
    """Whether a face opens a gate alone or only together with another credential."""

    FACE_ALONE = "face_alone"
    CARD_AND_FACE = "card_and_face"  # a face and a card/ID/QR/PIN/fingerprint, same person


class Reason(StrEnum):
    """Stable reason codes: logged, sent in events and used as translation keys."""

    GRANTED = "granted"
    REMOTE_OPEN = "remote_open"
    EMERGENCY_OPEN = "emergency_open"
    UNKNOWN_CREDENTIAL = "unknown_credential"
    MALFORMED_CREDENTIAL = "malformed_credential"
    CREDENTIAL_REVOKED = "credential_revoked"
    CREDENTIAL_NOT_YET_VALID = "credential_not_yet_valid"
    CREDENTIAL_EXPIRED = "credential_expired"
    CREDENTIAL_USED_UP = "credential_used_up"
    PERSON_BLOCKED = "person_blocked"
    PERSON_NOT_YET_VALID = "person_not_yet_valid"
    PERSON_EXPIRED = "person_expired"
    LEASE_EXPIRED = "lease_expired"
    GATE_NOT_ALLOWED = "gate_not_allowed"
    DIRECTION_NOT_ALLOWED = "direction_not_allowed"
    OUTSIDE_SCHEDULE = "outside_schedule"
    METHOD_NOT_ACCEPTED = "method_not_accepted"  # this gate takes no such credential
    # Too many failed presentations from this caller at this gate: refused unexamined.
    THROTTLED = "throttled"
    # The estate is locked down: only staff pass (an emergency still opens everything).
    LOCKDOWN = "lockdown"
    # The face shown was judged a photo, a screen or a replay, or showed no life in time
    # (issue 15): the card, QR code or PIN still works.
    PRESENTATION_ATTACK = "presentation_attack"
    # A card + face gate got one of the two: the other must follow within the window.
    SECOND_FACTOR_REQUIRED = "second_factor_required"


ALLOWING_REASONS = frozenset({Reason.GRANTED, Reason.REMOTE_OPEN, Reason.EMERGENCY_OPEN})


@dataclass(frozen=True, slots=True)
class ScheduleWindow:
    """A weekly time window. Days are ISO weekdays 1 (Mon) .. 7 (Sun).

    ``end`` earlier than ``start`` means the window runs past midnight
    (e.g. a night-shift courier 22:00-06:00).
    """

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    building: str
    number: str
    rent_arrears: bool = False
    lease_until: float | None = None  # epoch seconds; None = open-ended


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    role: Role
    display_name: str = ""
    unit_id: str | None = None
    company: str = ""
    special_attention: bool = False
    lives_alone: bool = False
    blocked: bool = False
    valid_from: float | None = None
    valid_until: float | None = None
    allowed_gates: frozenset[str] = frozenset()  # empty = the role's default gates
    schedule: tuple[ScheduleWindow, ...] = ()  # empty = any time
    # Only the year (data minimisation): enough to require a guardian's consent to face
    # data for a child under 14. None = not recorded, treated as an adult.
    birth_year: int | None = None


@dataclass(frozen=True, slots=True)
class Credential:
    """A credential as stored: the secret is a keyed hash, never the clear value."""

    id: str
    person_id: str
    kind: CredentialKind
    secret_hash: str
    valid_from: float | None = None
    valid_until: float | None = None
    max_uses: int | None = None
    uses: int = 0
    revoked_at: float | None = None
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Gate:
    id: str
    name: str
    kind: GateKind = GateKind.ESTATE_GATE
    direction: Direction = Direction.BOTH
    building: str | None = None  # a building door only admits that building's residents


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: Reason
    person_id: str | None = None
    credential_id: str | None = None
    unit_id: str | None = None
    # Facts staff should hear about even when the gate opens (e.g. "rent_arrears").
    flags: tuple[str, ...] = ()


# Flags that say something about a person: staff read them (panel, events for their
# automations), but they stay out of what every Home Assistant user can read (entity
# states, history, the logbook). Operational flags (actuator codes, face_ambiguous) stay.
STAFF_ONLY_FLAGS: Final = frozenset({"rent_arrears"})


def public_flags(flags: Iterable[str]) -> list[str]:
    return [f for f in flags if f not in STAFF_ONLY_FLAGS]


# What every Home Assistant user may read of why a passage was refused. A refusal that
# speaks of a known person's or credential's standing (blocked, lease over, out of
# schedule, card revoked...) tells a neighbour reading the gate's history about someone
# who just stood there: it reads as ``not_permitted``. The full reason is in the bus event
# (non-admins cannot subscribe to it), the estate's log and the staff panel.
PUBLIC_REASONS: Final = frozenset(
    {
        Reason.GRANTED,
        Reason.REMOTE_OPEN,
        Reason.EMERGENCY_OPEN,
        Reason.UNKNOWN_CREDENTIAL,
        Reason.MALFORMED_CREDENTIAL,
        Reason.METHOD_NOT_ACCEPTED,
        Reason.THROTTLED,
        # The estate's state, which its Lockdown switch already shows everyone.
        Reason.LOCKDOWN,
    }
)
NOT_PERMITTED: Final = "not_permitted"


def public_reason(reason: str) -> str:
    return reason if reason in PUBLIC_REASONS else NOT_PERMITTED


@dataclass(frozen=True, slots=True)
class Passage:
    ts: float
    gate_id: str
    direction: Direction
    method: Method
    allowed: bool
    reason: Reason
    person_id: str | None = None
    unit_id: str | None = None
    credential_id: str | None = None
    distance: float | None = None
    cluster_id: str | None = None
    note: str | None = None
    flags: tuple[str, ...] = field(default=())
    id: int | None = None
    # A passage *episode* (core/episodes.py): repeated refusals of one subject at one
    # gate are one row. ``ts`` is its first sighting, ``last_seen`` its latest (None
    # while there was only one) and ``count`` how many presentations it holds.
    count: int = 1
    last_seen: float | None = None
    # In memory only, never written: at a card + face gate, the people whose card (or
    # other credential) was in when this face failed to be theirs (core/two_factor.py
    # ``mismatched``). The card_face_mismatch rule counts per holder; the row carries
    # just the flag, so the holder's id reaches no state, logbook or log row.
    card_holders: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def seen(self) -> float:
        """When the subject was last seen in this row: the latest presentation."""
        return self.ts if self.last_seen is None else self.last_seen


class FaceVariant(StrEnum):
    """An enrolled reference: a plain face, or the same person wearing a mask."""

    PLAIN = "plain"
    MASKED = "masked"


CONSENT_FACE = "face_access"


@dataclass(frozen=True, slots=True)
class Consent:
    """A consent record: who agreed to what notice, when, recorded by whom."""

    person_id: str
    purpose: str
    notice_version: str
    given_at: float
    operator: str  # the HA user id who recorded it
    guardian: bool = False  # given by a guardian (a minor under 14)
    withdrawn_at: float | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class FaceTemplate:
    """A stored face reference: the embedding is sealed (AES-GCM) at rest."""

    id: str
    person_id: str
    engine: str
    variant: FaceVariant
    sealed: bytes
    quality: float | None = None
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class StoredCluster:
    """An unknown-face cluster as persisted: sealed centroid, counts, sighting days."""

    id: str
    sealed_centroid: bytes
    count: int
    first_seen: float
    last_seen: float
    days: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class StrangerIgnore:
    """Staff know this stranger (a postman who will never enrol): no unknown-face or
    frequent-stranger alert for the cluster until ``expires_at``. The gate still refuses
    the face. ``note`` is staff's own words, kept for the admin panel only."""

    cluster_id: str
    note: str
    created_at: float
    created_by: str  # the HA user id who marked it ("system" for automations)
    expires_at: float

    def valid_at(self, ts: float) -> bool:
        return self.created_at <= ts < self.expires_at


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One administrative action: who (HA user id), what, on whom, when, and how it
    ended ("ok" or an error code). Ids only, never names or values."""

    ts: float
    user_id: str
    action: str
    subject: str | None
    outcome: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    """A raw photo kept on purpose (an option): sealed, with its own expiry."""

    id: str
    person_id: str | None
    purpose: str
    sealed: bytes
    created_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class MqttDevice:
    """A field device on MQTT (gate controller, reader, terminal) bound to one gate.
    ``sealed_key`` is its HMAC key sealed with the estate key; never clear at rest."""

    id: str
    gate_id: str
    sealed_key: bytes
    rx_ctr: int = 0
    tx_reserved: int = 0
    created_at: float = 0.0
