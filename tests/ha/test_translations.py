"""Translations: strings.json, en.json and zh-Hans.json agree with each other, with the
generator that writes them, with services.yaml, and with every key the code uses."""

from __future__ import annotations

import ast
from collections.abc import Iterator
import importlib
import importlib.util
import json
from pathlib import Path
import re
import string
import sys
from types import ModuleType
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, translation
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.community_gate.config_flow import NUMBER_OPTIONS
from custom_components.community_gate.const import DOMAIN
from custom_components.community_gate.core import errors
from custom_components.community_gate.core.model import (
    NOT_PERMITTED,
    CredentialKind,
    Direction,
    GateKind,
    Method,
    Reason,
    Role,
)
from custom_components.community_gate.services import HANDLERS, TYPED_KINDS

ROOT = Path(__file__).resolve().parents[2]
COMP = ROOT / "custom_components" / "community_gate"
GEN = ROOT / "scripts" / "dev" / "gen_strings.py"


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


STRINGS = _json(COMP / "strings.json")
EN = _json(COMP / "translations" / "en.json")
ZH = _json(COMP / "translations" / "zh-Hans.json")
SERVICES_YAML = yaml.safe_load((COMP / "services.yaml").read_text(encoding="utf-8"))
LANGS = {"strings.json": STRINGS, "en": EN, "zh-Hans": ZH}


def _leaves(tree: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*path, key))
        else:
            yield (*path, key)


def _keys(tree: dict[str, Any], path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for key, value in tree.items():
        out.add((*path, key))
        if isinstance(value, dict):
            out |= _keys(value, (*path, key))
    return out


def _get(tree: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _placeholders(text: str) -> set[str]:
    """Placeholder names the way Home Assistant reads them ({{ and }} are literal)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _source(name: str) -> str:
    return (COMP / name).read_text(encoding="utf-8")


# --------------------------------------------------------------- file agreement
def test_strings_json_equals_en() -> None:
    assert STRINGS == EN
    # Byte for byte, too: both are written by the generator.
    assert (COMP / "strings.json").read_bytes() == (COMP / "translations" / "en.json").read_bytes()


def test_zh_hans_has_the_same_key_tree() -> None:
    en_keys, zh_keys = _keys(EN), _keys(ZH)
    assert sorted(en_keys - zh_keys) == []
    assert sorted(zh_keys - en_keys) == []
    # Same shape: a leaf in one is a leaf in the other.
    assert set(_leaves(EN)) == set(_leaves(ZH))


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_every_leaf_is_non_empty_text(lang: str) -> None:
    tree = LANGS[lang]
    for path in _leaves(tree):
        value = _get(tree, path)
        assert isinstance(value, str), path
        assert value.strip(), path
        assert value == value.strip(), path
        # Parses as HA parses it (no stray single braces).
        _placeholders(value)


def test_zh_hans_is_translated() -> None:
    cjk = re.compile(r"[\u4e00-\u9fff]")
    leaves = list(_leaves(ZH))
    untranslated = [p for p in leaves if not cjk.search(_get(ZH, p))]
    assert untranslated == []


def test_same_placeholders_in_every_string() -> None:
    mismatched = {
        ".".join(path): (_placeholders(_get(EN, path)), _placeholders(_get(ZH, path)))
        for path in _leaves(EN)
        if _placeholders(_get(EN, path)) != _placeholders(_get(ZH, path))
    }
    assert mismatched == {}


def test_keys_are_valid_translation_keys() -> None:
    # hassfest's rule for translation keys; service and field ids follow it as well.
    bad = [".".join(p) for p in _keys(EN) if not re.fullmatch(r"[a-z0-9_-]+", p[-1])]
    assert bad == []


# ------------------------------------------------------------------ generator
def _import_generator() -> tuple[ModuleType, ModuleType, ModuleType]:
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    try:
        spec = importlib.util.spec_from_file_location("_gen_strings_under_test", GEN)
        assert spec is not None
        assert spec.loader is not None
        gen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen)
        en = importlib.import_module("strings_en")
        zh = importlib.import_module("strings_zh")
        return gen, en, zh
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            sys.modules.pop(name, None)


def test_generator_is_in_step_with_the_files() -> None:
    gen, en, zh = _import_generator()

    def dump(doc: dict[str, Any]) -> str:
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"

    en_doc, zh_doc = gen.build_all(en), gen.build_all(zh)
    assert en_doc == STRINGS
    assert zh_doc == ZH
    assert dump(en_doc) == (COMP / "strings.json").read_text(encoding="utf-8")
    assert dump(en_doc) == (COMP / "translations" / "en.json").read_text(encoding="utf-8")
    assert dump(zh_doc) == (COMP / "translations" / "zh-Hans.json").read_text(encoding="utf-8")
    assert gen.services_yaml(en) == SERVICES_YAML


# -------------------------------------------------------------------- services
def test_services_yaml_matches_strings_and_handlers() -> None:
    assert set(SERVICES_YAML) == set(STRINGS["services"])
    assert set(SERVICES_YAML) == set(HANDLERS)
    for service, spec in SERVICES_YAML.items():
        texts = STRINGS["services"][service]
        assert texts["name"]
        assert texts["description"]
        yaml_fields = set(spec.get("fields", {}))
        assert set(texts["fields"]) == yaml_fields, service
        for field in yaml_fields:
            assert texts["fields"][field]["name"], (service, field)
            assert texts["fields"][field]["description"], (service, field)


def test_service_fields_match_the_service_schemas() -> None:
    from custom_components.community_gate.services import SCHEMAS

    for service, spec in SERVICES_YAML.items():
        schema_keys = {str(k) for k in SCHEMAS[service].schema}
        assert set(spec["fields"]) == schema_keys, service
        required = {f for f, s in spec["fields"].items() if s.get("required")}
        schema_required = {
            str(k) for k in SCHEMAS[service].schema if type(k).__name__ == "Required"
        }
        assert required == schema_required, service


def test_service_select_options_are_translated() -> None:
    for service, spec in SERVICES_YAML.items():
        for field, fspec in spec["fields"].items():
            select = fspec["selector"].get("select")
            if not select:
                continue
            key = select["translation_key"]
            for lang, tree in LANGS.items():
                options = tree["selector"][key]["options"]
                missing = set(select["options"]) - set(options)
                assert not missing, (lang, service, field, missing)


def test_list_alerts_offers_every_rule() -> None:
    from custom_components.community_gate.core.alerts import Rule

    options = SERVICES_YAML["list_alerts"]["fields"]["rule"]["selector"]["select"]["options"]
    assert options == [r.value for r in Rule]


# -------------------------------------------------------------- enums / states
@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_enum_values_have_state_translations(lang: str) -> None:
    tree = LANGS[lang]
    attrs = tree["entity"]["event"]["passage"]["state_attributes"]
    # Every decision reason, and what a non-admin reads instead of a person's standing.
    assert set(attrs["reason"]["state"]) == {r.value for r in Reason} | {NOT_PERMITTED}
    assert set(attrs["method"]["state"]) == {m.value for m in Method}
    assert set(attrs["event_type"]["state"]) == {"granted", "denied"}
    assert set(tree["entity"]["sensor"]["last_method"]["state"]) == {m.value for m in Method}
    selector = tree["selector"]
    assert {k.value for k in GateKind} <= set(selector["kind"]["options"])
    assert set(TYPED_KINDS) <= set(selector["kind"]["options"])
    assert CredentialKind.FACE.value not in TYPED_KINDS
    assert set(selector["direction"]["options"]) == {d.value for d in Direction}
    assert set(selector["passage_direction"]["options"]) == {"in", "out"}
    assert set(selector["role"]["options"]) == {r.value for r in Role}


async def test_every_entity_has_a_translated_name(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    entries = er.async_entries_for_config_entry(er.async_get(hass), estate.entry_id)
    assert len(entries) >= 10
    for entity in entries:
        assert entity.translation_key is not None, entity.entity_id
        platform_strings = EN["entity"][entity.domain]
        assert entity.translation_key in platform_strings, entity.entity_id
        state = hass.states.get(entity.entity_id)
        assert state is not None
        expected = platform_strings[entity.translation_key]["name"]
        assert state.attributes["friendly_name"].endswith(expected), entity.entity_id


# ------------------------------------------------------------ keys the code uses
def _core_error_classes() -> dict[str, type[errors.CoreError]]:
    # Every core module, also those Home Assistant has not imported yet (a new engine).
    for path in (COMP / "core").glob("*.py"):
        importlib.import_module(f"custom_components.community_gate.core.{path.stem}")
    out: dict[str, type[errors.CoreError]] = {"CoreError": errors.CoreError}
    todo: list[type[errors.CoreError]] = [errors.CoreError]
    while todo:
        for sub in todo.pop().__subclasses__():
            out[sub.__name__] = sub
            todo.append(sub)
    return out


def test_every_core_error_code_is_an_exception_translation() -> None:
    source_codes = {
        code
        for path in sorted((COMP / "core").glob("*.py"))
        for code in re.findall(r'^\s+code = "([a-z_]+)"', path.read_text(encoding="utf-8"), re.M)
    }
    class_codes = {cls.code for cls in _core_error_classes().values()}
    assert source_codes == class_codes
    for lang, tree in LANGS.items():
        missing = class_codes - set(tree["exceptions"])
        assert not missing, (lang, missing)


def test_every_service_failure_is_an_exception_translation() -> None:
    codes = {
        code
        for path in sorted(COMP.glob("*.py"))
        for code in re.findall(r'ha_error\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert {"no_estate", "entry_not_loaded", "estate_ambiguous"} <= codes
    for lang, tree in LANGS.items():
        missing = codes - set(tree["exceptions"])
        assert not missing, (lang, missing)


def test_every_actuator_error_is_an_exception_translation() -> None:
    codes = set(re.findall(r'ActuatorError\(\s*"([a-z_]+)"', _source("actuators.py")))
    assert {"actuator_missing", "actuator_unavailable", "actuator_domain"} <= codes
    for lang, tree in LANGS.items():
        missing = codes - set(tree["exceptions"])
        assert not missing, (lang, missing)


def _calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            yield name, node


def _python_files() -> list[Path]:
    return sorted(p for p in COMP.rglob("*.py") if "__pycache__" not in p.parts)


def test_raise_sites_supply_every_placeholder() -> None:
    """A message placeholder the raise site does not fill shows up as raw {braces}."""
    classes = _core_error_classes()
    problems: list[str] = []
    checked = 0
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, call in _calls(tree):
            given = {k.arg for k in call.keywords}
            if None in given:  # **placeholders: filled dynamically
                continue
            if name in classes and not issubclass(classes[name], errors.StoreError):
                code = classes[name].code
            elif name == "_fail" and call.args and isinstance(call.args[0], ast.Constant):
                code = call.args[0].value
            else:
                continue
            checked += 1
            for lang, texts in LANGS.items():
                needed = _placeholders(texts["exceptions"][code]["message"])
                if not needed <= given:
                    problems.append(
                        f"{path.relative_to(ROOT)}:{call.lineno} {code} ({lang}) "
                        f"needs {sorted(needed)}, gets {sorted(given)}"
                    )
    assert checked > 20
    assert problems == []


def test_setup_failures_and_repairs_are_translated() -> None:
    """ConfigEntryNotReady gets {path, error}; the repair issues get {path}."""
    setup_codes = {c.code for c in _store_error_subclasses()} | {"key_file_error"}
    assert setup_codes >= {"database_unavailable", "database_corrupt", "database_too_new"}
    issue_codes = {errors.StoreCorruptError.code, errors.StoreTooNewError.code, "key_file_error"}
    init = _source("__init__.py")
    assert '"key_file_error"' in init
    from custom_components.community_gate.central_link import (
        ISSUE_CODE_TAKEN as CENTRAL_TAKEN_ISSUE,
        ISSUE_PREFIX as CENTRAL_ISSUE,
    )
    from custom_components.community_gate.face import REENROLL_ISSUE
    from custom_components.community_gate.mqtt_issue import MQTT_ISSUE
    from custom_components.community_gate.privacy import FACE_ONLY_ISSUE

    for lang, tree in LANGS.items():
        for code in setup_codes:
            message = tree["exceptions"][code]["message"]
            assert _placeholders(message) <= {"path", "error"}, (lang, code)
        for code in issue_codes:
            issue = tree["issues"][code]
            assert issue["title"]
            assert _placeholders(issue["title"]) | _placeholders(issue["description"]) <= {
                "path"
            }, (lang, code)
        # Every issue in the file is one the code can raise.
        assert set(tree["issues"]) == issue_codes | {
            FACE_ONLY_ISSUE,
            REENROLL_ISSUE,
            CENTRAL_ISSUE,
            CENTRAL_TAKEN_ISSUE,
            MQTT_ISSUE,
        }, lang
        taken = tree["issues"][CENTRAL_TAKEN_ISSUE]
        assert _placeholders(taken["title"]) | _placeholders(taken["description"]) == {
            "estate",
            "code",
        }, lang
        central = tree["issues"][CENTRAL_ISSUE]
        assert _placeholders(central["title"]) | _placeholders(central["description"]) == {
            "estate",
            "minutes",
            "backlog",
        }, lang
        reenroll = tree["issues"][REENROLL_ISSUE]
        assert _placeholders(reenroll["title"]) | _placeholders(reenroll["description"]) == {
            "count",
            "engine",
        }, lang
        face_only = tree["issues"][FACE_ONLY_ISSUE]
        assert _placeholders(face_only["title"]) | _placeholders(face_only["description"]) == {
            "gate_id",
            "name",
        }, lang
        mqtt_missing = tree["issues"][MQTT_ISSUE]
        assert _placeholders(mqtt_missing["title"]) | _placeholders(
            mqtt_missing["description"]
        ) == {"gates"}, lang


def _store_error_subclasses() -> list[type[errors.StoreError]]:
    return [c for c in _core_error_classes().values() if issubclass(c, errors.StoreError)]


def _flow_strings_used() -> dict[str, set[str]]:
    """Form error keys per flow, read from config_flow.py."""
    tree = ast.parse(_source("config_flow.py"))
    owners = {
        "CommunityGateConfigFlow": "config",
        "_validate_db": "config",
        "CommunityGateOptionsFlow": "options",
        "GateSubentryFlow": "gate",
        "_clean_gate_input": "gate",
    }
    used: dict[str, set[str]] = {"config": set(), "options": set(), "gate": set()}
    for top in tree.body:
        if not isinstance(top, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        owner = owners.get(top.name)
        for node in ast.walk(top):
            value: ast.AST | None = None
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Subscript)
                and isinstance(t.value, ast.Name)
                and t.value.id == "errors"
                for t in node.targets
            ):
                value = node.value
            elif (
                isinstance(node, ast.Return)
                and isinstance(node.value, ast.Tuple)
                and top.name == "_validate_db"
            ):
                value = node.value.elts[-1]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                assert owner is not None, f"errors set in unexpected place {top.name}"
                used[owner].add(value.value)
    return used


def test_every_form_error_is_translated() -> None:
    used = _flow_strings_used()
    assert "db_path_empty" in used["config"]
    # The numeric options name their error keys in a table, not in literals.
    used["options"] |= {spec.error or f"{key}_out_of_range" for key, spec in NUMBER_OPTIONS.items()}
    assert {"retention_out_of_range", "face_debounce_out_of_range"} <= used["options"]
    used["options"] |= {"invalid_choice"}  # the choice options' one error (a table too)
    assert {"gate_id_taken", "building_required", "actuator_domain"} <= used["gate"]
    # _validate_db passes any StoreError code through to the form.
    used["config"] |= {c.code for c in _store_error_subclasses()}
    # The central store's forms (central_flow.py) answer from one table, in both flows;
    # the options' estate code and repair threshold are the options' own.
    from custom_components.community_gate.central_flow import FORM_ERRORS

    used["config"] |= FORM_ERRORS - {"central_estate_code", "central_repair_minutes"}
    used["options"] |= FORM_ERRORS - {"central_schema_missing"}
    for lang, tree in LANGS.items():
        sections = {
            "config": tree["config"]["error"],
            "options": tree["options"]["error"],
            "gate": tree["config_subentries"]["gate"]["error"],
        }
        for flow, keys in used.items():
            missing = keys - set(sections[flow])
            assert not missing, (lang, flow, missing)
            unused = set(sections[flow]) - keys
            assert not unused, (lang, flow, unused)


def test_every_abort_reason_is_translated() -> None:
    src = _source("config_flow.py")
    reasons = set(re.findall(r'reason="([a-z_]+)"', src))
    assert "database_in_use" in reasons
    if "_abort_if_unique_id_configured" in src:
        reasons.add("already_configured")
    if "async_update_reload_and_abort" in src:
        reasons.add("reconfigure_successful")
    if "async_step_reauth" in src:
        # HA before 2026.10 looks the default reauth reason up in the integration.
        reasons.add("reauth_successful")
    for lang, tree in LANGS.items():
        assert reasons <= set(tree["config"]["abort"]), lang
        assert "reconfigure_successful" in tree["config_subentries"]["gate"]["abort"], lang


def test_flow_steps_describe_every_field() -> None:
    from custom_components.community_gate.config_flow import _estate_schema, _gate_schema

    estate_fields = {str(k) for k in _estate_schema("x", "y").schema}
    gate_fields = {str(k) for k in _gate_schema({}, with_id=True).schema}
    gate_fields_reconf = {str(k) for k in _gate_schema({}, with_id=False).schema}
    for lang, tree in LANGS.items():
        for step in ("estate", "reconfigure"):
            s = tree["config"]["step"][step]
            assert set(s["data"]) == estate_fields, (lang, step)
            assert set(s["data_description"]) == estate_fields, (lang, step)
        gate_steps = tree["config_subentries"]["gate"]["step"]
        assert set(gate_steps["user"]["data"]) == gate_fields, lang
        assert set(gate_steps["reconfigure"]["data"]) == gate_fields_reconf, lang
        assert "{gate_id}" in gate_steps["reconfigure"]["description"], lang


# ---------------------------------------------------- as Home Assistant loads them
CATEGORIES = [
    "config",
    "options",
    "config_subentries",
    "selector",
    "entity",
    "exceptions",
    "issues",
    "services",
]


@pytest.mark.parametrize("category", CATEGORIES)
async def test_home_assistant_loads_both_languages_fully(
    hass: HomeAssistant, category: str
) -> None:
    """HA drops a translated string whose placeholders differ from English; every
    string must survive that check."""
    en = await translation.async_get_translations(hass, "en", category, [DOMAIN])
    zh = await translation.async_get_translations(hass, "zh-Hans", category, [DOMAIN])
    en_keys = {k for k in en if k.startswith(f"component.{DOMAIN}.")}
    zh_keys = {k for k in zh if k.startswith(f"component.{DOMAIN}.")}
    assert en_keys
    assert en_keys == zh_keys
    assert all(en[k] != zh[k] for k in en_keys if re.search(r"[a-z]{3}", en[k]))


KNOWN_DOUBLED_BRACES: set[str] = set()


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            code,
            marks=pytest.mark.xfail(
                strict=True,
                reason="BUG strings_en/zh invalid_schedule: HA only runs str.format when "
                "placeholders are given, so an escaped {{ }} reaches the user doubled",
            ),
        )
        if code in KNOWN_DOUBLED_BRACES
        else code
        for code in sorted(EN["exceptions"])
    ],
)
def test_messages_without_placeholders_have_no_escaped_braces(code: str) -> None:
    for lang, tree in LANGS.items():
        message = tree["exceptions"][code]["message"]
        if not _placeholders(message):
            assert "{{" not in message, lang
            assert "}}" not in message, lang


# ------------------------------------------------- the staff panel's own strings (issue 17)
PANEL_DIR = COMP / "frontend" / "strings"
PANEL_JS = _source("frontend/community-gate-panel.js")
PANEL = {"en": _json(PANEL_DIR / "en.json"), "zh-Hans": _json(PANEL_DIR / "zh-Hans.json")}
# Intl.PluralRules' cardinal categories (CLDR): what each language's plural strings hold.
PLURAL_FORMS = {"en": {"one", "other"}, "zh-Hans": {"other"}}


def _is_plural(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= set(PLURAL_FORMS["en"])


def _panel_strings(tree: dict[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every panel string by its dotted key: text, or a dict of plural forms."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and not _is_plural(value):
            out |= _panel_strings(value, (*path, key))
        else:
            out[".".join((*path, key))] = value
    return out


def _panel_placeholders(value: Any) -> set[str]:
    forms = value.values() if isinstance(value, dict) else [value]
    return {name for text in forms for name in re.findall(r"\{(\w+)\}", text)}


def test_panel_strings_are_generated() -> None:
    """The panel's table is the generator's output, not a copy kept by hand: the JS file
    holds no string table (no Chinese at all) and loads strings/<language>.json."""
    gen, en, zh = _import_generator()

    def dump(doc: dict[str, Any]) -> str:
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"

    for lang, module in (("en", en), ("zh-Hans", zh)):
        doc = gen.panel_strings(en, module, lang)
        assert doc == PANEL[lang]
        assert dump(doc) == (PANEL_DIR / f"{lang}.json").read_text(encoding="utf-8")
    assert "const STR = {" not in PANEL_JS
    assert not re.search(r"[\u4e00-\u9fff]", PANEL_JS)
    assert "strings/${LANGS[lang]}.json" in PANEL_JS


def test_every_panel_string_is_in_zh_hans() -> None:
    en, zh = _panel_strings(PANEL["en"]), _panel_strings(PANEL["zh-Hans"])
    assert sorted(set(en) - set(zh)) == []  # a panel string missing in Chinese
    assert sorted(set(zh) - set(en)) == []
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for key, value in zh.items():
        forms = value.values() if isinstance(value, dict) else [value]
        for text in forms:
            assert isinstance(text, str), key
            assert text.strip() == text, key
            # Translated, unless the string is only a sign ("—").
            assert cjk.search(text) or not re.search(r"[A-Za-z]", text), (key, text)
        assert _panel_placeholders(value) == _panel_placeholders(en[key]), key


def test_generator_refuses_a_missing_chinese_panel_string(monkeypatch: Any) -> None:
    gen, en, zh = _import_generator()
    panel = dict(zh.PANEL)
    del panel["save_access"]
    monkeypatch.setattr(zh, "PANEL", panel)
    with pytest.raises(SystemExit, match="zh-Hans: missing save_access"):
        gen.panel_strings(en, zh, "zh-Hans")


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_panel_plurals_have_the_languages_forms(lang: str) -> None:
    plurals = {k: v for k, v in _panel_strings(PANEL[lang]).items() if isinstance(v, dict)}
    assert {"open_alerts", "faces_ready", "assigned", "windows"} <= set(plurals)
    for key, forms in plurals.items():
        assert set(forms) == PLURAL_FORMS[lang], key
        assert "{count}" in forms["other"], key


def test_one_open_alert() -> None:
    """Not "1 open alerts": English has a form for one."""
    assert PANEL["en"]["open_alerts"] == {"one": "1 open alert", "other": "{count} open alerts"}
    assert PANEL["zh-Hans"]["open_alerts"] == {"other": "{count} 条未解决告警"}


def test_every_key_the_panel_uses_is_a_panel_string() -> None:
    strings = _panel_strings(PANEL["en"])
    used = set(re.findall(r'this\.t\("([a-z_.]+)"', PANEL_JS))
    used |= {f"err.{c}" for c in re.findall(r'code: "([a-z_]+)"', PANEL_JS)}
    used |= {f"err.{c}" for c in re.findall(r'"(several_match|no_match)"', PANEL_JS)}
    used |= {f"weekdays.{d}" for d in range(1, 8)}
    assert len(used) > 100
    assert sorted(used - set(strings)) == []
    # Keys the panel builds (this.t(role), this.t(`st_${state}`)...) are strings too.
    for group in ("ROLES", "FLAGS", "KINDS", "METHODS", "TABS"):
        match = re.search(rf"const {group} = \[([^\]]*)\]", PANEL_JS)
        assert match, group
        for key in re.findall(r'"([a-z_]+)"', match.group(1)):
            assert (key if key != "emergency" else "emergency_m") in strings, (group, key)
    for state in ("new", "acknowledged", "resolved"):
        assert f"st_{state}" in strings
