"""Helpers shared by the tests against a real Home Assistant (fixtures are in conftest)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import Context, HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props
from syrupy.types import PropertyPath

from custom_components.community_gate.const import (
    CONF_ACTUATOR,
    CONF_DB_PATH,
    CONF_DIRECTION,
    CONF_GATE_ID,
    CONF_GATE_KIND,
    CONF_PULSE_SECONDS,
    DOMAIN,
    SUBENTRY_GATE,
)
from custom_components.community_gate.core import contract as c
from custom_components.community_gate.core.model import CredentialKind, Direction
from custom_components.community_gate.exceptions import translated
from custom_components.community_gate.hub import EstateHub
from custom_components.community_gate.panel_commands import (
    async_private_call,
    decision_answer,
)
from custom_components.community_gate.services import PRIVATE_SCHEMAS

# The estate of the shared `estate` fixture, and the tenant `add_tenant` enrols.
GATES = ("east_gate", "north_door")
NAME = "Wang Fang"
CARD = "0012345678"

EN: dict[str, Any] = json.loads(
    (
        Path(__file__).parents[2] / "custom_components" / DOMAIN / "translations" / "en.json"
    ).read_text(encoding="utf-8")
)


def hub_of(entry: MockConfigEntry) -> EstateHub:
    """The loaded estate's hub: the one place new test code reaches into runtime_data."""
    hub: EstateHub = entry.runtime_data.hub
    return hub


async def call(
    hass: HomeAssistant,
    service: str,
    data: dict[str, Any],
    context: Context | None = None,
    *,
    settle: bool = False,
) -> Any:
    """A community_gate action, blocking. ``settle`` then lets the entities and other
    listeners the action woke catch up before the caller looks at states."""
    resp = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True, context=context
    )
    if settle:
        await hass.async_block_till_done()
    return resp


async def private(
    hass: HomeAssistant,
    action: str,
    data: dict[str, Any],
    context: Context | None = None,
    *,
    settle: bool = False,
) -> Any:
    """An action that carries a name or a credential value, the way the staff panel's
    websocket command runs it (validated by its schema, then the action's own handler,
    checks and audit): Home Assistant does not record it. ``tests/ha/test_recorder_leaks.py``
    drives the commands over a real websocket."""
    validated = PRIVATE_SCHEMAS[action](data)
    resp = await async_private_call(hass, action, validated, context or Context())
    if settle:
        await hass.async_block_till_done()
    return resp


async def present_credential(
    hass: HomeAssistant,
    data: dict[str, Any],
    context: Context | None = None,
    *,
    settle: bool = False,
) -> dict[str, Any]:
    """A reader presents a credential: the hub's own path, which the MQTT link and the
    terminal endpoint call (no action takes a credential value). The answer is the whole
    decision, as an administrator sees it."""
    entries = hass.config_entries.async_entries(DOMAIN)
    entry = next(e for e in entries if e.entry_id == data.get("config_entry_id", e.entry_id))
    hub = hub_of(entry)  # type: ignore[arg-type]
    direction = Direction(data["direction"]) if "direction" in data else None
    with translated(hub.store.path):
        outcome = await hub.async_present(
            data["gate_id"],
            CredentialKind(data["kind"]),
            data["value"],
            direction=direction,
            context=context or Context(),
        )
    if settle:
        await hass.async_block_till_done()
    return decision_answer(outcome)


TERMINAL_URL = "/api/community_gate/terminal/decision"


@dataclass(slots=True)
class Terminal:
    """An edge terminal provisioned for one gate: signs its face requests as the
    contract says (docs/mqtt.md), over ``contract.http_topic(gate)``."""

    device_id: str
    gate_id: str
    key: bytes
    ctr: int = 0

    def sign(
        self,
        embedding: Sequence[float] | None = None,
        *,
        gate_id: str | None = None,
        ctr: int | None = None,
        ts: float = 0,
        **fields: Any,
    ) -> bytes:
        """A signed ``face`` body; the next counter unless ``ctr`` is given."""
        if ctr is None:
            self.ctr += 1
            ctr = self.ctr
        if embedding is not None:
            fields["emb"] = list(embedding)
        topic = c.http_topic(gate_id or self.gate_id)
        return c.device_message(self.key, topic, device=self.device_id, ctr=ctr, ts=ts, **fields)

    async def post(
        self,
        client: Any,
        embedding: Sequence[float] | None = None,
        *,
        gate_id: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> Any:
        """POST a signed request (or ``body`` as given) for ``gate_id`` (its own gate)."""
        gate = gate_id or self.gate_id
        data = body if body is not None else self.sign(embedding, gate_id=gate, **fields)
        return await client.post(
            f"{TERMINAL_URL}?gate_id={gate}",
            data=data,
            headers={"Content-Type": "application/json", **(headers or {})},
        )


async def provision_terminal(
    hass: HomeAssistant, gate_id: str, device_id: str = "term-east"
) -> Terminal:
    resp = await call(hass, "provision_device", {"device_id": device_id, "gate_id": gate_id})
    return Terminal(device_id, gate_id, bytes.fromhex(resp["key"]))


async def settle(hass: HomeAssistant) -> None:
    # Rules run as entry background tasks after the passage is committed.
    await hass.async_block_till_done(wait_background_tasks=True)


def gate_subentry(gate_id: str, actuator: str, **extra: Any) -> ConfigSubentryData:
    data = {
        "name": gate_id.replace("_", " ").title(),
        CONF_GATE_ID: gate_id,
        CONF_GATE_KIND: "estate_gate",
        CONF_DIRECTION: "both",
        CONF_ACTUATOR: actuator,
        CONF_PULSE_SECONDS: 5,
        **extra,
    }
    return ConfigSubentryData(
        data=data, subentry_type=SUBENTRY_GATE, title=data["name"], unique_id=gate_id
    )


async def add_estate(
    hass: HomeAssistant, db_path: Path, *gates: ConfigSubentryData
) -> MockConfigEntry:
    """Estate "Maple Court" on ``db_path`` with ``gates``, set up through HA."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Maple Court",
        data={"name": "Maple Court", CONF_DB_PATH: str(db_path)},
        options={"retention_days": 180},
        unique_id=str(db_path),
        subentries_data=list(gates),
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return entry


async def add_tenant(
    hass: HomeAssistant,
    name: str = NAME,
    card: str = CARD,
    *,
    credential_id: str | None = None,
    settle: bool = False,
) -> None:
    """Unit 3-1201 with tenant p1 named ``name``, holding ``card``."""
    await call(
        hass,
        "add_unit",
        {"unit_id": "3-1201", "building": "3", "number": "1201"},
        settle=settle,
    )
    await private(
        hass,
        "add_person",
        {"person_id": "p1", "role": "tenant", "unit_id": "3-1201", "name": name},
        settle=settle,
    )
    credential = {"person_id": "p1", "kind": "card", "value": card}
    if credential_id is not None:
        credential["credential_id"] = credential_id
    await private(hass, "add_credential", credential, settle=settle)


async def present(hass: HomeAssistant, gate: str, value: str = CARD) -> dict[str, Any]:
    """A card at ``gate``; the entities have caught up when it returns."""
    return await present_credential(
        hass, {"gate_id": gate, "kind": "card", "value": value}, settle=True
    )


# ------------------------------------------------------------------ registries
def find_device(hass: HomeAssistant, identifier: tuple[str, str], entry_id: str) -> Any:
    """A device of the entry by identifier, through the lookup each HA release offers
    (``async_get_device`` is deprecated from 2026.10: identifiers are unique only per
    config entry)."""
    registry = dr.async_get(hass)
    by_identifier = getattr(registry, "async_get_device_by_identifier", None)
    if by_identifier is not None:
        return by_identifier(identifier, entry_id)
    return registry.async_get_device(identifiers={identifier})


def device_subentries(device: Any) -> dict[str, set[str | None]]:
    """Config entry id -> subentry ids of a device, on either side of HA 2026.10 (a device
    then belongs to one entry: ``config_entries_subentries`` is deprecated)."""
    if hasattr(device, "config_subentry_id"):
        return {device.config_entry_id: {device.config_subentry_id}}
    return dict(device.config_entries_subentries)


def entity_id(
    hass: HomeAssistant, entry: MockConfigEntry, platform: str, key: str, gate: str | None = None
) -> str:
    unique_id = f"{entry.entry_id}-{gate}-{key}" if gate else f"{entry.entry_id}-{key}"
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def state_of(
    hass: HomeAssistant, entry: MockConfigEntry, platform: str, key: str, gate: str | None = None
) -> Any:
    state = hass.states.get(entity_id(hass, entry, platform, key, gate))
    assert state is not None
    return state


def assert_no_names(hass: HomeAssistant) -> None:
    for state in hass.states.async_all():
        if state.entity_id.split(".")[1].startswith(("east_gate", "north_door", "maple_court")):
            assert NAME not in state.state
            assert NAME not in repr(state.attributes)
            assert CARD.lstrip("0") not in repr(state.attributes)


# ------------------------------------------------------------------- snapshots
# Registry entry fields that differ between the HA releases the suite runs on: from
# 2026.10 aliases are alias entries led by the entity's own name (before, an empty set),
# and HA's serializer leaves categories out only there.
REGISTRY_FIELDS_BY_RELEASE = ("aliases", "categories")


def stable(entry_id: str) -> Any:
    """A syrupy matcher for what differs between runs or HA releases but not in meaning:
    the random config entry id inside strings (unique ids, identifiers) is written as
    ``<entry_id>``, and attribute keys that are StrEnum members (from HA 2026.10) as the
    plain strings they equal (older releases)."""

    def match(data: Any, path: PropertyPath) -> Any:
        if isinstance(data, str) and entry_id in data:
            return data.replace(entry_id, "<entry_id>")
        if isinstance(data, dict) and any(isinstance(k, Enum) for k in data):
            # Same container type (State attributes are a ReadOnlyDict on both releases).
            return type(data)(
                {
                    k.value if isinstance(k, Enum) and isinstance(k, str) else k: v
                    for k, v in data.items()
                }
            )
        return data

    return match


def snapshot_platform(
    hass: HomeAssistant, snapshot: SnapshotAssertion, entry: MockConfigEntry, platform: str
) -> None:
    """Each ``platform`` entity of the entry, its registry entry and its state, against the
    snapshot: HA core's ``snapshot_platform``, with all platforms loaded (the others are
    left out here) and the per-release registry fields excluded."""
    registry = er.async_get(hass)
    entries = sorted(
        (
            e
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
            if e.domain == platform
        ),
        key=lambda e: e.entity_id,
    )
    assert entries
    matcher = stable(entry.entry_id)
    for reg_entry in entries:
        assert reg_entry == snapshot(
            name=f"{reg_entry.entity_id}-entry",
            exclude=props(*REGISTRY_FIELDS_BY_RELEASE),
            matcher=matcher,
        )
        assert reg_entry.disabled_by is None
        state: State | None = hass.states.get(reg_entry.entity_id)
        assert state is not None, reg_entry.entity_id
        assert state == snapshot(name=f"{reg_entry.entity_id}-state", matcher=matcher)
