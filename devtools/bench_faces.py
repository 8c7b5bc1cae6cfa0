"""``bench faces``: the face path's speed and memory, against DESIGN §6 (issue 3).

    python -m devtools.bench faces --json
    python -m devtools.bench faces --frames 10 --gallery 50 200
    python -m devtools.bench faces --engine ncnn_sface_2021dec --detect-side 0

``--engine`` picks the engine by name (``engines.make_engine``; dlib by default here, as
this benchmark began; the hub's default is ncnn). Decisions on the largest gallery go
through ``recognition.Recogniser.classify`` (the gate's bar for everyone enrolled and the
engine's margin), as the hub decides.

Registered in ``devtools.bench.COMMANDS``; the engine is imported only when this
benchmark runs, so ``bench store`` never needs dlib .

Frames: real photos — the identity folders of ``../shared/faces`` beside the repository,
else the package photos that ``scripts/fetch_photos`` puts in ``.cache/test-photos`` —
each letterboxed to 640×480 and JPEG-encoded in memory (quality 90), cycled to
``--frames``. Every frame then goes through three measurements back to back (so other
work on the machine weighs on them alike):

* **stages**: ``decode_image``; ``engine.detect`` (HOG, ``--upsample`` 0); for the
  largest face ``engine.landmarks`` (68 points: ``analyse`` computes them for every
  candidate, for the false-positive filter) and ``engine.encode`` (5-point alignment +
  ResNet); ``Gallery.match`` against each gallery size; ``policy.decide`` on in-memory
  objects.
* **frame → decision**, the hub's own calls in order (``face.py``'s frame path):
  ``decode_image`` → ``engine.analyse`` (detect, then 68 landmarks, the plausibility
  filter and an encoding for *every* candidate, up to 4) → ``Gallery.match`` on the
  largest gallery for the largest face → ``policy.decide``. The actuator command is
  outside the core and not included. Frames in which no face is found make no decision
  and are counted, not timed into it.
* **investigation** (``--detect-side``, 480 by default, 0 skips it): the same path with
  HOG run on a copy shrunk to that many pixels (``resize_max``), the boxes mapped back
  and ``engine.faces_from`` filtering and encoding on the full frame. Not the hub's path.

Galleries: the real encodings of the photos (one embedding each, under the person of
its folder) plus synthetic people — a real encoding plus Gaussian noise (σ = 0.06 per
dimension, ≈ 0.68 from it: a plausible other face, closer than most real impostors),
float32 — up to each ``--gallery`` size, one embedding per person.

Embedding → decision: what a gate terminal's request costs once it reaches the hub —
``json.loads`` of ``{"gate": ..., "embedding": [128 floats]}``, the hub's validation
(float32, shape, finite), ``Gallery.match`` on the largest gallery, the person, unit and
credential from in-memory dicts, ``policy.decide``. The store's own lookup (SQLite, see
``bench store``: p95 ≈ 0.2 ms) and the HTTP layer are not included.

Memory: VmRSS (``/proc/self/status``) before the engine loads, after it, and before and
after the largest gallery is filled; plus ``Gallery.memory_bytes()``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
import io
import json
import os
from pathlib import Path
import re
import statistics
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from devtools.benchlib import REPO_ROOT, Command, machine_info, percentiles_ms, positive

if TYPE_CHECKING:
    from custom_components.community_gate.core.faces import DlibEngine, Face
    from custom_components.community_gate.core.gallery import Gallery, Match

SHARED_FACES = REPO_ROOT.parent / "shared" / "faces"
CACHED_PHOTOS = REPO_ROOT / ".cache" / "test-photos"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})

FRAME_W, FRAME_H = 640, 480
JPEG_QUALITY = 90
SYNTHETIC_SIGMA = 0.06
# A normalised engine's synthetic people: noise of norm ~2.8 on a unit vector, then
# normalised again: cosine ~0.33 to their base, under the gate's 0.36.
SYNTHETIC_SIGMA_NORMALISED = 0.25
PROBE_SIGMA = 0.02  # a terminal's embedding of an enrolled person: ≈ 0.23 from the reference
UNKNOWN_SHARE = 0.2  # of terminal embeddings: faces nobody enrolled
WARMUP = 3
CHUNK = 10_000
SEED = 20261125

# DESIGN §6
TARGET_FRAME_P50_MS = 150.0
TARGET_FRAME_P95_MS = 300.0
TARGET_EMBEDDING_P95_MS = 20.0
TARGET_MEMORY_MB = 500.0
TARGET_GALLERY = 100_000


def log(msg: str) -> None:
    print(f"[bench faces] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float | None:
    """This process's resident set (VmRSS) in MiB, None where /proc is missing."""
    return _status_mb("VmRSS:")


def peak_rss_mb() -> float | None:
    return _status_mb("VmHWM:")


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError, ValueError, IndexError:
        return None
    return None


def percentiles(samples: Sequence[float]) -> dict[str, Any]:
    """count, p50/p95/p99/max (ms) and the mean of durations in seconds."""
    if not samples:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "count": len(samples),
        **percentiles_ms(samples),
        "mean_ms": round(statistics.fmean(samples) * 1000, 4),
    }


# ------------------------------------------------------------------------ frames
def _natural(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def find_photos(folder: Path | None = None) -> tuple[str, list[tuple[str, Path]]]:
    """(source, [(identity, path)]): the shared set's identity folders, else the cache."""
    if folder is None:
        folder = SHARED_FACES if SHARED_FACES.is_dir() else CACHED_PHOTOS
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no photos: neither {SHARED_FACES} nor {CACHED_PHOTOS} (run scripts/fetch_photos)"
        )
    out: list[tuple[str, Path]] = []
    subdirs = [
        d
        for d in sorted(folder.iterdir(), key=lambda p: _natural(p.name))
        if d.is_dir() and not d.name.startswith(("_", "."))
    ]
    if subdirs:  # <identity>/<images>
        for d in subdirs:
            out += [
                (d.name, p)
                for p in sorted(d.iterdir(), key=lambda p: _natural(p.name))
                if p.suffix.lower() in IMAGE_SUFFIXES
            ]
    else:  # a flat folder: the person is the file name without digits (obama2 -> obama)
        for p in sorted(folder.iterdir(), key=lambda p: _natural(p.name)):
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
                out.append((re.sub(r"[\d_].*$", "", p.stem) or p.stem, p))
    if not out:
        raise FileNotFoundError(f"no photos in {folder}")
    return str(folder), out


def letterbox(rgb: NDArray[np.uint8], width: int = FRAME_W, height: int = FRAME_H) -> Image.Image:
    """Fit the photo inside width×height (either way), centred on black."""
    h, w = rgb.shape[:2]
    scale = min(width / w, height / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    frame = Image.new("RGB", (width, height))
    frame.paste(
        Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR),
        ((width - size[0]) // 2, (height - size[1]) // 2),
    )
    return frame


def make_frames(photos: Sequence[tuple[str, Path]]) -> list[tuple[str, bytes]]:
    """One 640×480 JPEG (in memory) per photo, with its identity."""
    from custom_components.community_gate.core.images import ImageError, load_image_file

    out: list[tuple[str, bytes]] = []
    for identity, path in photos:
        try:
            rgb = load_image_file(path)
        except ImageError as err:
            log(f"skipping {path.name}: {err.why}")
            continue
        buf = io.BytesIO()
        letterbox(rgb).save(buf, format="JPEG", quality=JPEG_QUALITY)
        out.append((identity, buf.getvalue()))
    return out


# ---------------------------------------------------------------------- galleries
def synthetic(
    bases: NDArray[np.float32], count: int, rng: np.random.Generator, normalised: bool = False
) -> Iterator[NDArray[np.float32]]:
    """``count`` float32 vectors near the real ones, made CHUNK at a time (unit length
    for a normalised engine)."""
    sigma = SYNTHETIC_SIGMA_NORMALISED if normalised else SYNTHETIC_SIGMA
    made = 0
    while made < count:
        n = min(CHUNK, count - made)
        picks = bases[(np.arange(made, made + n)) % len(bases)]
        noise = rng.normal(0.0, sigma, size=picks.shape).astype(np.float32)
        out = picks + noise
        if normalised:
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        yield from out.astype(np.float32)
        made += n


def build_gallery(
    size: int,
    real: Sequence[tuple[str, NDArray[np.float32]]],
    rng: np.random.Generator,
    into: Gallery | None = None,
    normalised: bool = False,
) -> Gallery:
    """The real encodings under their people, then synthetic people up to ``size``
    (into ``into``, e.g. a Recogniser's plain gallery, or a new one)."""
    from custom_components.community_gate.core.gallery import Gallery

    gallery = into if into is not None else Gallery()
    bases = np.stack([v for _p, v in real]).astype(np.float32)
    keep = real[:size]
    gallery.add_many((f"r{i}", person, vec) for i, (person, vec) in enumerate(keep))
    extra = size - len(keep)
    if extra > 0:
        gallery.add_many(
            (f"s{i:07d}", f"s{i:07d}", vec)
            for i, vec in enumerate(synthetic(bases, extra, rng, normalised))
        )
    return gallery


# ------------------------------------------------------------------------- policy
class Directory:
    """In-memory people, units and face credentials, as the hub would look them up."""

    def __init__(self) -> None:
        from custom_components.community_gate.core.model import Direction, Gate

        self.gate = Gate("gate-north", "North gate", direction=Direction.BOTH)
        self._people: dict[str, Any] = {}

    def decide(self, person_id: str | None) -> Any:
        from custom_components.community_gate.core.model import (
            Credential,
            CredentialKind,
            Direction,
            Person,
            Role,
            Unit,
        )
        from custom_components.community_gate.core.policy import decide

        now = datetime.now(UTC)
        if person_id is None:
            return decide(
                now=now,
                gate=self.gate,
                direction=Direction.IN,
                credential=None,
                person=None,
                unit=None,
            )
        found = self._people.get(person_id)
        if found is None:
            unit = Unit(f"u-{person_id}", "B01", "101")
            found = (
                Person(person_id, Role.TENANT, unit_id=unit.id),
                unit,
                Credential(f"f-{person_id}", person_id, CredentialKind.FACE, ""),
            )
            self._people[person_id] = found
        person, unit, credential = found
        return decide(
            now=now,
            gate=self.gate,
            direction=Direction.IN,
            credential=credential,
            person=person,
            unit=unit,
        )

    def preload(self, person_ids: Sequence[str]) -> None:
        for pid in person_ids:
            self.decide(pid)


# -------------------------------------------------------------------------- runs
def run_faces(args: argparse.Namespace) -> dict[str, Any]:

    rss_start = rss_mb()
    load_start = _loadavg()
    from custom_components.community_gate.core import engines
    from custom_components.community_gate.core.faces import DlibEngine
    from custom_components.community_gate.core.images import decode_image
    from custom_components.community_gate.core.recognition import Recogniser

    rng = np.random.default_rng(args.seed)
    spec = engines.spec(args.engine)
    log(f"loading the engine ({spec.name})")
    started = time.perf_counter()
    engine = engines.make_engine(spec.name)
    load_s = time.perf_counter() - started
    rss_engine = rss_mb()

    source, photos = find_photos(Path(args.photos) if args.photos else None)
    frames = make_frames(photos)
    if not frames:
        raise SystemExit("no usable photos")
    log(f"{len(frames)} frames of {FRAME_W}x{FRAME_H} from {source}")

    # Real encodings to build the galleries around (and warm the engine up).
    real: list[tuple[str, NDArray[np.float32]]] = []
    for identity, jpeg in frames:
        faces = engine.analyse(decode_image(jpeg), upsample=args.upsample)
        if faces:
            face = max(faces, key=lambda f: f.box.area)
            real.append((identity, np.asarray(face.encoding, dtype=np.float32)))
    if not real:
        raise SystemExit("no face found in any frame")
    log(f"{len(real)} of {len(frames)} frames have a face at upsample {args.upsample}")

    sizes = sorted(set(args.gallery))
    galleries: dict[int, Gallery] = {}
    memory: dict[str, Any] = {"rss_start_mb": rss_start, "rss_after_engine_mb": rss_engine}
    for size in sizes:
        if size == sizes[-1]:
            memory["rss_before_gallery_mb"] = rss_mb()
        log(f"filling a gallery of {size:,} embeddings")
        t = time.perf_counter()
        recogniser = Recogniser(spec) if size == sizes[-1] else None
        into = recogniser.plain if recogniser is not None else None
        galleries[size] = build_gallery(size, real, rng, into, spec.normalised)
        fill_s = time.perf_counter() - t
        if size == sizes[-1]:
            memory["rss_after_gallery_mb"] = rss_mb()
            memory["gallery_size"] = size
            memory["gallery_fill_s"] = round(fill_s, 2)
    largest = galleries[sizes[-1]]
    assert recogniser is not None  # the largest size is the last one filled
    classify = recogniser.classify
    memory["gallery_memory_bytes"] = largest.memory_bytes()
    memory["peak_rss_mb"] = peak_rss_mb()
    if memory["rss_before_gallery_mb"] is not None and memory["rss_after_gallery_mb"]:
        memory["gallery_rss_delta_mb"] = round(
            memory["rss_after_gallery_mb"] - memory["rss_before_gallery_mb"], 1
        )
    if rss_start is not None and memory.get("rss_after_gallery_mb") is not None:
        # What face recognition adds to the process: the models and the gallery.
        memory["faces_total_mb"] = round(memory["rss_after_gallery_mb"] - rss_start, 1)

    directory = Directory()
    directory.preload(sorted({p for p, _v in real}))

    # The hub's own path runs recognition in a child process (core/face_worker.py):
    # measured too, so the figures include the pickle + pipe round trip.
    from custom_components.community_gate.core.face_worker import FaceWorker

    log("starting the face process")
    worker = FaceWorker(engines.engine_factory(spec.name))
    t = time.perf_counter()
    worker.ping()
    worker_start_s = time.perf_counter() - t

    order = [frames[i % len(frames)] for i in range(args.frames)]
    for _identity, jpeg in order[:WARMUP]:
        engine.analyse(decode_image(jpeg), upsample=args.upsample)
        worker.analyse(jpeg, upsample=args.upsample)

    # Every frame goes through the three measurements back to back (not three passes),
    # so other work on the machine weighs on each of them alike.
    log(f"{len(order)} frames: stages, the hub's path, HOG on a copy ({args.detect_side} px)")
    st: dict[str, list[float]] = {
        "decode": [],
        "detect": [],
        "landmarks": [],
        "encode": [],
        "decide": [],
        **{f"match_{n}": [] for n in sizes},
    }
    staged_sum: list[float] = []
    faces_found: list[int] = []
    e2e: list[float] = []
    e2e_no_face: list[float] = []
    e2e_worker: list[float] = []
    encoded: list[int] = []
    granted = 0
    watch = CpuWatch()
    small_detect: list[float] = []
    small_e2e: list[float] = []
    small_found = 0
    for _identity, jpeg in order:
        # 1. per stage
        t0 = time.perf_counter()
        rgb = decode_image(jpeg)
        t1 = time.perf_counter()
        boxes = engine.detect(rgb, upsample=args.upsample)
        t2 = time.perf_counter()
        st["decode"].append(t1 - t0)
        st["detect"].append(t2 - t1)
        faces_found.append(len(boxes))
        if boxes:
            box = max(boxes, key=lambda b: b.area)
            t3 = time.perf_counter()
            engine.landmarks(rgb, box)
            t4 = time.perf_counter()
            vector = engine.encode(rgb, box)
            t5 = time.perf_counter()
            st["landmarks"].append(t4 - t3)
            st["encode"].append(t5 - t4)
            for n in sizes:
                t = time.perf_counter()
                match = galleries[n].match(vector)
                st[f"match_{n}"].append(time.perf_counter() - t)
            t6 = time.perf_counter()
            directory.decide(match.person_id if match.accepted else None)
            st["decide"].append(time.perf_counter() - t6)
            staged_sum.append(
                (t1 - t0) + (t2 - t1) + (t5 - t4) + st[f"match_{sizes[-1]}"][-1] + st["decide"][-1]
            )

        # 2. frame -> decision, the hub's calls
        t0 = time.perf_counter()
        faces = engine.analyse(decode_image(jpeg), upsample=args.upsample)
        if faces:
            face = max(faces, key=lambda f: f.box.area)
            match = classify(face.encoding)
            decision = directory.decide(match.person_id if match.accepted else None)
            e2e.append(time.perf_counter() - t0)
            encoded.append(len(faces))
            granted += bool(decision.allowed)
        else:
            e2e_no_face.append(time.perf_counter() - t0)

        # 2c. the same through the face process, as the hub runs it
        t0 = time.perf_counter()
        faces = worker.analyse(jpeg, upsample=args.upsample)
        if faces:
            face = max(faces, key=lambda f: f.box.area)
            match = classify(face.encoding)
            directory.decide(match.person_id if match.accepted else None)
            e2e_worker.append(time.perf_counter() - t0)

        # 2b. the same with HOG on a downscaled copy (investigation, not the hub's path)
        if args.detect_side and isinstance(engine, DlibEngine):
            t0 = time.perf_counter()
            faces, detect_s = analyse_downscaled(
                engine, decode_image(jpeg), args.detect_side, args.upsample
            )
            small_detect.append(detect_s)
            if faces:
                face = max(faces, key=lambda f: f.box.area)
                match = classify(face.encoding)
                directory.decide(match.person_id if match.accepted else None)
                small_e2e.append(time.perf_counter() - t0)
                small_found += 1

    cpu_frames = watch.result()
    worker.stop()
    downscaled: dict[str, Any] | None = None
    if args.detect_side and isinstance(engine, DlibEngine):
        downscaled = {
            "side": args.detect_side,
            "frames_with_face": small_found,
            "detect": percentiles(small_detect),
            "frame_to_decision": percentiles(small_e2e),
        }

    # 3. embedding -> decision
    log(f"embedding -> decision over {args.embeddings:,} terminal requests")
    emb_samples, emb_granted = measure_embeddings(
        classify, directory, real, args.embeddings, rng, spec.dims
    )

    # The targets are judged on the hub's real path: through the face process.
    frame = percentiles(e2e_worker)
    emb = percentiles(emb_samples)
    return {
        "benchmark": "faces",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "software": software_info(),
        "sizes": {
            "frames": len(order),
            "distinct_photos": len(frames),
            "photos": source,
            "frame": f"{FRAME_W}x{FRAME_H} JPEG q{JPEG_QUALITY}",
            "upsample": args.upsample,
            "galleries": sizes,
            "embeddings": args.embeddings,
        },
        "engine": spec.name,
        "decision": "recognition.Recogniser.classify, scope = everyone enrolled",
        "engine_load_s": round(load_s, 2),
        "stages": {name: percentiles(v) for name, v in st.items()},
        "frames_with_face": sum(1 for n in faces_found if n),
        "frames_with_several_faces": sum(1 for n in faces_found if n > 1),
        "frame_to_decision": {
            **percentiles(e2e),
            "faces_encoded_mean": round(statistics.fmean(encoded), 2) if encoded else None,
            "granted": granted,
            "no_face_frames": percentiles(e2e_no_face),
        },
        "staged_sum": percentiles(staged_sum),
        "frame_to_decision_worker": {
            **percentiles(e2e_worker),
            "worker_start_s": round(worker_start_s, 2),
        },
        "detect_downscaled": downscaled,
        "load_average": {"start": load_start, "end": _loadavg()},
        "cpu_during_frames": cpu_frames,
        "embedding_to_decision": {**emb, "granted": emb_granted},
        "memory": memory,
        "targets": {
            "frame_p50_ms": TARGET_FRAME_P50_MS,
            "frame_p50_met": _le(frame["p50_ms"], TARGET_FRAME_P50_MS),
            "frame_p95_ms": TARGET_FRAME_P95_MS,
            "frame_p95_met": _le(frame["p95_ms"], TARGET_FRAME_P95_MS),
            "embedding_p95_ms": TARGET_EMBEDDING_P95_MS,
            "embedding_p95_met": _le(emb["p95_ms"], TARGET_EMBEDDING_P95_MS),
            "memory_mb": TARGET_MEMORY_MB,
            "memory_met": _le(memory.get("faces_total_mb"), TARGET_MEMORY_MB),
            "at_full_size": sizes[-1] >= TARGET_GALLERY,
        },
    }


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, steal) jiffies of the whole machine from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError, ValueError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq + steal, steal


class CpuWatch:
    """How busy the machine was besides us while something ran: cores used by other
    processes (machine busy time minus our own CPU time) and the hypervisor's steal."""

    def __init__(self) -> None:
        self._t = time.perf_counter()
        self._own = _own_cpu()
        self._jiffies = _cpu_jiffies()

    def result(self) -> dict[str, float | None]:
        wall = time.perf_counter() - self._t
        own = _own_cpu() - self._own
        now = _cpu_jiffies()
        if self._jiffies is None or now is None or wall <= 0:
            return {"wall_s": round(wall, 1), "own_cores": round(own / wall, 2) if wall else None}
        tick = os.sysconf("SC_CLK_TCK")
        busy = (now[0] - self._jiffies[0]) / tick
        steal = (now[1] - self._jiffies[1]) / tick
        return {
            "wall_s": round(wall, 1),
            "own_cores": round(own / wall, 2),
            "other_cores": round(max(busy - own, 0.0) / wall, 2),
            "steal_cores": round(steal / wall, 2),
        }


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _loadavg() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the cores shows in every figure."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def analyse_downscaled(
    engine: DlibEngine, rgb: NDArray[np.uint8], side: int, upsample: int, max_faces: int = 4
) -> tuple[list[Face], float]:
    """``engine.analyse`` with HOG run on a copy shrunk to ``side`` px (longest side):
    the boxes are mapped back and ``engine.faces_from`` filters and encodes them on the
    full frame. Returns the faces and the seconds spent detecting (resize included)."""
    from custom_components.community_gate.core.images import resize_max

    t = time.perf_counter()
    small, scale = resize_max(rgb, side)
    candidates = engine.detect_scored(small, upsample=upsample)
    detect_s = time.perf_counter() - t
    if scale != 1.0:
        candidates = [(box.rescaled(1 / scale), score) for box, score in candidates]
    return engine.faces_from(rgb, candidates, max_faces), detect_s


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def measure_embeddings(
    classify: Callable[[NDArray[np.float32]], Match],
    directory: Directory,
    real: Sequence[tuple[str, NDArray[np.float32]]],
    count: int,
    rng: np.random.Generator,
    dims: int = 128,
) -> tuple[list[float], int]:
    """Terminal requests: parse, validate, match, decide. 20 % are unknown faces."""
    payloads: list[bytes] = []
    for i in range(count):
        base = real[i % len(real)][1]
        sigma = 0.09 if rng.random() < UNKNOWN_SHARE else PROBE_SIGMA
        vec = base + rng.normal(0.0, sigma, size=base.shape)
        request = {"gate": directory.gate.id, "embedding": [round(float(x), 6) for x in vec]}
        payloads.append(json.dumps(request).encode())
    samples: list[float] = []
    granted = 0
    for body in payloads[: min(WARMUP * 10, count)]:
        _terminal_request(classify, directory, body, dims)
    for body in payloads:
        t = time.perf_counter()
        allowed = _terminal_request(classify, directory, body, dims)
        samples.append(time.perf_counter() - t)
        granted += allowed
    return samples, granted


def _terminal_request(
    classify: Callable[[NDArray[np.float32]], Match],
    directory: Directory,
    body: bytes,
    dims: int,
) -> bool:
    data = json.loads(body)
    vec = np.asarray(data["embedding"], dtype=np.float32)
    if vec.shape != (dims,) or not np.all(np.isfinite(vec)):
        raise ValueError(f"embedding must be {dims} finite numbers")
    match = classify(vec)
    return bool(directory.decide(match.person_id if match.accepted else None).allowed)


def software_info() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for dist in (
        "dlib-bin",
        "face_recognition_models",
        "numpy",
        "Pillow",
        "opencv-python-headless",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


# --------------------------------------------------------------------------- text
def format_faces(r: dict[str, Any]) -> str:
    m, s, st, f, e, mem, t = (
        r["machine"],
        r["sizes"],
        r["stages"],
        r["frame_to_decision"],
        r["embedding_to_decision"],
        r["memory"],
        r["targets"],
    )

    def ok(flag: bool | None) -> str:
        return "n/a" if flag is None else ("met" if flag else "MISSED")

    def row(label: str, x: dict[str, Any]) -> str:
        if not x["count"]:
            return f"{label:<40}{'-':>10}{'-':>10}{'-':>10}{0:>8}"
        return (
            f"{label:<40}{x['p50_ms']:>10.2f}{x['p95_ms']:>10.2f}{x['max_ms']:>10.2f}"
            f"{x['count']:>8}"
        )

    lines = [
        f"faces benchmark, {r['date']}",
        f"machine   {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}",
        f"software  Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in r["software"].items() if v),
        f"frames    {s['frames']} of {s['frame']} from {s['distinct_photos']} photos"
        f" ({s['photos']}); HOG upsample {s['upsample']};"
        f" a face in {r['frames_with_face']}, several in {r['frames_with_several_faces']}",
        "",
        f"{'stage':<40}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'n':>8}",
        row("decode (JPEG -> RGB)", st["decode"]),
        row(f"detect (HOG, upsample {s['upsample']})", st["detect"]),
        row("landmarks (68 points)", st["landmarks"]),
        row("encode (5-point align + ResNet)", st["encode"]),
    ]
    for n in s["galleries"]:
        lines.append(row(f"match, gallery {n:,}", st[f"match_{n}"]))
    lines += [
        row("policy.decide", st["decide"]),
        row("sum of the stages, per frame with a face", r["staged_sum"]),
        row(f"frame -> decision (in process), {s['galleries'][-1]:,}", f),
        row("  frames without a face (no decision)", f["no_face_frames"]),
        row("frame -> decision (face process, hub path)", r["frame_to_decision_worker"]),
        row(f"embedding -> decision, {s['galleries'][-1]:,}", e),
    ]
    ds = r["detect_downscaled"]
    if ds:
        lines += [
            f"investigation: HOG on a copy at most {ds['side']} px wide, the rest on the frame"
            f" (a face in {ds['frames_with_face']} of {s['frames']} frames)",
            row("  detect (resize + HOG)", ds["detect"]),
            row("  frame -> decision", ds["frame_to_decision"]),
        ]
    lines += [
        "",
        f"load      {r['load_average']['start']} at start, {r['load_average']['end']} at end"
        " (1/5/15 min); during the frames: this process"
        f" {r['cpu_during_frames'].get('own_cores')} cores, other processes"
        f" {r['cpu_during_frames'].get('other_cores')}, steal"
        f" {r['cpu_during_frames'].get('steal_cores')}",
        f"memory    VmRSS {mem['rss_start_mb']} MiB at start, {mem['rss_after_engine_mb']} MiB"
        f" with the engine, {mem['rss_before_gallery_mb']} -> {mem['rss_after_gallery_mb']} MiB"
        f" filling {mem['gallery_size']:,} faces; Gallery.memory_bytes()"
        f" {mem['gallery_memory_bytes'] / 2**20:.1f} MiB; faces total"
        f" {mem.get('faces_total_mb')} MiB",
        "",
        f"target frame -> decision p50 ≤ {t['frame_p50_ms']:.0f} ms: {ok(t['frame_p50_met'])},"
        f" p95 ≤ {t['frame_p95_ms']:.0f} ms: {ok(t['frame_p95_met'])}",
        f"target embedding -> decision p95 ≤ {t['embedding_p95_ms']:.0f} ms:"
        f" {ok(t['embedding_p95_met'])}",
        f"target ≤ {t['memory_mb']:.0f} MB for {TARGET_GALLERY:,} faces: {ok(t['memory_met'])}"
        + ("" if t["at_full_size"] else f" (gallery only {s['galleries'][-1]:,}: not the target)"),
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- cli
def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def add_faces_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--photos", help=f"photo folder [{SHARED_FACES}, else {CACHED_PHOTOS}]")
    p.add_argument(
        "--engine",
        default="dlib_resnet_v1",
        choices=("dlib_resnet_v1", "ncnn_sface_2021dec"),
        help="face engine [%(default)s]",
    )
    p.add_argument("--frames", type=positive, default=200, help="frames measured [%(default)s]")
    p.add_argument(
        "--gallery",
        type=positive,
        nargs="+",
        default=[1_000, 100_000],
        help="gallery sizes; the largest is used end to end [%(default)s]",
    )
    p.add_argument(
        "--embeddings", type=positive, default=2_000, help="terminal requests [%(default)s]"
    )
    p.add_argument("--upsample", type=_non_negative, default=0, help="HOG [%(default)s]")
    p.add_argument(
        "--detect-side",
        type=_non_negative,
        default=480,
        help="also time HOG on a copy this wide (investigation; 0: skip) [%(default)s]",
    )
    p.add_argument("--seed", type=int, default=SEED)


FACES_COMMAND: Command = (
    "face path: decode, detect, encode, match, decide; memory with 100,000 faces",
    add_faces_args,
    run_faces,
    format_faces,
)
