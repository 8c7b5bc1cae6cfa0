"""Generate strings.json, translations/*.json, services.yaml and the staff panel's own
strings (frontend/strings/*.json) from one source per language, so they stay in step.
Run: .venv/bin/python scripts/dev/gen_strings.py"""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
import sys

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMP = ROOT / "custom_components" / "community_gate"
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))

from custom_components.community_gate.core.model import Role  # noqa: E402
from custom_components.community_gate.core.person_fields import (  # noqa: E402
    PERSON_FIELDS,
    FieldKind,
)
from custom_components.community_gate.core.privacy import MIN_BIRTH_YEAR  # noqa: E402

# The selector of each kind of person field; the person services' fields are core's.
PERSON_SELECTORS = {
    FieldKind.ID: {"text": {}},
    FieldKind.TEXT: {"text": {}},
    FieldKind.ROLE: {
        "select": {"options": [r.value for r in Role], "translation_key": "role"},
    },
    FieldKind.FLAG: {"boolean": {}},
    FieldKind.TIME: {"datetime": {}},
    FieldKind.GATES: {"text": {"multiple": True}},
    FieldKind.SCHEDULE: {"object": {}},
    FieldKind.YEAR: {"number": {"min": MIN_BIRTH_YEAR, "max": 2100, "mode": "box"}},
}
# Other services share some keys (unit_id, valid_from, ...): one selector per key.
SELECTORS = {
    **{f.key: PERSON_SELECTORS[f.kind] for f in PERSON_FIELDS},
    "building": {"text": {}},
    "number": {"text": {}},
    "rent_arrears": {"boolean": {}},
    "lease_until": {"datetime": {}},
    "cluster_id": {"text": {}},
    "kind": {
        "select": {
            "options": ["card", "id_card", "pin", "qr", "fingerprint"],
            "translation_key": "kind",
        }
    },
    "value": {"text": {}},
    "credential_id": {"text": {}},
    "max_uses": {"number": {"min": 1, "max": 100000, "mode": "box"}},
    "hours": {
        "number": {"min": 0.1, "max": 8784, "step": 0.1, "mode": "box", "unit_of_measurement": "h"}
    },
    "gate_id": {"text": {}},
    "direction": {"select": {"options": ["in", "out"], "translation_key": "passage_direction"}},
    "reason": {"text": {}},
    "active": {"boolean": {}},
    "notice_version": {"text": {}},
    "guardian": {"boolean": {}},
    "variant": {"select": {"options": ["plain", "masked"], "translation_key": "variant"}},
    "camera_entity_id": {"entity": {"domain": "camera"}},
    "file_path": {"text": {}},
    "different_from": {"text": {}},
    "since": {"datetime": {}},
    "until": {"datetime": {}},
    "user_id": {"text": {}},
    "action": {"text": {}},
    "subject": {"text": {}},
    "limit": {"number": {"min": 1, "max": 1000, "mode": "box"}},
    "before_id": {"number": {"min": 1, "mode": "box"}},
    "device_id": {"text": {}},
    "note": {"text": {"multiline": True}},
    "days": {"number": {"min": 1, "max": 366, "mode": "box", "unit_of_measurement": "d"}},
}
REQUIRED = {
    "add_unit": {"unit_id", "building", "number"},
    "update_unit": {"unit_id"},
    "add_person": {f.key for f in PERSON_FIELDS if f.required_on_add},
    "update_person": {"person_id"},
    "remove_person": {"person_id"},
    "add_credential": {"person_id", "kind"},
    "revoke_credential": {"credential_id"},
    "issue_visitor_pass": set(),
    "open_gate": {"gate_id", "reason"},
    "set_emergency": {"active"},
    "record_consent": {"person_id", "notice_version"},
    "withdraw_consent": {"person_id"},
    "enroll_face": {"person_id"},
    "assign_stranger": {"cluster_id", "person_id"},
    "erase_person": {"person_id"},
    "export_person_data": {"person_id"},
    "query_audit_log": set(),
    "rotate_key": set(),
    "provision_device": {"device_id", "gate_id"},
    "remove_device": {"device_id"},
}

# Alert rules (issue 4)
SELECTORS.update(
    {
        "alert_id": {"number": {"min": 1, "mode": "box"}},
        "include_resolved": {"boolean": {}},
        "rule": {
            "select": {
                "options": [
                    "special_attention",
                    "long_absence",
                    "tailgating",
                    "frequent_stranger",
                    "rent_arrears",
                    "unknown_face",
                    "device_offline",
                    "door_held_open",
                    "forced_open",
                    "fever",
                    "brute_force",
                    "spoof_attempt",
                    "card_face_mismatch",
                ],
                "translation_key": "rule",
            }
        },
        "limit": {"number": {"min": 1, "max": 1000, "mode": "box"}},
        "celsius": {
            "number": {
                "min": 25,
                "max": 45,
                "step": 0.1,
                "mode": "box",
                "unit_of_measurement": "°C",
            }
        },
    }
)
REQUIRED.update(
    {
        "acknowledge_alert": {"alert_id"},
        "resolve_alert": {"alert_id"},
        "list_alerts": set(),
        "report_temperature": {"gate_id", "celsius"},
        "set_lockdown": {"active"},
        "ignore_stranger": {"cluster_id", "note"},
        "unignore_stranger": {"cluster_id"},
    }
)


# Estate options added with the face issue (and the minimum PIN length, issue 13):
# data, "_desc" and "_err" texts each.
FACE_OPTIONS = ("capture_interval", "face_debounce", "min_pin_length", "episode_window")
# Estate options chosen from a list (issue 14): data and "_desc" texts, labels per choice.
CHOICE_OPTIONS = ("face_engine", "face_strictness")


def _field(m, svc: str, field: str) -> tuple[str, str]:
    """A field's name and description: ``"<service>.<field>"`` where one service means
    something else by a shared field name (set_lockdown's ``active``), else the field's."""
    return m.FIELD_DESC.get(f"{svc}.{field}", m.FIELD_DESC[field])


def build(m) -> dict:
    fields_common = {"config_entry_id": m.ENTRY_FIELD}
    services = {}
    for svc, (name, desc, fields) in m.SERVICES.items():
        services[svc] = {
            "name": name,
            "description": desc,
            "fields": {
                **{
                    f: dict(zip(("name", "description"), _field(m, svc, f), strict=True))
                    for f in fields
                },
                **fields_common,
            },
        }
    db_errors = {k: m.CONFIG["db_errors"][k] for k in m.CONFIG["db_errors"]}
    return {
        "config": {
            "step": {
                # The first step is a menu (estate or command centre: CENTRAL).
                "estate": {
                    "title": m.CONFIG["user_title"],
                    "description": m.CONFIG["user_desc"],
                    "data": m.CONFIG["estate_data"],
                    "data_description": m.CONFIG["estate_data_desc"],
                },
                "reconfigure": {
                    "title": m.CONFIG["reconf_title"],
                    "description": m.CONFIG["reconf_desc"],
                    "data": m.CONFIG["estate_data"],
                    "data_description": m.CONFIG["estate_data_desc"],
                },
            },
            "error": db_errors,
            "abort": m.CONFIG["abort"],
        },
        "options": {
            "step": {
                "init": {
                    "title": m.CONFIG["options_title"],
                    "data": {
                        "retention_days": m.CONFIG["retention"],
                        **m.OPTIONS_DATA,
                        **{k: m.CONFIG[k] for k in FACE_OPTIONS + CHOICE_OPTIONS},
                    },
                    "data_description": {
                        "retention_days": m.CONFIG["retention_desc"],
                        **m.OPTIONS_DESC,
                        **{k: m.CONFIG[f"{k}_desc"] for k in FACE_OPTIONS + CHOICE_OPTIONS},
                    },
                    "sections": {
                        "rules": {
                            "name": m.RULES_SECTION["name"],
                            "description": m.RULES_SECTION["description"],
                            "data": {k: v[0] for k, v in m.RULE_PARAMS.items()},
                            "data_description": {k: v[1] for k, v in m.RULE_PARAMS.items()},
                        }
                    },
                }
            },
            "error": {
                "retention_out_of_range": m.CONFIG["retention_err"],
                **{f"{k}_out_of_range": m.CONFIG[f"{k}_err"] for k in FACE_OPTIONS},
                **m.OPTIONS_ERRORS,
                "invalid_rule_parameter": m.RULES_SECTION["error"],
                "invalid_choice": m.CONFIG["invalid_choice"],
            },
        },
        "config_subentries": {
            "gate": {
                "entry_type": m.GATE["entry_type"],
                "initiate_flow": {"user": m.GATE["add"], "reconfigure": m.GATE["reconf"]},
                "step": {
                    "user": {
                        "title": m.GATE["add"],
                        "description": m.GATE["add_desc"],
                        "data": m.GATE_DATA,
                        "data_description": m.GATE_DESC,
                    },
                    "reconfigure": {
                        "title": m.GATE["reconf"],
                        "description": m.GATE["reconf_desc"],
                        "data": {k: v for k, v in m.GATE_DATA.items() if k != "gate_id"},
                        "data_description": {
                            k: v for k, v in m.GATE_DESC.items() if k != "gate_id"
                        },
                    },
                },
                "error": m.GATE["errors"],
                "abort": m.GATE["abort"],
            }
        },
        "selector": {
            "kind": {"options": {**m.GATE_KINDS, **m.KINDS}},
            "direction": {"options": m.DIRECTIONS},
            "passage_direction": {
                "options": {k: v for k, v in m.DIRECTIONS.items() if k != "both"}
            },
            "role": {"options": m.ROLES},
            "variant": {"options": m.VARIANTS},
            "methods": {"options": m.METHOD_OPTIONS},
            "rule": {"options": m.RULES},
            "face_engine": {"options": m.FACE_ENGINES},
            "face_strictness": {"options": m.FACE_STRICTNESS},
            "pad_level": {"options": m.PAD_LEVELS},
            "face_mode": {"options": m.FACE_MODES},
        },
        "entity": {
            "button": {"open": {"name": m.ENTITY["open"]}},
            "event": {
                "passage": {
                    "name": m.ENTITY["passage"],
                    "state_attributes": {
                        "event_type": {
                            "name": m.ENTITY["event_type"],
                            "state": {"granted": m.ENTITY["granted"], "denied": m.ENTITY["denied"]},
                        },
                        "method": {"name": m.ENTITY["method"], "state": m.METHODS},
                        "reason": {"name": m.ENTITY["reason"], "state": m.REASONS},
                    },
                },
                "alerts": {
                    "name": m.ALERT_ENTITY["alerts"],
                    "state_attributes": {
                        "event_type": {"name": m.ALERT_ENTITY["rule"], "state": m.RULES},
                        "alert_id": {"name": m.ALERT_ENTITY["alert_id"]},
                        "subject_kind": {
                            "name": m.ALERT_ENTITY["subject_kind"],
                            "state": m.SUBJECT_KINDS,
                        },
                        "subject_id": {"name": m.ALERT_ENTITY["subject_id"]},
                        "gate_id": {"name": m.GATE_DATA["gate_id"]},
                    },
                },
            },
            "sensor": {
                "last_passage": {"name": m.ENTITY["last_passage"]},
                "last_method": {"name": m.ENTITY["last_method"], "state": m.METHODS},
                "people_enrolled": {
                    "name": m.ENTITY["people_enrolled"],
                    "unit_of_measurement": m.ENTITY["people_unit"],
                },
                "passages_today": {
                    "name": m.ENTITY["passages_today"],
                    "unit_of_measurement": m.ENTITY["passages_unit"],
                },
                "open_alerts": {
                    "name": m.ALERT_ENTITY["open_alerts"],
                    "unit_of_measurement": m.ALERT_ENTITY["alerts_unit"],
                },
            },
            "binary_sensor": {"online": {"name": m.ENTITY["online"]}},
            "switch": {
                "emergency": {"name": m.ENTITY["emergency"]},
                "lockdown": {"name": m.ENTITY["lockdown"]},
            },
        },
        "exceptions": {k: {"message": v} for k, v in m.EXCEPTIONS.items()},
        "issues": {k: {"title": t, "description": d} for k, (t, d) in m.ISSUES.items()},
        "services": services,
    }


def merge(base: dict, extra: dict) -> dict:
    """``extra`` laid over ``base``, dict by dict (a later issue's strings beside the
    earlier ones without rewriting them)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def build_all(m) -> dict:
    return merge(build(m), m.CENTRAL)


def services_yaml(m) -> dict:
    out = {}
    for svc, (_n, _d, fields) in m.SERVICES.items():
        spec = {}
        for f in fields:
            entry = {"selector": copy.deepcopy(SELECTORS[f])}
            if f in REQUIRED[svc]:
                entry["required"] = True
            spec[f] = entry
        spec["config_entry_id"] = {"selector": {"config_entry": {"integration": "community_gate"}}}
        out[svc] = {"fields": spec}
    return out


# ------------------------------------------------ the staff panel's strings (issue 17)
PANEL_DIR = COMP / "frontend" / "strings"
# Each language's plural categories, as Intl.PluralRules (CLDR) names them for cardinal
# numbers: a plural string in that language has exactly these forms.
PLURAL_CATEGORIES = {"en": ("one", "other"), "zh-Hans": ("other",)}
_ALL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})


def is_plural(value: object) -> bool:
    """A dict of plural forms (``{"one": ..., "other": ...}``), as opposed to a group."""
    return isinstance(value, dict) and bool(value) and set(value) <= _ALL_CATEGORIES


def panel_shape(tree: dict, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every string's key path; a plural string is one key (its forms are the language's)."""
    out: set[tuple[str, ...]] = set()
    for key, value in tree.items():
        if isinstance(value, dict) and not is_plural(value):
            out |= panel_shape(value, (*path, key))
        else:
            out.add((*path, key))
    return out


def panel_problems(en_tree: dict, tree: dict, lang: str) -> list[str]:
    """Why ``tree`` (language ``lang``) cannot ship beside the English panel strings."""
    problems = [f"{lang}: missing {'.'.join(k)}" for k in panel_shape(en_tree) - panel_shape(tree)]
    problems += [f"{lang}: extra {'.'.join(k)}" for k in panel_shape(tree) - panel_shape(en_tree)]

    def walk(node: dict, path: tuple[str, ...]) -> None:
        for key, value in node.items():
            where = ".".join((*path, key))
            if is_plural(value):
                if tuple(sorted(value)) != tuple(sorted(PLURAL_CATEGORIES[lang])):
                    problems.append(f"{lang}: {where} needs forms {PLURAL_CATEGORIES[lang]}")
                texts = list(value.values())
            elif isinstance(value, dict):
                walk(value, (*path, key))
                continue
            else:
                texts = [value]
            if not all(isinstance(t, str) and t.strip() == t and t for t in texts):
                problems.append(f"{lang}: {where} must be non-empty trimmed text")

    walk(tree, ())
    return sorted(problems)


def panel_strings(en, other, lang: str) -> dict:
    """The panel's strings in ``lang``, refused while any differs in shape from English."""
    problems = panel_problems(en.PANEL, en.PANEL, "en")
    if lang != "en":
        problems += panel_problems(en.PANEL, other.PANEL, lang)
    if problems:
        raise SystemExit("panel strings:\n  " + "\n  ".join(problems))
    return copy.deepcopy(other.PANEL)


def main() -> None:
    en = importlib.import_module("strings_en")
    zh = importlib.import_module("strings_zh")
    en_doc, zh_doc = build_all(en), build_all(zh)
    dump = lambda d: json.dumps(d, ensure_ascii=False, indent=2) + "\n"  # noqa: E731
    PANEL_DIR.mkdir(exist_ok=True)
    (PANEL_DIR / "en.json").write_text(dump(panel_strings(en, en, "en")))
    (PANEL_DIR / "zh-Hans.json").write_text(dump(panel_strings(en, zh, "zh-Hans")))
    (COMP / "strings.json").write_text(dump(en_doc))
    (COMP / "translations").mkdir(exist_ok=True)
    (COMP / "translations" / "en.json").write_text(dump(en_doc))
    (COMP / "translations" / "zh-Hans.json").write_text(dump(zh_doc))
    (COMP / "services.yaml").write_text(
        "# Generated by scripts/dev/gen_strings.py; names and descriptions live in strings.json.\n"
        + yaml.safe_dump(services_yaml(en), sort_keys=False, allow_unicode=True)
    )


if __name__ == "__main__":
    main()
