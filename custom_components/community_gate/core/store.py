"""SQLite persistence for the estate: units, people, credentials, gates, passages.

One ``Store`` owns one connection. It is not thread-safe on purpose: the HA glue runs
every call on a single dedicated worker thread, which serialises writers without
locks and keeps the event loop free. WAL lets readers (rules, exports) run alongside.

Timestamps are UTC epoch seconds (REAL): cheap to index and to compare.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import replace
import os
from pathlib import Path
import sqlite3
import time as _time
from typing import Any

from . import errors, outbox_rows as ob
from .episodes import fold_target
from .ids import check_id
from .model import (
    AuditEntry,
    Consent,
    Credential,
    CredentialKind,
    Direction,
    FaceTemplate,
    Gate,
    GateKind,
    MqttDevice,
    Passage,
    Person,
    StoredCluster,
    StoredPhoto,
    StrangerIgnore,
    Unit,
)
from .person_fields import EDITABLE_FIELDS
from .rows import (
    AUDIT_COLS,
    CONSENT_COLS,
    CREDENTIAL_COLS,
    DEVICE_COLS,
    INSERT_PASSAGE,
    INSERT_PERSON,
    PASSAGE_COLS,
    PERSON_COLS,
    PHOTO_COLS,
    TEMPLATE_COLS,
    UPDATE_PERSON,
    audit_from_row,
    consent_from_row,
    credential_from_row,
    passage_from_row,
    passage_to_row,
    person_from_row,
    person_to_row,
    photo_from_row,
    template_from_row,
    unit_from_row,
)
from .schema import MIGRATIONS, SCHEMA_VERSION, TABLES

_IGNORE_COLS = "cluster_id, note, created_at, created_by, expires_at"


def _check_window(valid_from: float | None, valid_until: float | None) -> None:
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise errors.InvalidValidityError("valid_until must be after valid_from")


def _make_private(path: Path) -> None:
    """The database holds names and credential hashes: owner-only, like the key file.
    Created 0600 here rather than by SQLite (which follows the process umask, and HA's
    umask is shared by every thread, so it is not ours to change); SQLite gives -wal and
    -shm the database's mode. Files an earlier version left 0644 are tightened. Any
    failure is left to ``sqlite3.connect`` to report."""
    with suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with suppress(OSError):
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)


class Store:
    """Synchronous SQLite store. Use from one thread at a time."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        # Bumped by every change to people, units or gates: caches of "who may pass"
        # (``scope.py``) compare it instead of being told about each change.
        self.generation = 0
        # What the command centre is told (core/outbox.py); None: no outbox rows.
        self.outbox_share: ob.SharePolicy | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, path: Path | str, *, durable: bool = True) -> Store:
        """Open (creating if needed) and migrate. Raises a ``StoreError`` subclass.

        ``durable`` keeps ``synchronous=FULL`` so a committed passage survives a power
        cut; benchmarks may turn it off to measure the CPU side alone.
        """
        path = Path(path)
        if path.is_dir():
            raise errors.StoreUnavailableError("database path is a directory", path=str(path))
        _make_private(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        except sqlite3.Error as err:
            raise errors.StoreUnavailableError(str(err), path=str(path)) from err
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            # Refuse a newer schema before anything (even the WAL switch) writes to it.
            found = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if found > SCHEMA_VERSION:
                raise errors.StoreTooNewError(
                    "database written by a newer version",
                    found=str(found),
                    supported=str(SCHEMA_VERSION),
                )
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise errors.StoreUnavailableError("WAL mode refused", path=str(path))
            conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'OFF'}")
            conn.execute("PRAGMA temp_store = MEMORY")
            # Deleted rows are overwritten, not left in free pages: erasure means gone.
            conn.execute("PRAGMA secure_delete = ON")
            store = cls(conn, path)
            store._migrate()
            store.outbox_share = ob.load_share(conn)
        except errors.StoreError:
            conn.close()
            raise
        except sqlite3.OperationalError as err:
            conn.close()
            raise errors.StoreUnavailableError(str(err), path=str(path)) from err
        except sqlite3.DatabaseError as err:
            # "file is not a database", "database disk image is malformed"
            conn.close()
            raise errors.StoreCorruptError(str(err), path=str(path)) from err
        return store

    def close(self) -> None:
        with suppress(sqlite3.Error):
            self._conn.execute("PRAGMA optimize")
        self._conn.close()

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, for read-only query modules (``queries.py``); same thread rules."""
        return self._conn

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise errors.StoreTooNewError(
                "database written by a newer version",
                found=str(version),
                supported=str(SCHEMA_VERSION),
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            script = MIGRATIONS[target - 1]
            try:
                self._conn.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;"
                )
            except sqlite3.Error:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        names = {
            r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not names >= TABLES:
            raise errors.StoreCorruptError("tables missing", path=str(self.path))

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on error), for
        modules that keep their own tables in this database (``alerts.py``)."""
        return self._tx()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # ------------------------------------------------------------------- settings
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO settings VALUES (?,?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    # ---------------------------------------------------------------------- units
    def add_unit(self, unit: Unit) -> Unit:
        check_id(unit.id, "unit_id")
        if not unit.building.strip() or not unit.number.strip():
            raise errors.InvalidValueError("building and number are required", field="building")
        now = _time.time()
        try:
            with self._tx() as c:
                c.execute(
                    "INSERT INTO units VALUES (?,?,?,?,?,?,?)",
                    (
                        unit.id,
                        unit.building,
                        unit.number,
                        int(unit.rent_arrears),
                        unit.lease_until,
                        now,
                        now,
                    ),
                )
                if self.outbox_share is not None:
                    ob.emit(c, ob.OutboxKind.UNIT, unit.id, ob.unit_payload(unit))
        except sqlite3.IntegrityError as err:
            raise errors.DuplicateUnitError("unit exists", unit_id=unit.id) from err
        self.generation += 1
        return unit

    def update_unit(self, unit_id: str, **fields: Any) -> Unit:
        unit = self.get_unit(unit_id)
        allowed = {"building", "number", "rent_arrears", "lease_until"}
        unknown = set(fields) - allowed
        if unknown:
            raise errors.InvalidValueError("unknown fields", field=",".join(sorted(unknown)))
        new = replace(unit, **fields)
        try:
            with self._tx() as c:
                c.execute(
                    "UPDATE units SET building=?, number=?, rent_arrears=?, lease_until=?,"
                    " updated_at=? WHERE id=?",
                    (
                        new.building,
                        new.number,
                        int(new.rent_arrears),
                        new.lease_until,
                        _time.time(),
                        unit_id,
                    ),
                )
                if self.outbox_share is not None:
                    ob.emit(c, ob.OutboxKind.UNIT, unit_id, ob.unit_payload(new))
        except sqlite3.IntegrityError as err:
            raise errors.DuplicateUnitError("unit number taken", unit_id=unit_id) from err
        self.generation += 1
        return new

    def get_unit(self, unit_id: str) -> Unit:
        row = self._conn.execute(
            "SELECT id, building, number, rent_arrears, lease_until FROM units WHERE id=?",
            (unit_id,),
        ).fetchone()
        if row is None:
            raise errors.UnknownUnitError("no such unit", unit_id=unit_id)
        return unit_from_row(row)

    def find_unit(self, unit_id: str | None) -> Unit | None:
        if unit_id is None:
            return None
        try:
            return self.get_unit(unit_id)
        except errors.UnknownUnitError:
            return None

    def list_units(self) -> list[Unit]:
        rows = self._conn.execute(
            "SELECT id, building, number, rent_arrears, lease_until FROM units ORDER BY id"
        )
        return [unit_from_row(r) for r in rows]

    def remove_unit(self, unit_id: str) -> None:
        self.get_unit(unit_id)
        n = self._conn.execute(
            "SELECT count(*) FROM people WHERE unit_id=?", (unit_id,)
        ).fetchone()[0]
        if n:
            raise errors.UnitInUseError("unit still has people", unit_id=unit_id, count=str(n))
        with self._tx() as c:
            c.execute("DELETE FROM units WHERE id=?", (unit_id,))
            if self.outbox_share is not None:
                ob.emit(c, ob.OutboxKind.UNIT, unit_id, {"id": unit_id, "removed": True})
        self.generation += 1

    def count_units(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM units").fetchone()[0])

    # --------------------------------------------------------------------- people
    def add_person(self, person: Person) -> Person:
        check_id(person.id, "person_id")
        _check_window(person.valid_from, person.valid_until)
        if person.unit_id is not None:
            self.get_unit(person.unit_id)
        now = _time.time()
        try:
            with self._tx() as c:
                c.execute(
                    INSERT_PERSON,
                    (*person_to_row(person), now, now),
                )
                self._emit_person(c, person)
        except sqlite3.IntegrityError as err:
            raise errors.DuplicatePersonError("person exists", person_id=person.id) from err
        self.generation += 1
        return person

    def add_people(self, people: Iterable[Person]) -> int:
        """Bulk insert for imports and benchmarks (one transaction)."""
        now = _time.time()
        share = self.outbox_share
        if share is not None:
            people = list(people)
        with self._tx() as c:
            cur = c.executemany(
                INSERT_PERSON,
                ((*person_to_row(p), now, now) for p in people),
            )
            if share is not None:
                for p in people:
                    ob.emit(c, ob.OutboxKind.PERSON, p.id, ob.person_payload(p, share))
        self.generation += 1
        return cur.rowcount

    def _emit_person(self, c: sqlite3.Connection, person: Person) -> None:
        share = self.outbox_share
        if share is not None:
            ob.emit(c, ob.OutboxKind.PERSON, person.id, ob.person_payload(person, share))

    def update_person(self, person_id: str, **fields: Any) -> Person:
        person = self.get_person(person_id)
        allowed = {f.name for f in EDITABLE_FIELDS}
        unknown = set(fields) - allowed
        if unknown:
            raise errors.InvalidValueError("unknown fields", field=",".join(sorted(unknown)))
        new = replace(person, **fields)
        _check_window(new.valid_from, new.valid_until)
        if new.unit_id is not None and new.unit_id != person.unit_id:
            self.get_unit(new.unit_id)
        with self._tx() as c:
            c.execute(
                UPDATE_PERSON, (*person_to_row(new, EDITABLE_FIELDS), _time.time(), person_id)
            )
            self._emit_person(c, new)
        self.generation += 1
        return new

    def get_person(self, person_id: str) -> Person:
        row = self._conn.execute(
            f"SELECT {PERSON_COLS} FROM people WHERE id=?", (person_id,)
        ).fetchone()
        if row is None:
            raise errors.UnknownPersonError("no such person", person_id=person_id)
        return person_from_row(row)

    def find_person(self, person_id: str | None) -> Person | None:
        if person_id is None:
            return None
        try:
            return self.get_person(person_id)
        except errors.UnknownPersonError:
            return None

    def list_people(
        self, *, unit_id: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[Person]:
        if unit_id is None:
            rows = self._conn.execute(
                f"SELECT {PERSON_COLS} FROM people ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
            )
        else:
            rows = self._conn.execute(
                f"SELECT {PERSON_COLS} FROM people WHERE unit_id=? ORDER BY id LIMIT ? OFFSET ?",
                (unit_id, limit, offset),
            )
        return [person_from_row(r) for r in rows]

    def people_page(self, after: str | None, limit: int) -> list[Person]:
        """People in id order after ``after`` (keyset paging): a large estate's roster is
        read a page per database job, so card decisions interleave with the read."""
        rows = self._conn.execute(
            f"SELECT {PERSON_COLS} FROM people WHERE id > ? ORDER BY id LIMIT ?",
            (after or "", limit),
        )
        return [person_from_row(r) for r in rows]

    def remove_person(self, person_id: str) -> None:
        """Delete a person and (by cascade) their credentials. Passages are history and
        keep the bare id until retention or erasure removes them."""
        self.get_person(person_id)
        with self._tx() as c:
            c.execute("DELETE FROM people WHERE id=?", (person_id,))
            if self.outbox_share is not None:
                ob.emit(c, ob.OutboxKind.PERSON, person_id, {"id": person_id, "removed": True})
        self.generation += 1

    def count_people(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM people").fetchone()[0])

    # ---------------------------------------------------------------- credentials
    def add_credential(self, cred: Credential) -> Credential:
        check_id(cred.id, "credential_id")
        _check_window(cred.valid_from, cred.valid_until)
        self.get_person(cred.person_id)
        if cred.max_uses is not None and cred.max_uses < 1:
            raise errors.InvalidValueError("max_uses must be at least 1", field="max_uses")
        created = cred.created_at or _time.time()
        try:
            with self._tx() as c:
                c.execute(
                    f"INSERT INTO credentials ({CREDENTIAL_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        cred.id,
                        cred.person_id,
                        cred.kind.value,
                        cred.secret_hash,
                        cred.valid_from,
                        cred.valid_until,
                        cred.max_uses,
                        cred.uses,
                        cred.revoked_at,
                        created,
                    ),
                )
        except sqlite3.IntegrityError as err:
            if "credentials.id" in str(err) or "PRIMARY" in str(err).upper():
                raise errors.DuplicateCredentialError(
                    "credential id exists", credential_id=cred.id, kind=cred.kind.value
                ) from err
            raise errors.DuplicateCredentialError(
                "credential already assigned", credential_id=cred.id, kind=cred.kind.value
            ) from err
        return replace(cred, created_at=created)

    def add_credentials(self, creds: Iterable[Credential]) -> int:
        now = _time.time()
        with self._tx() as c:
            cur = c.executemany(
                f"INSERT INTO credentials ({CREDENTIAL_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    (
                        x.id,
                        x.person_id,
                        x.kind.value,
                        x.secret_hash,
                        x.valid_from,
                        x.valid_until,
                        x.max_uses,
                        x.uses,
                        x.revoked_at,
                        x.created_at or now,
                    )
                    for x in creds
                ),
            )
        return cur.rowcount

    def get_credential(self, credential_id: str) -> Credential:
        row = self._conn.execute(
            f"SELECT {CREDENTIAL_COLS} FROM credentials WHERE id=?", (credential_id,)
        ).fetchone()
        if row is None:
            raise errors.UnknownCredentialError("no such credential", credential_id=credential_id)
        return credential_from_row(row)

    def find_credential(self, kind: CredentialKind, secret_hash: str) -> Credential | None:
        """The live credential for a secret, else the most recently revoked one
        (so the decision can say "revoked" rather than "unknown")."""
        row = self._conn.execute(
            f"SELECT {CREDENTIAL_COLS} FROM credentials WHERE kind=? AND secret_hash=?"
            " ORDER BY revoked_at IS NOT NULL, revoked_at DESC LIMIT 1",
            (kind.value, secret_hash),
        ).fetchone()
        return credential_from_row(row) if row else None

    def list_credentials(self, person_id: str) -> list[Credential]:
        rows = self._conn.execute(
            f"SELECT {CREDENTIAL_COLS} FROM credentials WHERE person_id=? ORDER BY created_at",
            (person_id,),
        )
        return [credential_from_row(r) for r in rows]

    def revoke_credential(self, credential_id: str, at: float | None = None) -> Credential:
        cred = self.get_credential(credential_id)
        if cred.revoked_at is not None:
            raise errors.CredentialAlreadyRevokedError(
                "already revoked", credential_id=credential_id
            )
        when = at if at is not None else _time.time()
        with self._tx() as c:
            c.execute("UPDATE credentials SET revoked_at=? WHERE id=?", (when, credential_id))
        return replace(cred, revoked_at=when)

    def claim_use(self, credential_id: str) -> bool:
        """Count one use if any is left. Atomic, so a one-time pass presented twice at
        once opens once."""
        with self._tx() as c:
            cur = c.execute(
                "UPDATE credentials SET uses = uses + 1"
                " WHERE id=? AND (max_uses IS NULL OR uses < max_uses)",
                (credential_id,),
            )
        return cur.rowcount == 1

    def count_credentials(self, *, live_only: bool = True) -> int:
        sql = "SELECT count(*) FROM credentials"
        if live_only:
            sql += " WHERE revoked_at IS NULL"
        return int(self._conn.execute(sql).fetchone()[0])

    # ---------------------------------------------------------------------- gates
    def upsert_gate(self, gate: Gate) -> Gate:
        check_id(gate.id, "gate_id")
        with self._tx() as c:
            c.execute(
                "INSERT INTO gates VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                " name=excluded.name, kind=excluded.kind, direction=excluded.direction,"
                " building=excluded.building, updated_at=excluded.updated_at",
                (
                    gate.id,
                    gate.name,
                    gate.kind.value,
                    gate.direction.value,
                    gate.building,
                    _time.time(),
                ),
            )
            if self.outbox_share is not None:
                ob.emit(c, ob.OutboxKind.GATE, gate.id, ob.gate_payload(gate))
        self.generation += 1
        return gate

    def get_gate(self, gate_id: str) -> Gate:
        row = self._conn.execute(
            "SELECT id, name, kind, direction, building FROM gates WHERE id=?", (gate_id,)
        ).fetchone()
        if row is None:
            raise errors.UnknownGateError("no such gate", gate_id=gate_id)
        return Gate(row[0], row[1], GateKind(row[2]), Direction(row[3]), row[4])

    def list_gates(self) -> list[Gate]:
        rows = self._conn.execute(
            "SELECT id, name, kind, direction, building FROM gates ORDER BY id"
        )
        return [Gate(r[0], r[1], GateKind(r[2]), Direction(r[3]), r[4]) for r in rows]

    def remove_gate(self, gate_id: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM gates WHERE id=?", (gate_id,))
            if self.outbox_share is not None:
                ob.emit(c, ob.OutboxKind.GATE, gate_id, {"id": gate_id, "removed": True})
        self.generation += 1

    # ------------------------------------------------------------------- consents
    def add_consent(self, consent: Consent) -> Consent:
        self.get_person(consent.person_id)
        if not consent.notice_version.strip() or not consent.operator.strip():
            raise errors.InvalidValueError("notice version and operator required", field="consent")
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO consents (person_id, purpose, notice_version, given_at, operator,"
                " guardian, withdrawn_at) VALUES (?,?,?,?,?,?,NULL)",
                (
                    consent.person_id,
                    consent.purpose,
                    consent.notice_version,
                    consent.given_at,
                    consent.operator,
                    int(consent.guardian),
                ),
            )
        return replace(consent, id=cur.lastrowid, withdrawn_at=None)

    def active_consent(self, person_id: str, purpose: str) -> Consent | None:
        row = self._conn.execute(
            f"SELECT {CONSENT_COLS} FROM consents WHERE person_id=? AND purpose=?"
            " AND withdrawn_at IS NULL ORDER BY given_at DESC LIMIT 1",
            (person_id, purpose),
        ).fetchone()
        return consent_from_row(row) if row else None

    def list_consents(self, person_id: str) -> list[Consent]:
        rows = self._conn.execute(
            f"SELECT {CONSENT_COLS} FROM consents WHERE person_id=? ORDER BY given_at",
            (person_id,),
        )
        return [consent_from_row(r) for r in rows]

    def withdraw_consent(self, person_id: str, purpose: str, at: float) -> int:
        """Mark consent withdrawn. The caller erases what it covered in the same step
        (see ``remove_face_templates``); the record itself stays as evidence."""
        with self._tx() as c:
            cur = c.execute(
                "UPDATE consents SET withdrawn_at=? WHERE person_id=? AND purpose=?"
                " AND withdrawn_at IS NULL",
                (at, person_id, purpose),
            )
        return cur.rowcount

    # -------------------------------------------------------------- face templates
    def add_face_template(self, tpl: FaceTemplate) -> FaceTemplate:
        check_id(tpl.id, "template_id")
        self.get_person(tpl.person_id)
        created = tpl.created_at or _time.time()
        try:
            with self._tx() as c:
                c.execute(
                    "INSERT INTO face_templates VALUES (?,?,?,?,?,?,?)",
                    (
                        tpl.id,
                        tpl.person_id,
                        tpl.engine,
                        tpl.variant.value,
                        tpl.sealed,
                        tpl.quality,
                        created,
                    ),
                )
        except sqlite3.IntegrityError as err:
            raise errors.DuplicateError("template exists", template_id=tpl.id) from err
        return replace(tpl, created_at=created)

    def iter_face_templates(self, engine: str | None = None) -> Iterator[FaceTemplate]:
        """Every stored template (start-up load of the gallery), streamed."""
        sql = f"SELECT {TEMPLATE_COLS} FROM face_templates"
        args: tuple[Any, ...] = ()
        if engine is not None:
            sql += " WHERE engine=?"
            args = (engine,)
        for row in self._conn.execute(sql, args):
            yield template_from_row(row)

    def list_face_templates(self, person_id: str) -> list[FaceTemplate]:
        rows = self._conn.execute(
            f"SELECT {TEMPLATE_COLS} FROM face_templates WHERE person_id=? ORDER BY created_at",
            (person_id,),
        )
        return [template_from_row(r) for r in rows]

    def remove_face_template(self, template_id: str) -> bool:
        with self._tx() as c:
            cur = c.execute("DELETE FROM face_templates WHERE id=?", (template_id,))
        return cur.rowcount == 1

    def remove_face_templates(self, person_id: str, *, other_than: str | None = None) -> int:
        """A person's templates; with ``other_than``, only those of the other engines
        (a person re-encoded for a new engine keeps no biometric data it cannot use)."""
        sql = "DELETE FROM face_templates WHERE person_id=?"
        args: tuple[str, ...] = (person_id,)
        if other_than is not None:
            sql, args = sql + " AND engine<>?", (person_id, other_than)
        with self._tx() as c:
            cur = c.execute(sql, args)
        return cur.rowcount

    def template_engines(self) -> dict[str, set[str]]:
        """Each enrolled person's engines (no template is opened)."""
        out: dict[str, set[str]] = {}
        for pid, engine in self._conn.execute(
            "SELECT DISTINCT person_id, engine FROM face_templates"
        ):
            out.setdefault(pid, set()).add(engine)
        return out

    def count_face_templates(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM face_templates").fetchone()[0])

    # ----------------------------------------------------------- stranger clusters
    def save_clusters(
        self,
        clusters: Iterable[StoredCluster],
        removed: Iterable[str] = (),
        relabel: Sequence[tuple[str, str]] = (),
    ) -> int:
        """Upsert changed clusters and drop removed ones in one transaction.

        ``relabel`` lists ``(kept, merged)`` cluster merges in merge order: the merged
        stranger's passages take the kept id in the same transaction, so the log and the
        clusters never disagree. Returns the number of passages relabelled."""
        relabelled = 0
        with self._tx() as c:
            for kept, gone in relabel:
                moved: list[int] = []
                if self.outbox_share is not None:
                    moved = [
                        r[0]
                        for r in c.execute("SELECT id FROM passages WHERE cluster_id=?", (gone,))
                    ]
                relabelled += c.execute(
                    "UPDATE passages SET cluster_id=? WHERE cluster_id=?", (kept, gone)
                ).rowcount
                if self.outbox_share is not None:
                    ob.emit_passages(c, moved)
            for kept, gone in relabel:
                # One person after all: a mark on either stranger holds for the kept one
                # (the kept cluster's own mark wins when both have one).
                c.execute(
                    "UPDATE OR IGNORE stranger_ignores SET cluster_id=? WHERE cluster_id=?",
                    (kept, gone),
                )
            for kept, gone in relabel:
                # One snapshot per stranger: the better of the two crops stays.
                c.execute(
                    "DELETE FROM photos WHERE cluster_id=? AND quality <"
                    " (SELECT quality FROM photos WHERE cluster_id=?)",
                    (kept, gone),
                )
                c.execute(
                    "UPDATE OR IGNORE photos SET cluster_id=? WHERE cluster_id=?", (kept, gone)
                )
            gone_ids = [(i,) for i in removed] + [(gone,) for _, gone in relabel]
            c.executemany("DELETE FROM stranger_ignores WHERE cluster_id=?", gone_ids)
            # A snapshot goes with its cluster (the merged one's, unless it moved above).
            c.executemany("DELETE FROM photos WHERE cluster_id=?", gone_ids)
            c.executemany("DELETE FROM stranger_clusters WHERE id=?", ((i,) for i in removed))
            c.executemany(
                "INSERT INTO stranger_clusters VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                " sealed_centroid=excluded.sealed_centroid, count=excluded.count,"
                " first_seen=excluded.first_seen, last_seen=excluded.last_seen,"
                " days=excluded.days",
                (
                    (
                        k.id,
                        k.sealed_centroid,
                        k.count,
                        k.first_seen,
                        k.last_seen,
                        ",".join(str(d) for d in k.days),
                    )
                    for k in clusters
                ),
            )
        return relabelled

    def assign_cluster(self, cluster_id: str, person_id: str, unit_id: str | None) -> int:
        """A stranger turned out to be ``person_id``: their passages say so from now on
        (the cluster id is cleared with them). Returns the passages changed."""
        with self._tx() as c:
            # A known person now: the stranger's "do not alert" mark goes with the id.
            c.execute("DELETE FROM stranger_ignores WHERE cluster_id=?", (cluster_id,))
            # ...and so does the stranger's snapshot: the person has a name now.
            c.execute("DELETE FROM photos WHERE cluster_id=?", (cluster_id,))
            ids = [
                r[0] for r in c.execute("SELECT id FROM passages WHERE cluster_id=?", (cluster_id,))
            ]
            n = c.execute(
                "UPDATE passages SET person_id=?, unit_id=?, cluster_id=NULL WHERE cluster_id=?",
                (person_id, unit_id, cluster_id),
            ).rowcount
            if self.outbox_share is not None:
                ob.emit_passages(c, ids)
            return n

    def iter_clusters(self) -> Iterator[StoredCluster]:
        for r in self._conn.execute(
            "SELECT id, sealed_centroid, count, first_seen, last_seen, days FROM stranger_clusters"
        ):
            yield StoredCluster(
                r[0], r[1], r[2], r[3], r[4], tuple(int(d) for d in r[5].split(",") if d)
            )

    def purge_clusters(self, before_ts: float) -> int:
        with self._tx() as c:
            cur = c.execute("DELETE FROM stranger_clusters WHERE last_seen<?", (before_ts,))
            c.execute(
                "DELETE FROM stranger_ignores WHERE cluster_id NOT IN"
                " (SELECT id FROM stranger_clusters)"
            )
            c.execute(
                "DELETE FROM photos WHERE cluster_id IS NOT NULL AND cluster_id NOT IN"
                " (SELECT id FROM stranger_clusters)"
            )
        return cur.rowcount

    # ----------------------------------------------------------- stranger snapshots
    # The best face crop of a stranger cluster (an option): a row of ``photos`` with
    # purpose 'stranger', no person, its cluster id and its quality. Sealed, resealed
    # and purged like every kept photo; deleted with its cluster (above).
    def snapshot_quality(self, cluster_id: str) -> float | None:
        """The quality of the crop kept for ``cluster_id``; None when there is none."""
        row = self._conn.execute(
            "SELECT quality FROM photos WHERE cluster_id=?", (cluster_id,)
        ).fetchone()
        return None if row is None else float(row[0])

    def keep_snapshot(self, photo: StoredPhoto, cluster_id: str, quality: float) -> bool:
        """Keep ``photo`` as the crop of ``cluster_id`` unless a crop at least as good
        is kept already, or the cluster is gone (forgotten, named or merged while the
        crop was on its way here: the crop must not outlive it). Returns whether kept."""
        check_id(photo.id, "photo_id")
        with self._tx() as c:
            if (
                c.execute("SELECT 1 FROM stranger_clusters WHERE id=?", (cluster_id,)).fetchone()
                is None
            ):
                return False
            row = c.execute(
                "SELECT quality FROM photos WHERE cluster_id=?", (cluster_id,)
            ).fetchone()
            if row is not None and float(row[0]) >= quality:
                return False
            c.execute("DELETE FROM photos WHERE cluster_id=?", (cluster_id,))
            c.execute(
                f"INSERT INTO photos ({PHOTO_COLS}, cluster_id, quality) VALUES (?,?,?,?,?,?,?,?)",
                (
                    photo.id,
                    None,
                    photo.purpose,
                    photo.sealed,
                    photo.created_at,
                    photo.expires_at,
                    cluster_id,
                    quality,
                ),
            )
        return True

    def get_snapshot(self, cluster_id: str) -> StoredPhoto | None:
        row = self._conn.execute(
            f"SELECT {PHOTO_COLS} FROM photos WHERE cluster_id=?", (cluster_id,)
        ).fetchone()
        return None if row is None else photo_from_row(row)

    def snapshot_clusters(self) -> dict[str, float]:
        """Each cluster with a kept crop, and when that crop was taken."""
        return {
            r[0]: float(r[1])
            for r in self._conn.execute(
                "SELECT cluster_id, created_at FROM photos WHERE cluster_id IS NOT NULL"
            )
        }

    def remove_snapshots(self) -> int:
        """Every stranger crop (the estate turned the option off)."""
        with self._tx() as c:
            cur = c.execute("DELETE FROM photos WHERE cluster_id IS NOT NULL")
        return cur.rowcount

    # ------------------------------------------------------------ ignored strangers
    def set_stranger_ignore(self, ignore: StrangerIgnore) -> StrangerIgnore:
        """Mark a stranger "known, do not alert" (replacing an earlier mark). Refused
        with ``UnknownStrangerError`` for a cluster the estate does not hold."""
        if ignore.expires_at <= ignore.created_at:
            raise errors.InvalidValidityError("the mark must end after it starts")
        with self._tx() as c:
            known = c.execute(
                "SELECT 1 FROM stranger_clusters WHERE id=?", (ignore.cluster_id,)
            ).fetchone()
            if known is None:
                raise errors.UnknownStrangerError("no such stranger", cluster_id=ignore.cluster_id)
            c.execute(
                "INSERT INTO stranger_ignores VALUES (?,?,?,?,?) ON CONFLICT(cluster_id) DO UPDATE"
                " SET note=excluded.note, created_at=excluded.created_at,"
                " created_by=excluded.created_by, expires_at=excluded.expires_at",
                (
                    ignore.cluster_id,
                    ignore.note,
                    ignore.created_at,
                    ignore.created_by,
                    ignore.expires_at,
                ),
            )
        return ignore

    def remove_stranger_ignore(self, cluster_id: str) -> bool:
        with self._tx() as c:
            cur = c.execute("DELETE FROM stranger_ignores WHERE cluster_id=?", (cluster_id,))
        return cur.rowcount > 0

    def get_stranger_ignore(self, cluster_id: str) -> StrangerIgnore | None:
        row = self._conn.execute(
            f"SELECT {_IGNORE_COLS} FROM stranger_ignores WHERE cluster_id=?", (cluster_id,)
        ).fetchone()
        return StrangerIgnore(*row) if row else None

    def list_stranger_ignores(self) -> list[StrangerIgnore]:
        return [
            StrangerIgnore(*r)
            for r in self._conn.execute(
                f"SELECT {_IGNORE_COLS} FROM stranger_ignores ORDER BY cluster_id"
            )
        ]

    def purge_stranger_ignores(self, now: float) -> int:
        """Marks that have ended: their notes are not kept past their purpose."""
        with self._tx() as c:
            cur = c.execute("DELETE FROM stranger_ignores WHERE expires_at<=?", (now,))
        return cur.rowcount

    def stranger_ignored(self, cluster_id: str, ts: float) -> bool:
        """Whether staff marked the stranger "do not alert" for the time ``ts``."""
        ignore = self.get_stranger_ignore(cluster_id)
        return ignore is not None and ignore.valid_at(ts)

    # --------------------------------------------------------------- mqtt devices
    def save_device(self, device: MqttDevice) -> MqttDevice:
        """Create or re-key a device. Re-keying starts the device's own counter afresh
        (a controller whose flash was wiped, or a replacement, counts from 1 again):
        safe, because every message it ever signed with the old key fails its
        signature now. The hub's counter towards the device only grows."""
        check_id(device.id, "device_id")
        check_id(device.gate_id, "gate_id")
        created = device.created_at or _time.time()
        with self._tx() as c:
            c.execute(
                "INSERT INTO mqtt_devices VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                " gate_id=excluded.gate_id, sealed_key=excluded.sealed_key,"
                " created_at=excluded.created_at, rx_ctr=0",
                (device.id, device.gate_id, device.sealed_key, 0, 0, created),
            )
        return self.get_device(device.id)

    def get_device(self, device_id: str) -> MqttDevice:
        row = self._conn.execute(
            f"SELECT {DEVICE_COLS} FROM mqtt_devices WHERE id=?", (device_id,)
        ).fetchone()
        if row is None:
            raise errors.UnknownDeviceError("no such device", device_id=device_id)
        return MqttDevice(*row)

    def list_devices(self) -> list[MqttDevice]:
        rows = self._conn.execute(f"SELECT {DEVICE_COLS} FROM mqtt_devices ORDER BY id")
        return [MqttDevice(*r) for r in rows]

    def remove_device(self, device_id: str) -> bool:
        with self._tx() as c:
            cur = c.execute("DELETE FROM mqtt_devices WHERE id=?", (device_id,))
            if cur.rowcount and self.outbox_share is not None:
                ob.emit(c, ob.OutboxKind.DEVICE, device_id, {"id": device_id, "removed": True})
        return cur.rowcount == 1

    def claim_device_counter(self, device_id: str, ctr: int) -> bool:
        """Accept ``ctr`` from a device only if it is above every counter accepted
        before; durable before the message is acted on."""
        with self._tx() as c:
            cur = c.execute(
                "UPDATE mqtt_devices SET rx_ctr=? WHERE id=? AND rx_ctr<?",
                (ctr, device_id, ctr),
            )
        return cur.rowcount == 1

    def reserve_device_counter(self, device_id: str, upto: int) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE mqtt_devices SET tx_reserved=max(tx_reserved, ?) WHERE id=?",
                (upto, device_id),
            )

    # ------------------------------------------------------------------- passages
    def add_passage(
        self, passage: Passage, *, count_use: bool = False, episode_window: float = 0.0
    ) -> Passage:
        """Commit one passage (and a credential use, atomically). Returns it as stored:
        with its id, or, when it folded into an open episode (``episode_window``
        seconds, see core/episodes.py), the episode row it updated."""
        with self._tx() as c:
            saved = self._write_passage(c, passage, episode_window)
            if count_use and passage.credential_id is not None:
                c.execute(
                    "UPDATE credentials SET uses = uses + 1 WHERE id=?", (passage.credential_id,)
                )
        return saved

    def add_passages_returning(
        self, passages: Sequence[Passage], *, episode_window: float = 0.0
    ) -> list[Passage]:
        """Commit several passages in one transaction (group commit) and return them as
        stored (a refusal that folded into an episode returns the episode row). A
        database failure surfaces as ``StoreError``."""
        out: list[Passage] = []
        try:
            with self._tx() as c:
                for p in passages:
                    out.append(self._write_passage(c, p, episode_window))
        except sqlite3.Error as err:
            raise errors.StoreError(str(err), path=str(self.path), error=str(err)) from err
        return out

    def _write_passage(self, c: sqlite3.Connection, p: Passage, window: float) -> Passage:
        """Insert ``p``, or fold it into its open episode: inside the caller's
        transaction, so an episode update is exactly as durable as an insert (and so is
        its outbox row)."""
        episode = fold_target(c, p, window)
        if episode is None:
            cur = c.execute(INSERT_PASSAGE, passage_to_row(p))
            saved = replace(p, id=cur.lastrowid)
        else:
            saved = replace(episode, count=episode.count + p.count, last_seen=p.seen)
            c.execute(
                "UPDATE passages SET count=?, last_seen=? WHERE id=?",
                (saved.count, saved.last_seen, saved.id),
            )
        if self.outbox_share is not None:
            ob.emit(c, ob.OutboxKind.PASSAGE, str(saved.id), ob.passage_payload(c, saved))
        return saved

    def set_passage_flags(self, passage_id: int, flags: Sequence[str]) -> None:
        """Replace a logged passage's flags (the actuation outcome, recorded after the
        row was written as the intent)."""
        with self._tx() as c:
            c.execute("UPDATE passages SET flags=? WHERE id=?", (",".join(flags), passage_id))
            if self.outbox_share is not None:
                ob.emit_passages(c, (passage_id,))

    def add_passages(self, passages: Iterable[Passage]) -> int:
        """Bulk insert in one transaction (imports, simulator, benchmark set-up)."""
        if self.outbox_share is not None:
            # Row by row: each outbox row needs its passage's id.
            with self._tx() as c:
                n = 0
                for p in passages:
                    self._write_passage(c, p, 0.0)
                    n += 1
                return n
        with self._tx() as c:
            cur = c.executemany(
                INSERT_PASSAGE,
                (passage_to_row(p) for p in passages),
            )
        return cur.rowcount

    def get_passage(self, passage_id: int) -> Passage | None:
        row = self._conn.execute(
            f"SELECT {PASSAGE_COLS} FROM passages WHERE id=?", (passage_id,)
        ).fetchone()
        return passage_from_row(row) if row else None

    def recent_passages(
        self,
        *,
        gate_id: str | None = None,
        person_id: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[Passage]:
        """Newest first; ``before_id`` pages backwards without OFFSET scans."""
        where: list[str] = []
        args: list[Any] = []
        if gate_id is not None:
            where.append("gate_id=?")
            args.append(gate_id)
        if person_id is not None:
            where.append("person_id=?")
            args.append(person_id)
        if before_id is not None:
            where.append("id<?")
            args.append(before_id)
        sql = f"SELECT {PASSAGE_COLS} FROM passages"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [passage_from_row(r) for r in self._conn.execute(sql, args)]

    def count_passages(self, *, since: float | None = None) -> int:
        if since is None:
            return int(self._conn.execute("SELECT count(*) FROM passages").fetchone()[0])
        return int(
            self._conn.execute("SELECT count(*) FROM passages WHERE ts>=?", (since,)).fetchone()[0]
        )

    def last_seen(self, person_id: str) -> float | None:
        row = self._conn.execute(
            "SELECT max(ts) FROM passages WHERE person_id=? AND allowed=1", (person_id,)
        ).fetchone()
        return float(row[0]) if row[0] is not None else None

    def purge_passages(self, before_ts: float, *, batch: int = 10_000) -> int:
        """Delete passages older than ``before_ts`` in small batches so the gate path
        never waits long behind a retention sweep. An episode goes when its last
        sighting is older (it is one record of one presence, kept whole)."""
        total = 0
        while True:
            with self._tx() as c:
                cur = c.execute(
                    "DELETE FROM passages WHERE id IN"
                    " (SELECT id FROM passages WHERE ts<? AND coalesce(last_seen, ts)<?"
                    " ORDER BY ts LIMIT ?)",
                    (before_ts, before_ts, batch),
                )
            total += cur.rowcount
            if cur.rowcount < batch:
                return total

    # -------------------------------------------------------------------- privacy
    # Audit log, sealed photos, erasure and key rotation. The rules live in
    # ``privacy.py`` / ``keys.py``; these are their single-statement building blocks.
    def add_audit(self, entry: AuditEntry) -> AuditEntry:
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO audit_log (ts, user_id, action, subject, outcome) VALUES (?,?,?,?,?)",
                (entry.ts, entry.user_id, entry.action, entry.subject, entry.outcome),
            )
        return replace(entry, id=cur.lastrowid)

    def query_audit(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        user_id: str | None = None,
        action: str | None = None,
        subject: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[AuditEntry]:
        """Newest first; every filter optional; ``before_id`` pages backwards."""
        where: list[str] = []
        args: list[Any] = []
        for sql, value in (
            ("ts>=?", since),
            ("ts<?", until),
            ("user_id=?", user_id),
            ("action=?", action),
            ("subject=?", subject),
            ("id<?", before_id),
        ):
            if value is not None:
                where.append(sql)
                args.append(value)
        sql = f"SELECT {AUDIT_COLS} FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [audit_from_row(r) for r in self._conn.execute(sql, args)]

    def count_audit(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])

    def add_photo(self, photo: StoredPhoto) -> StoredPhoto:
        check_id(photo.id, "photo_id")
        if photo.person_id is not None:
            self.get_person(photo.person_id)
        with self._tx() as c:
            c.execute(
                f"INSERT INTO photos ({PHOTO_COLS}) VALUES (?,?,?,?,?,?)",
                (
                    photo.id,
                    photo.person_id,
                    photo.purpose,
                    photo.sealed,
                    photo.created_at,
                    photo.expires_at,
                ),
            )
        return photo

    def list_photos(self, person_id: str) -> list[StoredPhoto]:
        rows = self._conn.execute(
            f"SELECT {PHOTO_COLS} FROM photos WHERE person_id=? ORDER BY created_at",
            (person_id,),
        )
        return [photo_from_row(r) for r in rows]

    def iter_photos(self) -> Iterator[StoredPhoto]:
        for r in self._conn.execute(f"SELECT {PHOTO_COLS} FROM photos"):
            yield photo_from_row(r)

    def count_photos(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM photos").fetchone()[0])

    def remove_photos(self, person_id: str) -> int:
        with self._tx() as c:
            cur = c.execute("DELETE FROM photos WHERE person_id=?", (person_id,))
        return cur.rowcount

    def purge_photos(self, now: float) -> int:
        with self._tx() as c:
            cur = c.execute("DELETE FROM photos WHERE expires_at<=?", (now,))
        return cur.rowcount

    def iter_person_passages(self, person_id: str) -> Iterator[Passage]:
        """Every passage of one person, oldest first (subject access requests)."""
        for r in self._conn.execute(
            f"SELECT {PASSAGE_COLS} FROM passages WHERE person_id=? ORDER BY ts, id",
            (person_id,),
        ):
            yield passage_from_row(r)

    def erase_person(self, person_id: str, alias: str) -> dict[str, int]:
        """Erase a person in one transaction: face templates, credentials, photos and
        consents go with the person row; passages and audit rows keep the history but
        name ``alias`` instead of the person (and no credential). Returns counts."""
        self.get_person(person_id)
        check_id(alias, "alias")
        counts: dict[str, int] = {}
        with self._tx() as c:
            for table in ("face_templates", "credentials", "photos", "consents"):
                cur = c.execute(f"DELETE FROM {table} WHERE person_id=?", (person_id,))
                counts[table] = cur.rowcount
            cur = c.execute(
                "UPDATE passages SET person_id=?, credential_id=NULL WHERE person_id=?",
                (alias, person_id),
            )
            counts["passages_pseudonymised"] = cur.rowcount
            cur = c.execute("UPDATE audit_log SET subject=? WHERE subject=?", (alias, person_id))
            counts["audit_pseudonymised"] = cur.rowcount
            # Alerts keep their history under the alias too, as the centre's copy does
            # (an alert re-sent later, acknowledged or backfilled, must not bring the
            # id back there).
            c.execute("UPDATE alerts SET subject_id=? WHERE subject_id=?", (alias, person_id))
            c.execute(
                "UPDATE alerts SET evidence=json_set(evidence, '$.person_id', ?)"
                " WHERE json_extract(evidence, '$.person_id')=?",
                (alias, person_id),
            )
            c.execute("DELETE FROM people WHERE id=?", (person_id,))
            # The queue forgets the person too, and the centre is told to pseudonymise
            # its copy (it keeps no link from the alias back to the id). Told even while
            # replication is off, once this file has ever fed a centre: the erasure
            # waits in the outbox (turning it off keeps erasures) and reaches the
            # centre first when replication is back on.
            ob.scrub_erased(c, person_id, alias)
            if self.outbox_share is not None or ob.ever_queued(c):
                ob.emit(c, ob.OutboxKind.ERASE, person_id, {"person_id": person_id, "alias": alias})
        # Old page images in the WAL would still hold the erased rows: fold them back.
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return counts

    def reseal(
        self,
        templates: Iterable[tuple[str, bytes]],
        clusters: Iterable[tuple[str, bytes]],
        photos: Iterable[tuple[str, bytes]],
        settings: dict[str, str],
    ) -> None:
        """Replace sealed blobs (key rotation) and record the new key's settings in ONE
        transaction: either every row moves to the new key, or none does."""
        with self._tx() as c:
            c.executemany(
                "UPDATE face_templates SET sealed=? WHERE id=?", ((b, i) for i, b in templates)
            )
            c.executemany(
                "UPDATE stranger_clusters SET sealed_centroid=? WHERE id=?",
                ((b, i) for i, b in clusters),
            )
            c.executemany("UPDATE photos SET sealed=? WHERE id=?", ((b, i) for i, b in photos))
            c.executemany(
                "INSERT INTO settings VALUES (?,?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                settings.items(),
            )
