"""Access operations over the store: turning clear credential values into keyed hashes,
looking them up, deciding, and writing passages. Synchronous; no Home Assistant."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
import secrets
import time as _time

from . import credentials, errors
from .crypto import Hasher, new_token
from .ids import check_id
from .model import (
    LOCKDOWN_ROLES,
    Credential,
    CredentialKind,
    Decision,
    Direction,
    Gate,
    Method,
    Passage,
    Person,
    Reason,
    Role,
)
from .outbox import card_token, set_card_token
from .policy import decide
from .store import Store

# The longest a visitor pass may last, whether given as hours or as an explicit end.
MAX_VISITOR_PASS_DAYS = 366
# The flag of a granted PIN shorter than the estate's minimum PIN length.
SHORT_PIN = "short_pin"


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class VisitorPass:
    token: str  # shown once (as a QR code); only its keyed hash is stored
    credential: Credential
    person: Person


class AccessControl:
    """Credential book-keeping and the decision path, on one store."""

    def __init__(self, store: Store, hasher: Hasher, *, card_key: bytes | None = None) -> None:
        self.store = store
        self._hasher = hasher
        # The operator's key shared by all its estates (core/outbox.py card_token): an
        # ID card registered here gets a token the command centre can match across
        # estates. None: no tokens (no centre, or cross-estate card rules off).
        self.card_key = card_key

    # ----------------------------------------------------------------- credentials
    def secret_hash(self, kind: CredentialKind, value: object) -> str:
        return self._hasher.hash(kind.value, credentials.normalise(kind, value))

    def _short_pin(self, kind: CredentialKind, value: object, minimum: int) -> bool:
        return kind is CredentialKind.PIN and len(credentials.normalise(kind, value)) < minimum

    def add_credential(
        self,
        person_id: str,
        kind: CredentialKind,
        value: object | None,
        *,
        credential_id: str | None = None,
        valid_from: float | None = None,
        valid_until: float | None = None,
        max_uses: int | None = None,
        min_pin_length: int = 0,
    ) -> tuple[Credential, str | None]:
        """Store a credential. For QR and PIN, ``value`` may be None: one is generated and
        returned (the only time it exists in clear). A PIN must have at least
        ``min_pin_length`` digits."""
        generated: str | None = None
        if kind is CredentialKind.QR and value in (None, ""):
            generated = value = new_token()
        elif kind is CredentialKind.PIN and value in (None, ""):
            generated = value = credentials.new_pin(min_pin_length)
        elif value is None:
            raise errors.InvalidCredentialValueError("value required", kind=kind.value, why="empty")
        if kind is CredentialKind.PIN:
            credentials.check_pin_length(credentials.normalise(kind, value), min_pin_length)
        cred = Credential(
            id=check_id(credential_id, "credential_id") if credential_id else new_id("cred"),
            person_id=person_id,
            kind=kind,
            secret_hash=self.secret_hash(kind, value),
            valid_from=valid_from,
            valid_until=valid_until,
            max_uses=max_uses,
        )
        saved = self.store.add_credential(cred)
        if kind is CredentialKind.ID_CARD and self.card_key is not None:
            token = card_token(self.card_key, credentials.normalise(kind, value))
            set_card_token(self.store, saved.id, token)
        return saved, generated

    def issue_visitor_pass(
        self,
        *,
        valid_from: float,
        valid_until: float,
        person_id: str | None = None,
        host_unit_id: str | None = None,
        display_name: str = "",
        allowed_gates: frozenset[str] = frozenset(),
        max_uses: int | None = None,
    ) -> VisitorPass:
        """A QR pass for an existing visitor, or for a new visitor of a host unit."""
        if valid_until <= valid_from:
            raise errors.InvalidValidityError("valid_until must be after valid_from")
        if valid_until - valid_from > MAX_VISITOR_PASS_DAYS * 86400:
            # However the window is given (hours or an explicit end), a pass is temporary.
            raise errors.VisitorPassTooLongError(
                "visitor pass longer than allowed", max_days=str(MAX_VISITOR_PASS_DAYS)
            )
        # Check the gates before anything is written: a failed issue leaves no visitor.
        for gate_id in allowed_gates:
            self.store.get_gate(gate_id)
        if person_id is not None:
            person = self.store.get_person(person_id)
            if allowed_gates and person.role is not Role.VISITOR:
                # Gate limits live on the person: narrowing a resident's gates for one
                # temporary pass would also narrow their card and PIN, for good.
                raise errors.InvalidValueError(
                    "allowed_gates only applies to visitors", field="allowed_gates"
                )
            if person.role is Role.VISITOR:
                # A returning visitor's own window (from an earlier pass) must cover the
                # new pass, or the pass is denied PERSON_EXPIRED. Each pass stays bound
                # to its own window through the credential.
                lo = (
                    person.valid_from
                    if person.valid_from is None
                    else min(person.valid_from, valid_from)
                )
                hi = (
                    person.valid_until
                    if person.valid_until is None
                    else max(person.valid_until, valid_until)
                )
                if (lo, hi) != (person.valid_from, person.valid_until):
                    person = self.store.update_person(person.id, valid_from=lo, valid_until=hi)
        else:
            if host_unit_id is None:
                raise errors.InvalidValueError(
                    "a person or a host unit is required", field="unit_id"
                )
            self.store.get_unit(host_unit_id)
            person = self.store.add_person(
                Person(
                    id=new_id("visitor"),
                    role=Role.VISITOR,
                    display_name=display_name,
                    unit_id=host_unit_id,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    allowed_gates=allowed_gates,
                )
            )
        if allowed_gates and person.allowed_gates != allowed_gates:
            person = self.store.update_person(person.id, allowed_gates=allowed_gates)
        cred, token = self.add_credential(
            person.id,
            CredentialKind.QR,
            None,
            valid_from=valid_from,
            valid_until=valid_until,
            max_uses=max_uses,
        )
        assert token is not None
        return VisitorPass(token, cred, person)

    # -------------------------------------------------------------------- decisions
    def evaluate(
        self,
        gate: Gate,
        kind: CredentialKind,
        value: object,
        now: datetime,
        *,
        direction: Direction | None = None,
        emergency: bool = False,
        lockdown: bool = False,
        min_pin_length: int = 0,
    ) -> Decision:
        """Decide a presented credential. A malformed value is a denial, not an error:
        readers send garbage, and garbage must be logged, not lost. A granted PIN shorter
        than ``min_pin_length`` (enrolled before that minimum) is flagged ``short_pin``.
        ``lockdown`` refuses everyone but staff (``apply_lockdown``)."""
        try:
            secret = self.secret_hash(kind, value)
        except errors.InvalidCredentialValueError:
            if emergency:
                return Decision(True, Reason.EMERGENCY_OPEN)
            return Decision(False, Reason.MALFORMED_CREDENTIAL)
        cred = self.store.find_credential(kind, secret)
        person = self.store.find_person(cred.person_id) if cred else None
        unit = self.store.find_unit(person.unit_id) if person else None
        decision = decide(
            now=now,
            gate=gate,
            direction=direction or default_direction(gate),
            credential=cred,
            person=person,
            unit=unit,
            emergency=emergency,
        )
        if lockdown:
            # Before the use is claimed: a one-time pass refused now stays usable.
            decision = apply_lockdown(decision, person)
        # The use is claimed with the decision, not with the log row: the actuator is
        # awaited in between, and a second presentation must not slip through the gap.
        # Only counted credentials (max_uses) are claimed: for the others the decision
        # stays read-only, with no durable commit (an fsync) on the gate's path.
        if (
            decision.allowed
            and cred is not None
            and cred.max_uses is not None
            and decision.reason is Reason.GRANTED
            and not self.store.claim_use(cred.id)
        ):
            return replace(decision, allowed=False, reason=Reason.CREDENTIAL_USED_UP, flags=())
        if decision.reason is Reason.GRANTED and self._short_pin(kind, value, min_pin_length):
            # It still opens (people are not locked out overnight); staff find it by the flag.
            return replace(decision, flags=(*decision.flags, SHORT_PIN))
        return decision

    def evaluate_face(
        self,
        gate: Gate,
        person_id: str | None,
        template_id: str | None,
        now: datetime,
        *,
        direction: Direction | None = None,
        emergency: bool = False,
        lockdown: bool = False,
    ) -> Decision:
        """Decide a recognised (or unrecognised) face. The matched template stands in
        for the credential: faces have no validity of their own; withdrawing consent
        removes the template, and the person's own validity, gates and schedule apply."""
        person = self.store.find_person(person_id) if person_id else None
        cred = (
            Credential(
                id=template_id or "face",
                person_id=person.id,
                kind=CredentialKind.FACE,
                secret_hash="",
            )
            if person is not None
            else None
        )
        unit = self.store.find_unit(person.unit_id) if person else None
        decision = decide(
            now=now,
            gate=gate,
            direction=direction or default_direction(gate),
            credential=cred,
            person=person,
            unit=unit,
            emergency=emergency,
        )
        return apply_lockdown(decision, person) if lockdown else decision

    def record(
        self,
        decision: Decision,
        *,
        gate: Gate,
        method: Method,
        direction: Direction | None = None,
        ts: float | None = None,
        note: str | None = None,
        extra_flags: tuple[str, ...] = (),
        distance: float | None = None,
        cluster_id: str | None = None,
    ) -> Passage:
        """Commit the passage for a decision (uses were counted by ``evaluate``)."""
        return self.store.add_passage(
            build_passage(
                decision,
                gate=gate,
                method=method,
                direction=direction,
                ts=ts,
                note=note,
                extra_flags=extra_flags,
                distance=distance,
                cluster_id=cluster_id,
            )
        )


def apply_lockdown(decision: Decision, person: Person | None) -> Decision:
    """The decision while the estate is locked down: a grant for anyone but staff
    becomes a ``lockdown`` refusal. A refusal keeps its own reason (an unknown card
    stays a failed guess for the throttle and the brute_force rule, a stranger stays an
    unknown face), and an emergency opening stands: ``decide`` returns it first, and
    nobody is kept in during a fire."""
    if decision.reason is not Reason.GRANTED:
        return decision
    if person is not None and person.role in LOCKDOWN_ROLES:
        return decision
    # No flags: a refused passage is not a nudge about rent arrears.
    return replace(decision, allowed=False, reason=Reason.LOCKDOWN, flags=())


def build_passage(
    decision: Decision,
    *,
    gate: Gate,
    method: Method,
    direction: Direction | None = None,
    ts: float | None = None,
    note: str | None = None,
    extra_flags: tuple[str, ...] = (),
    distance: float | None = None,
    cluster_id: str | None = None,
    card_holders: frozenset[str] = frozenset(),
) -> Passage:
    """The log row for a decision, not yet written (``card_holders`` is in memory only:
    see ``Passage``)."""
    return Passage(
        ts=ts if ts is not None else _time.time(),
        gate_id=gate.id,
        direction=direction or default_direction(gate),
        method=method,
        allowed=decision.allowed,
        reason=decision.reason,
        person_id=decision.person_id,
        unit_id=decision.unit_id,
        credential_id=decision.credential_id,
        distance=distance,
        cluster_id=cluster_id,
        note=note,
        flags=decision.flags + extra_flags,
        card_holders=card_holders,
    )


def default_direction(gate: Gate) -> Direction:
    return Direction.IN if gate.direction is Direction.BOTH else gate.direction
