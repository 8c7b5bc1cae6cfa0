"""Faces in Home Assistant, with the real dlib models on real photos: consent, enrollment
(service, file, camera, HTTP upload), the 1:N duplicate check, the edge-terminal
endpoint, stranger clusters, the camera capture loop, and withdrawal."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
import logging
from pathlib import Path
import threading
import time
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.community_gate.const import DOMAIN, OPT_KEEP_PHOTOS
from tests.ha.helpers import (
    TERMINAL_URL,
    call,
    gate_subentry,
    present_credential,
    private,
    provision_terminal,
)

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ROOT / ".cache" / "test-photos"

pytestmark = pytest.mark.skipif(
    not (PHOTOS / "obama.jpg").exists(),
    reason="package photos missing: run scripts/fetch_photos (scripts/setup does)",
)


async def local_file_camera(hass: HomeAssistant, frame: Path) -> None:
    """camera.gate_cam showing ``frame``: a Local file camera as the UI adds it (the
    YAML platform was removed from Home Assistant)."""
    hass.config.allowlist_external_dirs.add(str(frame.parent))
    camera = MockConfigEntry(
        domain="local_file",
        title="gate_cam",
        options={"name": "gate_cam", "file_path": str(frame)},
    )
    camera.add_to_hass(hass)
    assert await hass.config_entries.async_setup(camera.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("camera.gate_cam") is not None


async def ready(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    face = entry.runtime_data.face
    assert face is not None
    # Not block_till_done(wait_background_tasks): camera loops never finish.
    await asyncio.wait_for(face.loaded.wait(), timeout=120)
    assert face.ready, face.error
    return face


@pytest.fixture
async def faces_estate(hass: HomeAssistant, estate: MockConfigEntry) -> MockConfigEntry:
    hass.config.allowlist_external_dirs.add(str(PHOTOS.resolve()))  # .cache may be a symlink
    await call(hass, "add_unit", {"unit_id": "3-1201", "building": "3", "number": "1201"})
    for pid in ("obama", "biden"):
        await call(hass, "add_person", {"person_id": pid, "role": "tenant", "unit_id": "3-1201"})
    await ready(hass, estate)
    return estate


async def enroll(hass: HomeAssistant, pid: str, photo: str, **extra: Any) -> Any:
    return await call(
        hass, "enroll_face", {"person_id": pid, "file_path": str(PHOTOS / photo), **extra}
    )


async def consent(hass: HomeAssistant, pid: str) -> None:
    await call(hass, "record_consent", {"person_id": pid, "notice_version": "2026-11"})


def embedding_of(face: Any, photo: str) -> list[float]:
    """What an edge terminal would send: the embedding only, made by the same worker."""
    return [float(x) for x in face.worker.analyse((PHOTOS / photo).read_bytes())[0].encoding]


async def test_enrollment_needs_consent_then_recognises_another_photo(
    hass: HomeAssistant, faces_estate: MockConfigEntry, hass_client: Any, relay_calls: list
) -> None:
    with pytest.raises(ServiceValidationError) as exc:
        await enroll(hass, "obama", "obama.jpg")
    assert exc.value.translation_key == "consent_required"
    await consent(hass, "obama")
    resp = await enroll(hass, "obama", "obama.jpg")
    assert resp["variant"] == "plain"
    assert resp["face_px"] > 80
    store = faces_estate.runtime_data.hub.store
    assert [t.id for t in store.list_face_templates("obama")] == [resp["template_id"]]

    face = faces_estate.runtime_data.face
    client: TestClient = await hass_client()
    terminal = await provision_terminal(hass, "east_gate")
    r = await terminal.post(client, embedding_of(face, "obama2.jpg"))
    assert r.status == HTTPStatus.OK
    body = await r.json()
    assert body["allowed"] is True
    assert body["reason"] == "granted"
    assert (body["language"], body["display"]) == ("en", "Welcome")
    assert "obama" not in str(body)  # no names (nor ids) go back to the terminal
    # A Chinese terminal gets its own text; a stranger is pointed to the card / QR / PIN.
    r = await terminal.post(
        client, embedding_of(face, "biden.jpg"), headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    )
    stranger = await r.json()
    assert (stranger["allowed"], stranger["language"]) == (False, "zh-Hans")
    assert stranger["display"] == "请摘下口罩或刷卡"  # a masked resident knows what to do
    assert "刷卡" in stranger["voice"]
    passage = store.get_passage(body["passage_id"])
    assert passage is not None
    assert (passage.method.value, passage.person_id) == ("face", "obama")
    assert passage.distance is not None
    assert passage.distance < face.gallery.threshold
    assert relay_calls[0] == ("switch.east_relay", "on")


async def test_stranger_gets_the_same_cluster_id_twice(
    hass: HomeAssistant, faces_estate: MockConfigEntry, hass_client: Any
) -> None:
    await consent(hass, "obama")
    await enroll(hass, "obama", "obama.jpg")
    face = faces_estate.runtime_data.face
    client = await hass_client()
    terminal = await provision_terminal(hass, "east_gate")
    vec = embedding_of(face, "biden.jpg")
    ids = []
    for _ in range(2):
        r = await terminal.post(client, vec)
        body = await r.json()
        assert body["allowed"] is False
        assert body["reason"] == "unknown_credential"
        ids.append(faces_estate.runtime_data.hub.store.get_passage(body["passage_id"]).cluster_id)
    assert ids[0] is not None
    assert ids[0] == ids[1]
    assert ids[0].startswith("stranger_")
    # Persisted, sealed: restored after a reload.
    await hass.config_entries.async_reload(faces_estate.entry_id)
    face = await ready(hass, faces_estate)
    assert ids[0] in face.clusters


async def test_duplicate_face_is_refused_naming_the_other_person(
    hass: HomeAssistant, faces_estate: MockConfigEntry
) -> None:
    for pid in ("obama", "biden"):
        await consent(hass, pid)
    await enroll(hass, "obama", "obama.jpg")
    with pytest.raises(ServiceValidationError) as exc:
        await enroll(hass, "biden", "obama2.jpg")
    assert exc.value.translation_key == "face_duplicate"
    assert exc.value.translation_placeholders["other_person_id"] == "obama"
    # A second photo of the same person is simply another reference; a masked one goes
    # to the stricter masked gallery, never the plain one.
    masked = await enroll(hass, "obama", "obama2.jpg", variant="masked")
    assert len(faces_estate.runtime_data.hub.store.list_face_templates("obama")) == 2
    face = faces_estate.runtime_data.face
    assert face.masked.embeddings_of("obama") == [masked["template_id"]]
    assert masked["template_id"] not in face.gallery.embeddings_of("obama")
    assert face.masked.threshold < face.gallery.threshold
    # Both kinds come back, each in its own gallery, after a reload.
    await hass.config_entries.async_reload(faces_estate.entry_id)
    face = await ready(hass, faces_estate)
    assert (len(face.gallery), len(face.masked)) == (1, 1)


@pytest.mark.parametrize(
    ("photo", "why"),
    [("astronaut.png", None), ("chelsea.png", "no_face")],
)
async def test_photo_quality_is_explained(
    hass: HomeAssistant, faces_estate: MockConfigEntry, photo: str, why: str | None
) -> None:
    await consent(hass, "biden")
    if why is None:  # a good photo of a face enrolls
        assert (await enroll(hass, "biden", photo))["template_id"]
        return
    with pytest.raises(ServiceValidationError) as exc:
        await enroll(hass, "biden", photo)
    assert exc.value.translation_key == "face_quality"
    assert exc.value.translation_placeholders["why"] == why


async def test_file_source_must_be_allowed(
    hass: HomeAssistant, faces_estate: MockConfigEntry, tmp_path: Path
) -> None:
    await consent(hass, "obama")
    outside = tmp_path / "x.jpg"
    outside.write_bytes((PHOTOS / "obama.jpg").read_bytes())
    for path in (str(outside), str(PHOTOS / ".." / "test-photos" / "obama.jpg"), "obama.jpg"):
        with pytest.raises(ServiceValidationError) as exc:
            await call(hass, "enroll_face", {"person_id": "obama", "file_path": path})
        assert exc.value.translation_key == "invalid_value"
    with pytest.raises(ServiceValidationError) as exc:
        await call(hass, "enroll_face", {"person_id": "obama"})
    assert exc.value.translation_key == "image_source_required"


async def test_http_upload_enrolls_and_refuses_bad_requests(
    hass: HomeAssistant,
    faces_estate: MockConfigEntry,
    hass_client: Any,
    hass_read_only_access_token: str,
    hass_client_no_auth: Any,
) -> None:
    await consent(hass, "obama")
    client = await hass_client()
    url = "/api/community_gate/enroll?person_id=obama"
    jpeg = (PHOTOS / "obama.jpg").read_bytes()
    r = await client.post(url, data=jpeg, headers={"Content-Type": "image/jpeg"})
    assert r.status == HTTPStatus.OK, await r.text()
    assert (await r.json())["template_id"]
    bad = [
        (url, b"not an image at all", "image/jpeg", HTTPStatus.BAD_REQUEST, "image_invalid"),
        (url, jpeg, "text/plain", HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (
            "/api/community_gate/enroll",
            jpeg,
            "image/jpeg",
            HTTPStatus.BAD_REQUEST,
            "person_id_required",
        ),
        (
            url + "&variant=sunglasses",
            jpeg,
            "image/jpeg",
            HTTPStatus.BAD_REQUEST,
            "invalid_variant",
        ),
        (
            "/api/community_gate/enroll?person_id=ghost",
            jpeg,
            "image/jpeg",
            HTTPStatus.NOT_FOUND,
            "unknown_person",
        ),
    ]
    for target, data, ctype, status, code in bad:
        r = await client.post(target, data=data, headers={"Content-Type": ctype})
        assert r.status == status, (code, await r.text())
        assert (await r.json())["error"] == code
    ro = await hass_client(hass_read_only_access_token)
    r = await ro.post(url, data=jpeg, headers={"Content-Type": "image/jpeg"})
    assert r.status == HTTPStatus.FORBIDDEN
    anon = await hass_client_no_auth()
    r = await anon.post(url, data=jpeg, headers={"Content-Type": "image/jpeg"})
    assert r.status == HTTPStatus.UNAUTHORIZED
    assert len(faces_estate.runtime_data.hub.store.list_face_templates("obama")) == 1


async def test_terminal_refuses_malformed_requests(
    hass: HomeAssistant, faces_estate: MockConfigEntry, hass_client: Any
) -> None:
    """Signed by the right terminal, but not a face message: refused with the old
    JSON API's codes, nothing decided, no counter spent."""
    client = await hass_client()
    terminal = await provision_terminal(hass, "east_gate")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"emb": [0.1] * 127}, "invalid_embedding"),
        ({"emb": ["x"] * 128}, "invalid_embedding"),
        ({"emb": [True] * 128}, "invalid_embedding"),
        ({"emb": [0.1] * 128, "dir": "up"}, "invalid_direction"),
        ({"emb": [0.1] * 128, "name": "someone"}, "forbidden_field"),
    ]
    for fields, code in cases:
        r = await terminal.post(client, **fields)
        assert r.status == HTTPStatus.BAD_REQUEST
        assert (await r.json())["error"] == code
    r = await client.post(
        TERMINAL_URL, data=terminal.sign([0.1] * 128), headers={"Content-Type": "application/json"}
    )
    assert (r.status, (await r.json())["error"]) == (HTTPStatus.BAD_REQUEST, "gate_id_required")
    r = await terminal.post(client, body=b"{")
    assert r.status == HTTPStatus.UNAUTHORIZED  # not even signed
    r = await terminal.post(client, body=b"x" * 20000)
    assert r.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    nan = terminal.sign([0.1] * 128).replace(b"0.1,", b"NaN,", 1)
    r = await terminal.post(client, body=nan)
    assert r.status == HTTPStatus.UNAUTHORIZED  # the signature no longer matches
    assert faces_estate.runtime_data.hub.store.count_passages() == 0
    # None of them used a counter: the next one from the terminal is decided.
    r = await terminal.post(client, [0.1] * 128)
    assert r.status == HTTPStatus.OK


async def test_withdrawal_erases_the_face_but_the_card_still_works(
    hass: HomeAssistant, faces_estate: MockConfigEntry, hass_client: Any
) -> None:
    await consent(hass, "obama")
    await enroll(hass, "obama", "obama.jpg")
    await private(hass, "add_credential", {"person_id": "obama", "kind": "card", "value": "777"})
    resp = await call(hass, "withdraw_consent", {"person_id": "obama"})
    assert resp["templates_removed"] == 1
    face = faces_estate.runtime_data.face
    assert len(face.gallery) == 0
    client = await hass_client()
    terminal = await provision_terminal(hass, "east_gate")
    r = await terminal.post(client, embedding_of(face, "obama2.jpg"))
    assert (await r.json())["allowed"] is False
    card = await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": "777"})
    assert card["allowed"] is True


async def test_consent_withdrawn_during_an_enrollment_leaves_no_face(
    hass: HomeAssistant, faces_estate: MockConfigEntry
) -> None:
    """Staff withdraw a resident's consent while the resident's photo is still being
    enrolled, on an estate that keeps enrollment photos. Whatever the enrollment writes
    after the withdrawal (here: the kept photo) must not outlive it."""
    hass.config_entries.async_update_entry(faces_estate, options={OPT_KEEP_PHOTOS: True})
    await hass.async_block_till_done()
    face = await ready(hass, faces_estate)
    await consent(hass, "obama")
    adding, release = threading.Event(), threading.Event()
    real_add = face.gallery.add

    def held_add(*args: Any) -> None:
        adding.set()
        release.wait(60)  # the face thread holds here until the withdrawal was asked
        real_add(*args)

    face.gallery.add = held_add
    enrolling = hass.async_create_task(enroll(hass, "obama", "obama.jpg"))
    await hass.async_add_executor_job(adding.wait, 60)
    withdrawing = hass.async_create_task(call(hass, "withdraw_consent", {"person_id": "obama"}))
    await asyncio.sleep(0.5)  # the withdrawal runs as far as it may
    release.set()
    enrolled, withdrawn = await asyncio.gather(enrolling, withdrawing)
    face.gallery.add = real_add

    # The withdrawal has the last word: no template, no kept photo, no reference.
    assert enrolled["template_id"]
    assert withdrawn["templates_removed"] == 1
    store = faces_estate.runtime_data.hub.store
    assert store.list_face_templates("obama") == []
    assert store.list_photos("obama") == []
    assert len(face.gallery) == 0


async def test_capture_loop_recognises_a_camera_frame(
    hass: HomeAssistant, db_path: Path, relay_calls: list, tmp_path: Path
) -> None:
    """A real HA camera (local_file) shows a photo; the gate's loop pulls the frame,
    recognises the enrolled person and opens the gate; then a stranger is logged."""
    frame = tmp_path / "frame.jpg"
    frame.write_bytes((PHOTOS / "obama2.jpg").read_bytes())
    await local_file_camera(hass, frame)
    await hass.async_block_till_done()
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Cam estate",
        data={"name": "Cam estate", "db_path": str(db_path)},
        unique_id=str(db_path),
        # A still photo on the camera: recognition is tested here, PAD in test_pad_ha.py.
        subentries_data=[
            gate_subentry(
                "east_gate", "switch.east_relay", camera="camera.gate_cam", pad_level="off"
            )
        ],
    )
    entry.add_to_hass(hass)
    hass.config.allowlist_external_dirs.add(str(PHOTOS.resolve()))  # .cache may be a symlink
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    face = await ready(hass, entry)
    loop = entry.runtime_data.capture_loops[0]
    await call(hass, "add_unit", {"unit_id": "u", "building": "3", "number": "1"})
    await call(hass, "add_person", {"person_id": "obama", "role": "tenant", "unit_id": "u"})
    await consent(hass, "obama")
    await enroll(hass, "obama", "obama.jpg")

    store = entry.runtime_data.hub.store
    # Frames the loop analysed while the enrollment was still running are an unknown
    # face (a denied stranger passage): wait for the one that recognises her.
    for _ in range(200):
        await hass.async_block_till_done()
        rows = [p for p in store.recent_passages(gate_id="east_gate") if p.person_id]
        if rows:
            break
        await asyncio.sleep(0.05)
    assert rows, f"no passage after {loop.frames} frames, {loop.errors} errors"
    assert (rows[0].method.value, rows[0].person_id, rows[0].allowed) == ("face", "obama", True)
    # Debounced: the same person standing there is not logged again at once.
    frames_before = loop.frames
    for _ in range(100):
        await asyncio.sleep(0.05)
        await hass.async_block_till_done()
        if loop.frames >= frames_before + 2:
            break
    assert len(store.recent_passages(gate_id="east_gate")) == 1
    assert np.isfinite(face.gallery.threshold)

    # The camera now shows somebody else: the next frame is a denied stranger with a
    # cluster id, and the gate stays shut.
    relay_calls.clear()
    frame.write_bytes((PHOTOS / "biden.jpg").read_bytes())
    for _ in range(200):
        await asyncio.sleep(0.05)
        await hass.async_block_till_done()
        rows = store.recent_passages(gate_id="east_gate")
        if len(rows) == 2:
            break
    stranger = rows[0]
    assert (stranger.method.value, stranger.allowed, stranger.person_id) == ("face", False, None)
    assert stranger.reason.value == "unknown_credential"
    assert stranger.cluster_id is not None
    assert stranger.cluster_id.startswith("stranger_")
    assert relay_calls == []


async def _camera_estate(
    hass: HomeAssistant, db_path: Path, **gate: Any
) -> tuple[MockConfigEntry, Any]:
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Cam estate",
        data={"name": "Cam estate", "db_path": str(db_path)},
        unique_id=str(db_path),
        # Still photos: recognition is tested here, PAD in test_pad_ha.py.
        subentries_data=[gate_subentry("east_gate", "switch.east_relay", pad_level="off", **gate)],
    )
    entry.add_to_hass(hass)
    hass.config.allowlist_external_dirs.add(str(PHOTOS.resolve()))  # .cache may be a symlink
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    face = await ready(hass, entry)
    await call(hass, "add_unit", {"unit_id": "u", "building": "3", "number": "1"})
    await call(hass, "add_person", {"person_id": "obama", "role": "tenant", "unit_id": "u"})
    await consent(hass, "obama")
    await enroll(hass, "obama", "obama.jpg")
    return entry, face


async def _wait_passages(hass: HomeAssistant, entry: MockConfigEntry, n: int) -> list[Any]:
    store = entry.runtime_data.hub.store
    rows: list[Any] = []
    for _ in range(300):
        await asyncio.sleep(0.05)
        await hass.async_block_till_done()
        rows = store.recent_passages(gate_id="east_gate")
        if len(rows) >= n:
            break
    return rows


async def test_stream_url_gate_recognises_from_a_live_mjpeg_camera(
    hass: HomeAssistant,
    db_path: Path,
    relay_calls: list,
    socket_enabled: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The gate reads a real network camera (HTTP MJPEG on loopback) directly, without a
    camera entity: the resident is let in; the camera dies; the outage is logged once,
    without the password or query values of its URL."""
    from tests.mjpeg_server import MJPEGServer

    with MJPEGServer((PHOTOS / "obama2.jpg").read_bytes(), fps=15) as cam:
        # Credentials in both places IP cameras take them: user part and query.
        caplog.set_level(logging.DEBUG, logger="custom_components.community_gate")
        url = cam.url.replace("http://", "http://viewer:s3cret@") + "?user=viewer&password=qs3cret"
        entry, _face = await _camera_estate(hass, db_path, stream_url=url)
        loop = entry.runtime_data.capture_loops[0]
        assert loop.source == "stream"
        rows = await _wait_passages(hass, entry, 1)
        assert rows, f"no passage: {loop.frames} frames, {loop.errors} errors"
        assert (rows[0].method.value, rows[0].person_id, rows[0].allowed) == (
            "face",
            "obama",
            True,
        )
        assert relay_calls[:1] == [("switch.east_relay", "on")]
        assert cam.connections >= 1
    # The server is gone: frames stop, the loop reports the outage (once) and retries.
    for _ in range(300):
        await asyncio.sleep(0.05)
        if not loop.camera_ok:
            break
    assert not loop.camera_ok
    outages = [r for r in caplog.records if "gives no frames" in r.getMessage()]
    assert len(outages) == 1
    assert "s3cret" not in caplog.text  # nor qs3cret, in the warning or the retry lines
    assert "viewer:***@" in outages[0].getMessage()
    assert "?user=***&password=***" in outages[0].getMessage()


async def test_presence_sensor_starts_and_stops_recognition(
    hass: HomeAssistant, db_path: Path, relay_calls: list, tmp_path: Path
) -> None:
    """With a presence sensor, no frame is taken while nobody stands at the gate."""
    frame = tmp_path / "frame.jpg"
    frame.write_bytes((PHOTOS / "obama2.jpg").read_bytes())
    await local_file_camera(hass, frame)
    hass.states.async_set("binary_sensor.gate_presence", "off")
    await hass.async_block_till_done()
    entry, _face = await _camera_estate(
        hass, db_path, camera="camera.gate_cam", presence="binary_sensor.gate_presence"
    )
    loop = entry.runtime_data.capture_loops[0]
    await asyncio.sleep(1.5)  # three capture intervals with nobody there
    assert loop.frames == 0
    assert entry.runtime_data.hub.store.recent_passages(gate_id="east_gate") == []

    hass.states.async_set("binary_sensor.gate_presence", "on")
    rows = await _wait_passages(hass, entry, 1)
    assert rows
    assert (rows[0].person_id, rows[0].allowed) == ("obama", True)
    # The passage is committed before the relay moves (log first): let the relay catch up.
    for _ in range(100):
        if relay_calls:
            break
        await asyncio.sleep(0.05)
        await hass.async_block_till_done()
    assert relay_calls[:1] == [("switch.east_relay", "on")]

    hass.states.async_set("binary_sensor.gate_presence", "off")
    await asyncio.sleep(1.0)  # the frame in flight (if any) finishes
    stopped_at = loop.frames
    await asyncio.sleep(1.5)
    assert loop.frames == stopped_at
    # The sensor becoming unavailable counts as nobody there, not as "always on".
    hass.states.async_set("binary_sensor.gate_presence", "unavailable")
    await asyncio.sleep(1.0)
    assert loop.frames == stopped_at


async def test_nightly_merge_joins_drifted_strangers_and_relabels_passages(
    hass: HomeAssistant, faces_estate: MockConfigEntry
) -> None:
    """One stranger first seen in two lights got two cluster ids; once the centroids come
    together the merge keeps one id and the passage log follows it."""
    from custom_components.community_gate.core.clusters import Cluster, StrangerClusters

    face = faces_estate.runtime_data.face
    base = np.asarray(embedding_of(face, "biden.jpg"), dtype=np.float32)
    near = base + np.float32(0.1) / np.sqrt(np.float32(base.size))  # 0.1 away
    now = time.time()
    face.clusters = StrangerClusters.restore(
        [
            Cluster("stranger_sunny", base.copy(), 5, now - 50, now - 40, set()),
            Cluster("stranger_dusk", near.astype(np.float32), 5, now - 30, now - 30, set()),
        ]
    )
    outcomes = []
    for vec in (base, near):
        outcomes.append(await face.async_present_embedding("east_gate", [float(x) for x in vec]))
    store = faces_estate.runtime_data.hub.store
    before = {store.get_passage(o.passage.id).cluster_id for o in outcomes}
    assert before == {"stranger_sunny", "stranger_dusk"}

    merged = await face.async_merge_clusters()
    assert merged == [("stranger_sunny", "stranger_dusk")]  # as many sightings, older: kept
    after = {store.get_passage(o.passage.id).cluster_id for o in outcomes}
    assert after == {"stranger_sunny"}
    assert [c.id for c in store.iter_clusters()] == ["stranger_sunny"]
    assert "stranger_dusk" not in face.clusters
    assert await face.async_merge_clusters() == []  # nothing moved since


async def test_assign_stranger_relabels_and_enrolls_with_consent(
    hass: HomeAssistant, faces_estate: MockConfigEntry
) -> None:
    """A stranger staff recognise as Biden: the log says so, and with his consent the
    stranger's centroid becomes his reference, so the next sighting opens the gate."""
    face = faces_estate.runtime_data.face
    store = faces_estate.runtime_data.hub.store
    vec = embedding_of(face, "biden.jpg")
    first = await face.async_present_embedding("east_gate", vec)
    cluster = store.get_passage(first.passage.id).cluster_id
    assert cluster is not None

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "assign_stranger", {"cluster_id": "stranger_nope", "person_id": "biden"})
    assert err.value.translation_key == "unknown_stranger"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "assign_stranger", {"cluster_id": cluster, "person_id": "ghost"})
    assert err.value.translation_key == "unknown_person"

    await consent(hass, "biden")
    out = await call(hass, "assign_stranger", {"cluster_id": cluster, "person_id": "biden"})
    assert out == {"passages": 1, "enrolled": True}
    relabelled = store.get_passage(first.passage.id)
    assert (relabelled.person_id, relabelled.cluster_id) == ("biden", None)
    assert cluster not in face.clusters
    assert all(c.id != cluster for c in store.iter_clusters())
    again = await face.async_present_embedding("east_gate", vec)
    assert (again.passage.person_id, again.passage.allowed) == ("biden", True)
    # Assigned once: the stranger id is gone.
    with pytest.raises(ServiceValidationError):
        await call(hass, "assign_stranger", {"cluster_id": cluster, "person_id": "biden"})


async def test_assign_stranger_without_consent_only_relabels(
    hass: HomeAssistant, faces_estate: MockConfigEntry
) -> None:
    face = faces_estate.runtime_data.face
    vec = embedding_of(face, "biden.jpg")
    first = await face.async_present_embedding("east_gate", vec)
    cluster = faces_estate.runtime_data.hub.store.get_passage(first.passage.id).cluster_id
    out = await call(hass, "assign_stranger", {"cluster_id": cluster, "person_id": "biden"})
    assert out == {"passages": 1, "enrolled": False}
    assert len(face.gallery) == 0  # no consent, no face reference
    again = await face.async_present_embedding("east_gate", vec)
    assert again.passage.allowed is False


async def test_upload_dry_run_checks_without_storing(
    hass: HomeAssistant, faces_estate: MockConfigEntry, hass_client: Any
) -> None:
    client = await hass_client()
    url = "/api/community_gate/enroll?person_id=obama&dry_run=1"
    jpeg = (PHOTOS / "obama.jpg").read_bytes()
    r = await client.post(url, data=jpeg, headers={"Content-Type": "image/jpeg"})
    assert (r.status, (await r.json())["error"]) == (HTTPStatus.BAD_REQUEST, "consent_required")
    await consent(hass, "obama")
    r = await client.post(url, data=jpeg, headers={"Content-Type": "image/jpeg"})
    assert r.status == HTTPStatus.OK
    body = await r.json()
    assert body["template_id"] == ""
    assert body["face_px"] > 80
    assert faces_estate.runtime_data.hub.store.list_face_templates("obama") == []
    r = await client.post(
        url,
        data=(PHOTOS / "chelsea.png").read_bytes(),
        headers={"Content-Type": "image/png"},
    )
    body = await r.json()
    assert (body["error"], body["details"]["why"]) == ("face_quality", "no_face")
