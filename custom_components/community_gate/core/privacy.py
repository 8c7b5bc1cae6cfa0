"""Privacy rules of an estate: consent for minors, erasure, subject access, retention,
the audit trail and sealed photos. Synchronous: call on the store's thread.

Nothing here logs a name, an ID number or an embedding; counts and ids only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
import secrets
import time as _time
from typing import Any

from . import errors
from .crypto import Sealer, derive_key
from .ids import check_id
from .model import CONSENT_FACE, AuditEntry, Consent, Person, StoredPhoto
from .options import DEFAULTS, EstateOptions
from .outbox import note_retention
from .person_fields import PERSON_FIELDS, FieldKind, as_is
from .store import Store

# 《人脸识别技术应用安全管理办法》 and PIPL art. 31: a child under 14 needs a guardian.
GUARDIAN_AGE = 14
MIN_BIRTH_YEAR = 1900

DAY = 86400.0
MAX_RETENTION_DAYS = 3650

OUTCOME_OK = "ok"
SYSTEM_USER = "system"  # automations and scripts: no HA user behind the call
PHOTO_ENROLLMENT = "enrollment"
PHOTO_STRANGER = "stranger"  # the best face crop of a stranger cluster (an option)


class GuardianConsentRequiredError(errors.ConsentRequiredError):
    """A child under 14: only a guardian's consent covers face data."""

    code = "guardian_consent_required"


# --------------------------------------------------------------------- minors
def check_birth_year(year: int | None, now: float | None = None) -> int | None:
    if year is None:
        return None
    current = datetime.fromtimestamp(now or _time.time(), UTC).year
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_BIRTH_YEAR <= year <= current:
        raise errors.InvalidValueError("birth year out of range", field="birth_year")
    return year


def may_be_minor(person: Person, now: float | None = None) -> bool:
    """True when the person may be under 14 today. With only the year known, someone
    born 14 years ago may not have had the birthday yet: that counts as a minor (asking
    a guardian once too often is the safe mistake)."""
    if person.birth_year is None:
        return False
    year = datetime.fromtimestamp(now or _time.time(), UTC).year
    return year - person.birth_year <= GUARDIAN_AGE


def check_face_consent(person: Person, consent: Consent | None, now: float | None = None) -> None:
    """Raise unless ``consent`` covers face enrollment for ``person``."""
    if consent is None:
        raise errors.ConsentRequiredError("no face consent", person_id=person.id)
    if may_be_minor(person, now) and not consent.guardian:
        raise GuardianConsentRequiredError("guardian consent required", person_id=person.id)


def record_face_consent(
    store: Store,
    person_id: str,
    *,
    notice_version: str,
    operator: str,
    guardian: bool,
    now: float | None = None,
) -> Consent:
    """Record a face consent; for a child under 14 only a guardian's is accepted."""
    when = now or _time.time()
    consent = Consent(person_id, CONSENT_FACE, notice_version, when, operator, guardian)
    check_face_consent(store.get_person(person_id), consent, when)
    return store.add_consent(consent)


# ---------------------------------------------------------------------- audit
def audit_entry(
    user_id: str | None,
    action: str,
    subject: str | None,
    outcome: str = OUTCOME_OK,
    now: float | None = None,
) -> AuditEntry:
    return AuditEntry(
        ts=now or _time.time(),
        user_id=user_id or SYSTEM_USER,
        action=action,
        subject=subject,
        outcome=outcome,
    )


def audit_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "time": _iso(entry.ts),
        "user_id": entry.user_id,
        "action": entry.action,
        "subject": entry.subject,
        "outcome": entry.outcome,
    }


# --------------------------------------------------------------------- erasure
def new_alias() -> str:
    """A fresh pseudonym for an erased person: random, so it links to nothing."""
    return f"erased-{secrets.token_hex(8)}"


def erase_person(store: Store, person_id: str) -> tuple[str, dict[str, int]]:
    """Remove everything that identifies the person; their passages and audit rows
    stay (counts, rules and the audit trail keep working) under a fresh pseudonym."""
    check_id(person_id, "person_id")
    alias = new_alias()
    return alias, store.erase_person(person_id, alias)


# --------------------------------------------------------------- subject access
def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


# Each kind of person field as plain JSON: times as ISO 8601, sets sorted.
_EXPORTED: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.ID: as_is,
    FieldKind.TEXT: as_is,
    FieldKind.ROLE: lambda role: role.value,
    FieldKind.FLAG: as_is,
    FieldKind.TIME: _iso,
    FieldKind.GATES: sorted,
    FieldKind.SCHEDULE: lambda schedule: [
        {"days": sorted(w.days), "start": w.start.isoformat(), "end": w.end.isoformat()}
        for w in schedule
    ],
    FieldKind.YEAR: as_is,
}


def export_person(store: Store, person_id: str) -> dict[str, Any]:
    """Everything the estate holds about one person, as plain JSON-able data.

    Card / ID / PIN / QR values are not in it because they are not held: only keyed
    hashes, which reveal nothing. Face templates and photos are listed (id, when,
    kind); their sealed bytes are biometric data that never leave the hub.
    """
    check_id(person_id, "person_id")
    p = store.get_person(person_id)
    unit = store.find_unit(p.unit_id)
    return {
        "person": {
            **{f.key: _EXPORTED[f.kind](getattr(p, f.name)) for f in PERSON_FIELDS},
            "unit": None if unit is None else {"building": unit.building, "number": unit.number},
        },
        "consents": [
            {
                "purpose": c.purpose,
                "notice_version": c.notice_version,
                "given_at": _iso(c.given_at),
                "operator": c.operator,
                "guardian": c.guardian,
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in store.list_consents(p.id)
        ],
        "credentials": [
            {
                "credential_id": c.id,
                "kind": c.kind.value,
                "stored_as": "keyed_hash",
                "valid_from": _iso(c.valid_from),
                "valid_until": _iso(c.valid_until),
                "max_uses": c.max_uses,
                "uses": c.uses,
                "revoked_at": _iso(c.revoked_at),
                "created_at": _iso(c.created_at),
            }
            for c in store.list_credentials(p.id)
        ],
        "face_templates": [
            {
                "template_id": t.id,
                "variant": t.variant.value,
                "engine": t.engine,
                "stored_as": "aes_gcm_sealed",
                "created_at": _iso(t.created_at),
            }
            for t in store.list_face_templates(p.id)
        ],
        "photos": [
            {
                "photo_id": ph.id,
                "purpose": ph.purpose,
                "stored_as": "aes_gcm_sealed",
                "created_at": _iso(ph.created_at),
                "expires_at": _iso(ph.expires_at),
            }
            for ph in store.list_photos(p.id)
        ],
        "passages": [
            {
                "passage_id": x.id,
                "time": _iso(x.ts),
                # An episode: the refusals it holds and the latest (core/episodes.py).
                "count": x.count,
                "last_seen": _iso(x.seen),
                "gate_id": x.gate_id,
                "direction": x.direction.value,
                "method": x.method.value,
                "allowed": x.allowed,
                "reason": x.reason.value,
                "flags": list(x.flags),
            }
            for x in store.iter_person_passages(p.id)
        ],
        "audit": [audit_dict(a) for a in store.query_audit(subject=p.id, limit=10_000)],
    }


# ------------------------------------------------------------------- retention
@dataclass(frozen=True, slots=True)
class Retention:
    """How long each kind of record is kept, in days (all options)."""

    passages: int = DEFAULTS.retention_days
    clusters: int = DEFAULTS.cluster_retention_days
    photos: int = DEFAULTS.photo_retention_days

    @classmethod
    def of(cls, options: EstateOptions) -> Retention:
        return cls(
            passages=options.retention_days,
            clusters=options.cluster_retention_days,
            photos=options.photo_retention_days,
        )

    def __post_init__(self) -> None:
        for name, days in asdict(self).items():
            if isinstance(days, bool) or not isinstance(days, int):
                raise errors.InvalidValueError("retention must be whole days", field=name)
            if not 1 <= days <= MAX_RETENTION_DAYS:
                raise errors.InvalidValueError("retention out of range", field=name)


def purge(store: Store, retention: Retention, now: float | None = None) -> dict[str, int]:
    """Delete what is past its retention. Stranger clusters held in memory by the face
    service are expired there too (see ``FaceService.async_expire_clusters``)."""
    t = now or _time.time()
    # The command centre keeps the estate's passages as long as the estate does.
    note_retention(store, retention.passages)
    store.purge_stranger_ignores(t)  # ended "do not alert" marks and their notes
    return {
        "passages": store.purge_passages(t - retention.passages * DAY),
        "clusters": store.purge_clusters(t - retention.clusters * DAY),
        "photos": store.purge_photos(t),
    }


# ----------------------------------------------------------------------- photos
def photo_sealer(seal_root: bytes) -> Sealer:
    """Photos get their own subkey: a leaked photo key does not open the templates."""
    return Sealer(derive_key(seal_root, "community_gate photos v1"))


def photo_aad(photo_id: str, person_id: str | None) -> str:
    return f"photo|{photo_id}|{person_id or '-'}"


class PhotoVault:
    """Raw photos, kept only when the estate opted in: sealed, each with an expiry."""

    def __init__(self, store: Store, sealer: Sealer) -> None:
        self.store = store
        self._sealer = sealer

    def rekey(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def keep(
        self,
        person_id: str | None,
        image: bytes,
        *,
        days: int,
        purpose: str = PHOTO_ENROLLMENT,
        now: float | None = None,
    ) -> StoredPhoto:
        t = now or _time.time()
        pid = f"photo_{secrets.token_hex(8)}"
        sealed = self._sealer.seal(image, photo_aad(pid, person_id))
        return self.store.add_photo(StoredPhoto(pid, person_id, purpose, sealed, t, t + days * DAY))

    def keep_snapshot(
        self,
        cluster_id: str,
        crop: bytes,
        quality: float,
        *,
        days: int,
        now: float | None = None,
    ) -> bool:
        """Keep ``crop`` (a small JPEG) as the snapshot of a stranger cluster when it is
        better than the one kept; sealed like every photo, expiring after ``days``.
        Nothing is sealed when the kept crop is at least as good. Returns whether kept."""
        check_id(cluster_id, "cluster_id")
        kept = self.store.snapshot_quality(cluster_id)
        if kept is not None and kept >= quality:
            return False
        t = now or _time.time()
        pid = f"photo_{secrets.token_hex(8)}"
        sealed = self._sealer.seal(crop, photo_aad(pid, None))
        photo = StoredPhoto(pid, None, PHOTO_STRANGER, sealed, t, t + days * DAY)
        return self.store.keep_snapshot(photo, cluster_id, quality)

    def open_snapshot(self, cluster_id: str) -> bytes | None:
        """The stranger's crop, unsealed; None when none is kept (or it is unreadable)."""
        photo = self.store.get_snapshot(cluster_id)
        if photo is None:
            return None
        try:
            return self.open(photo)
        except ValueError:
            return None

    def open(self, photo: StoredPhoto) -> bytes:
        return self._sealer.open(photo.sealed, photo_aad(photo.id, photo.person_id))

    def reseal(self, photo: StoredPhoto, new: Sealer) -> bytes:
        """The photo's blob under ``new`` (key rotation); DecryptError if unreadable."""
        return new.seal(self.open(photo), photo_aad(photo.id, photo.person_id))
