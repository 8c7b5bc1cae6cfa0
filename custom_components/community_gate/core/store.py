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
import json
from pathlib import Path
import re
import sqlite3
import time as _time
from typing import Any

from . import errors
from .model import (
    AuditEntry,
    Consent,
    Credential,
    CredentialKind,
    Direction,
    FaceTemplate,
    FaceVariant,
    Gate,
    GateKind,
    Method,
    MqttDevice,
    Passage,
    Person,
    Reason,
    Role,
    ScheduleWindow,
    StoredCluster,
    StoredPhoto,
    Unit,
)
from .policy import parse_hhmm

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")

# Each entry moves the schema from version i to i+1. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE units (
        id TEXT PRIMARY KEY,
        building TEXT NOT NULL,
        number TEXT NOT NULL,
        rent_arrears INTEGER NOT NULL DEFAULT 0,
        lease_until REAL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE UNIQUE INDEX units_building_number ON units (building, number);
    CREATE TABLE people (
        id TEXT PRIMARY KEY,
        unit_id TEXT REFERENCES units (id),
        role TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        company TEXT NOT NULL DEFAULT '',
        special_attention INTEGER NOT NULL DEFAULT 0,
        lives_alone INTEGER NOT NULL DEFAULT 0,
        blocked INTEGER NOT NULL DEFAULT 0,
        valid_from REAL,
        valid_until REAL,
        allowed_gates TEXT NOT NULL DEFAULT '[]',
        schedule TEXT NOT NULL DEFAULT '[]',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX people_unit ON people (unit_id);
    CREATE INDEX people_special ON people (special_attention) WHERE special_attention = 1;
    CREATE TABLE credentials (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        valid_from REAL,
        valid_until REAL,
        max_uses INTEGER,
        uses INTEGER NOT NULL DEFAULT 0,
        revoked_at REAL,
        created_at REAL NOT NULL
    );
    CREATE UNIQUE INDEX credentials_live_secret
        ON credentials (kind, secret_hash) WHERE revoked_at IS NULL;
    CREATE INDEX credentials_secret ON credentials (kind, secret_hash);
    CREATE INDEX credentials_person ON credentials (person_id);
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE gates (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        direction TEXT NOT NULL,
        building TEXT,
        updated_at REAL NOT NULL
    );
    CREATE TABLE passages (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        gate_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        method TEXT NOT NULL,
        allowed INTEGER NOT NULL,
        reason TEXT NOT NULL,
        person_id TEXT,
        unit_id TEXT,
        credential_id TEXT,
        distance REAL,
        cluster_id TEXT,
        flags TEXT NOT NULL DEFAULT '',
        note TEXT
    );
    -- The time queries the rules need: per person, per unit, per gate, per stranger.
    CREATE INDEX passages_ts ON passages (ts);
    CREATE INDEX passages_person_ts ON passages (person_id, ts) WHERE person_id IS NOT NULL;
    CREATE INDEX passages_unit_ts ON passages (unit_id, ts) WHERE unit_id IS NOT NULL;
    CREATE INDEX passages_gate_ts ON passages (gate_id, ts);
    CREATE INDEX passages_cluster_ts ON passages (cluster_id, ts) WHERE cluster_id IS NOT NULL;
    """,
    # 2: faces. Consent first (no enrollment without it), sealed embeddings, and the
    # unknown-face clusters that let rules recognise a repeated stranger without a name.
    """
    CREATE TABLE consents (
        id INTEGER PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        purpose TEXT NOT NULL,
        notice_version TEXT NOT NULL,
        given_at REAL NOT NULL,
        operator TEXT NOT NULL,
        guardian INTEGER NOT NULL DEFAULT 0,
        withdrawn_at REAL
    );
    CREATE INDEX consents_person ON consents (person_id, purpose);
    CREATE TABLE face_templates (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        engine TEXT NOT NULL,
        variant TEXT NOT NULL,
        sealed BLOB NOT NULL,
        quality REAL,
        created_at REAL NOT NULL
    );
    CREATE INDEX face_templates_person ON face_templates (person_id);
    CREATE TABLE stranger_clusters (
        id TEXT PRIMARY KEY,
        sealed_centroid BLOB NOT NULL,
        count INTEGER NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        days TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX stranger_clusters_seen ON stranger_clusters (last_seen);
    """,
    # 3: privacy. Birth year (guardian consent under 14), the audit log of admin actions,
    # and raw photos, kept only when an option says so: sealed, each with its expiry.
    """
    ALTER TABLE people ADD COLUMN birth_year INTEGER;
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        user_id TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        outcome TEXT NOT NULL
    );
    CREATE INDEX audit_log_ts ON audit_log (ts);
    CREATE INDEX audit_log_subject ON audit_log (subject, ts) WHERE subject IS NOT NULL;
    CREATE TABLE photos (
        id TEXT PRIMARY KEY,
        person_id TEXT REFERENCES people (id) ON DELETE CASCADE,
        purpose TEXT NOT NULL,
        sealed BLOB NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX photos_person ON photos (person_id);
    CREATE INDEX photos_expiry ON photos (expires_at);
    """,
    # 4: MQTT field devices: a sealed per-device key, the last counter accepted from the
    # device (replay refusal survives a restart) and the hub's reserved send counter.
    """
    CREATE TABLE mqtt_devices (
        id TEXT PRIMARY KEY,
        gate_id TEXT NOT NULL,
        sealed_key BLOB NOT NULL,
        rx_ctr INTEGER NOT NULL DEFAULT 0,
        tx_reserved INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE INDEX mqtt_devices_gate ON mqtt_devices (gate_id);
    """,
    # 5: alerts raised by the rules (core/rules.py): ids and codes only, never names.
    """
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        rule TEXT NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        gate_id TEXT,
        evidence TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL DEFAULT 'new',
        acknowledged_at REAL,
        acknowledged_by TEXT,
        resolved_at REAL,
        resolved_by TEXT
    );
    CREATE INDEX alerts_subject ON alerts (rule, subject_id, ts);
    CREATE INDEX alerts_open ON alerts (state) WHERE state != 'resolved';
    CREATE INDEX alerts_ts ON alerts (ts);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
_TABLES = frozenset(
    {
        "units",
        "people",
        "credentials",
        "gates",
        "passages",
        "settings",
        "consents",
        "face_templates",
        "stranger_clusters",
        "audit_log",
        "photos",
        "mqtt_devices",
        "alerts",
    }
)


def check_id(value: object, what: str = "id") -> str:
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise errors.InvalidIdError(f"bad {what}", field=what)
    return value


def _check_window(valid_from: float | None, valid_until: float | None) -> None:
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise errors.InvalidValidityError("valid_until must be after valid_from")


def schedule_to_json(schedule: Sequence[ScheduleWindow]) -> str:
    return json.dumps(
        [
            {"days": sorted(w.days), "start": w.start.strftime("%H:%M"), "end": _fmt_end(w)}
            for w in schedule
        ]
    )


def _fmt_end(w: ScheduleWindow) -> str:
    return (
        "24:00"
        if w.end.hour == 23 and w.end.minute == 59 and w.end.second == 59
        else w.end.strftime("%H:%M")
    )


def _stored_schedule(schedule: Sequence[ScheduleWindow]) -> str:
    """The schedule as stored JSON, refusing windows that would not read back as written:
    a person saved with an unreadable schedule could never be loaded (or admitted) again."""
    text = schedule_to_json(schedule)
    if schedule_from_obj(json.loads(text)) != tuple(schedule):
        raise errors.InvalidScheduleError(why="schedule windows must be whole HH:MM minutes")
    return text


def schedule_from_obj(obj: Any) -> tuple[ScheduleWindow, ...]:
    """Build windows from ``[{"days": [1..7], "start": "HH:MM", "end": "HH:MM"}, ...]``."""
    if obj in (None, ""):
        return ()
    if not isinstance(obj, list):
        raise errors.InvalidScheduleError(why="schedule must be a list of windows")
    out: list[ScheduleWindow] = []
    for item in obj:
        if not isinstance(item, dict):
            raise errors.InvalidScheduleError(why="each window must be a mapping")
        days = item.get("days", [1, 2, 3, 4, 5, 6, 7])
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days)
        ):
            raise errors.InvalidScheduleError(why="days must be weekday numbers 1 (Mon) to 7 (Sun)")
        try:
            start = parse_hhmm(str(item["start"]))
            end = parse_hhmm(str(item["end"]))
        except (KeyError, ValueError) as err:
            raise errors.InvalidScheduleError(why="start and end must be HH:MM") from err
        if start == end:
            raise errors.InvalidScheduleError(why="a window cannot start and end at the same time")
        out.append(ScheduleWindow(frozenset(days), start, end))
    return tuple(out)


class Store:
    """Synchronous SQLite store. Use from one thread at a time."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

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
        if not names >= _TABLES:
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
        except sqlite3.IntegrityError as err:
            raise errors.DuplicateUnitError("unit exists", unit_id=unit.id) from err
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
        except sqlite3.IntegrityError as err:
            raise errors.DuplicateUnitError("unit number taken", unit_id=unit_id) from err
        return new

    def get_unit(self, unit_id: str) -> Unit:
        row = self._conn.execute(
            "SELECT id, building, number, rent_arrears, lease_until FROM units WHERE id=?",
            (unit_id,),
        ).fetchone()
        if row is None:
            raise errors.UnknownUnitError("no such unit", unit_id=unit_id)
        return _unit(row)

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
        return [_unit(r) for r in rows]

    def remove_unit(self, unit_id: str) -> None:
        self.get_unit(unit_id)
        n = self._conn.execute(
            "SELECT count(*) FROM people WHERE unit_id=?", (unit_id,)
        ).fetchone()[0]
        if n:
            raise errors.UnitInUseError("unit still has people", unit_id=unit_id, count=str(n))
        with self._tx() as c:
            c.execute("DELETE FROM units WHERE id=?", (unit_id,))

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
                    _INSERT_PERSON,
                    (*_person_row(person), now, now),
                )
        except sqlite3.IntegrityError as err:
            raise errors.DuplicatePersonError("person exists", person_id=person.id) from err
        return person

    def add_people(self, people: Iterable[Person]) -> int:
        """Bulk insert for imports and benchmarks (one transaction)."""
        now = _time.time()
        with self._tx() as c:
            cur = c.executemany(
                _INSERT_PERSON,
                ((*_person_row(p), now, now) for p in people),
            )
        return cur.rowcount

    def update_person(self, person_id: str, **fields: Any) -> Person:
        person = self.get_person(person_id)
        allowed = {
            "role",
            "display_name",
            "unit_id",
            "company",
            "special_attention",
            "lives_alone",
            "blocked",
            "valid_from",
            "valid_until",
            "allowed_gates",
            "schedule",
            "birth_year",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise errors.InvalidValueError("unknown fields", field=",".join(sorted(unknown)))
        new = replace(person, **fields)
        _check_window(new.valid_from, new.valid_until)
        if new.unit_id is not None and new.unit_id != person.unit_id:
            self.get_unit(new.unit_id)
        row = _person_row(new)
        with self._tx() as c:
            c.execute(
                "UPDATE people SET unit_id=?, role=?, display_name=?, company=?,"
                " special_attention=?, lives_alone=?, blocked=?, valid_from=?, valid_until=?,"
                " allowed_gates=?, schedule=?, birth_year=?, updated_at=? WHERE id=?",
                (*row[1:], _time.time(), person_id),
            )
        return new

    def get_person(self, person_id: str) -> Person:
        row = self._conn.execute(
            f"SELECT {_PERSON_COLS} FROM people WHERE id=?", (person_id,)
        ).fetchone()
        if row is None:
            raise errors.UnknownPersonError("no such person", person_id=person_id)
        return _person(row)

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
                f"SELECT {_PERSON_COLS} FROM people ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
            )
        else:
            rows = self._conn.execute(
                f"SELECT {_PERSON_COLS} FROM people WHERE unit_id=? ORDER BY id LIMIT ? OFFSET ?",
                (unit_id, limit, offset),
            )
        return [_person(r) for r in rows]

    def remove_person(self, person_id: str) -> None:
        """Delete a person and (by cascade) their credentials. Passages are history and
        keep the bare id until retention or erasure removes them."""
        self.get_person(person_id)
        with self._tx() as c:
            c.execute("DELETE FROM people WHERE id=?", (person_id,))

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
                    "INSERT INTO credentials VALUES (?,?,?,?,?,?,?,?,?,?)",
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
                "INSERT INTO credentials VALUES (?,?,?,?,?,?,?,?,?,?)",
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
            f"SELECT {_CRED_COLS} FROM credentials WHERE id=?", (credential_id,)
        ).fetchone()
        if row is None:
            raise errors.UnknownCredentialError("no such credential", credential_id=credential_id)
        return _credential(row)

    def find_credential(self, kind: CredentialKind, secret_hash: str) -> Credential | None:
        """The live credential for a secret, else the most recently revoked one
        (so the decision can say "revoked" rather than "unknown")."""
        row = self._conn.execute(
            f"SELECT {_CRED_COLS} FROM credentials WHERE kind=? AND secret_hash=?"
            " ORDER BY revoked_at IS NOT NULL, revoked_at DESC LIMIT 1",
            (kind.value, secret_hash),
        ).fetchone()
        return _credential(row) if row else None

    def list_credentials(self, person_id: str) -> list[Credential]:
        rows = self._conn.execute(
            f"SELECT {_CRED_COLS} FROM credentials WHERE person_id=? ORDER BY created_at",
            (person_id,),
        )
        return [_credential(r) for r in rows]

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
            f"SELECT {_CONSENT_COLS} FROM consents WHERE person_id=? AND purpose=?"
            " AND withdrawn_at IS NULL ORDER BY given_at DESC LIMIT 1",
            (person_id, purpose),
        ).fetchone()
        return _consent(row) if row else None

    def list_consents(self, person_id: str) -> list[Consent]:
        rows = self._conn.execute(
            f"SELECT {_CONSENT_COLS} FROM consents WHERE person_id=? ORDER BY given_at",
            (person_id,),
        )
        return [_consent(r) for r in rows]

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
        sql = f"SELECT {_TEMPLATE_COLS} FROM face_templates"
        args: tuple[Any, ...] = ()
        if engine is not None:
            sql += " WHERE engine=?"
            args = (engine,)
        for row in self._conn.execute(sql, args):
            yield _template(row)

    def list_face_templates(self, person_id: str) -> list[FaceTemplate]:
        rows = self._conn.execute(
            f"SELECT {_TEMPLATE_COLS} FROM face_templates WHERE person_id=? ORDER BY created_at",
            (person_id,),
        )
        return [_template(r) for r in rows]

    def remove_face_template(self, template_id: str) -> bool:
        with self._tx() as c:
            cur = c.execute("DELETE FROM face_templates WHERE id=?", (template_id,))
        return cur.rowcount == 1

    def remove_face_templates(self, person_id: str) -> int:
        with self._tx() as c:
            cur = c.execute("DELETE FROM face_templates WHERE person_id=?", (person_id,))
        return cur.rowcount

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
                relabelled += c.execute(
                    "UPDATE passages SET cluster_id=? WHERE cluster_id=?", (kept, gone)
                ).rowcount
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
            return c.execute(
                "UPDATE passages SET person_id=?, unit_id=?, cluster_id=NULL WHERE cluster_id=?",
                (person_id, unit_id, cluster_id),
            ).rowcount

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
        return cur.rowcount

    # --------------------------------------------------------------- mqtt devices
    def save_device(self, device: MqttDevice) -> MqttDevice:
        """Create or re-key a device. Re-keying keeps the counters: messages signed with
        the old key fail their signature, and counters never go back."""
        check_id(device.id, "device_id")
        check_id(device.gate_id, "gate_id")
        created = device.created_at or _time.time()
        with self._tx() as c:
            c.execute(
                "INSERT INTO mqtt_devices VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                " gate_id=excluded.gate_id, sealed_key=excluded.sealed_key,"
                " created_at=excluded.created_at",
                (device.id, device.gate_id, device.sealed_key, 0, 0, created),
            )
        return self.get_device(device.id)

    def get_device(self, device_id: str) -> MqttDevice:
        row = self._conn.execute(
            f"SELECT {_DEVICE_COLS} FROM mqtt_devices WHERE id=?", (device_id,)
        ).fetchone()
        if row is None:
            raise errors.UnknownDeviceError("no such device", device_id=device_id)
        return MqttDevice(*row)

    def list_devices(self) -> list[MqttDevice]:
        rows = self._conn.execute(f"SELECT {_DEVICE_COLS} FROM mqtt_devices ORDER BY id")
        return [MqttDevice(*r) for r in rows]

    def remove_device(self, device_id: str) -> bool:
        with self._tx() as c:
            cur = c.execute("DELETE FROM mqtt_devices WHERE id=?", (device_id,))
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
    def add_passage(self, passage: Passage, *, count_use: bool = False) -> Passage:
        """Commit one passage (and a credential use, atomically). Returns it with its id."""
        with self._tx() as c:
            cur = c.execute(
                _INSERT_PASSAGE,
                _passage_row(passage),
            )
            if count_use and passage.credential_id is not None:
                c.execute(
                    "UPDATE credentials SET uses = uses + 1 WHERE id=?", (passage.credential_id,)
                )
        return replace(passage, id=cur.lastrowid)

    def add_passages_returning(self, passages: Sequence[Passage]) -> list[Passage]:
        """Commit several passages in one transaction (group commit) and return them
        with their ids. A database failure surfaces as ``StoreError``."""
        out: list[Passage] = []
        try:
            with self._tx() as c:
                for p in passages:
                    cur = c.execute(
                        _INSERT_PASSAGE,
                        _passage_row(p),
                    )
                    out.append(replace(p, id=cur.lastrowid))
        except sqlite3.Error as err:
            raise errors.StoreError(str(err), path=str(self.path), error=str(err)) from err
        return out

    def add_passages(self, passages: Iterable[Passage]) -> int:
        """Bulk insert in one transaction (imports, simulator, benchmark set-up)."""
        with self._tx() as c:
            cur = c.executemany(
                _INSERT_PASSAGE,
                (_passage_row(p) for p in passages),
            )
        return cur.rowcount

    def get_passage(self, passage_id: int) -> Passage | None:
        row = self._conn.execute(
            f"SELECT {_PASSAGE_COLS} FROM passages WHERE id=?", (passage_id,)
        ).fetchone()
        return _passage(row) if row else None

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
        sql = f"SELECT {_PASSAGE_COLS} FROM passages"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [_passage(r) for r in self._conn.execute(sql, args)]

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
        never waits long behind a retention sweep."""
        total = 0
        while True:
            with self._tx() as c:
                cur = c.execute(
                    "DELETE FROM passages WHERE id IN"
                    " (SELECT id FROM passages WHERE ts<? ORDER BY ts LIMIT ?)",
                    (before_ts, batch),
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
        sql = f"SELECT {_AUDIT_COLS} FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [_audit(r) for r in self._conn.execute(sql, args)]

    def count_audit(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])

    def add_photo(self, photo: StoredPhoto) -> StoredPhoto:
        check_id(photo.id, "photo_id")
        if photo.person_id is not None:
            self.get_person(photo.person_id)
        with self._tx() as c:
            c.execute(
                f"INSERT INTO photos ({_PHOTO_COLS}) VALUES (?,?,?,?,?,?)",
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
            f"SELECT {_PHOTO_COLS} FROM photos WHERE person_id=? ORDER BY created_at",
            (person_id,),
        )
        return [_photo(r) for r in rows]

    def iter_photos(self) -> Iterator[StoredPhoto]:
        for r in self._conn.execute(f"SELECT {_PHOTO_COLS} FROM photos"):
            yield _photo(r)

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
            f"SELECT {_PASSAGE_COLS} FROM passages WHERE person_id=? ORDER BY ts, id",
            (person_id,),
        ):
            yield _passage(r)

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
            c.execute("DELETE FROM people WHERE id=?", (person_id,))
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


# ------------------------------------------------------------------ row mapping
_PERSON_COLS = (
    "id, unit_id, role, display_name, company, special_attention, lives_alone, blocked,"
    " valid_from, valid_until, allowed_gates, schedule, birth_year"
)
_INSERT_PERSON = (
    f"INSERT INTO people ({_PERSON_COLS}, created_at, updated_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_CRED_COLS = (
    "id, person_id, kind, secret_hash, valid_from, valid_until, max_uses, uses, revoked_at,"
    " created_at"
)
_CONSENT_COLS = "id, person_id, purpose, notice_version, given_at, operator, guardian, withdrawn_at"
_TEMPLATE_COLS = "id, person_id, engine, variant, sealed, quality, created_at"
_AUDIT_COLS = "id, ts, user_id, action, subject, outcome"
_PHOTO_COLS = "id, person_id, purpose, sealed, created_at, expires_at"


def _audit(r: Sequence[Any]) -> AuditEntry:
    return AuditEntry(ts=r[1], user_id=r[2], action=r[3], subject=r[4], outcome=r[5], id=r[0])


def _photo(r: Sequence[Any]) -> StoredPhoto:
    return StoredPhoto(
        id=r[0], person_id=r[1], purpose=r[2], sealed=bytes(r[3]), created_at=r[4], expires_at=r[5]
    )


_DEVICE_COLS = "id, gate_id, sealed_key, rx_ctr, tx_reserved, created_at"


def _consent(r: Sequence[Any]) -> Consent:
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


def _template(r: Sequence[Any]) -> FaceTemplate:
    return FaceTemplate(
        id=r[0],
        person_id=r[1],
        engine=r[2],
        variant=FaceVariant(r[3]),
        sealed=bytes(r[4]),
        quality=r[5],
        created_at=r[6],
    )


_INSERT_PASSAGE = (
    "INSERT INTO passages (ts, gate_id, direction, method, allowed, reason, person_id,"
    " unit_id, credential_id, distance, cluster_id, flags, note)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_PASSAGE_COLS = (
    "id, ts, gate_id, direction, method, allowed, reason, person_id, unit_id, credential_id,"
    " distance, cluster_id, flags, note"
)


def _unit(r: Sequence[Any]) -> Unit:
    return Unit(r[0], r[1], r[2], bool(r[3]), r[4])


def _person_row(p: Person) -> tuple[Any, ...]:
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
        _stored_schedule(p.schedule),
        p.birth_year,
    )


def _person(r: Sequence[Any]) -> Person:
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


def _credential(r: Sequence[Any]) -> Credential:
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


def _passage_row(p: Passage) -> tuple[Any, ...]:
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


def _passage(r: Sequence[Any]) -> Passage:
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
