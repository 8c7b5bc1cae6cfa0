"""Benchmark: a camera frame at a face gate -> the moment the hub asks Home Assistant to
turn the gate's relay on, through the hub's own frame path (issue 14's latency target).

    python -m devtools.bench facegate --json   # --engine ncnn_sface_2021dec --frames 200

A Home Assistant test instance with one estate on a real SQLite file and a template
switch as the relay, as ``bench gate``. One resident is enrolled through the real
``enroll_face`` action from a package photo (``.cache/test-photos/obama.jpg``); the
gallery is then filled to ``--gallery`` people: each a person row in the store (so the
gate's scope counts them: they may all pass) and one synthetic reference in the face
service's gallery (a real encoding plus Gaussian noise, σ = 0.06 per dimension, then
normalised for a normalised engine: a plausible other face). Frames: another photo of
the resident (``obama2.jpg``) letterboxed to 640×480, JPEG quality 90.

Each measured frame: ``perf_counter`` before ``FaceService.async_present_frame`` (decode,
detection, alignment, encoding in the face process; the gate's scope; the match; the
track's vote; the decision on the database thread; the passage's durable commit) to the
``call_service`` event of ``switch.turn_on``. The same-face quiet time is set to 0 so
every frame is presented; a frame whose track waits for a second one (``tracks.py``)
is counted as waiting, and the latency of the frame that opens runs from its own
arrival (the wait for the next frame is the camera's frame interval, not the hub's).
"""

from __future__ import annotations

import argparse
import asyncio
from functools import partial
import io
from pathlib import Path
import tempfile
import time
from typing import Any
from unittest.mock import patch

import numpy as np

from devtools.benchlib import (
    Command,
    async_bench_estate,
    async_call,
    async_template_relay,
    machine_info,
    percentiles_ms,
    positive,
    relay_turn_on_times,
)

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / ".cache" / "test-photos"


def add_facegate_args(p: argparse.ArgumentParser) -> None:
    from custom_components.community_gate.core.engines import DEFAULT_ENGINE, ENGINES

    p.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    p.add_argument("--frames", type=positive, default=200, help="measured frames")
    p.add_argument("--warmup", type=positive, default=10, help="frames not measured")
    p.add_argument("--gallery", type=positive, default=2000, help="people enrolled")
    p.add_argument(
        "--pad",
        choices=("off", "stream"),
        default="off",
        help="the gate's PAD level; stream: each presentation is a synthetic live sequence",
    )


def _frame(photo: Path) -> bytes:
    from PIL import Image

    img = Image.open(photo).convert("RGB")
    img.thumbnail((640, 480))
    canvas = Image.new("RGB", (640, 480))
    canvas.paste(img, ((640 - img.width) // 2, (480 - img.height) // 2))
    buf = io.BytesIO()
    canvas.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


async def _bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from homeassistant import loader
    from pytest_homeassistant_custom_component.common import async_test_home_assistant

    from custom_components.community_gate.core.model import Person, Role

    async with async_test_home_assistant(config_dir=str(workdir)) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # load ours from sys.path
        hass.config.allowlist_external_dirs.add(str(PHOTOS.resolve()))
        with patch("homeassistant.config.load_yaml_config_file", return_value={}):
            actuator = await async_template_relay(hass)
            # PAD off: one still frame again and again (at the default level that is a
            # photo held still, refused), every frame a decision. PAD stream: live
            # sequences, one track each, timed from the frame that showed enough life.
            entry = await async_bench_estate(
                hass,
                workdir,
                {"actuator": actuator, "pad_level": args.pad},
                {"face_engine": args.engine},
            )
            estate = entry.runtime_data
            face, hub = estate.face, estate.hub
            await asyncio.wait_for(face.loaded.wait(), timeout=300)
            assert face.ready, face.error
            svc = partial(async_call, hass)
            await svc("add_unit", {"unit_id": "u1", "building": "1", "number": "101"})
            await svc("add_person", {"person_id": "resident", "role": "tenant", "unit_id": "u1"})
            await svc("record_consent", {"person_id": "resident", "notice_version": "bench"})
            await svc(
                "enroll_face", {"person_id": "resident", "file_path": str(PHOTOS / "obama.jpg")}
            )
            base = np.asarray(face.worker.analyse(_frame(PHOTOS / "biden.jpg"))[0].encoding)
            rng = np.random.default_rng(14)
            others = args.gallery - 1
            people = [Person(id=f"p{i:06d}", role=Role.TENANT, unit_id="u1") for i in range(others)]
            await hub.db(hub.store.add_people, people)
            for person in people:
                vec = base + rng.normal(0.0, 0.06, base.shape)
                if face.spec.normalised:
                    vec /= np.linalg.norm(vec)
                face.gallery.add(f"syn-{person.id}", person.id, vec.astype(np.float32))
            face.debounce_s = 0.0
            frame = _frame(PHOTOS / "obama2.jpg")
            scope = await face.async_scope("bench_gate")
            bars = face.recogniser.bars(scope)

            relay_at = relay_turn_on_times(hass)
            if args.pad == "stream":
                live = await _present_live(args, face, relay_at)
                await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_block_till_done()
                return _result(args, bars) | live
            latencies: list[float] = []
            waited = refused = 0
            for i in range(args.warmup + args.frames):
                relay_at.clear()
                t0 = time.perf_counter()
                outcomes = await face.async_present_frame("bench_gate", frame)
                if not outcomes:
                    waited += i >= args.warmup
                elif not outcomes[0].passage.allowed:
                    refused += i >= args.warmup
                elif i >= args.warmup:
                    assert relay_at, "granted without a relay call"
                    latencies.append(relay_at[0] - t0)
                await asyncio.sleep(0.05)
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
    return _result(args, bars) | {
        "frames": args.frames,
        "opened": len(latencies),
        "waited_for_a_second_frame": waited,
        "refused": refused,
        "frame_to_relay_ms": percentiles_ms(latencies) if latencies else None,
    }


def _result(args: argparse.Namespace, bars: Any) -> dict[str, Any]:
    return {
        "engine": args.engine,
        "pad_level": args.pad,
        "gallery_people": args.gallery,
        "scope_people": bars.people,
        "bar_gallery_distance": round(bars.plain, 4),
    }


def live_sequences(count: int) -> list[list[bytes]]:
    """``count`` synthetic live sequences of the resident's other photo (``pad_corpus``:
    a model of a person at a door, seeded), as 640x480 JPEG frames."""
    from devtools import pad_corpus as pc

    photo = pc.load_photo(PHOTOS / "obama2.jpg", pc.ncnn_locator())
    if photo is None:
        raise RuntimeError("no face in obama2.jpg")
    return [
        [pc.to_jpeg(f) for f in pc.sequence(pc.BONA_FIDE, photo, seed=1400 + n)]
        for n in range(count)
    ]


async def _present_live(
    args: argparse.Namespace, face: Any, relay_at: list[float]
) -> dict[str, Any]:
    """Each sequence's frames in order until its track opens or is refused; then the
    face leaves (the track ends after ``tracks.WINDOW_S`` unseen)."""
    from custom_components.community_gate.core.tracks import WINDOW_S

    sequences = await asyncio.get_running_loop().run_in_executor(
        None, live_sequences, args.warmup + args.frames
    )
    latencies: list[float] = []
    frames_to_open: list[int] = []
    refused = undecided = 0
    for n, frames in enumerate(sequences):
        measured = n >= args.warmup
        for k, frame in enumerate(frames):
            relay_at.clear()
            t0 = time.perf_counter()
            outcomes = await face.async_present_frame("bench_gate", frame)
            if outcomes and outcomes[0].passage.allowed:
                assert relay_at, "granted without a relay call"
                if measured:
                    latencies.append(relay_at[0] - t0)
                    frames_to_open.append(k + 1)
                break
            if outcomes:
                refused += measured
                break
            await asyncio.sleep(0.05)
        else:
            undecided += measured
        await asyncio.sleep(WINDOW_S + 0.2)
    return {
        "presentations": args.frames,
        "opened": len(latencies),
        "refused": refused,
        "undecided": undecided,
        "frames_to_open": {str(k): frames_to_open.count(k) for k in sorted(set(frames_to_open))},
        "frame_to_relay_ms": percentiles_ms(latencies) if latencies else None,
    }


def run_facegate(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cg-bench-facegate-") as tmp:
        result = asyncio.run(_bench(args, Path(tmp)))
    return {"machine": machine_info(), **result}


def format_facegate(r: dict[str, Any]) -> str:
    m = r["frame_to_relay_ms"] or {}
    if r["pad_level"] == "stream":
        return (
            f"{r['engine']}, PAD stream: deciding 640x480 frame -> relay switch.turn_on, "
            f"{r['presentations']} live presentations, {r['gallery_people']} people\n"
            f"  opened {r['opened']}, refused {r['refused']}, undecided {r['undecided']}, "
            f"frames to open {r['frames_to_open']}\n"
            f"  p50 {m.get('p50_ms')} ms  p95 {m.get('p95_ms')} ms  max {m.get('max_ms')} ms"
        )
    return (
        f"{r['engine']}: 640x480 frame -> relay switch.turn_on, {r['frames']} frames, "
        f"{r['gallery_people']} people enrolled ({r['scope_people']} may pass)\n"
        f"  opened {r['opened']}, waited {r['waited_for_a_second_frame']}, "
        f"refused {r['refused']}\n"
        f"  p50 {m.get('p50_ms')} ms  p95 {m.get('p95_ms')} ms  max {m.get('max_ms')} ms"
    )


FACEGATE_COMMAND: Command = (
    "Face gate: camera frame -> relay turn_on (real HA, real engine, real SQLite)",
    add_facegate_args,
    run_facegate,
    format_facegate,
)
