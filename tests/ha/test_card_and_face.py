"""Issue 15, item 3: per gate, the PAD level and "face alone" vs "card + face", set in the
gate's subentry form and applied by the hub. At a card + face gate neither the face nor
the card opens alone; both of the same person do, in either order; each half is a
logged refusal that tells the terminal what comes next."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.community_gate.const import EVENT_ALERT, EVENT_PASSAGE, SUBENTRY_GATE
from custom_components.community_gate.core import rules
from custom_components.community_gate.core.display import prompt
from custom_components.community_gate.core.model import FaceMode, PadLevel, Reason
from tests.ha.helpers import CARD, NAME, add_tenant, hub_of, present

PHOTOS = Path(__file__).resolve().parents[2] / ".cache" / "test-photos"


async def _gate_form(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_GATE), context={"source": SOURCE_USER}
    )
    form = {
        "name": "Tower Door",
        "kind": "estate_gate",
        "direction": "both",
        "actuator": "switch.north_relay",
        "pulse_seconds": 3,
        **data,
    }
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], form)
    await hass.async_block_till_done()
    return result


async def test_form_defaults_and_checks(hass: HomeAssistant, estate: MockConfigEntry) -> None:
    result = await hass.config_entries.subentries.async_init(
        (estate.entry_id, SUBENTRY_GATE), context={"source": SOURCE_USER}
    )
    defaults = {str(k): k.default() for k in result["data_schema"].schema if callable(k.default)}
    assert defaults["pad_level"] == "stream"  # a photo held still is refused by default
    assert defaults["face_mode"] == "face_alone"
    # Card + face at a gate that takes no second credential cannot work.
    result = await _gate_form(hass, estate, methods=["face"], face_mode="card_and_face")
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"face_mode": "face_mode_needs_methods"}
    # Gates configured before issue 15 load with the defaults.
    hub = hub_of(estate)
    assert {rt.pad_level for rt in hub.gates.values()} == {PadLevel.STREAM}
    assert {rt.face_mode for rt in hub.gates.values()} == {FaceMode.FACE_ALONE}


async def test_card_and_face_needs_both_of_the_same_person(
    hass: HomeAssistant, estate: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    result = await _gate_form(
        hass,
        estate,
        methods=["face", "card"],
        face_mode="card_and_face",
        pad_level="challenge",
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    hub = hub_of(estate)
    rt = hub.gates["tower_door"]
    assert (rt.face_mode, rt.pad_level) == (FaceMode.CARD_AND_FACE, PadLevel.CHALLENGE)
    await add_tenant(hass, settle=True)
    relay_calls.clear()

    # The card alone: refused, logged with whose half it was, the terminal asks for a face.
    card = await present(hass, "tower_door")
    assert (card["allowed"], card["reason"], card["person_id"]) == (
        False,
        "second_factor_required",
        "p1",
    )
    assert prompt(Reason.SECOND_FACTOR_REQUIRED).text == "Now look at the camera"
    # Then her face (as the face service presents a match): the pair opens, once.
    face = await hub.async_present_face(
        "tower_door", person_id="p1", template_id=None, distance=0.3, cluster_id=None
    )
    assert face.decision.allowed
    assert "card_and_face" in face.passage.flags, face
    assert face.actuator_error is None, face.actuator_error
    await hass.async_block_till_done()
    assert relay_calls == [("switch.north_relay", "on")]
    # The pulse ends (3 s) and the relay releases.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=4))
    await hass.async_block_till_done()
    assert relay_calls[-1] == ("switch.north_relay", "off")

    # Face first this time, then a stranger's card is no second half; her card is.
    relay_calls.clear()
    face = await hub.async_present_face(
        "tower_door", person_id="p1", template_id=None, distance=0.3, cluster_id=None
    )
    assert face.decision.reason is Reason.SECOND_FACTOR_REQUIRED
    assert prompt(Reason.SECOND_FACTOR_REQUIRED, "zh-Hans", face=True).text == "请再刷卡或输入密码"
    assert (await present(hass, "tower_door", "0000000"))["reason"] == "unknown_credential"
    assert (await present(hass, "tower_door"))["allowed"] is True
    await hass.async_block_till_done()
    assert relay_calls == [("switch.north_relay", "on")]

    # The other gates stay face-alone: her card opens the east gate by itself.
    assert (await present(hass, "east_gate"))["allowed"] is True
    reasons = [p.reason for p in await hub.db(lambda: hub.store.recent_passages(limit=10))]
    assert reasons.count(Reason.SECOND_FACTOR_REQUIRED) == 2


async def _real_face_gate(hass: HomeAssistant, estate: MockConfigEntry) -> Any:
    """The tower door in card + face mode (PAD off: embeddings, no frames), tenant p1
    holding her card, and the estate's real face engine, loaded."""
    result = await _gate_form(
        hass, estate, methods=["face", "card"], face_mode="card_and_face", pad_level="off"
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await add_tenant(hass, settle=True)
    face = estate.runtime_data.face
    await asyncio.wait_for(face.loaded.wait(), timeout=120)
    assert face.ready, face.error
    hass.config.allowlist_external_dirs.add(str(PHOTOS.resolve()))
    return face


async def _encoding(hass: HomeAssistant, face: Any, photo: str) -> np.ndarray:
    """The engine's own embedding of a package photo's face."""

    def run() -> np.ndarray:
        return np.asarray(face.worker.analyse((PHOTOS / photo).read_bytes())[0].encoding)

    return await hass.async_add_executor_job(run)


@pytest.mark.skipif(not (PHOTOS / "obama.jpg").exists(), reason="run scripts/setup")
async def test_a_card_first_verifies_the_face_one_to_one_past_a_look_alike(
    hass: HomeAssistant, estate: MockConfigEntry, relay_calls: list[tuple[str, str]]
) -> None:
    """Her sister's reference is as near to her face as her own (1:N: ambiguous, so the
    face alone names nobody). Once her card is in, the face is checked against her
    references alone, with the engine's real embeddings: the pair opens."""
    face = await _real_face_gate(hass, estate)
    own = await _encoding(hass, face, "obama.jpg")
    second = await _encoding(hass, face, "obama2.jpg")
    probe = [float(x) for x in second]
    sister = own + np.random.default_rng(15).normal(0.0, 1e-3, own.shape).astype(np.float32)
    face.gallery.add("p1-plain", "p1", own)
    face.gallery.add("p2-plain", "p2", sister / np.linalg.norm(sister))
    relay_calls.clear()

    # Her face alone: the search cannot tell her from her sister; nobody is named.
    alone = await face.async_present_embedding("tower_door", probe)
    assert alone is not None
    assert (alone.passage.allowed, alone.passage.person_id) == (False, None)
    assert "face_ambiguous" in alone.passage.flags
    # Her card, then the same face: 1:1 against her, the pair opens once.
    card = await present(hass, "tower_door")
    assert (card["allowed"], card["reason"]) == (False, "second_factor_required")
    pair = await face.async_present_embedding("tower_door", probe)
    assert pair is not None
    assert (pair.passage.allowed, pair.passage.person_id) == (True, "p1")
    assert "card_and_face" in pair.passage.flags
    assert "card_face_mismatch" not in pair.passage.flags  # she verified: no mismatch
    await hass.async_block_till_done()
    assert relay_calls == [("switch.north_relay", "on")]
    # Used up: the face again, without a new card, is back to the 1:N search.
    again = await face.async_present_embedding("tower_door", probe)
    assert again is not None
    assert not again.passage.allowed


@pytest.mark.skipif(not (PHOTOS / "biden.jpg").exists(), reason="run scripts/setup")
async def test_her_card_with_a_strangers_face_is_flagged_and_alerts_once(
    hass: HomeAssistant,
    estate: MockConfigEntry,
    relay_calls: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Her card in, then a live stranger's face (the engine's real embeddings): refused
    as before, the face's row flagged ``card_face_mismatch``; twice raises
    ``card_face_mismatch`` about her, with ids only. Her id reaches no entity state.
    (One card presentation counts once within the 30 s pairing window: the test's two
    presentations come seconds apart, so that window is shortened here.)"""
    monkeypatch.setattr(rules, "PAIRING_WINDOW_S", 0.0)
    face = await _real_face_gate(hass, estate)
    face.gallery.add("p1-plain", "p1", await _encoding(hass, face, "obama.jpg"))
    stranger = [float(x) for x in await _encoding(hass, face, "biden.jpg")]
    alerts: list[dict[str, Any]] = []
    passages: list[dict[str, Any]] = []

    @callback
    def _on(event: Event) -> None:
        (alerts if event.event_type == EVENT_ALERT else passages).append(dict(event.data))

    hass.bus.async_listen(EVENT_ALERT, _on)
    hass.bus.async_listen(EVENT_PASSAGE, _on)
    relay_calls.clear()

    # The stranger's face at a face-only gate, and at this one with no card in: no flag.
    for gate in ("east_gate", "tower_door"):
        alone = await face.async_present_embedding(gate, stranger)
        assert alone is not None
        assert "card_face_mismatch" not in alone.passage.flags
    flagged = []
    for _ in range(2):
        card = await present(hass, "tower_door")
        assert (card["allowed"], card["reason"]) == (False, "second_factor_required")
        out = await face.async_present_embedding("tower_door", stranger)
        assert out is not None
        # The face's own decision, as before: a stranger, refused; only the flag is new.
        assert (out.passage.allowed, out.passage.person_id) == (False, None)
        assert out.passage.cluster_id is not None
        assert "card_face_mismatch" in out.passage.flags
        flagged.append(out.passage)
        await hass.async_block_till_done()
    assert relay_calls == []
    assert len({p.id for p in flagged}) == 2  # never folded into one row
    mismatch = [a for a in alerts if a["rule"] == "card_face_mismatch"]
    assert len(mismatch) == 1
    alert = mismatch[0]
    assert (alert["subject_kind"], alert["subject_id"], alert["gate_id"]) == (
        "person",
        "p1",
        "tower_door",
    )
    assert alert["evidence"]["card_person_id"] == "p1"
    assert alert["evidence"]["count"] == 2
    assert alert["evidence"]["cluster_id"] == flagged[0].cluster_id
    text = str(alert)
    assert NAME not in text
    assert CARD not in text
    # The face's row and its passage event carry the flag, never the card holder.
    stored = await hub_of(estate).db(hub_of(estate).store.get_passage, flagged[0].id)
    assert stored is not None
    assert stored.person_id is None
    face_events = [e for e in passages if "card_face_mismatch" in e["flags"]]
    assert len(face_events) == 2
    assert all(e["person_id"] is None for e in face_events)
    # Entity states: the alert entity names no person; nothing public says p1.
    states = str([s.as_dict() for s in hass.states.async_all()])
    assert "card_face_mismatch" in states
    assert "p1" not in states
    assert NAME not in states
    # Open: a third mismatch raises nothing more.
    await present(hass, "tower_door")
    await face.async_present_embedding("tower_door", stranger)
    await hass.async_block_till_done()
    assert len([a for a in alerts if a["rule"] == "card_face_mismatch"]) == 1
