"""The database schema: the migrations that build it and the tables it must have.

``Store.open`` runs the migrations the file has not had yet, in order.
"""

from __future__ import annotations

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
    # 6: strangers staff know and do not want alerts about (a postman): a note, who marked
    # it and until when. Kept by cluster id; deleted, merged and assigned with the cluster.
    """
    CREATE TABLE stranger_ignores (
        cluster_id TEXT PRIMARY KEY,
        note TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        created_by TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    """,
    # 7: passage episodes (core/episodes.py): a stranger loitering at a door, or a person
    # refused again and again, is one row with how many presentations it holds and when
    # the last one was; ``ts`` stays the first. Adding columns with constant defaults
    # rewrites no row, so a 10-million-row log migrates at once: a row written before
    # holds one presentation (count 1) and its ``last_seen`` is NULL (= ``ts``).
    """
    ALTER TABLE passages ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE passages ADD COLUMN last_seen REAL;
    """,
    # 8: stranger snapshots (an option, off by default): the best face crop of a
    # stranger cluster is a kept photo (``purpose`` 'stranger', no person), sealed and
    # expiring like enrollment photos, tied to its cluster; one per cluster.
    """
    ALTER TABLE photos ADD COLUMN cluster_id TEXT;
    ALTER TABLE photos ADD COLUMN quality REAL;
    CREATE UNIQUE INDEX photos_cluster ON photos (cluster_id) WHERE cluster_id IS NOT NULL;
    """,
    # 9: the outbox to the command centre (core/outbox.py): every change the centre
    # needs, queued in the transaction that makes it, shipped in ``seq`` order and
    # deleted once the centre has committed it. ``card_token``: an ID card's hash under
    # the operator's shared key (never the number), so the centre can match one visitor
    # card across estates whose own credential hashes use different keys.
    """
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        payload TEXT NOT NULL,
        ts REAL NOT NULL
    );
    ALTER TABLE credentials ADD COLUMN card_token TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
# The migration that added stranger snapshots (tests build the schema before it).
STRANGER_SNAPSHOTS_VERSION = 8
# Present in every migrated database; one missing means a damaged file.
TABLES = frozenset(
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
        "stranger_ignores",
        "outbox",
    }
)
