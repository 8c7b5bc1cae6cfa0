"""A corpus of bad inputs through Home Assistant, table-driven: service data (schema and
domain errors, path traversal in file sources) and the HTTP views (auth, size limits,
content types, malformed bodies). Each case gets its specific error; nothing crashes;
nothing already stored is lost or changed; and a log scan shows no personal data.

MQTT payloads are covered on the mqtt branch."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
import json
import logging
import os
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.community_gate.core.images import MAX_IMAGE_BYTES
from custom_components.community_gate.schema import vol
from tests.ha.helpers import add_tenant, call, present_credential, private, provision_terminal

NAME = "Zhang Wei"
NAME_ZH = "张伟"
ID_NUMBER = "11010519491231002X"
CARD = "0087654321"
PIN = "246810"


@pytest.fixture
async def seeded(hass: HomeAssistant, estate: MockConfigEntry, tmp_path: Path) -> MockConfigEntry:
    await add_tenant(hass, NAME, CARD, credential_id="c1")
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "big.jpg").write_bytes(b"")
    os.truncate(allowed / "big.jpg", MAX_IMAGE_BYTES + 1)  # sparse: size without the bytes
    (allowed / "sub").mkdir()
    secret = tmp_path / "outside.jpg"
    secret.write_bytes(b"\xff\xd8 not for you")
    (allowed / "link.jpg").symlink_to(secret)
    hass.config.allowlist_external_dirs = {str(allowed)}
    return estate


SCHEMA = "schema"


def _svc_cases(allowed: str) -> list[tuple[str, str, dict[str, Any], str, str]]:
    """(case, service, data, "schema" | error code, field or placeholder expected)."""
    long = "x" * 10_000
    return [
        # schema: wrong types, sizes, enums, exclusive fields
        (
            "unit_id_empty",
            "add_unit",
            {"unit_id": "", "building": "3", "number": "1"},
            SCHEMA,
            "unit_id",
        ),
        ("name_huge", "add_person", {"role": "staff", "name": long}, SCHEMA, "name"),
        ("role_unknown", "add_person", {"role": "king"}, SCHEMA, "role"),
        (
            "schedule_text",
            "add_person",
            {"role": "staff", "schedule": "always"},
            SCHEMA,
            "schedule",
        ),
        (
            "birth_year_text",
            "add_person",
            {"role": "staff", "birth_year": "old"},
            SCHEMA,
            "birth_year",
        ),
        (
            "kind_face",
            "add_credential",
            {"person_id": "p1", "kind": "face", "value": "1"},
            SCHEMA,
            "kind",
        ),
        (
            "max_uses_zero",
            "add_credential",
            {"person_id": "p1", "kind": "pin", "value": "1234", "max_uses": 0},
            SCHEMA,
            "max_uses",
        ),
        ("reason_empty", "open_gate", {"gate_id": "east_gate", "reason": ""}, SCHEMA, "reason"),
        (
            "lease_not_date",
            "update_unit",
            {"unit_id": "3-1201", "lease_until": "soon"},
            SCHEMA,
            "lease_until",
        ),
        (
            "visitor_both_hosts",
            "issue_visitor_pass",
            {"unit_id": "3-1201", "person_id": "p1"},
            SCHEMA,
            "visitor",
        ),
        ("hours_zero", "issue_visitor_pass", {"unit_id": "3-1201", "hours": 0}, SCHEMA, "hours"),
        (
            "notice_huge",
            "record_consent",
            {"person_id": "p1", "notice_version": long},
            SCHEMA,
            "notice_version",
        ),
        (
            "camera_not_camera",
            "enroll_face",
            {"person_id": "p1", "camera_entity_id": "switch.east_relay"},
            SCHEMA,
            "camera_entity_id",
        ),
        ("audit_limit_text", "query_audit_log", {"limit": "all"}, SCHEMA, "limit"),
        ("erase_no_id", "erase_person", {}, SCHEMA, "person_id"),
        ("unknown_field", "rotate_key", {"force": True}, SCHEMA, "force"),
        # domain errors, each with its code
        (
            "unit_id_traversal",
            "add_unit",
            {"unit_id": "../../etc", "building": "3", "number": "1"},
            "invalid_id",
            "field=unit_id",
        ),
        (
            "person_id_newline",
            "add_person",
            {"person_id": "p\nforged", "role": "staff"},
            "invalid_id",
            "field=person_id",
        ),
        (
            "building_blank",
            "add_unit",
            {"unit_id": "u2", "building": "   ", "number": "1"},
            "invalid_value",
            "field=building",
        ),
        (
            "schedule_day_9",
            "add_person",
            {"role": "staff", "schedule": [{"days": [9], "start": "08:00", "end": "09:00"}]},
            "invalid_schedule",
            "why",
        ),
        (
            "validity_backwards",
            "add_person",
            {
                "role": "staff",
                "valid_from": "2026-01-02T00:00:00",
                "valid_until": "2026-01-01T00:00:00",
            },
            "invalid_validity",
            "",
        ),
        ("resident_no_unit", "add_person", {"role": "tenant"}, "invalid_value", "field=unit_id"),
        (
            "card_injection",
            "add_credential",
            {"person_id": "p1", "kind": "card", "value": "1' OR '1'='1"},
            "invalid_credential_value",
            "kind=card",
        ),
        (
            "id_card_checksum",
            "add_credential",
            {"person_id": "p1", "kind": "id_card", "value": "110105194912310021"},
            "invalid_credential_value",
            "why",
        ),
        (
            "card_taken",
            "add_credential",
            {"person_id": "p1", "kind": "card", "value": CARD},
            "duplicate_credential",
            "kind",
        ),
        (
            "gate_unknown",
            "present_credential",
            {"gate_id": "../east_gate", "kind": "card", "value": CARD},
            "unknown_gate",
            "gate_id",
        ),
        (
            "gate_unknown_open",
            "open_gate",
            {"gate_id": "nope", "reason": "x"},
            "unknown_gate",
            "gate_id",
        ),
        (
            "person_unknown",
            "export_person_data",
            {"person_id": "ghost"},
            "unknown_person",
            "person_id",
        ),
        (
            "erase_traversal",
            "erase_person",
            {"person_id": "../p1"},
            "invalid_id",
            "field=person_id",
        ),
        (
            "birth_year_future",
            "update_person",
            {"person_id": "p1", "birth_year": 2999},
            "invalid_value",
            "field=birth_year",
        ),
        ("no_image_source", "enroll_face", {"person_id": "p1"}, "image_source_required", ""),
        # file sources: traversal, outside the allowlist, relative, not a file, symlink out, too big
        (
            "file_dotdot",
            "enroll_face",
            {"person_id": "p1", "file_path": f"{allowed}/../outside.jpg"},
            "invalid_value",
            "field",
        ),
        (
            "file_etc_passwd",
            "enroll_face",
            {"person_id": "p1", "file_path": "/etc/passwd"},
            "invalid_value",
            "field",
        ),
        (
            "file_relative",
            "enroll_face",
            {"person_id": "p1", "file_path": "photo.jpg"},
            "invalid_value",
            "field",
        ),
        (
            "file_directory",
            "enroll_face",
            {"person_id": "p1", "file_path": f"{allowed}/sub"},
            "invalid_value",
            "field",
        ),
        (
            "file_missing",
            "enroll_face",
            {"person_id": "p1", "file_path": f"{allowed}/none.jpg"},
            "invalid_value",
            "field",
        ),
        (
            "file_symlink_out",
            "enroll_face",
            {"person_id": "p1", "file_path": f"{allowed}/link.jpg"},
            "invalid_value",
            "field",
        ),
        (
            "file_too_big",
            "enroll_face",
            {"person_id": "p1", "file_path": f"{allowed}/big.jpg"},
            "image_invalid",
            "why",
        ),
    ]


async def _state(hub: Any) -> dict[str, Any]:
    def _read() -> dict[str, Any]:
        s = hub.store
        return {
            "people": s.list_people(),
            "units": s.list_units(),
            "credentials": s.list_credentials("p1"),
            "passages": s.count_passages(),
            "consents": s.list_consents("p1"),
            "integrity": s.conn.execute("PRAGMA integrity_check").fetchone()[0],
        }

    return await hub.db(_read)


def _runner(service: str, data: dict[str, Any]) -> Any:
    """How a case reaches the hub: names and credential values through the staff panel's
    private commands (no action takes them), a presentation through the reader path."""
    if service == "present_credential":
        return lambda hass, _service, d: present_credential(hass, d)
    return private if {"name", "value"} & set(data) else call


async def test_service_corpus(hass: HomeAssistant, seeded: MockConfigEntry, tmp_path: Path) -> None:
    hub = seeded.runtime_data.hub
    before = await _state(hub)
    assert before["integrity"] == "ok"
    cases = _svc_cases(str(tmp_path / "allowed"))
    seen: list[str] = []
    for case, service, data, expect, detail in cases:
        run = _runner(service, data)
        if expect == SCHEMA:
            with pytest.raises(vol.Invalid) as schema_exc:
                await run(hass, service, data)
            assert detail in str(schema_exc.value), (case, str(schema_exc.value))
        else:
            with pytest.raises(ServiceValidationError) as exc:
                await run(hass, service, data)
            err = exc.value
            assert err.translation_key == expect, (case, err.translation_key)
            assert str(err), case
            assert not re.search(r"\{[a-z_]+\}", str(err)), case
            placeholders = err.translation_placeholders or {}
            key, _, value = detail.partition("=")
            assert not key or key in placeholders, (case, placeholders)
            assert not value or placeholders[key] == value, (case, placeholders)
            if expect == "invalid_value" and service == "enroll_face":
                assert placeholders["field"] == "file_path", case
        seen.append(case)
    assert len(seen) == len(cases) >= 35
    assert await _state(hub) == before  # nothing lost, nothing changed


async def test_malformed_reader_value_is_logged_not_lost(
    hass: HomeAssistant, seeded: MockConfigEntry
) -> None:
    """A reader sending garbage is told why, and the attempt is kept as a denied
    passage (an intrusion attempt is information, not noise)."""
    hub = seeded.runtime_data.hub
    for value in ("\x00\x01\x02", "' OR 1=1 --", "9" * 500):
        answer = await present_credential(
            hass, {"gate_id": "east_gate", "kind": "card", "value": value}
        )
        assert (answer["allowed"], answer["reason"]) == (False, "malformed_credential")
    passages = await hub.db(lambda: hub.store.recent_passages(limit=10))
    assert [(p.allowed, p.reason.value) for p in passages] == [(False, "malformed_credential")] * 3
    assert all(value not in (p.note or "") for p in passages for value in ("OR 1=1",))


# ------------------------------------------------------------------------- HTTP
ENROLL = "/api/community_gate/enroll"
TERMINAL = "/api/community_gate/terminal/decision"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
OK_EMBEDDING = [0.01] * 128


@dataclass(frozen=True)
class TerminalBody:
    """Fields the test's provisioned terminal signs into a face body when posting."""

    fields: dict[str, Any]


# (case, client, url, body, content type, status, error code or None for "any")
HTTP_CASES: list[tuple[str, str, str, bytes | TerminalBody, str, HTTPStatus, str | None]] = [
    (
        "enroll_no_auth",
        "anon",
        f"{ENROLL}?person_id=p1",
        JPEG,
        "image/jpeg",
        HTTPStatus.UNAUTHORIZED,
        None,
    ),
    (
        "enroll_not_admin",
        "user",
        f"{ENROLL}?person_id=p1",
        JPEG,
        "image/jpeg",
        HTTPStatus.FORBIDDEN,
        "unauthorized",
    ),
    (
        "enroll_text_type",
        "admin",
        f"{ENROLL}?person_id=p1",
        JPEG,
        "text/html",
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    ),
    (
        "enroll_json_type",
        "admin",
        f"{ENROLL}?person_id=p1",
        b"{}",
        "application/json",
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    ),
    (
        "enroll_no_person",
        "admin",
        ENROLL,
        JPEG,
        "image/jpeg",
        HTTPStatus.BAD_REQUEST,
        "person_id_required",
    ),
    (
        "enroll_bad_variant",
        "admin",
        f"{ENROLL}?person_id=p1&variant=sunglasses",
        JPEG,
        "image/jpeg",
        HTTPStatus.BAD_REQUEST,
        "invalid_variant",
    ),
    # Traversal in the query never reaches the view: HA's security filter answers 400.
    (
        "enroll_traversal_query",
        "admin",
        f"{ENROLL}?person_id=../../etc/passwd",
        JPEG,
        "image/jpeg",
        HTTPStatus.BAD_REQUEST,
        None,
    ),
    (
        "enroll_bad_entry",
        "admin",
        f"{ENROLL}?person_id=p1&config_entry_id=nope",
        JPEG,
        "image/jpeg",
        HTTPStatus.NOT_FOUND,
        "entry_not_loaded",
    ),
    (
        "enroll_too_big",
        "admin",
        f"{ENROLL}?person_id=p1",
        b"\xff" * (MAX_IMAGE_BYTES + 1),
        "image/jpeg",
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "too_large",
    ),
    (
        "terminal_no_auth",
        "anon",
        TERMINAL,
        b"{}",
        "application/json",
        HTTPStatus.UNAUTHORIZED,
        "terminal_unauthenticated",
    ),
    (
        "terminal_form_type",
        "admin",
        TERMINAL,
        b"gate_id=x",
        "application/x-www-form-urlencoded",
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    ),
    (
        "terminal_too_big",
        "admin",
        TERMINAL,
        b"[" + b"0," * 20_000 + b"0]",
        "application/json",
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "too_large",
    ),
    # A Home Assistant login, even an administrator's, is not a terminal: whatever the
    # body, an unsigned request is refused as unauthenticated.
    *(
        (
            f"terminal_admin_{label}",
            "admin",
            f"{TERMINAL}?gate_id=east_gate",
            body,
            "application/json",
            HTTPStatus.UNAUTHORIZED,
            "terminal_unauthenticated",
        )
        for label, body in (
            ("not_json", b"{gate_id:"),
            ("not_utf8", b"\xff\xfe\x00"),
            ("json_list", b"[1,2]"),
            ("old_api", json.dumps({"gate_id": "east_gate", "embedding": OK_EMBEDDING}).encode()),
        )
    ),
    # Signed by the east gate's terminal (``TerminalBody``): past the signature, the
    # old JSON API's input checks still hold.
    (
        "terminal_no_gate",
        "terminal",
        TERMINAL,
        TerminalBody({"emb": OK_EMBEDDING}),
        "application/json",
        HTTPStatus.BAD_REQUEST,
        "gate_id_required",
    ),
    (
        "terminal_gate_not_an_id",
        "terminal",
        f"{TERMINAL}?gate_id=East%20Gate%2F%2B",
        TerminalBody({"emb": OK_EMBEDDING}),
        "application/json",
        HTTPStatus.BAD_REQUEST,
        "gate_id_required",
    ),
    *(
        (
            f"terminal_{label}",
            "terminal",
            f"{TERMINAL}?gate_id=east_gate",
            TerminalBody({"emb": emb}),
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "invalid_embedding",
        )
        for label, emb in (
            ("short_embedding", [0.1] * 3),
            ("text_embedding", "0.1,0.2"),
            ("nested_embedding", [[0.1]] * 128),
            # A number no float holds (it broke the float32 conversion: HTTP 500),
            # and finite values far outside what a face embedding holds.
            ("embedding_huge_int", [10**400] + [0.01] * 127),
            ("embedding_1e300", [1e300] + [0.01] * 127),
            ("embedding_1e6", [-1e6] + [0.01] * 127),
        )
    ),
    (
        "terminal_bad_direction",
        "terminal",
        f"{TERMINAL}?gate_id=east_gate",
        TerminalBody({"emb": OK_EMBEDDING, "dir": "sideways"}),
        "application/json",
        HTTPStatus.BAD_REQUEST,
        "invalid_direction",
    ),
]


async def test_http_corpus(
    hass: HomeAssistant,
    seeded: MockConfigEntry,
    hass_client: Any,
    hass_client_no_auth: Any,
    hass_read_only_access_token: str,
) -> None:
    hub = seeded.runtime_data.hub
    terminal = await provision_terminal(hass, "east_gate")
    before = await _state(hub)
    clients = {
        "admin": await hass_client(),
        "user": await hass_client(hass_read_only_access_token),
        "anon": await hass_client_no_auth(),
    }
    clients["terminal"] = clients["anon"]
    for case, who, url, body, ctype, status, code in HTTP_CASES:
        data = terminal.sign(**body.fields) if isinstance(body, TerminalBody) else body
        r = await clients[who].post(url, data=data, headers={"Content-Type": ctype})
        assert r.status == status, (case, r.status, await r.text())
        if code is not None:
            assert (await r.json())["error"] == code, case
    assert await _state(hub) == before
    # Each refusal is in the audit log, by code, under the caller it can name.
    audit = await call(hass, "query_audit_log", {"action": "terminal_decision", "limit": 100})
    outcomes = {(e["user_id"], e["outcome"]) for e in audit["entries"]}
    assert ("device:term-east", "wrong_type") in outcomes
    assert ("anonymous", "unsigned") in outcomes
    assert ("device:term-east", "gate_id_required") not in outcomes  # not proven yet
    assert len(audit["entries"]) == sum(1 for case in HTTP_CASES if "terminal" in case[0])


# ------------------------------------------------------------ PII in logs/diag
async def test_logs_and_diagnostics_hold_no_personal_data(
    hass: HomeAssistant,
    estate: MockConfigEntry,
    hass_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Plant names, ID / card numbers, a PIN and an embedding; drive every path that
    logs (successes, refusals, errors, erasure, rotation, the nightly sweep) with debug
    logging on; then scan every record the integration wrote and the diagnostics."""

    assert await async_setup_component(hass, "diagnostics", {})  # before the router freezes
    caplog.set_level(logging.DEBUG, logger="custom_components.community_gate")
    embedding = [round(0.0123456 + i / 1000, 7) for i in range(128)]
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    await private(
        hass,
        "add_person",
        {"person_id": "p-zw", "role": "tenant", "unit_id": "3-1201", "name": f"{NAME} {NAME_ZH}"},
    )
    await private(
        hass, "add_credential", {"person_id": "p-zw", "kind": "id_card", "value": ID_NUMBER}
    )
    await private(hass, "add_credential", {"person_id": "p-zw", "kind": "card", "value": CARD})
    await private(hass, "add_credential", {"person_id": "p-zw", "kind": "pin", "value": PIN})
    for kind, value in (("id_card", ID_NUMBER), ("card", CARD), ("pin", PIN), ("card", "99")):
        await present_credential(hass, {"gate_id": "east_gate", "kind": kind, "value": value})
    with pytest.raises(ServiceValidationError):
        await private(hass, "add_credential", {"person_id": "p-zw", "kind": "card", "value": CARD})
    malformed = await present_credential(
        hass, {"gate_id": "east_gate", "kind": "id_card", "value": ID_NUMBER[:-1] + "9"}
    )
    assert malformed["reason"] == "malformed_credential"
    await call(hass, "record_consent", {"person_id": "p-zw", "notice_version": "v1"})
    client = await hass_client()
    terminal = await provision_terminal(hass, "east_gate")
    r = await terminal.post(client, embedding)
    assert r.status in (200, 503)  # authenticated: decided, or faces still loading
    await call(hass, "open_gate", {"gate_id": "east_gate", "reason": f"let {NAME} in"})
    await call(hass, "export_person_data", {"person_id": "p-zw"})
    await call(hass, "query_audit_log", {})
    await call(hass, "rotate_key", {})
    await estate.runtime_data.async_run_retention()
    await call(hass, "erase_person", {"person_id": "p-zw"})
    await hass.async_block_till_done()

    diag = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, estate))

    ours = [r for r in caplog.records if r.name.startswith("custom_components.community_gate")]
    assert ours, "the integration logged nothing: the scan would prove nothing"
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in ours)
    planted = [NAME, NAME_ZH, "Zhang", ID_NUMBER, ID_NUMBER[:10], CARD, CARD.lstrip("0"), PIN]
    planted += [repr(x) for x in embedding[:4]] + [f"{embedding[1]:.4f}"]
    for secret in planted:
        assert secret not in text, secret
        assert secret not in diag, secret
