"""Rows of the estate database and the records they hold: column lists in the order
the mappers read them, and the mappers both ways. Shared by the store and the read-only
query modules so a column is added in one place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
import json
from typing import Any, Final

from .model import (
    AuditEntry,
    Consent,
    Credential,
    CredentialKind,
    Direction,
    FaceTemplate,
    FaceVariant,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    StoredPhoto,
    Unit,
)
from .person_fields import EDITABLE_FIELDS, PERSON_FIELDS, FieldKind, PersonField, as_is
from .schedule import schedule_from_obj, stored_schedule

CREDENTIAL_COLS = (
    "id, person_id, kind, secret_hash, valid_from, valid_until, max_uses, uses, revoked_at,"
    " created_at"
)
CONSENT_COLS = "id, person_id, purpose, notice_version, given_at, operator, guardian, withdrawn_at"
TEMPLATE_COLS = "id, person_id, engine, variant, sealed, quality, created_at"
AUDIT_COLS = "id, ts, user_id, action, subject, outcome"
PHOTO_COLS = "id, person_id, purpose, sealed, created_at, expires_at"


def audit_from_row(r: Sequence[Any]) -> AuditEntry:
    return AuditEntry(ts=r[1], user_id=r[2], action=r[3], subject=r[4], outcome=r[5], id=r[0])


def photo_from_row(r: Sequence[Any]) -> StoredPhoto:
    return StoredPhoto(
        id=r[0], person_id=r[1], purpose=r[2], sealed=bytes(r[3]), created_at=r[4], expires_at=r[5]
    )


DEVICE_COLS = "id, gate_id, sealed_key, rx_ctr, tx_reserved, created_at"


def consent_from_row(r: Sequence[Any]) -> Consent:
    return Consent(
        id=r[0],
        person_id=r[1],
        purpose=r[2],
        notice_version=r[3],
        given_at=r[4],
        operator=r[5],
        guardian=bool(r[6]),
        withdrawn_at=r[7],
    )


def template_from_row(r: Sequence[Any]) -> FaceTemplate:
    return FaceTemplate(
        id=r[0],
        person_id=r[1],
        engine=r[2],
        variant=FaceVariant(r[3]),
        sealed=bytes(r[4]),
        quality=r[5],
        created_at=r[6],
    )


INSERT_PASSAGE = (
    "INSERT INTO passages (ts, gate_id, direction, method, allowed, reason, person_id,"
    " unit_id, credential_id, distance, cluster_id, flags, note, count, last_seen)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
PASSAGE_COLS = (
    "id, ts, gate_id, direction, method, allowed, reason, person_id, unit_id, credential_id,"
    " distance, cluster_id, flags, note, count, last_seen"
)


def unit_from_row(r: Sequence[Any]) -> Unit:
    return Unit(r[0], r[1], r[2], bool(r[3]), r[4])


# How each kind of person field sits in its column, both ways.
_TO_COLUMN: Final[dict[FieldKind, Callable[[Any], Any]]] = {
    FieldKind.ID: as_is,
    FieldKind.TEXT: as_is,
    FieldKind.ROLE: lambda role: role.value,
    FieldKind.FLAG: int,
    FieldKind.TIME: as_is,
    FieldKind.GATES: lambda gates: json.dumps(sorted(gates)),
    # Refuses a schedule that would not read back as written (see stored_schedule).
    FieldKind.SCHEDULE: stored_schedule,
    FieldKind.YEAR: as_is,
}
_FROM_COLUMN: Final[dict[FieldKind, Callable[[Any], Any]]] = {
    FieldKind.ID: as_is,
    FieldKind.TEXT: as_is,
    FieldKind.ROLE: Role,
    FieldKind.FLAG: bool,
    FieldKind.TIME: as_is,
    FieldKind.GATES: lambda text: frozenset(json.loads(text)),
    FieldKind.SCHEDULE: lambda text: schedule_from_obj(json.loads(text)),
    FieldKind.YEAR: as_is,
}
# Looked up once: people are read by the hundred thousand (panel lists, benchmarks).
_READERS: Final = tuple((f.name, _FROM_COLUMN[f.kind]) for f in PERSON_FIELDS)

PERSON_COLS: Final = ", ".join(f.name for f in PERSON_FIELDS)
INSERT_PERSON: Final = (
    f"INSERT INTO people ({PERSON_COLS}, created_at, updated_at)"
    f" VALUES ({', '.join('?' * (len(PERSON_FIELDS) + 2))})"
)
UPDATE_PERSON: Final = (
    f"UPDATE people SET {', '.join(f'{f.name}=?' for f in EDITABLE_FIELDS)}, updated_at=?"
    " WHERE id=?"
)


def person_to_row(p: Person, fields: Sequence[PersonField] = PERSON_FIELDS) -> tuple[Any, ...]:
    """Column values of ``fields`` (all of them: ``PERSON_COLS``; the editable ones:
    ``UPDATE_PERSON``)."""
    return tuple(_TO_COLUMN[f.kind](getattr(p, f.name)) for f in fields)


def person_from_row(r: Sequence[Any]) -> Person:
    """A person from a row selected as ``PERSON_COLS``."""
    return Person(**{name: read(value) for (name, read), value in zip(_READERS, r, strict=True)})


def credential_from_row(r: Sequence[Any]) -> Credential:
    return Credential(
        id=r[0],
        person_id=r[1],
        kind=CredentialKind(r[2]),
        secret_hash=r[3],
        valid_from=r[4],
        valid_until=r[5],
        max_uses=r[6],
        uses=r[7],
        revoked_at=r[8],
        created_at=r[9],
    )


def passage_to_row(p: Passage) -> tuple[Any, ...]:
    return (
        p.ts,
        p.gate_id,
        p.direction.value,
        p.method.value,
        int(p.allowed),
        p.reason.value,
        p.person_id,
        p.unit_id,
        p.credential_id,
        p.distance,
        p.cluster_id,
        ",".join(p.flags),
        p.note,
        p.count,
        p.last_seen,
    )


def passage_from_row(r: Sequence[Any]) -> Passage:
    return Passage(
        id=r[0],
        ts=r[1],
        gate_id=r[2],
        direction=Direction(r[3]),
        method=Method(r[4]),
        allowed=bool(r[5]),
        reason=Reason(r[6]),
        person_id=r[7],
        unit_id=r[8],
        credential_id=r[9],
        distance=r[10],
        cluster_id=r[11],
        flags=tuple(f for f in r[12].split(",") if f),
        note=r[13],
        count=r[14],
        last_seen=r[15],
    )
