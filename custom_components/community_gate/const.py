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
CONF_BUILDING: Final = "building"
CONF_PULSE_SECONDS: Final = "pulse_seconds"
DEFAULT_PULSE_SECONDS: Final = 5
ACTUATOR_DOMAINS: Final = ("lock", "switch", "cover", "button")

# Options
OPT_RETENTION_DAYS: Final = "retention_days"
DEFAULT_RETENTION_DAYS: Final = 180

EVENT_PASSAGE: Final = "community_gate_passage"
EVENT_EMERGENCY: Final = "community_gate_emergency"

# Dispatcher signals (formatted with the entry id)
SIGNAL_PASSAGE: Final = "community_gate_passage_{}"
SIGNAL_STATE: Final = "community_gate_state_{}"

# Alerts (rules.py in core, alerts.py here)
EVENT_ALERT: Final = "community_gate_alert"
SIGNAL_ALERT: Final = "community_gate_alert_{}"
CONF_DOOR: Final = "door_contact"  # optional binary_sensor of a gate: on = open
OPT_RULES: Final = "rules"  # options section holding the rule parameters
ACK_ACTION_PREFIX: Final = "CG_ACK_"  # notification action: CG_ACK_<entry_id>_<alert_id>
