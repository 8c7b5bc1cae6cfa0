"""Stranger snapshots in Home Assistant (issue 17, item 3), with the real face engine on
real photos and real SQLite: off by default (nothing kept: no row, no file), on: the
best crop per stranger cluster, sealed, shown to admins only through an authenticated
view, deleted with its cluster, purged by its own retention, resealed by rotate_key,
and never in a state, an event, a log line or the diagnostics."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
from pathlib import Path
import time
from typing import Any

from homeassistant.const import MATCH_ALL
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.setup import async_setup_component
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.community_gate.const import DOMAIN
from custom_components.community_gate.core.snapshots import CROP_PX
from tests.ha.helpers import add_estate, call, gate_subentry
from tests.ha.test_face_service import PHOTOS, consent, enroll, local_file_camera, ready

pytestmark = pytest.mark.skipif(
    not (PHOTOS / "biden.jpg").exists(),
    reason="package photos missing: run scripts/fetch_photos (scripts/setup does)",
)

SNAPSHOT_URL = "/api/community_gate/stranger_snapshot"
DAY = 86400.0
ON = {"keep_stranger_snapshots": True}


def frame(photo: str, scale: float = 1.0) -> bytes:
    """A camera frame of ``photo`` (JPEG), shrunk by ``scale`` (a person further away)."""
    im = Image.open(PHOTOS / photo).convert("RGB")
    if scale != 1.0:
        im = im.resize((round(im.width * scale), round(im.height * scale)))
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=90)
    return out.getvalue()


async def show(face: Any, image: bytes, times: int = 2) -> list[Any]:
    """Present a frame ``times`` times (a track decides after two agreeing frames)."""
    out = []
    for _ in range(times):
        out += await face.async_present_frame("east_gate", image)
    return out


async def set_options(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> Any:
    hass.config_entries.async_update_entry(entry, options={**entry.options, **changes})
    await hass.async_block_till_done()
    return await ready(hass, entry)


def photo_rows(entry: MockConfigEntry) -> list[tuple[Any, ...]]:
    return entry.runtime_data.hub.store.conn.execute(
        "SELECT id, cluster_id, quality, purpose FROM photos"
    ).fetchall()


async def estate_with_resident(
    hass: HomeAssistant, db_path: Path, **options: Any
) -> tuple[MockConfigEntry, Any]:
    # The same still photos again and again: PAD (test_pad_ha.py) would call them attacks.
    entry = await add_estate(
        hass, db_path, gate_subentry("east_gate", "switch.east_relay", pad_level="off")
    )
    hass.config.allowlist_external_dirs.add(str(PHOTOS.resolve()))
    face = await (set_options(hass, entry, **options) if options else ready(hass, entry))
    await call(hass, "add_unit", {"unit_id": "u", "building": "3", "number": "1"})
    for pid in ("obama", "biden"):
        await call(hass, "add_person", {"person_id": pid, "role": "tenant", "unit_id": "u"})
    await consent(hass, "obama")
    await enroll(hass, "obama", "obama.jpg")
    return entry, face


async def test_off_by_default_nothing_is_kept(
    hass: HomeAssistant,
    db_path: Path,
    relay_calls: list,
    hass_client: Any,
    hass_ws_client: WebSocketGenerator,
) -> None:
    entry, face = await estate_with_resident(hass, db_path)
    assert entry.runtime_data.options.keep_stranger_snapshots is False

    def no_crops(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a crop was made with the option off")

    face.worker.analyse_crops = no_crops  # the shared worker: undone below
    files = set(db_path.parent.iterdir())
    try:
        outcomes = await show(face, frame("biden.jpg"))
    finally:
        del face.worker.analyse_crops
    [stranger] = [o.passage for o in outcomes]
    assert stranger.cluster_id is not None
    assert not stranger.allowed
    assert photo_rows(entry) == []  # no row
    assert set(db_path.parent.iterdir()) == files  # no file

    ws = await hass_ws_client(hass)
    await ws.send_json({"id": 1, "type": f"{DOMAIN}/strangers"})
    answer = (await ws.receive_json())["result"]
    assert answer["snapshots"] is False
    assert [s["snapshot_at"] for s in answer["strangers"]] == [None]
    client = await hass_client()
    r = await client.get(f"{SNAPSHOT_URL}?cluster_id={stranger.cluster_id}")
    assert r.status == 404
    assert (await r.json())["error"] == "unknown_stranger_snapshot"


async def test_best_crop_per_cluster_sealed_and_shown_to_admins_only(
    hass: HomeAssistant,
    db_path: Path,
    relay_calls: list,
    hass_client: Any,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    entry, face = await estate_with_resident(hass, db_path, **ON)
    store = entry.runtime_data.hub.store
    # Far away first (a small face): a crop is kept ...
    far = await show(face, frame("biden.jpg", 0.3))
    cluster = far[0].passage.cluster_id
    [(first_id, cid, low, purpose)] = photo_rows(entry)
    assert (cid, purpose) == (cluster, "stranger")
    # ... then close up: the same stranger, a better crop replaces it (one row still).
    await show(face, frame("biden.jpg"))
    assert len(face.clusters) == 1
    [(best_id, cid, high, _)] = photo_rows(entry)
    assert cid == cluster
    assert high > low
    assert best_id != first_id
    # Far away again: not better, not replaced.
    await show(face, frame("biden.jpg", 0.3))
    assert [r[0] for r in photo_rows(entry)] == [best_id]
    # Another stranger gets a crop of their own; the resident gets none.
    await show(face, frame("astronaut.png"))
    await show(face, frame("obama2.jpg"))
    assert len(photo_rows(entry)) == len(face.clusters) == 2

    crop = await face.async_snapshot(cluster)
    im = Image.open(io.BytesIO(crop))
    assert im.format == "JPEG"
    assert max(im.size) <= CROP_PX
    # Sealed: the JPEG is nowhere in the database file.
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert crop[100:160] not in await hass.async_add_executor_job(db_path.read_bytes)

    ws = await hass_ws_client(hass)
    await ws.send_json({"id": 1, "type": f"{DOMAIN}/strangers"})
    answer = (await ws.receive_json())["result"]
    assert answer["snapshots"] is True
    assert all(s["snapshot_at"] for s in answer["strangers"])
    assert base64.b64encode(crop)[:40].decode() not in json.dumps(answer)

    client = await hass_client()
    r = await client.get(f"{SNAPSHOT_URL}?cluster_id={cluster}")
    assert r.status == 200
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.headers["Cache-Control"] == "no-store"
    assert await r.read() == crop
    refusals = (
        ("", "invalid_id"),
        ("a%20b", "invalid_id"),
        ("stranger_nobody", "unknown_stranger_snapshot"),
    )
    for bad, code in refusals:
        r = await client.get(f"{SNAPSHOT_URL}?cluster_id={bad}")
        assert r.status in (400, 404)
        assert (await r.json())["error"] == code
    ro = await hass_client(hass_read_only_access_token)
    r = await ro.get(f"{SNAPSHOT_URL}?cluster_id={cluster}")
    assert r.status == 403
    assert crop not in await r.read()
    audit = [(a.action, a.subject, a.outcome) for a in store.query_audit(limit=100)]
    assert ("view_stranger_snapshot", cluster, "ok") in audit
    assert ("view_stranger_snapshot", None, "unauthorized") in audit


async def test_deleted_with_the_cluster_retention_and_option_off(
    hass: HomeAssistant, db_path: Path, relay_calls: list
) -> None:
    entry, face = await estate_with_resident(hass, db_path, **ON)
    store = entry.runtime_data.hub.store
    biden = (await show(face, frame("biden.jpg")))[0].passage.cluster_id
    other = (await show(face, frame("astronaut.png")))[0].passage.cluster_id
    assert set(store.snapshot_clusters()) == {biden, other}

    # Staff name the stranger: the crop goes with the cluster; erasing him leaves nothing.
    await call(hass, "assign_stranger", {"cluster_id": biden, "person_id": "biden"})
    assert set(store.snapshot_clusters()) == {other}
    await call(hass, "erase_person", {"person_id": "biden"})
    assert set(store.snapshot_clusters()) == {other}

    # rotate_key reseals it: a new blob, the same picture.
    crop = await face.async_snapshot(other)
    sealed = store.get_snapshot(other).sealed
    await call(hass, "rotate_key", {})
    assert store.get_snapshot(other).sealed != sealed
    assert await entry.runtime_data.face.async_snapshot(other) == crop

    # The snapshot's own retention (7 days) ends before the cluster's (30).
    now = time.time()
    out = await entry.runtime_data.async_run_retention(now + 8 * DAY)
    assert out["photos"] == 1
    assert store.snapshot_clusters() == {}
    assert other in face.clusters

    # A new crop, then the cluster expires: both go.
    await show(face, frame("astronaut.png", 0.9))
    assert set(store.snapshot_clusters()) == {other}
    await entry.runtime_data.async_run_retention(now + 31 * DAY)
    assert other not in face.clusters
    assert photo_rows(entry) == []

    # The option turned off: every kept crop is deleted at once.
    kept = (await show(face, frame("astronaut.png")))[0].passage.cluster_id
    assert set(store.snapshot_clusters()) == {kept}
    face = await set_options(hass, entry, keep_stranger_snapshots=False)
    assert photo_rows(entry) == []
    assert await face.async_snapshot(kept) is None


async def test_camera_crop_never_in_states_events_logs_or_diagnostics(
    hass: HomeAssistant,
    db_path: Path,
    relay_calls: list,
    tmp_path: Path,
    hass_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The real capture loop on a Local file camera: the stranger's crop is kept, and
    not a byte of it reaches a state, an event, a log record or the diagnostics."""
    assert await async_setup_component(hass, "diagnostics", {})
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []

    @callback
    def record(event: Event) -> None:
        events.append(event)

    hass.bus.async_listen(MATCH_ALL, record)
    cam = tmp_path / "frame.jpg"
    cam.write_bytes(frame("biden.jpg"))
    await local_file_camera(hass, cam)
    entry = MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title="Cam estate",
        data={"name": "Cam estate", "db_path": str(db_path)},
        options=ON,
        unique_id=str(db_path),
        subentries_data=[gate_subentry("east_gate", "switch.east_relay", camera="camera.gate_cam")],
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    face = await ready(hass, entry)
    store = entry.runtime_data.hub.store
    for _ in range(300):
        await asyncio.sleep(0.05)
        await hass.async_block_till_done()
        if store.snapshot_clusters():
            break
    [cluster] = store.snapshot_clusters()
    crop = await face.async_snapshot(cluster)
    assert crop
    client = await hass_client()
    r = await client.get(f"{SNAPSHOT_URL}?cluster_id={cluster}")
    assert await r.read() == crop
    diag = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, entry))

    b64 = base64.b64encode(crop).decode()
    needles = [b64[40:100], crop[40:100].hex(), repr(crop[40:60])[2:-1]]
    states = json.dumps(
        [(s.entity_id, s.state, dict(s.attributes)) for s in hass.states.async_all()],
        default=str,
    )
    fired = json.dumps([(e.event_type, e.data) for e in events], default=str)
    logs = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert any(e.event_type == "community_gate_passage" for e in events)
    for needle in needles:
        for where, text in (("states", states), ("events", fired), ("logs", logs), ("diag", diag)):
            assert needle not in text, where


async def test_options_flow_offers_snapshots_off_by_default(
    hass: HomeAssistant, db_path: Path, relay_calls: list
) -> None:
    # The same still photos again and again: PAD (test_pad_ha.py) would call them attacks.
    entry = await add_estate(
        hass, db_path, gate_subentry("east_gate", "switch.east_relay", pad_level="off")
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    defaults = result["data_schema"]({})
    assert defaults["keep_stranger_snapshots"] is False
    assert defaults["stranger_snapshot_days"] == 7
    with pytest.raises(InvalidData) as exc:
        await hass.config_entries.options.async_configure(
            result["flow_id"], {"stranger_snapshot_days": 31}
        )
    assert set(exc.value.schema_errors) == {"stranger_snapshot_days"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"keep_stranger_snapshots": True, "stranger_snapshot_days": 3}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.runtime_data.options.keep_stranger_snapshots is True
    assert entry.runtime_data.options.stranger_snapshot_days == 3
