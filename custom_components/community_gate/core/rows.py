"""Rows of the estate database and the records they hold: column lists in the order
the mappers read them, and the mappers both ways. Shared by the store and the read-only
query modules so a column is added in one place."""

from __future__ import annotations

from collections.abc import Sequence
import json
from typing import Any

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
from .schedule import schedule_from_obj, stored_schedule

PERSON_COLS = (
    "id, unit_id, role, display_name, company, special_attention, lives_alone, blocked,"
    " valid_from, valid_until, allowed_gates, schedule, birth_year"
)
INSERT_PERSON = (
    f"INSERT INTO people ({PERSON_COLS}, created_at, updated_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
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
    " unit_id, credential_id, distance, cluster_id, flags, note)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
PASSAGE_COLS = (
    "id, ts, gate_id, direction, method, allowed, reason, person_id, unit_id, credential_id,"
    " distance, cluster_id, flags, note"
)


def unit_from_row(r: Sequence[Any]) -> Unit:
    return Unit(r[0], r[1], r[2], bool(r[3]), r[4])


def person_to_row(p: Person) -> tuple[Any, ...]:
    return (
        p.id,
        p.unit_id,
        p.role.value,
        p.display_name,
        p.company,
        int(p.special_attention),
        int(p.lives_alone),
        int(p.blocked),
        p.valid_from,
        p.valid_until,
        json.dumps(sorted(p.allowed_gates)),
        stored_schedule(p.schedule),
        p.birth_year,
    )


def person_from_row(r: Sequence[Any]) -> Person:
    return Person(
        id=r[0],
        unit_id=r[1],
        role=Role(r[2]),
        display_name=r[3],
        company=r[4],
        special_attention=bool(r[5]),
        lives_alone=bool(r[6]),
        blocked=bool(r[7]),
        valid_from=r[8],
        valid_until=r[9],
        allowed_gates=frozenset(json.loads(r[10])),
        schedule=schedule_from_obj(json.loads(r[11])),
        birth_year=r[12],
    )


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
    )
