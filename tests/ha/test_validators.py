"""services.yaml through Home Assistant's own validators. HA does not fail on a bad
services.yaml: it logs a warning and shows the actions with no fields at all, so these
tests are where a selector HA rejects turns into a failure.

Names and texts are checked in test_translations.py; this file checks structure."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector, service
from homeassistant.setup import async_setup_component
import pytest
import yaml

from custom_components.community_gate.const import DOMAIN

SERVICES_FILE = (
    Path(__file__).resolve().parents[2] / "custom_components" / "community_gate" / "services.yaml"
)
SERVICES: dict[str, Any] = yaml.safe_load(SERVICES_FILE.read_text(encoding="utf-8"))
FIELDS = [
    pytest.param(spec, id=f"{name}.{field}")
    for name, service_spec in SERVICES.items()
    for field, spec in service_spec["fields"].items()
]
# The schema library HA validates with: voluptuous up to 2026.8, probatio from 2026.9.
INVALID: type[Exception] = importlib.import_module(
    type(service._SERVICES_SCHEMA).__module__.split(".")[0]
).Invalid
# What hassfest accepts in a field of services.yaml (HA itself ignores other keys, so a
# misspelt "requried" would pass unnoticed).
FIELD_KEYS = {"required", "example", "default", "advanced", "selector", "filter"}


def _is_within(part: Any, whole: Any) -> bool:
    """Every key and value of part is in whole (whole may add defaults, and HA turns a
    single value into a one-item list)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            k in whole and _is_within(v, whole[k]) for k, v in part.items()
        )
    if isinstance(whole, list) and not isinstance(part, list):
        return bool(whole == [part])
    return bool(part == whole)


def test_services_yaml_passes_home_assistants_schema() -> None:
    validated = service._SERVICES_SCHEMA(SERVICES)
    assert set(validated) == set(SERVICES)


@pytest.mark.parametrize("spec", FIELDS)
def test_field_selector_is_valid_for_home_assistant(spec: dict[str, Any]) -> None:
    assert set(spec) <= FIELD_KEYS
    assert "selector" in spec
    validated = selector.validate_selector(spec["selector"])
    # Nothing we wrote was dropped or changed on the way in.
    assert _is_within(spec["selector"], validated), validated
    selector.selector(spec["selector"])


@pytest.mark.parametrize(
    "bad",
    [
        {"number": {"mode": "dial"}},
        {"select": {"options": "plain"}},
        {"no_such_selector": {}},
    ],
)
def test_home_assistant_rejects_a_bad_selector(bad: dict[str, Any]) -> None:
    """The check above is live: HA raises on selectors it does not accept."""
    with pytest.raises(INVALID):
        selector.validate_selector(bad)


async def test_home_assistant_describes_every_field(hass: HomeAssistant) -> None:
    """The descriptions the UI gets: all actions, each with all of its fields."""
    assert await async_setup_component(hass, DOMAIN, {})
    descriptions = (await service.async_get_all_descriptions(hass))[DOMAIN]
    assert set(descriptions) == set(SERVICES)
    for name, spec in SERVICES.items():
        assert set(descriptions[name]["fields"]) == set(spec["fields"]), name
