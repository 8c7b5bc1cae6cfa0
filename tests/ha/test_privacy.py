"""Privacy in a real Home Assistant: the audit log, erasure, subject access export,
guardian consent, retention options and the nightly sweep, kept photos, sealing-key
rotation, and the repair for a gate where a face is the only way in."""

from __future__ import annotations

import asyncio
from pathlib import Path
import stat
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import issue_registry as ir
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.community_gate.const import (
    CONF_METHODS,
    DOMAIN,
    OPT_CLUSTER_RETENTION_DAYS,
    OPT_KEEP_PHOTOS,
    OPT_PHOTO_RETENTION_DAYS,
    OPT_RETENTION_DAYS,
)
from custom_components.community_gate.core.crypto import DecryptError, load_or_create_key
from custom_components.community_gate.core.keys import seal_key_path
from custom_components.community_gate.core.model import (
    CONSENT_FACE,
    Consent,
    Direction,
    Method,
    Passage,
    Reason,
)
from custom_components.community_gate.core.templates import TemplateVault, template_sealer
from tests.ha.helpers import (
    add_estate,
    add_tenant,
    call,
    gate_subentry,
    present_credential,
    private,
)

CARD = "0012345678"
DAY = 86400.0


@pytest.fixture
async def seeded(hass: HomeAssistant, estate: MockConfigEntry) -> MockConfigEntry:
    await add_tenant(hass, "Wang Fang", CARD, credential_id="c1")
    return estate


def vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, 128).astype(np.float32)


# ------------------------------------------------------------------------ audit
async def test_every_admin_action_is_audited(
    hass: HomeAssistant, seeded: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    admin = Context(user_id=hass_admin_user.id)
    await call(hass, "update_person", {"person_id": "p1", "blocked": True}, context=admin)
    with pytest.raises(ServiceValidationError):
        await call(hass, "revoke_credential", {"credential_id": "nope"}, context=admin)
    # A reader presenting a card is not an admin action: the passage log has it.
    await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})

    resp = await call(hass, "query_audit_log", {}, context=admin)
    rows = [(e["user_id"], e["action"], e["subject"], e["outcome"]) for e in resp["entries"]]
    assert rows == [
        (hass_admin_user.id, "revoke_credential", "nope", "unknown_credential"),
        (hass_admin_user.id, "update_person", "p1", "ok"),
        ("system", "add_credential", "p1", "ok"),
        ("system", "add_person", "p1", "ok"),
        ("system", "add_unit", "3-1201", "ok"),
    ]
    assert all(e["time"].endswith("+00:00") for e in resp["entries"])
    # The query itself is an admin action too.
    again = await call(hass, "query_audit_log", {"limit": 1}, context=admin)
    assert [e["action"] for e in again["entries"]] == ["query_audit_log"]


async def test_audit_log_filters(
    hass: HomeAssistant, seeded: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    admin = Context(user_id=hass_admin_user.id)
    await call(hass, "add_person", {"person_id": "p2", "role": "staff"}, context=admin)
    by_user = await call(hass, "query_audit_log", {"user_id": hass_admin_user.id})
    assert [e["subject"] for e in by_user["entries"]] == ["p2"]
    by_subject = await call(hass, "query_audit_log", {"subject": "p1"})
    assert [e["action"] for e in by_subject["entries"]] == ["add_credential", "add_person"]
    by_action = await call(hass, "query_audit_log", {"action": "add_unit"})
    assert [e["subject"] for e in by_action["entries"]] == ["3-1201"]
    future = await call(hass, "query_audit_log", {"since": "2999-01-01T00:00:00+00:00"})
    assert future["entries"] == []
    first = await call(hass, "query_audit_log", {"limit": 2})
    older = await call(hass, "query_audit_log", {"before_id": first["entries"][-1]["id"]})
    assert len(older["entries"]) >= 3


async def test_refused_attempts_are_audited(
    hass: HomeAssistant, seeded: MockConfigEntry, hass_read_only_user: MockUser
) -> None:
    with pytest.raises(Unauthorized):
        await call(
            hass, "erase_person", {"person_id": "p1"}, Context(user_id=hass_read_only_user.id)
        )
    resp = await call(hass, "query_audit_log", {"limit": 1})
    assert resp["entries"][0] == resp["entries"][0] | {
        "user_id": hass_read_only_user.id,
        "action": "erase_person",
        "subject": "p1",
        "outcome": "unauthorized",
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"before_id": 0}, "before_id"),
        ({"since": "yesterday"}, "since"),
        ({"user_id": "x" * 65}, "user_id"),
    ],
)
async def test_query_audit_log_schema(
    hass: HomeAssistant, seeded: MockConfigEntry, data: dict[str, Any], field: str
) -> None:
    from custom_components.community_gate.schema import vol

    with pytest.raises(vol.Invalid) as exc:
        await call(hass, "query_audit_log", data)
    assert field in str(exc.value)


# ------------------------------------------------------------- erase and export
async def test_erase_person(hass: HomeAssistant, seeded: MockConfigEntry) -> None:
    hub = seeded.runtime_data.hub
    first = await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    assert first["allowed"] is True

    resp = await call(hass, "erase_person", {"person_id": "p1"})

    alias = resp["alias"]
    assert alias.startswith("erased-")
    assert resp["credentials"] == 1
    assert resp["passages_pseudonymised"] == 1
    again = await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    assert (again["allowed"], again["reason"]) == (False, "unknown_credential")
    passage = await hub.db(hub.store.get_passage, first["passage_id"])
    assert (passage.person_id, passage.credential_id) == (alias, None)
    # The audit trail keeps the actions, under the alias, the erasure included.
    audit = await call(hass, "query_audit_log", {"subject": alias})
    assert {e["action"] for e in audit["entries"]} >= {"add_person", "erase_person"}
    assert (await call(hass, "query_audit_log", {"subject": "p1"}))["entries"] == []
    with pytest.raises(ServiceValidationError) as exc:
        await call(hass, "export_person_data", {"person_id": "p1"})
    assert exc.value.translation_key == "unknown_person"
    assert hub.stats.people == 0


async def test_erase_unknown_person(hass: HomeAssistant, seeded: MockConfigEntry) -> None:
    with pytest.raises(ServiceValidationError) as exc:
        await call(hass, "erase_person", {"person_id": "ghost"})
    assert exc.value.translation_key == "unknown_person"


async def test_export_person_data(hass: HomeAssistant, seeded: MockConfigEntry) -> None:
    await call(hass, "record_consent", {"person_id": "p1", "notice_version": "2026-11"})
    await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    out = await call(hass, "export_person_data", {"person_id": "p1"})
    assert out["person"]["name"] == "Wang Fang"
    assert out["person"]["unit"] == {"building": "3", "number": "1201"}
    assert out["consents"][0]["notice_version"] == "2026-11"
    assert out["consents"][0]["operator"] == "system"
    assert [c["credential_id"] for c in out["credentials"]] == ["c1"]
    assert [p["method"] for p in out["passages"]] == ["card"]
    assert {e["action"] for e in out["audit"]} >= {"add_person", "record_consent"}
    assert CARD not in str(out)


# ------------------------------------------------------------- guardian consent
async def test_child_needs_a_guardian(hass: HomeAssistant, seeded: MockConfigEntry) -> None:
    year = time.gmtime().tm_year
    await call(
        hass,
        "add_person",
        {"person_id": "kid", "role": "co_resident", "unit_id": "3-1201", "birth_year": year - 9},
    )
    with pytest.raises(ServiceValidationError) as exc:
        await call(hass, "record_consent", {"person_id": "kid", "notice_version": "v1"})
    assert exc.value.translation_key == "guardian_consent_required"
    assert exc.value.translation_placeholders == {"person_id": "kid"}
    resp = await call(
        hass, "record_consent", {"person_id": "kid", "notice_version": "v1", "guardian": True}
    )
    assert resp["person_id"] == "kid"
    # An adult's own consent is enough.
    await call(hass, "update_person", {"person_id": "p1", "birth_year": year - 40})
    await call(hass, "record_consent", {"person_id": "p1", "notice_version": "v1"})


@pytest.mark.parametrize("year", [1899, 3000])
async def test_birth_year_out_of_range(
    hass: HomeAssistant, seeded: MockConfigEntry, year: int
) -> None:
    with pytest.raises(ServiceValidationError) as exc:
        await call(hass, "update_person", {"person_id": "p1", "birth_year": year})
    assert exc.value.translation_key == "invalid_value"
    assert exc.value.translation_placeholders == {"field": "birth_year"}


# -------------------------------------------------------------------- retention
PRIVACY_KEYS = (
    OPT_RETENTION_DAYS,
    OPT_CLUSTER_RETENTION_DAYS,
    OPT_PHOTO_RETENTION_DAYS,
    OPT_KEEP_PHOTOS,
)


async def test_retention_options(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    result = await hass.config_entries.options.async_init(estate.entry_id)
    defaults = result["data_schema"]({})
    assert {k: defaults[k] for k in PRIVACY_KEYS} == {
        OPT_RETENTION_DAYS: 180,
        OPT_CLUSTER_RETENTION_DAYS: 30,
        OPT_PHOTO_RETENTION_DAYS: 7,
        OPT_KEEP_PHOTOS: False,
    }
    for key in (OPT_CLUSTER_RETENTION_DAYS, OPT_PHOTO_RETENTION_DAYS):
        with pytest.raises(InvalidData) as exc:
            await hass.config_entries.options.async_configure(result["flow_id"], {key: 0})
        assert set(exc.value.schema_errors) == {key}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {OPT_CLUSTER_RETENTION_DAYS: 10, OPT_PHOTO_RETENTION_DAYS: 2, OPT_KEEP_PHOTOS: True},
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert {k: estate.options[k] for k in PRIVACY_KEYS} == {
        OPT_RETENTION_DAYS: 180,
        OPT_CLUSTER_RETENTION_DAYS: 10,
        OPT_PHOTO_RETENTION_DAYS: 2,
        OPT_KEEP_PHOTOS: True,
    }
    assert all(type(estate.options[k]) is int for k in PRIVACY_KEYS if k != OPT_KEEP_PHOTOS)


async def test_options_step_refuses_out_of_range_values(
    hass: HomeAssistant, estate: MockConfigEntry
) -> None:
    """Belt and braces behind the selector bounds: the step itself checks the ranges
    and names the field with a translated error."""
    from custom_components.community_gate.config_flow import CommunityGateOptionsFlow

    flow = CommunityGateOptionsFlow()
    flow.hass = hass
    flow.handler = estate.entry_id
    result = await flow.async_step_init(
        {OPT_RETENTION_DAYS: 30, OPT_CLUSTER_RETENTION_DAYS: 4000, OPT_PHOTO_RETENTION_DAYS: "7"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        OPT_CLUSTER_RETENTION_DAYS: "retention_out_of_range",
        OPT_PHOTO_RETENTION_DAYS: "retention_out_of_range",
    }


def _old_passage(ts: float) -> Passage:
    return Passage(
        ts=ts,
        gate_id="east_gate",
        direction=Direction.IN,
        method=Method.CARD,
        allowed=False,
        reason=Reason.UNKNOWN_CREDENTIAL,
    )


async def test_nightly_sweep_uses_each_retention(
    hass: HomeAssistant, seeded: MockConfigEntry
) -> None:
    hub = seeded.runtime_data.hub
    hass.config_entries.async_update_entry(
        seeded,
        options={
            OPT_RETENTION_DAYS: 10,
            OPT_CLUSTER_RETENTION_DAYS: 5,
            OPT_PHOTO_RETENTION_DAYS: 1,
            OPT_KEEP_PHOTOS: True,
        },
    )
    await hass.async_block_till_done()
    estate = seeded.runtime_data  # reloaded by the options change
    hub = estate.hub
    now = time.time()
    vault = estate.privacy.templates

    def _seed() -> None:
        hub.store.add_passages([_old_passage(now - 11 * DAY), _old_passage(now - 9 * DAY)])
        hub.store.save_clusters(
            [
                vault.seal_cluster("old", vec(1), 2, now - 9 * DAY, now - 6 * DAY, ()),
                vault.seal_cluster("new", vec(2), 2, now - 9 * DAY, now - 1 * DAY, ()),
            ]
        )

    await hub.db(_seed)
    assert await estate.face.async_keep_photo("p1", b"\xff\xd8 enrollment photo") is not None
    assert await estate.async_run_retention(now) == {"passages": 1, "clusters": 1, "photos": 0}
    assert await estate.async_run_retention(now + 2 * DAY) == {
        "passages": 0,
        "clusters": 0,
        "photos": 1,
    }
    assert [c.id for c in await hub.db(lambda: list(hub.store.iter_clusters()))] == ["new"]


async def test_a_stranger_past_retention_is_not_loaded_back(
    hass: HomeAssistant, seeded: MockConfigEntry
) -> None:
    """The face models load in the background; a sweep may delete a row they already
    read. An expired stranger must not come back to memory from that read (CI once saw
    it expire twice: on disk by one sweep, in memory by the next)."""
    hass.config_entries.async_update_entry(seeded, options={OPT_CLUSTER_RETENTION_DAYS: 5})
    await hass.async_block_till_done()
    estate = seeded.runtime_data
    hub, vault = estate.hub, estate.privacy.templates
    now = time.time()
    await hub.db(
        lambda: hub.store.save_clusters(
            [
                vault.seal_cluster("old", vec(1), 2, now - 9 * DAY, now - 6 * DAY, ()),
                vault.seal_cluster("new", vec(2), 2, now - 9 * DAY, now - 1 * DAY, ()),
            ]
        )
    )
    assert await hass.config_entries.async_reload(seeded.entry_id)
    estate = seeded.runtime_data
    await asyncio.wait_for(estate.face.loaded.wait(), timeout=120)  # a hang fails, not stalls
    assert estate.face.ready, estate.face.error
    assert [c.id for c in estate.face.clusters.export()] == ["new"]
    # The row is the sweep's to delete, and it still counts it.
    assert await estate.async_run_retention(now) == {"passages": 0, "clusters": 1, "photos": 0}


async def test_photos_are_not_kept_unless_opted_in(
    hass: HomeAssistant, seeded: MockConfigEntry
) -> None:
    hub = seeded.runtime_data.hub
    assert await seeded.runtime_data.face.async_keep_photo("p1", b"jpeg") is None
    assert await hub.db(hub.store.count_photos) == 0


# ----------------------------------------------------------------- key rotation
async def test_rotate_key_reseals_and_survives_a_restart(
    hass: HomeAssistant, seeded: MockConfigEntry, db_path: Path
) -> None:
    hub = seeded.runtime_data.hub
    vault = seeded.runtime_data.privacy.templates

    def _enroll() -> None:
        hub.store.add_consent(Consent("p1", CONSENT_FACE, "v1", time.time(), "admin"))
        vault.enroll("p1", vec(3), template_id="face_p1")
        hub.store.save_clusters([vault.seal_cluster("k1", vec(4), 1, 1.0, time.time(), ())])

    await hub.db(_enroll)
    before = await hub.db(lambda: [t.sealed for t in hub.store.iter_face_templates()])

    resp = await call(hass, "rotate_key", {})

    assert resp["templates"] == 1
    assert resp["clusters"] == 1
    assert resp["unreadable"] == 0
    key_file = seal_key_path(db_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    after = await hub.db(lambda: [t.sealed for t in hub.store.iter_face_templates()])
    assert after != before
    # Cards still open (their hash key never rotates) and the templates still load
    # after a restart, with the new key read from its file.
    card = await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    assert card["allowed"] is True
    assert await hass.config_entries.async_reload(seeded.entry_id)
    await hass.async_block_till_done()
    hub = seeded.runtime_data.hub
    vault = seeded.runtime_data.privacy.templates
    loaded = await hub.db(lambda: list(vault.load_all()))
    assert [(t, p) for t, p, _v in loaded] == [("face_p1", "p1")]
    assert np.allclose(loaded[0][2], vec(3))
    # The old root (the hash key) no longer opens anything.
    hash_key = load_or_create_key(db_path.with_name(db_path.name + ".key"))
    tpl = await hub.db(lambda: next(hub.store.iter_face_templates()))
    with pytest.raises(DecryptError):
        TemplateVault(hub.store, template_sealer(hash_key)).open(tpl)


# --------------------------------------------------------------- face-only gate
async def _face_only_estate(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]]
) -> MockConfigEntry:
    return await add_estate(
        hass,
        db_path,
        gate_subentry("east_gate", "switch.east_relay", **{CONF_METHODS: ["face"]}),
        gate_subentry("north_door", "switch.north_relay", **{CONF_METHODS: ["face", "card"]}),
    )


async def test_face_only_gate_raises_a_repair_until_fixed(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]]
) -> None:
    entry = await _face_only_estate(hass, db_path, relay_calls)
    issues = ir.async_get(hass)
    issue = issues.async_get_issue(DOMAIN, f"face_only_gate_{entry.entry_id}_east_gate")
    assert issue is not None
    assert issue.translation_key == "face_only_gate"
    assert issue.translation_placeholders == {"gate_id": "east_gate", "name": "East Gate"}
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issues.async_get_issue(DOMAIN, f"face_only_gate_{entry.entry_id}_north_door") is None

    # The gate takes no card while it is face-only: the attempt is logged as denied.
    await call(hass, "add_unit", {"unit_id": "u", "building": "3", "number": "1"})
    await call(hass, "add_person", {"person_id": "p1", "role": "tenant", "unit_id": "u"})
    await private(hass, "add_credential", {"person_id": "p1", "kind": "card", "value": CARD})
    resp = await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    assert (resp["allowed"], resp["reason"]) == (False, "method_not_accepted")
    assert relay_calls == []
    # ... but an emergency opens it regardless.
    await call(hass, "set_emergency", {"active": True})
    relay_calls.clear()
    resp = await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    assert resp["allowed"] is True
    await call(hass, "set_emergency", {"active": False})

    # Adding a card reader clears the issue (the subentry change reloads the entry).
    sub = next(s for s in entry.subentries.values() if s.unique_id == "east_gate")
    hass.config_entries.async_update_subentry(
        entry, sub, data=dict(sub.data) | {CONF_METHODS: ["face", "card", "qr"]}
    )
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert issues.async_get_issue(DOMAIN, f"face_only_gate_{entry.entry_id}_east_gate") is None
    resp = await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    assert resp["allowed"] is True


async def test_removed_estate_clears_its_face_only_issues(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]]
) -> None:
    entry = await _face_only_estate(hass, db_path, relay_calls)
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not [i for d, i in ir.async_get(hass).issues if d == DOMAIN]


async def test_gate_flow_refuses_no_methods(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    result = await hass.config_entries.subentries.async_init(
        (estate.entry_id, "gate"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "West gate",
            "kind": "estate_gate",
            "direction": "both",
            "actuator": "switch.east_relay",
            "pulse_seconds": 5,
            CONF_METHODS: [],
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_METHODS: "methods_required"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "West gate",
            "kind": "estate_gate",
            "direction": "both",
            "actuator": "switch.east_relay",
            "pulse_seconds": 5,
            CONF_METHODS: ["pin", "face"],
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_METHODS] == ["face", "pin"]


# ------------------------------------------------------------------- withdrawal
async def test_withdrawal_erases_templates_and_photos_and_keeps_the_card(
    hass: HomeAssistant, seeded: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        seeded, options=dict(seeded.options) | {OPT_KEEP_PHOTOS: True}
    )
    await hass.async_block_till_done()
    hub = seeded.runtime_data.hub
    await call(hass, "record_consent", {"person_id": "p1", "notice_version": "v1"})
    privacy = seeded.runtime_data.privacy
    await hub.db(lambda: privacy.templates.enroll("p1", vec(8)))
    assert await seeded.runtime_data.face.async_keep_photo("p1", b"\xff\xd8 photo") is not None

    resp = await call(hass, "withdraw_consent", {"person_id": "p1"})

    assert resp["templates_removed"] == 1
    assert await hub.db(hub.store.list_face_templates, "p1") == []
    assert await hub.db(hub.store.list_photos, "p1") == []
    consents = await hub.db(hub.store.list_consents, "p1")
    assert consents[0].withdrawn_at is not None  # the record stays as evidence
    card = await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": CARD})
    assert card["allowed"] is True


# ------------------------------------------------ with the real face engine
async def test_kept_photo_sealed_then_erased_with_the_face(
    hass: HomeAssistant, seeded: MockConfigEntry, db_path: Path
) -> None:
    """Real models on a real photo: with the option on, the enrollment photo is kept
    sealed; erasure removes it, the template, and the face from the live gallery."""
    from tests.ha.test_face_service import PHOTOS, ready

    if not (PHOTOS / "obama.jpg").exists():
        pytest.skip("package photos missing: run scripts/fetch_photos")
    hass.config_entries.async_update_entry(
        seeded, options=dict(seeded.options) | {OPT_KEEP_PHOTOS: True}
    )
    await hass.async_block_till_done()
    hass.config.allowlist_external_dirs.add(str(PHOTOS.resolve()))
    face = await ready(hass, seeded)
    hub = seeded.runtime_data.hub
    await call(hass, "record_consent", {"person_id": "p1", "notice_version": "v1"})
    jpeg = (PHOTOS / "obama.jpg").read_bytes()
    await call(hass, "enroll_face", {"person_id": "p1", "file_path": str(PHOTOS / "obama.jpg")})

    photos = await hub.db(hub.store.list_photos, "p1")
    assert len(photos) == 1
    assert jpeg[:64] not in photos[0].sealed
    assert await hub.db(seeded.runtime_data.privacy.photos.open, photos[0]) == jpeg
    assert photos[0].expires_at - photos[0].created_at == 7 * DAY
    assert len(face.gallery) == 1

    resp = await call(hass, "erase_person", {"person_id": "p1"})
    assert (resp["face_templates"], resp["photos"]) == (1, 1)
    assert len(face.gallery) == 0
    assert await hub.db(hub.store.count_photos) == 0
    assert await hub.db(hub.store.count_face_templates) == 0
