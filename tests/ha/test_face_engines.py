"""The face engine as an estate option (issue 14): switching engines re-encodes people
from kept photos and asks for new photos for the rest, never comparing encodings across
engines; a gate's threshold is set for the people who may pass it now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.community_gate.const import CONF_DB_PATH, DOMAIN
from custom_components.community_gate.core.engines import DEFAULT_ENGINE, DLIB_ENGINE
from tests.ha.helpers import call, gate_subentry
from tests.ha.test_face_service import PHOTOS, consent, embedding_of, enroll, ready

pytestmark = pytest.mark.skipif(
    not (PHOTOS / "obama.jpg").exists(),
    reason="package photos missing: run scripts/fetch_photos (scripts/setup does)",
)


async def _estate(hass: HomeAssistant, db: Path, **options: Any) -> MockConfigEntry:
    hass.config.allowlist_external_dirs.add(str(PHOTOS.resolve()))
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Maple Court",
        data={"name": "Maple Court", CONF_DB_PATH: str(db)},
        options={"retention_days": 180, **options},
        unique_id=str(db),
        subentries_data=[
            gate_subentry("east_gate", "switch.east_relay"),
            gate_subentry("north_door", "switch.north_relay", kind="building_door", building="3"),
        ],
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    await ready(hass, entry)
    return entry


async def _set_options(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> None:
    hass.config_entries.async_update_entry(entry, options={**entry.options, **changes})
    await hass.async_block_till_done()
    await ready(hass, entry)


def _engines(entry: MockConfigEntry, pid: str) -> set[str]:
    return {t.engine for t in entry.runtime_data.hub.store.list_face_templates(pid)}


async def test_engine_switch_reencodes_kept_photos_and_asks_for_the_rest(
    hass: HomeAssistant,
    db_path: Path,
    relay_calls: list[tuple[str, str]],
    hass_ws_client: WebSocketGenerator,
) -> None:
    entry = await _estate(hass, db_path)
    assert entry.runtime_data.face.spec.name == DEFAULT_ENGINE
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    for pid in ("obama", "biden"):
        await call(hass, "add_person", {"person_id": pid, "role": "tenant", "unit_id": "3-1201"})
        await consent(hass, pid)
    await enroll(hass, "biden", "biden.jpg")  # photos not kept: no way to re-encode him
    await _set_options(hass, entry, keep_photos=True)
    await enroll(hass, "obama", "obama.jpg")  # kept, sealed
    assert _engines(entry, "obama") == _engines(entry, "biden") == {DEFAULT_ENGINE}

    await _set_options(hass, entry, face_engine=DLIB_ENGINE)
    face = entry.runtime_data.face
    assert face.spec.name == DLIB_ENGINE
    # Obama was re-encoded by dlib from the kept photo and his ncnn template is gone;
    # Biden keeps his ncnn template (switching back restores him) but dlib never sees it.
    assert _engines(entry, "obama") == {DLIB_ENGINE}
    assert _engines(entry, "biden") == {DEFAULT_ENGINE}
    assert face.gallery.people() == ["obama"]
    assert face.stale_people == 1
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"face_reenroll_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"count": "1", "engine": DLIB_ENGINE}
    # The panel marks who needs a new photo.
    ws = await hass_ws_client(hass)
    await ws.send_json({"id": 1, "type": f"{DOMAIN}/person", "person_id": "biden"})
    biden = (await ws.receive_json())["result"]
    assert biden["face_reenroll"] is True
    assert biden["face_references"] == {"plain": 0, "masked": 0}

    # The re-encoded face opens the gate with the new engine.
    outcome = await face.async_present_embedding("east_gate", embedding_of(face, "obama2.jpg"))
    assert outcome is not None
    assert (outcome.passage.person_id, outcome.passage.allowed) == ("obama", True)

    # A new photo under dlib: his old template goes, and the repair with it.
    await enroll(hass, "biden", "biden.jpg")
    assert _engines(entry, "biden") == {DLIB_ENGINE}
    assert face.stale_people == 0
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"face_reenroll_{entry.entry_id}") is None


async def test_a_gate_is_judged_by_who_may_pass_it_now(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]]
) -> None:
    entry = await _estate(hass, db_path)
    face = entry.runtime_data.face
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    await call(hass, "add_unit", {"unit_id": "5-0101", "building": "5", "number": "0101"})
    await call(hass, "add_person", {"person_id": "obama", "role": "tenant", "unit_id": "3-1201"})
    await call(hass, "add_person", {"person_id": "biden", "role": "tenant", "unit_id": "5-0101"})
    for pid, photo in (("obama", "obama.jpg"), ("biden", "biden.jpg")):
        await consent(hass, pid)
        await enroll(hass, pid, photo)

    assert await face.async_scope("east_gate") == {"obama", "biden"}
    assert await face.async_scope("north_door") == {"obama"}
    # One person who may pass is a looser bar than two (same strictness target).
    one = face.recogniser.bars(await face.async_scope("north_door"))
    two = face.recogniser.bars(await face.async_scope("east_gate"))
    assert (one.people, two.people) == (1, 2)
    assert one.plain >= two.plain

    # Biden at building 3's door is still named (searched against everyone) and refused.
    outcome = await face.async_present_embedding("north_door", embedding_of(face, "biden.jpg"))
    assert outcome is not None
    assert (outcome.passage.person_id, outcome.passage.allowed) == ("biden", False)
    assert outcome.passage.reason.value == "gate_not_allowed"

    # A change to a person is seen at once (the store's generation), not after a minute.
    await call(hass, "update_person", {"person_id": "obama", "blocked": True})
    assert await face.async_scope("north_door") == frozenset()
    assert await face.async_scope("east_gate") == {"biden"}


async def test_a_look_alike_confirmed_by_staff_is_enrolled_audited_and_never_guessed(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]]
) -> None:
    """Siblings: a face near another person's is refused naming them; staff who checked
    enroll it as someone different (audited); at the gate a face near both is refused
    as ambiguous, never given to either. Two photos of one man stand in for twins."""
    entry = await _estate(hass, db_path)
    face = entry.runtime_data.face
    store = entry.runtime_data.hub.store
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    for pid in ("twin_a", "twin_b", "other"):
        await call(hass, "add_person", {"person_id": pid, "role": "tenant", "unit_id": "3-1201"})
        await consent(hass, pid)
    await enroll(hass, "twin_a", "obama.jpg")
    with pytest.raises(ServiceValidationError) as exc:
        await enroll(hass, "twin_b", "obama2.jpg")
    assert exc.value.translation_key == "face_duplicate"
    assert exc.value.translation_placeholders["other_person_id"] == "twin_a"
    # Naming the wrong person as "different" does not get past the check.
    with pytest.raises(ServiceValidationError):
        await enroll(hass, "twin_b", "obama2.jpg", different_from="other")
    result = await enroll(hass, "twin_b", "obama2.jpg", different_from="twin_a")
    assert result["look_alike"] == "twin_a"
    assert {t.person_id for t in store.list_face_templates("twin_b")} == {"twin_b"}
    rows = store.query_audit(action="confirm_different_person")
    assert [(r.subject, r.outcome) for r in rows] == [("twin_b|twin_a", "ok")]

    # The third photo is near both: refused as ambiguous, naming neither as let in.
    outcome = await face.async_present_embedding("east_gate", embedding_of(face, "obama3.jpg"))
    assert outcome is not None
    assert outcome.passage.allowed is False
    assert "face_ambiguous" in outcome.passage.flags
    assert relay_calls == []


async def test_a_large_estate_reads_its_changed_roster_in_the_background(
    hass: HomeAssistant,
    db_path: Path,
    relay_calls: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past ROSTER_INLINE people a changed roster is read a page at a time behind the
    frames: the next frame is judged on the previous roster, the one after on the new."""
    from custom_components.community_gate import face as face_module

    monkeypatch.setattr(face_module, "ROSTER_INLINE", 1)
    monkeypatch.setattr(face_module, "ROSTER_PAGE", 2)  # several pages for three people
    entry = await _estate(hass, db_path)
    face = entry.runtime_data.face
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    for pid in ("a", "b", "c"):
        await call(hass, "add_person", {"person_id": pid, "role": "tenant", "unit_id": "3-1201"})
    assert await face.async_scope("north_door") == {"a", "b", "c"}  # first read: inline
    await call(hass, "update_person", {"person_id": "b", "blocked": True})
    assert await face.async_scope("north_door") == {"a", "b", "c"}  # still the old roster
    task = face._roster_task
    assert task is not None
    await task
    assert await face.async_scope("north_door") == {"a", "c"}


async def test_a_strangers_other_photo_joins_his_cluster_and_a_switch_forgets_them(
    hass: HomeAssistant, db_path: Path, relay_calls: list[tuple[str, str]]
) -> None:
    """Stranger clusters use the engine's own radius: under SFace, dlib's radius made
    every photo a stranger of its own. Two photos of one man (not the same frame) are one
    stranger; a third person is another. An engine switch forgets the clusters (other
    numbers, no photo to re-encode them from)."""
    entry = await _estate(hass, db_path)
    face = entry.runtime_data.face

    async def stranger(photo: str) -> str:
        outcome = await face.async_present_embedding("east_gate", embedding_of(face, photo))
        assert outcome is not None
        assert outcome.passage.reason.value == "unknown_credential"
        assert outcome.passage.cluster_id is not None
        return outcome.passage.cluster_id

    first = await stranger("obama.jpg")
    assert await stranger("obama2.jpg") == first
    assert await stranger("obama3.jpg") == first
    assert await stranger("biden.jpg") != first
    await face.async_save_clusters()
    assert len(list(entry.runtime_data.hub.store.iter_clusters())) == 2

    await _set_options(hass, entry, face_engine=DLIB_ENGINE)
    face = entry.runtime_data.face
    assert len(face.clusters) == 0
    assert list(entry.runtime_data.hub.store.iter_clusters()) == []
    # Under dlib, his photos cluster again, with dlib's own radius.
    again = await stranger("obama.jpg")
    assert again != first
    assert await stranger("obama2.jpg") == again
