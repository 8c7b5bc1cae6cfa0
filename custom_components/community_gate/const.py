"""Constants shared by the Home Assistant side of community_gate."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "community_gate"

CONF_DB_PATH: Final = "db_path"
CONF_ESTATE_NAME: Final = "name"
DEFAULT_DB_FILE: Final = "community_gate.db"
KEY_FILE: Final = "community_gate.key"

# Gate subentry
SUBENTRY_GATE: Final = "gate"
CONF_GATE_ID: Final = "gate_id"
CONF_GATE_KIND: Final = "kind"
CONF_DIRECTION: Final = "direction"
CONF_ACTUATOR: Final = "actuator"
CONF_CAMERA: Final = "camera"
CONF_PRESENCE: Final = "presence"
CONF_STREAM_URL: Final = "stream_url"
CONF_BUILDING: Final = "building"
CONF_PULSE_SECONDS: Final = "pulse_seconds"
DEFAULT_PULSE_SECONDS: Final = 5
ACTUATOR_DOMAINS: Final = ("lock", "switch", "cover", "button")
# The gate's MQTT controller (device id): its readers feed the gate, and without an
# actuator entity its relay opens the gate by a signed ``relay/set``.
CONF_MQTT_DEVICE: Final = "mqtt_device"

# Options
OPT_RETENTION_DAYS: Final = "retention_days"
OPT_FACE_ENGINE: Final = "face_engine"
OPT_FACE_STRICTNESS: Final = "face_strictness"
# Removed in config entry 1.2 (the threshold now follows the engine and the gate).
OPT_FACE_THRESHOLD_OLD: Final = "face_threshold"
OPT_CAPTURE_INTERVAL: Final = "capture_interval"
OPT_FACE_DEBOUNCE: Final = "face_debounce"
OPT_CLUSTER_RETENTION_DAYS: Final = "cluster_retention_days"
OPT_PHOTO_RETENTION_DAYS: Final = "photo_retention_days"
OPT_KEEP_PHOTOS: Final = "keep_photos"
OPT_KEEP_STRANGER_SNAPSHOTS: Final = "keep_stranger_snapshots"
OPT_STRANGER_SNAPSHOT_DAYS: Final = "stranger_snapshot_days"
OPT_MIN_PIN_LENGTH: Final = "min_pin_length"
OPT_EPISODE_WINDOW: Final = "episode_window"

# Gate subentry: the credential kinds a gate accepts (default: all)
CONF_METHODS: Final = "methods"
# Gate subentry: HA user ids who may open the gate remotely besides admins (default: none)
CONF_OPENERS: Final = "openers"
CONF_PAD_LEVEL: Final = "pad_level"
CONF_FACE_MODE: Final = "face_mode"

EVENT_PASSAGE: Final = "community_gate_passage"
EVENT_EMERGENCY: Final = "community_gate_emergency"
# Lockdown entered or left: {entry_id, active}; who did it is the event's context user.
EVENT_LOCKDOWN: Final = "community_gate_lockdown"
# Field devices (MQTT): inputs for the rule engine and automations. Ids only.
EVENT_DEVICE_STATUS: Final = "community_gate_device_status"
EVENT_DOOR: Final = "community_gate_door"
EVENT_EXIT: Final = "community_gate_exit"
EVENT_TEMPERATURE: Final = "community_gate_temperature"

# Dispatcher signals (formatted with the entry id)
SIGNAL_PASSAGE: Final = "community_gate_passage_{}"
SIGNAL_STATE: Final = "community_gate_state_{}"
SIGNAL_FIELD: Final = "community_gate_field_{}"

# Alerts (rules.py in core, alerts.py here)
EVENT_ALERT: Final = "community_gate_alert"
# A gate at PAD level ``challenge`` asks a new face to turn or blink (issue 15): for the
# terminal's screen and speaker (texts per language; no name, no picture).
EVENT_CHALLENGE: Final = "community_gate_challenge"
SIGNAL_ALERT: Final = "community_gate_alert_{}"
CONF_DOOR: Final = "door_contact"  # optional binary_sensor of a gate: on = open
OPT_RULES: Final = "rules"  # options section holding the rule parameters
ACK_ACTION_PREFIX: Final = "CG_ACK_"  # notification action: CG_ACK_<entry_id>_<alert_id>

# The central store (issue 16): the estate's options section, and the centre's entry.
OPT_CENTRAL: Final = "central"
# What kind of entry: an estate (the default, and every entry from before) or the centre.
CONF_ENTRY_KIND: Final = "kind"
ENTRY_KIND_ESTATE: Final = "estate"
ENTRY_KIND_CENTRE: Final = "centre"
EVENT_CENTRAL_ALERT: Final = "community_gate_central_alert"
SIGNAL_CENTRAL: Final = "community_gate_central_{}"
SIGNAL_CENTRE: Final = "community_gate_centre_{}"
