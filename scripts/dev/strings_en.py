"""Source of strings.json / translations/en.json (run scripts/dev/gen_strings.py)."""

# The add / update person fields are core's; run with the repository on sys.path.
from custom_components.community_gate.core.person_fields import ACTION_PERSON_KEYS

REASONS = {
    "granted": "Granted",
    "remote_open": "Opened remotely",
    "emergency_open": "Emergency open",
    "unknown_credential": "Unknown credential",
    "malformed_credential": "Malformed credential",
    "credential_revoked": "Credential revoked",
    "credential_not_yet_valid": "Credential not yet valid",
    "credential_expired": "Credential expired",
    "credential_used_up": "Credential used up",
    "person_blocked": "Person blocked",
    "person_not_yet_valid": "Person not yet valid",
    "person_expired": "Person no longer valid",
    "lease_expired": "Lease expired",
    "gate_not_allowed": "Gate not allowed",
    "direction_not_allowed": "Direction not allowed",
    "outside_schedule": "Outside schedule",
    "method_not_accepted": "Method not accepted at this gate",
    "throttled": "Too many failed attempts (locked out)",
    "not_permitted": "Not permitted (details for staff)",
}
METHODS = {
    "face": "Face",
    "card": "Card",
    "id_card": "ID card",
    "qr": "QR pass",
    "pin": "PIN",
    "fingerprint": "Fingerprint",
    "remote": "Remote",
    "emergency": "Emergency",
}
KINDS = {k: METHODS[k] for k in ("card", "id_card", "pin", "qr", "fingerprint")}
ROLES = {
    "tenant": "Tenant (lease holder)",
    "co_resident": "Co-resident",
    "visitor": "Visitor",
    "service": "Service (courier, delivery, contractor)",
    "staff": "Property staff",
}
ENTRY_FIELD = {
    "name": "Estate",
    "description": "The estate entry to use. Only needed when more than one estate is set up.",
}

GATE_DATA = {
    "name": "Name",
    "gate_id": "Gate ID",
    "kind": "Kind",
    "direction": "Direction",
    "actuator": "Actuator",
    "pulse_seconds": "Open pulse",
    "camera": "Camera",
    "stream_url": "Stream URL",
    "presence": "Presence sensor",
    "building": "Building",
    "methods": "Accepted methods",
    "mqtt_device": "MQTT controller",
}
GATE_DESC = {
    "name": 'Shown on the gate\'s device, e.g. "East gate" or "Building 3 door".',
    "gate_id": "Short ID readers and actions use (letters, digits, _ . -). Leave empty to derive it from the name. It cannot be changed later.",
    "kind": "An estate gate admits all residents; a building door only that building's residents and their visitors.",
    "direction": "Which way people pass this reader.",
    "actuator": "The lock, switch (relay), cover (barrier) or button that opens the gate.",
    "pulse_seconds": "How long a switch stays on, or a lock stays unlocked, before it is released.",
    "camera": "Optional camera for face recognition at this gate.",
    "stream_url": "Optional rtsp:// or http(s):// stream of the gate camera, read directly (lower latency than the camera entity; used instead of it when both are set). Credentials in the URL are never logged.",
    "presence": "Optional binary sensor that tells when someone stands at the gate.",
    "building": "Required for a building door: the building whose residents it admits.",
    "methods": "The credentials this gate's readers accept. Face must never be the only way in: keep a card, QR or PIN reader too.",
    "mqtt_device": "Optional device ID of the gate's MQTT controller (e.g. gc-east). Its readers feed this gate; with no actuator entity, its relay opens the gate. Provision its key with the provision_device action.",
}

EXCEPTIONS = {
    "face_duplicate": 'This face already belongs to person "{other_person_id}" (distance {distance}). One face, one person: check the photo. If they really are different people (siblings, twins), enroll again naming "{other_person_id}" as different.',
    "unknown_stranger": 'No stranger "{cluster_id}" (it may have expired, been merged or been assigned already).',
    "face_unavailable": "Face recognition is not running ({why}). Cards, PINs and QR passes still work.",
    "camera_unavailable": "No image from camera {entity_id}.",
    "image_source_required": "Give a camera (camera_entity_id) or an image file (file_path), or upload the photo.",
    "consent_required": 'Person "{person_id}" has no recorded consent to face recognition. Record the consent first; cards, PINs and QR passes do not need it.',
    "image_invalid": "The image cannot be used ({why}).",
    "face_quality": "The photo cannot be enrolled ({why}).",
    "face_models_missing": "The face recognition models are not installed. Face access is off; cards, PINs and QR passes still work.",
    "face_engine_failed": "The face engine failed to load (the Home Assistant log has the details). Face access is off; cards, PINs and QR passes still work. Reload the estate once the installation is fixed.",
    "database_unavailable": "The estate database {path} cannot be opened or written: {error}. Check the path, free disk space and permissions.",
    "database_corrupt": "The estate database {path} is damaged ({error}). It was left untouched; restore it from a backup or move it away so a new one is created.",
    "database_too_new": "The estate database {path} was written by a newer version of Community Gate ({error}). Update the integration.",
    "database_error": "Database error: {error}",
    "estate_topic_taken": 'This estate\'s name gives the MQTT topic "{topic}", which the estate "{other}" already uses. Two estates must not share one topic tree: rename one of them (⋮ → Reconfigure), then reload this one.',
    "key_file_error": "The estate key file beside {path} is unreadable or damaged ({error}). Without it stored cards and PINs cannot be checked; restore it from a backup.",
    "not_found": "Not found.",
    "unknown_unit": 'There is no unit with ID "{unit_id}".',
    "unknown_person": 'There is no person with ID "{person_id}".',
    "unknown_credential": 'There is no credential with ID "{credential_id}".',
    "unknown_gate": 'There is no gate with ID "{gate_id}". Add it as a gate of the estate first.',
    "unknown_device": 'There is no MQTT device with ID "{device_id}". Provision it first.',
    "device_in_use": 'Device "{device_id}" is the relay of gate "{gate_id}": choose another relay for the gate first, or provision the device again to replace its key.',
    "mqtt_unavailable": "Gate {gate_id} did not open: it opens through an MQTT controller, and Home Assistant's MQTT integration is not set up (see Repairs). The attempt is logged as passage {passage_id}.",
    "duplicate": "That already exists.",
    "duplicate_unit": 'Unit "{unit_id}" already exists (or another unit has that building and number).',
    "duplicate_person": 'A person with ID "{person_id}" already exists.',
    "duplicate_credential": 'This {kind} credential is already registered (credential ID "{credential_id}" or the same card, PIN or token belongs to someone). Revoke the old one first.',
    "invalid_value": "Invalid value for {field}.",
    "invalid_credential_value": "Invalid {kind} value: {why}.",
    "pin_too_short": "A PIN needs at least {min} digits at this estate.",
    "invalid_schedule": 'Invalid schedule ({why}). Use a list of windows like {{"days": [1, 2, 3, 4, 5], "start": "07:00", "end": "22:00"}} (days 1 = Monday to 7 = Sunday).',
    "invalid_validity": "The end of the validity period must be after its start.",
    "visitor_pass_too_long": "A visitor pass can last at most {max_days} days.",
    "invalid_id": "Invalid {field}: use 1 to 64 letters, digits, _ . or -, starting with a letter or digit.",
    "credential_already_revoked": 'Credential "{credential_id}" was already revoked.',
    "unit_in_use": 'Unit "{unit_id}" still has {count} people.',
    "core_error": "The request could not be completed.",
    "entry_not_loaded": 'The estate entry "{entry_id}" is not set up or not loaded.',
    "no_estate": "No estate is set up. Add the Community Gate integration first.",
    "estate_ambiguous": "More than one estate is set up: say which one with config_entry_id.",
    "admin_required": "Only an administrator can run the {action} action.",
    "face_engine_mismatch": "Face data of the {engine} engine cannot be compared with another engine's, or the engine is unknown. Re-enroll the faces with the estate's engine.",
    "value_in_panel": "A {kind} number cannot be given in an action, because Home Assistant records every action's data. Enter it in the Community Gate staff panel (a desk USB card reader can type it there).",
    "visitor_host_required": "Give either an existing visitor's person_id or the host unit_id.",
    "actuator_missing": "Gate {gate_id} did not open: its actuator entity does not exist. The attempt is logged as passage {passage_id}.",
    "actuator_unavailable": "Gate {gate_id} may not have opened: its actuator is unavailable (the entity is unavailable, or the MQTT controller is offline or unreachable). The attempt is logged as passage {passage_id}.",
    "actuator_timeout": "Gate {gate_id} may not have opened: its actuator did not answer in time. The attempt is logged as passage {passage_id}.",
    "actuator_failed": "Gate {gate_id} did not open: its actuator reported an error. The attempt is logged as passage {passage_id}.",
    "emergency_not_opened": "Emergency open-all is on, but these gates did not open: {gate_ids}. Each attempt is logged as a passage; send someone to open them.",
    "terminal_unauthenticated": "Only a provisioned terminal can ask for a face decision: sign the request with the terminal's key (see docs/mqtt.md). A Home Assistant login is not enough.",
    "terminal_wrong_gate": "This terminal is not provisioned for that gate.",
    "terminal_replay": "The request's counter was already used by this device (on HTTP or MQTT). Each request needs a larger counter.",
    "terminal_stale": "The request's time is more than 5 minutes off the hub's clock. Set the terminal's clock, or send ts 0.",
    "actuator_domain": "The actuator must be a lock, switch, cover or button.",
}

FIELD_DESC = {
    "notice_version": (
        "Notice version",
        "Which version of the privacy notice the person was shown and agreed to.",
    ),
    "guardian": (
        "Given by a guardian",
        "Consent given by a parent or guardian (required for children under 14).",
    ),
    "variant": ("Variant", "A plain face, or the same person wearing a mask (an extra reference)."),
    "camera_entity_id": ("Camera", "Take the photo from this camera's current image."),
    "file_path": ("Image file", "An image file in a folder listed in allowlist_external_dirs."),
    "different_from": (
        "Different from",
        "Only when a face was refused as another person's and you checked they are different people (siblings, twins): that person's ID. Audited; at the gate a face near both is refused rather than guessed.",
    ),
    "unit_id": ("Unit ID", 'Your ID for the unit, e.g. "3-2-1201".'),
    "building": ("Building", "Building name or number."),
    "number": ("Unit number", "Unit (apartment) number within the building."),
    "rent_arrears": (
        "Rent arrears",
        "The unit is behind with rent. Its people still pass; staff are told.",
    ),
    "lease_until": ("Lease until", "When the lease ends. Residents are refused after it."),
    "person_id": ("Person ID", "ID of the person. Generated when left empty on add."),
    "cluster_id": (
        "Stranger ID",
        "ID of an unknown-face cluster (stranger_...), as shown in the passage log.",
    ),
    "role": ("Role", "The person's role at the estate."),
    "company": ("Company", "For service people: their employer."),
    "special_attention": ("Special attention", "Watch for long absences (e.g. an elderly person)."),
    "lives_alone": ("Lives alone", "The person lives alone."),
    "blocked": ("Blocked", "Refuse this person at every gate."),
    "valid_from": ("Valid from", "Start of validity. Empty means from now on."),
    "valid_until": ("Valid until", "End of validity. Empty means no end."),
    "allowed_gates": (
        "Allowed gates",
        "Gate IDs this person may use. Empty means the role's usual gates.",
    ),
    "schedule": (
        "Schedule",
        'Weekly windows, e.g. [{"days": [1,2,3,4,5], "start": "08:00", "end": "18:00"}]. Empty means any time.',
    ),
    "kind": ("Kind", "Credential kind."),
    "credential_id": ("Credential ID", "ID of the credential."),
    "max_uses": ("Maximum uses", "Refuse the credential after this many passages."),
    "hours": ("Hours", "Validity in hours when no end is given."),
    "gate_id": ("Gate", "Gate ID."),
    "direction": ("Direction", "Passing in or out. Defaults to the gate's direction."),
    "reason": ("Reason", "Why, for the passage log."),
    "active": ("Active", "Turn emergency open-all on or off."),
    "device_id": (
        "Device ID",
        "ID of the MQTT field device (gate controller, reader or terminal), as set in its configuration.",
    ),
}

SERVICES = {
    "add_unit": (
        "Add unit",
        "Registers a unit (building and number).",
        ["unit_id", "building", "number", "rent_arrears", "lease_until"],
    ),
    "update_unit": (
        "Update unit",
        "Changes a unit, e.g. its rent-arrears flag or lease end.",
        ["unit_id", "building", "number", "rent_arrears", "lease_until"],
    ),
    "add_person": (
        "Add person",
        "Registers a resident, visitor, service person or staff member. Names are entered in the staff panel, never through an action (Home Assistant records action data).",
        list(ACTION_PERSON_KEYS),
    ),
    "update_person": (
        "Update person",
        "Changes a person's details, flags, validity, gates or schedule.",
        list(ACTION_PERSON_KEYS),
    ),
    "remove_person": (
        "Remove person",
        "Removes a person and their credentials. Past passages stay in the log until retention removes them.",
        ["person_id"],
    ),
    "add_credential": (
        "Add credential",
        "Gives a person a generated PIN or QR token, answered once. Card, ID-card and fingerprint numbers are entered in the staff panel: Home Assistant records every action's data, so no action takes a credential value.",
        ["person_id", "kind", "credential_id", "valid_from", "valid_until", "max_uses"],
    ),
    "revoke_credential": (
        "Revoke credential",
        "Stops a credential from opening any gate.",
        ["credential_id"],
    ),
    "issue_visitor_pass": (
        "Issue visitor pass",
        "Creates a QR visitor pass, for an existing visitor or a new visitor of a host unit, and returns its token.",
        [
            "person_id",
            "unit_id",
            "valid_from",
            "valid_until",
            "hours",
            "allowed_gates",
            "max_uses",
        ],
    ),
    "open_gate": (
        "Open gate",
        "Opens a gate remotely. Logged with the reason.",
        ["gate_id", "reason", "direction"],
    ),
    "set_emergency": (
        "Set emergency",
        "Emergency open-all: opens every gate and lets everyone through until turned off. Logged.",
        ["active", "reason"],
    ),
    "record_consent": (
        "Record consent",
        "Records that a person (or their guardian) agreed to face recognition under a given notice. Required before enrolling a face.",
        ["person_id", "notice_version", "guardian"],
    ),
    "withdraw_consent": (
        "Withdraw consent",
        "Withdraws face consent and erases the person's face data at once. Cards, PINs and QR passes keep working.",
        ["person_id"],
    ),
    "provision_device": (
        "Provision field device",
        "Creates a new key for a field device (an MQTT controller, or a face terminal on MQTT or HTTP) bound to a gate and returns it once. Copy it into the device's secrets; a new key replaces the old one.",
        ["device_id", "gate_id"],
    ),
    "remove_device": (
        "Remove field device",
        "Forgets a field device and its key (a reader taken down, a lost or stolen terminal): everything it signs is refused from then on. Refused for the device that is a gate's relay.",
        ["device_id"],
    ),
    "enroll_face": (
        "Enroll face",
        "Enrolls a reference photo of a person from a camera or an image file. Refused without consent, for a poor photo, or if the face already belongs to someone else.",
        ["person_id", "variant", "camera_entity_id", "file_path", "different_from"],
    ),
    "assign_stranger": (
        "Assign stranger to a person",
        "Says who an unknown face was: the stranger's passages take the person's ID and the stranger ID is forgotten. With face consent the person is recognised from then on.",
        ["cluster_id", "person_id"],
    ),
}

GATE_KINDS = {"estate_gate": "Estate gate", "building_door": "Building door"}
DIRECTIONS = {"in": "In", "out": "Out", "both": "Both"}
CONFIG = {
    "user_title": "Set up the estate",
    "user_desc": 'Name the estate and choose where its database lives. The database is a SQLite file in the Home Assistant configuration folder unless you give an absolute path. Add gates afterwards with "Add gate".',
    "reconf_title": "Change the estate",
    "reconf_desc": "Rename the estate or point it at another database file.",
    "estate_data": {"name": "Estate name", "db_path": "Database file"},
    "estate_data_desc": {
        "name": 'Shown on the estate device, e.g. "Maple Court".',
        "db_path": "SQLite file holding people, credentials and passages. Relative paths are inside the configuration folder.",
    },
    "db_errors": {
        "db_path_empty": "Give a database file name.",
        "database_unavailable": "The database file cannot be created or opened here. Check the path and permissions.",
        "database_corrupt": "That file is not a usable Community Gate database (damaged or not SQLite). Nothing was changed.",
        "database_too_new": "That database was written by a newer version of Community Gate.",
        "database_error": "The database cannot be used.",
        "estate_topic_taken": "Another estate's name gives the same MQTT topic (names are compared as lower-case letters, digits and underscores). Choose a different name, so the two estates' devices do not share one topic tree.",
    },
    "abort": {
        "already_configured": "An estate already uses this database file.",
        "reconfigure_successful": "The estate was updated.",
        "database_in_use": "Another estate already uses that database file.",
    },
    "options_title": "Estate options",
    "retention": "Keep passages for",
    "retention_desc": "Passages older than this are deleted every night.",
    "retention_err": "Choose between 1 and 3650 days.",
    "face_engine": "Face engine",
    "face_engine_desc": "ncnn (YuNet + SFace) finds masked and small faces and tells people apart far better; dlib is the face_recognition-compatible engine. Switching re-encodes people from kept photos; the others need a new photo (a repair tells you how many) and keep their cards and PINs meanwhile.",
    "face_strictness": "Face strictness",
    "face_strictness_desc": "How rarely a stranger may be taken for someone allowed through a gate. The bar tightens with how many people may pass each gate and aims at this rate, but the engine's calibration cannot set it tighter than 3 in a million per comparison: past a few hundred people per gate more strangers pass (measured with 2,000 people enrolled: 0.53 %, standard and strict alike). Use Card + face at such gates. Stricter asks residents to retry more often.",
    "invalid_choice": "Choose one of the listed values.",
    "capture_interval": "Camera frame interval",
    "capture_interval_desc": "Pause between two recognised frames at a camera gate.",
    "capture_interval_err": "Choose between 0.1 and 10 seconds.",
    "face_debounce": "Same-face quiet time",
    "face_debounce_desc": "A face seen again at the same gate within this time is not logged again.",
    "face_debounce_err": "Choose between 1 and 300 seconds.",
    "min_pin_length": "Minimum PIN length",
    "min_pin_length_desc": "Digits a newly enrolled PIN needs. PINs enrolled before keep working; their passages are flagged short_pin so they can be replaced.",
    "min_pin_length_err": "Choose between 4 and 8 digits.",
    "episode_window": "Repeated refusals: one row within",
    "episode_window_desc": "The same stranger, or the same person, refused again at the same gate within this time updates one row of the passage log (first and last seen, how many times) instead of adding one. Every try still fires its event. Failed card and PIN guesses always get a row each. 0 turns this off.",
    "episode_window_err": "Choose between 0 and 600 seconds.",
}
GATE = {
    "entry_type": "Gate",
    "add": "Add gate",
    "reconf": "Reconfigure gate",
    "add_desc": "A gate or door with its readers. Choose the entity that opens it; a camera and a presence sensor are optional.",
    "reconf_desc": "Change gate {gate_id}. Its ID stays the same so its history stays together.",
    "errors": {
        "name_empty": "Give the gate a name.",
        "actuator_domain": "The actuator must be a lock, switch, cover or button entity.",
        "actuator_required": "Choose the entity that opens the gate, or name the gate's MQTT controller.",
        "mqtt_device_invalid": "Use 1 to 64 letters, digits, _ . or -, starting with a letter or digit.",
        "pulse_out_of_range": "Choose between 1 and 60 seconds.",
        "building_required": "A building door needs the building it serves.",
        "methods_required": "Choose at least one accepted method.",
        "openers_invalid": "Choose the remote openers from the list of users.",
        "gate_id_invalid": "Use 1 to 64 letters, digits, _ . or -, starting with a letter or digit.",
        "gate_id_taken": "Another gate already has this ID.",
        "stream_url_invalid": "Use an rtsp://, rtsps://, http:// or https:// address with a host.",
    },
    "abort": {"reconfigure_successful": "The gate was updated."},
}
ENTITY = {
    "open": "Open",
    "passage": "Passage",
    "event_type": "Result",
    "granted": "Granted",
    "denied": "Denied",
    "method": "Method",
    "reason": "Reason",
    "last_passage": "Last passage",
    "last_method": "Last method",
    "people_enrolled": "People enrolled",
    "people_unit": "people",
    "passages_today": "Passages today",
    "passages_unit": "passages",
    "online": "Online",
    "emergency": "Emergency open-all",
}
ISSUES = {
    "database_corrupt": (
        "Estate database damaged",
        "The estate database at {path} cannot be read. Community Gate left it untouched and stopped setting up this estate: it does not retry by itself. Restore the file from a backup, or move it away to start a new, empty database; then reload the estate (Settings → Devices & services → Community Gate → ⋮ → Reload) or restart Home Assistant.",
    ),
    "database_too_new": (
        "Estate database from a newer version",
        "The estate database at {path} was written by a newer Community Gate. Update the integration to use it.",
    ),
    "key_file_error": (
        "Estate key file damaged",
        "The key file beside {path} is damaged. Stored cards, ID numbers and PINs can only be checked with the original key: restore it from a backup.",
    ),
}
VARIANTS = {"plain": "Plain face", "masked": "Wearing a mask"}

EXCEPTIONS["guardian_consent_required"] = (
    'Person "{person_id}" may be under 14: face data needs the consent of a parent or guardian. Record it with "Given by a guardian" on.'
)
FIELD_DESC.update(
    {
        "birth_year": (
            "Birth year",
            "Only the year. A child under 14 needs a guardian's consent to face recognition.",
        ),
        "since": ("Since", "Only entries at or after this time."),
        "until": ("Until", "Only entries before this time."),
        "user_id": (
            "User ID",
            'Only actions by this Home Assistant user ID ("system" for automations).',
        ),
        "action": ("Action", "Only this action, e.g. erase_person."),
        "subject": ("Subject", "Only actions on this person, credential, unit or gate ID."),
        "before_id": ("Before entry", "Page backwards: only entries older than this entry ID."),
    }
)
# ----------------------------------------------------------------- alert rules
RULES = {
    "special_attention": "Special attention: not seen",
    "long_absence": "Unit silent for long",
    "tailgating": "Tailgating",
    "frequent_stranger": "Frequent stranger",
    "rent_arrears": "Rent arrears",
    "unknown_face": "Unknown face",
    "device_offline": "Device offline",
    "door_held_open": "Door held open",
    "forced_open": "Door forced open",
    "fever": "Fever",
    "brute_force": "Credential guessing",
}
RULE_PARAMS = {
    "special_attention_hours": (
        "Special attention: hours unseen",
        "Alert when a person flagged for special attention (e.g. elderly living alone) has no passage for this many hours (1 to 8760).",
    ),
    "long_absence_days": (
        "Long absence: days",
        "Alert when nobody of a unit has passed for this many days: possible vacancy or sublet (1 to 3650).",
    ),
    "tailgating_seconds": (
        "Tailgating: seconds behind a resident",
        "An unknown face this soon after a resident at the same gate counts as tailgating (1 to 120).",
    ),
    "tailgating_count": (
        "Tailgating: times",
        "Alert when the same stranger tailgates this many times (1 to 1000) ...",
    ),
    "tailgating_days": ("Tailgating: within days", "... within this many days (1 to 365)."),
    "frequent_stranger_count": (
        "Frequent stranger: visits",
        "Alert when the same unregistered face, or the same visitor ID card, arrives this many times (2 to 10000) ...",
    ),
    "frequent_stranger_days": (
        "Frequent stranger: within days",
        "... within this many days (1 to 365).",
    ),
    "device_offline_minutes": (
        "Device offline: minutes",
        "Alert when a camera, reader or relay has not reported for this many minutes (1 to 10080).",
    ),
    "door_held_open_seconds": (
        "Door held open: seconds",
        "Alert when a door contact stays open this long (5 to 86400).",
    ),
    "forced_open_grace_seconds": (
        "Forced open: grace seconds",
        "A door that opens with no granted passage or exit request in this many seconds before was forced (1 to 600).",
    ),
    "fever_celsius": (
        "Fever: threshold °C",
        "Alert when a terminal measures this temperature or more (35 to 42).",
    ),
    "brute_force_count": (
        "Credential guessing: failed tries",
        "Alert when this many unknown, malformed or locked-out credentials are tried at one gate (5 to 10000) ...",
    ),
    "brute_force_seconds": (
        "Credential guessing: within seconds",
        "... within this many seconds (10 to 3600).",
    ),
    "repeat_hours": (
        "Repeat after hours",
        "At most one alert per rule and subject in this many hours, and none while one is open (1 to 8760).",
    ),
}
RULES_SECTION = {
    "name": "Alert rules",
    "description": "When each rule raises an alert. Defaults follow what property staff asked for.",
    "error": "{field} must be between {min} and {max}.",
}
ALERT_ENTITY = {
    "alerts": "Alert",
    "rule": "Rule",
    "alert_id": "Alert ID",
    "subject_kind": "About",
    "subject_id": "Subject",
    "open_alerts": "Open alerts",
    "alerts_unit": "alerts",
}
SUBJECT_KINDS = {
    "person": "Person",
    "unit": "Unit",
    "cluster": "Stranger",
    "gate": "Gate",
    "device": "Device",
}
GATE_DATA["door_contact"] = "Door contact"
GATE_DESC["door_contact"] = (
    "Optional binary sensor that is on while the door is open: for held-open and forced-open alerts."
)
EXCEPTIONS.update(
    {
        "unknown_alert": "There is no alert with ID {alert_id}.",
        "alert_already_resolved": "Alert {alert_id} is already resolved.",
        "invalid_rule_parameter": "{field} must be between {min} and {max}.",
        "invalid_reading": "Invalid {field}: a reading must be between {min} and {max}.",
        "estate_closed": "The estate is shutting down or was unloaded; try again once it is running.",
    }
)
FIELD_DESC.update(
    {
        "alert_id": ("Alert ID", "The alert's number, as in the community_gate_alert event."),
        "include_resolved": ("Include resolved", "Also list resolved alerts."),
        "rule": ("Rule", "Only alerts of this rule."),
        "limit": ("Limit", "At most this many entries or alerts, newest first."),
        "celsius": ("Temperature", "Measured body temperature in °C."),
    }
)
SERVICES.update(
    {
        "erase_person": (
            "Erase person",
            "Erases a person for good: face data, credentials, photos and consents are deleted; their passages stay under a random pseudonym. Cannot be undone.",
            ["person_id"],
        ),
        "export_person_data": (
            "Export person data",
            "Returns everything the estate holds about a person (subject access request): details, consents, credentials (as keyed hashes only), face templates and photos (listed), passages and audit entries.",
            ["person_id"],
        ),
        "query_audit_log": (
            "Query audit log",
            "Returns the log of administrative actions: who, what, on whom, when and the outcome.",
            ["since", "until", "user_id", "action", "subject", "limit", "before_id"],
        ),
        "rotate_key": (
            "Rotate sealing key",
            "Re-encrypts every face template, stranger cluster and kept photo under a new key in one step. Card and ID hashes keep their own key.",
            [],
        ),
        "acknowledge_alert": (
            "Acknowledge alert",
            "Marks an alert as seen by staff. It stays open until resolved.",
            ["alert_id"],
        ),
        "resolve_alert": ("Resolve alert", "Closes an alert.", ["alert_id"]),
        "list_alerts": (
            "List alerts",
            "Returns open alerts (or all), newest first, with ids and evidence.",
            ["include_resolved", "rule", "limit"],
        ),
        "report_temperature": (
            "Report temperature",
            "A terminal measured a temperature at a gate. Raises a fever alert over the threshold.",
            ["gate_id", "celsius", "person_id"],
        ),
    }
)
OPTIONS_DATA = {
    "cluster_retention_days": "Keep unknown-face clusters for",
    "photo_retention_days": "Keep photos for",
    "keep_photos": "Keep enrollment photos",
}
OPTIONS_DESC = {
    "cluster_retention_days": "An unregistered face not seen for this long is forgotten.",
    "photo_retention_days": "Kept photos are deleted this long after they were taken.",
    "keep_photos": "Off: photos are used for enrollment and discarded. On: kept encrypted until their retention ends.",
}
METHOD_OPTIONS = {k: METHODS[k] for k in ("face", "card", "id_card", "qr", "pin", "fingerprint")}
FACE_ENGINES = {
    "ncnn_sface_2021dec": "ncnn: YuNet + SFace (recommended)",
    "dlib_resnet_v1": "dlib: face_recognition-compatible",
}
FACE_STRICTNESS = {
    "relaxed": "Relaxed: aims at 1 stranger in 100",
    "standard": "Standard: aims at 1 stranger in 1,000",
    "strict": "Strict: aims at 1 stranger in 10,000",
}
ISSUES["face_reenroll"] = (
    "{count} people need a new face photo",
    "The estate now uses the face engine {engine}. {count} people were enrolled with another engine and no kept photo could re-encode them: their faces do not open gates until staff enroll a new photo (Community Gate panel, People). Their cards, PINs and QR passes keep working.",
)
ISSUES["face_only_gate"] = (
    "Face is the only way in at {name}",
    "Gate {gate_id} accepts only faces. Residents who do not consent to face recognition, children, visitors and anyone the camera fails to recognise must still get in: add a card, QR or PIN reader to the gate's accepted methods (Reconfigure gate).",
)
GATE_DATA["openers"] = "Remote openers"
GATE_DESC["openers"] = (
    "Home Assistant users who may open this gate remotely (its Open button and the open_gate action) besides administrators. Emergency open-all stays with administrators. Every remote opening is audited."
)
EXCEPTIONS["opened_not_logged"] = (
    "Gate {gate_id} opened (a way out opens even when the log fails), but its passage could not be written to the log. Note it by hand and check the database."
)

# ------------------------------------------------ the staff panel's own strings (issue 17)
# Written to custom_components/community_gate/frontend/strings/<language>.json, which the
# panel loads. A dict of plural forms (keys: the language's plural categories, as
# Intl.PluralRules names them) is one string chosen by {count}. Decision reasons, methods
# and alert rules come from the translations above (HA's own frontend/get_translations).
PANEL = {
    "title": "Estate gate",
    "people": "People",
    "enroll": "Enroll face",
    "passages": "Passages",
    "gates": "Gates",
    "strangers": "Strangers",
    "alerts": "Alerts",
    "search": "Search id, name, unit…",
    "generated_once": "Generated, shown only now",
    "desk_reader": "Desk reader: swipe or type",
    "present": "Present",
    "value_or_generate": "Number (empty: generate a PIN or QR)",
    "all_roles": "All roles",
    "all_flags": "All flags",
    "add_person": "Add person",
    "person_id": "Person ID",
    "name": "Name",
    "role": "Role",
    "unit": "Unit",
    "flags": "Flags",
    "none": "—",
    "prev": "Previous",
    "next": "Next",
    "older": "Older",
    "save": "Save",
    "cancel": "Cancel",
    "remove": "Remove",
    "close": "Close",
    "credentials": "Credentials",
    "kind": "Kind",
    "value": "Number / code",
    "add_credential": "Add credential",
    "revoke": "Revoke",
    "revoked": "revoked",
    "valid": "Valid",
    "uses": "Uses",
    "consent": "Consent",
    "consents": "Consents",
    "face_refs": "Face references",
    "last_seen": "Last seen",
    "visitor_pass": "Visitor pass",
    "hours": "Hours",
    "max_uses": "Max uses",
    "issue_pass": "Issue pass",
    "print": "Print",
    "pass_for": "Visitor pass",
    "token": "Token",
    "until": "Valid until",
    "notice_version": "Notice version",
    "guardian": "Given by a guardian (under 14)",
    "agreed": "The person has read the notice and agrees to face recognition",
    "record_consent": "Record consent",
    "consent_ok": "Consent recorded.",
    "withdraw": "Withdraw consent (erases face data)",
    "photo": "Photo",
    "upload": "Choose or take a photo",
    "camera": "Use this device's camera",
    "capture": "Capture",
    "variant": "Reference",
    "plain": "Plain face",
    "masked": "Wearing a mask",
    "enroll_btn": "Enroll",
    "enrolled": "Enrolled: face {px} px high.",
    "check": "Check photo",
    "quality_ok": "Photo is good: face {px} px high.",
    "gate": "Gate",
    "time": "Time",
    "method": "Method",
    "result": "Result",
    "reason": "Reason",
    "person": "Person",
    "granted": "Granted",
    "denied": "Denied",
    "any": "Any",
    "from": "From",
    "to": "To",
    "filter": "Filter",
    "live": "Live",
    "online": "Online",
    "offline": "Offline",
    "camera_ok": "Camera",
    "open": "Open",
    "open_reason": "Reason for opening",
    "emergency": "Emergency: open every gate",
    "emergency_on": "EMERGENCY: all gates open",
    "emergency_off": "End emergency",
    "lockdown": "Lockdown: only staff pass",
    "lockdown_on": "LOCKDOWN: every gate refuses all but staff",
    "lockdown_off": "End lockdown",
    "confirm_lockdown": "Lock down the estate? Every gate refuses everyone but staff until you end it.",
    "ignore": "Ignore (known)",
    "ignore_note": "Who is it? (note)",
    "days": "Days",
    "unignore": "Stop ignoring",
    "ignored": "Ignored until {until}: {note}",
    "faces_ready": {
        "one": "Face recognition ready (1 reference)",
        "other": "Face recognition ready ({count} references)",
    },
    "faces_off": "Face recognition off: {why}",
    # A passage episode: repeated refusals of one presence folded into one row.
    "episode": "×{count}, until {last}",
    "episode_title": {
        "one": "Refused once: {first}",
        "other": "Refused {count} times: first {first}, last {last}",
    },
    "sightings": "Sightings",
    "days_seen": "Days",
    "first_seen": "First seen",
    "show_passages": "Passages",
    "assign": "Assign to person",
    "assigned": {
        "one": "Assigned to {name}: 1 passage relabelled.",
        "other": "Assigned to {name}: {count} passages relabelled.",
    },
    "no_estate": "No estate is set up. Add Community Gate under Settings → Devices & services.",
    "loading": "Loading…",
    "nothing": "Nothing here yet.",
    "confirm_remove": "Remove {id}? Their passages stay in the log.",
    "confirm_withdraw": "Withdraw {id}'s face consent? Their face data is erased now.",
    "rule": "Rule",
    "subject": "Subject",
    "state": "State",
    "acknowledge": "Acknowledge",
    "resolve": "Resolve",
    "st_new": "New",
    "st_acknowledged": "Acknowledged",
    "st_resolved": "Resolved",
    "open_alerts": {"one": "1 open alert", "other": "{count} open alerts"},
    "show_resolved": "Show resolved",
    "units": "Units",
    "add_unit": "Add unit",
    "number": "Number",
    "lease_until": "Lease until",
    "rent_arrears": "Rent in arrears",
    "valid_from": "Valid from",
    "valid_until": "Valid until",
    "opened": "Opened.",
    "saved": "Saved.",
    "camera_unavailable": "No camera here (needs HTTPS or localhost); use the photo button.",
    "special_attention": "special attention",
    "lives_alone": "lives alone",
    "blocked": "blocked",
    "card": "Card",
    "id_card": "ID card",
    "pin": "PIN",
    "qr": "QR",
    "fingerprint": "Fingerprint",
    "face": "Face",
    "remote": "Remote",
    "emergency_m": "Emergency",
    "building": "Building",
    "tenant": "Tenant",
    "co_resident": "Co-resident",
    "visitor": "Visitor",
    "service": "Service",
    "staff": "Staff",
    # A person's access: allowed gates and the weekly schedule (issue 17, item 6)
    "access": "Access",
    "allowed_gates": "Allowed gates",
    "allowed_gates_hint": "None ticked: the role's gates (residents and visitors: every estate gate and their own building's doors; staff and service: every gate).",
    "schedule": "Weekly schedule",
    "schedule_hint": "No window: any time. Times are the estate's; a window that ends before it starts runs past midnight (22:00–06:00), and 24:00 is the end of the day.",
    "add_window": "Add window",
    "remove_window": "Remove window",
    "start": "Start",
    "end": "End",
    "save_access": "Save access",
    "access_saved": "Access saved.",
    "any_time": "Any time",
    "role_gates": "The role's gates",
    "windows": {"one": "1 window", "other": "{count} windows"},
    "weekdays": {
        "1": "Mon",
        "2": "Tue",
        "3": "Wed",
        "4": "Thu",
        "5": "Fri",
        "6": "Sat",
        "7": "Sun",
    },
    # Names in the strangers view and the log (issue 17, item 1)
    "person_or_name": "Person ID or name",
    "search_name": "Name contains…",
    "last_gate": "Last seen at",
    "marked_by": "marked by {user}",
    "why": {
        "no_face": "No face found. Face the camera, in good light.",
        "several_faces": "More than one face. Only the person enrolling should be in the photo.",
        "face_too_small": "Face too small. Come closer to the camera.",
        "too_blurred": "Too blurred. Hold still and check the focus.",
        "too_dark": "Too dark. Turn towards the light.",
        "too_bright": "Too bright. Avoid direct sun or flash.",
        "not_an_image": "That file is not a photo.",
        "corrupt": "The photo file is damaged.",
        "too_large_bytes": "The photo file is too large.",
        "too_many_pixels": "The photo is too large.",
        "empty": "The photo is empty.",
    },
    "err": {
        "face_unavailable": "Face recognition is not running yet. Try again in a moment; cards, PINs and QR passes work meanwhile.",
        "consent_required": "Record the person's consent first.",
        "face_duplicate": "This face already belongs to {other_person_id}.",
        "unknown_person": "No such person: check the person ID.",
        "too_large": "The photo file is too large (20 MB at most).",
        "unsupported_media_type": "Upload a JPEG, PNG or WebP photo.",
        "unauthorized": "Only administrators can do this.",
        "person_id_required": "Enter the person ID first.",
        "window_no_days": "Window {n}: tick at least one day.",
        "window_time": "Window {n}: start and end must be times like 07:30 (24:00 is the end of the day).",
        "window_same": "Window {n}: it cannot start and end at the same time.",
        "invalid_format": "That value is not valid here.",
        "several_match": "Several people match “{text}”: type more of the name, or the person ID.",
        "no_match": "No one matches “{text}”.",
    },
}


# ------------------------------------------- lockdown and ignored strangers (issue 17)
REASONS["lockdown"] = "Lockdown: only staff pass"
ENTITY["lockdown"] = "Lockdown"
FIELD_DESC.update(
    {
        # Per service: set_lockdown's "active" is not set_emergency's.
        "set_lockdown.active": ("Active", "Turn lockdown on or off."),
        "note": (
            "Note",
            "Who this is and why no alert is needed, for staff (e.g. the postman, comes weekdays about 10:00). Shown only in the admin panel.",
        ),
        "days": ("Days", "How long the mark holds (1 to 366 days); alerts come back after it."),
    }
)
SERVICES.update(
    {
        "set_lockdown": (
            "Set lockdown",
            "Lockdown: every gate refuses all credentials except property staff's, until turned off. Emergency open-all still opens every gate. Audited.",
            ["active"],
        ),
        "ignore_stranger": (
            "Ignore stranger",
            "Marks a stranger as known (e.g. a postman who will never enrol): no unknown-face or frequent-stranger alert about them until the mark ends, and their open ones are resolved. The gate still refuses the face. Audited.",
            ["cluster_id", "note", "days"],
        ),
        "unignore_stranger": (
            "Stop ignoring stranger",
            "Lifts a stranger's ignore mark: alerts about them come back.",
            ["cluster_id"],
        ),
    }
)

# ------------------------------------------------ stranger snapshots (issue 17, item 3)
OPTIONS_DATA["keep_stranger_snapshots"] = "Keep a snapshot of each stranger"
OPTIONS_DATA["stranger_snapshot_days"] = "Keep stranger snapshots for"
OPTIONS_DESC["keep_stranger_snapshots"] = (
    "Off (default): nothing of a stranger's face is kept but the encrypted numbers that recognise them again. On: the best small face crop of each unrecognised person is kept encrypted, shown only to administrators in the panel's Strangers view, and deleted with the stranger or after its retention. Say so in the notice at the gates."
)
OPTIONS_DESC["stranger_snapshot_days"] = (
    "Each snapshot is deleted this long after it was taken (1 to 30 days), or earlier with its stranger."
)
OPTIONS_ERRORS = {"stranger_snapshot_days_out_of_range": "Choose between 1 and 30 days."}
EXCEPTIONS["unknown_stranger_snapshot"] = (
    'No snapshot is kept of stranger "{cluster_id}" (the option is off, it expired, or the camera has not had a good look yet).'
)
PANEL.update(
    {
        "snapshot": "Snapshot",
        "snapshot_alt": "Face of this stranger",
        "snapshot_taken": "Taken {time}",
        "no_snapshot": "No snapshot yet",
        "snapshots_note": "Snapshots are kept encrypted, only for administrators, and deleted with the stranger or after their retention.",
    }
)

# ---------------------------------- the panel's face engine and look-alike bits (issue 14)
PANEL.update(
    {
        "face_reenroll": "Needs a new face photo (face engine changed)",
        "face_engine": "Engine: {engine}",
        "engines": {
            "ncnn_sface_2021dec": "ncnn (YuNet + SFace)",
            "dlib_resnet_v1": "dlib (face_recognition)",
        },
        "reenroll_count": {
            "one": "1 person needs a new face photo",
            "other": "{count} people need a new face photo",
        },
        "duplicate_of": "This face is very close to the face of {name}: distance {distance}. Check the photo: one face, one person.",
        "different_people": "They are different people (siblings, twins)",
        "look_alike_checked": "You confirmed they are different people; enrolling records that in the audit log.",
        "look_alike_audited": "Recorded in the audit log that they are different people.",
    }
)

# ------------------------------------------------ the central store (issue 16)
# Merged as is into strings.json / translations (gen_strings.py: CENTRAL).
_CENTRAL_REASONS = {
    "central_cannot_connect": "The central store does not answer at that address. Check the host, port and firewall.",
    "central_invalid_auth": "The central store refused the user name or password.",
    "central_tls": "The encrypted connection failed: check the TLS mode and the CA file.",
    "central_permission": "The role may not do what it needs: an estate's role writes its own estate's rows, the centre's role reads (see docs/central.md).",
    "central_schema_newer": "The central store was set up by a newer version of Community Gate. Update the integration.",
    "central_schema_missing": "The central store has no Community Gate tables yet: connect an estate to it first.",
    "central_invalid_dsn": "Use an address like postgresql://user@host:5432/database.",
    "central_ca_file": "That CA file does not exist on the hub.",
    "central_estate_code": "Give the estate's code at the centre: 1 to 32 lower-case letters, digits or -, not starting with -.",
    "central_estate_code_taken": "Another hub already replicates under this estate code at the centre. Give this estate its own code, or, if this hub replaces the old one, have the centre's administrator release the code first (docs/central.md).",
    "central_repair_minutes": "Choose between 1 and 10080 minutes.",
}
_LINK_DATA = {
    "dsn": "Central store address (DSN)",
    "password": "Password",
    "tls": "TLS",
    "ca_file": "CA file",
}
_LINK_DESC = {
    "dsn": "postgresql://user@host:5432/database. A password typed here is moved to the password field and never shown again.",
    "password": "Left empty, the stored password is kept. It is never shown, logged or put in diagnostics.",
    "tls": "How the connection is encrypted. Use verify-full on any network you do not own.",
    "ca_file": "Path on the hub of the certificate authority that signed the server's certificate (verify-full). Empty: the system's.",
}
# The estate code and the repair threshold are asked in the estate's options only.
_OPTIONS_ONLY = ("central_estate_code", "central_repair_minutes")
_CENTRE_DATA = {**_LINK_DATA, "purge": "Run the nightly retention purge"}
_CENTRE_DESC = {
    **_LINK_DESC,
    "purge": "Deletes, each night, what is past each estate's retention at the centre and drops months nobody keeps. The role then needs DELETE on the centre's tables and to own them (docs/central.md); off, the role can stay read-only and the purge runs elsewhere.",
}
CENTRAL = {
    "config": {
        "step": {
            "user": {
                "title": "What is this hub?",
                "description": "An estate runs its own gates and people. A command centre reads every estate's passages and alerts from the central store.",
                "menu_options": {
                    "estate": "An estate (this hub runs its gates)",
                    "centre": "The command centre (reads every estate)",
                },
            },
            "centre": {
                "title": "Command centre",
                "description": "Connect to the central store with a read-only role. Every estate that replicates there shows up here with its figures and alerts.",
                "data": _CENTRE_DATA,
                "data_description": _CENTRE_DESC,
            },
            "reconfigure_centre": {
                "title": "Change the command centre",
                "description": "Point the centre at another address or give it a new password.",
                "data": _CENTRE_DATA,
                "data_description": _CENTRE_DESC,
            },
            "reauth_confirm": {
                "title": "New central store password",
                "description": "The central store at {host} (database {database}) refused the password {name} keeps for it: it was probably changed there. Enter the new one; it is tested before it is kept. Nothing else about the link changes.",
                "data": {"password": "Password"},
                "data_description": {
                    "password": "The role's new password. It is never shown, logged or put in diagnostics.",
                },
            },
        },
        "error": {
            **{k: v for k, v in _CENTRAL_REASONS.items() if k not in _OPTIONS_ONLY},
            "invalid_choice": "Choose one of the listed values.",
        },
        "abort": {
            "centre_already_configured": "A command centre already reads this central store.",
            "reauth_successful": "The new password works and is kept.",
        },
    },
    "options": {
        "step": {
            "init": {
                "sections": {
                    "central": {
                        "name": "Central store",
                        "description": "Replicate this estate's passages, alerts, directory data and device status to the operator's central PostgreSQL. The estate keeps working on its own when the line is down and catches up afterwards. Face data and credentials never leave the hub.",
                        "data": {
                            "enabled": "Replicate to the central store",
                            **_LINK_DATA,
                            "estate_code": "Estate code",
                            "share_names": "Share person names",
                            "repair_minutes": "Warn when the link is down for",
                            "card_secret": "Operator card secret",
                        },
                        "data_description": {
                            "enabled": "Off: nothing leaves the hub. Turning it on tests the connection first.",
                            **_LINK_DESC,
                            "estate_code": "This estate's code at the centre, e.g. maple-court. Its role may write only this estate's rows.",
                            "share_names": "Off (recommended): the centre sees ids, units, roles and flags only. On: people's display names cross too; say so in the notice to residents, and the centre must protect them as this hub does.",
                            "repair_minutes": "A repair issue is raised when the centre has not been reached for this long.",
                            "card_secret": "Optional, the same at every estate of the operator: visitor ID cards registered from now on get a token the centre can match across estates (the same visitor card at many estates). The number never leaves the hub. Never shown; left empty, the stored one is kept.",
                        },
                    }
                }
            }
        },
        "error": {k: v for k, v in _CENTRAL_REASONS.items() if k != "central_schema_missing"},
    },
    "selector": {
        "tls": {
            "options": {
                "disable": "Off (a trusted local network only)",
                "prefer": "Prefer TLS (not verified)",
                "require": "Require TLS (not verified)",
                "verify-full": "Require TLS and verify the server",
            }
        }
    },
    "entity": {
        "sensor": {
            "central_backlog": {
                "name": "Central store backlog",
                "unit_of_measurement": "rows",
            },
            "central_lag": {"name": "Central store lag"},
            "centre_passages_today": {
                "name": "Passages today",
                "unit_of_measurement": "passages",
            },
            "centre_open_alerts": {"name": "Open alerts", "unit_of_measurement": "alerts"},
            "centre_offline_devices": {
                "name": "Offline devices",
                "unit_of_measurement": "devices",
            },
            "centre_backlog": {"name": "Hub backlog", "unit_of_measurement": "rows"},
            "centre_lag": {"name": "Hub lag"},
            "centre_repeat_cards": {
                "name": "Visitor cards at several estates",
                "unit_of_measurement": "cards",
            },
        },
        "event": {
            "centre_alerts": {
                "name": "Estate alerts",
                "state_attributes": {
                    "event_type": {"name": "Rule", "state": None},  # filled from RULES
                    "estate": {"name": "Estate"},
                    "estates": {"name": "Estates"},
                    "alert_id": {"name": "Alert ID"},
                    "subject_kind": {"name": "About"},
                    "subject_id": {"name": "Subject"},
                    "state": {"name": "State"},
                },
            }
        },
    },
    "issues": {
        "central_estate_code_taken": {
            "title": "{estate}: estate code {code} belongs to another hub",
            "description": "The central store records another hub as the owner of the estate code {code}, so {estate} sends it nothing (its rows wait on the hub). Give this estate its own code in its options, or, if this hub replaces the old one, have the centre's administrator release the code (docs/central.md); replication then resumes by itself.",
        },
        "central_down": {
            "title": "{estate} cannot reach the central store",
            "description": "The estate {estate} has not reached the central store for more than {minutes} minutes; {backlog} rows wait on the hub and are sent, in order, once the link is back. The gates keep working. Check the network and the PostgreSQL server, then the estate's diagnostics (last error).",
        },
    },
    "exceptions": {
        "centre_unreachable": {
            "message": "The command centre cannot read the central store ({reason}).",
        },
        "centre_auth_failed": {
            "message": "The central store refused the command centre's password: enter the new one.",
        },
    },
}
PANEL.update(
    {
        "centre": "Command centre",
        "centre_view": "All estates",
        "passages_today": "Passages today",
        "estate": "Estate",
        "open_alerts_col": "Open alerts",
        "offline_devices": "Offline devices",
        "backlog": "Backlog",
        "lag": "Lag",
        "centre_alerts": "Alerts across estates",
        "centre_stale": "The central store did not answer at the last poll: these figures may be old.",
        "centre_passages": "Passages of {estate} at the centre",
        "seconds": "{count} s",
        "no_estates_yet": "No estate has replicated to the central store yet.",
        "repeat_cards": "Visitor ID cards at several estates (7 days)",
        "card_token": "Card (token)",
        "estates_col": "Estates",
    }
)

# ------------------------------------------ presentation attacks, card + face (issue 15)
REASONS["presentation_attack"] = "Photo, screen or replay refused"
REASONS["second_factor_required"] = "Second credential needed"
RULES["spoof_attempt"] = "Spoof attempts"
RULE_PARAMS["spoof_attempt_count"] = (
    "Spoof attempts: times",
    "Alert when a photo, screen or replay is refused this many times (1 to 1000) for the same person or stranger at one gate ...",
)
RULE_PARAMS["spoof_attempt_minutes"] = (
    "Spoof attempts: within minutes",
    "... within this many minutes (1 to 1440).",
)
RULES["card_face_mismatch"] = "Card used with another face"
RULE_PARAMS["card_face_mismatch_count"] = (
    "Card with another face: times",
    "Alert when one person's card, PIN or other credential is followed at a card + face gate by a live face that is not theirs this many times (1 to 1000) ...",
)
RULE_PARAMS["card_face_mismatch_minutes"] = (
    "Card with another face: within minutes",
    "... within this many minutes (1 to 1440).",
)
GATE_DATA["pad_level"] = "Photo and screen defence"
GATE_DATA["face_mode"] = "Face alone or with a card"
GATE_DESC["pad_level"] = (
    "Off: any matching face opens (only for a terminal with its own defence). Live face (default): the face must move like a living person across the camera's frames; a photo or screen held still is refused. Live face + prompt: the terminal also asks for a random head turn or blink. A good video replay or mask can still pass: require a card as well where that matters."
)
GATE_DESC["face_mode"] = (
    "Face alone, or card + face: the face and a card, ID card, QR code, PIN or fingerprint of the same person within 30 seconds, in either order."
)
GATE["errors"]["pad_level_invalid"] = "Choose one of the listed levels."
GATE["errors"]["face_mode_invalid"] = "Choose one of the listed modes."
GATE["errors"]["face_mode_needs_methods"] = (
    "Card + face needs Face and at least one other accepted method."
)
PAD_LEVELS = {
    "off": "Off",
    "stream": "Live face",
    "challenge": "Live face + prompt",
}
FACE_MODES = {
    "face_alone": "Face alone",
    "card_and_face": "Card + face",
}
ISSUES["mqtt_missing"] = (
    "Gates wait for MQTT",
    "These gates open through an MQTT controller: {gates}. Home Assistant's MQTT integration is not set up, so they cannot open and their readers are not heard. Add the MQTT integration with your broker (Settings → Devices & services → Add integration → MQTT): the estate reloads by itself once MQTT is set up (if it does not, reload the estate). Or give the gates a lock, switch or cover entity instead (Reconfigure gate).",
)
# The centre's alert entity: every rule that is not staff-only, once RULES is complete
# (rules added further up the file, e.g. spoof_attempt, are included).
CENTRAL["entity"]["event"]["centre_alerts"]["state_attributes"]["event_type"]["state"] = {
    **{
        k: v
        for k, v in RULES.items()
        if k not in ("special_attention", "long_absence", "rent_arrears", "fever")
    },
    "repeat_visitor_card": "Same visitor ID card at several estates",
}
