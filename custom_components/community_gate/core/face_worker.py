"""Face analysis in a child process.

dlib's ResNet encoder holds the interpreter lock for the whole encoding (~100 ms per
face measured on 2 cores): run in a thread, it would freeze Home Assistant's event loop
for that long on every face. A child process keeps the hub responsive. The parent talks
to it over a pipe from one (its own) thread, so a call blocks only that thread, and
nothing else (no manager thread, no pool) runs beside it.

The ncnn engine releases the lock while its networks run, but runs here too
(``FaceWorker(engines.engine_factory(name))``): one path for both engines, and a crash
in native inference code ends this child, not Home Assistant.

Images travel as encoded bytes (a JPEG frame is ~50 KB) and results come back as
``Face`` records (128 floats each); an exception raised in the child is re-raised in
the parent with its code and placeholders intact.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
import signal
import sys
import threading
from typing import Any

from .errors import FaceUnavailableError
from .faces import DlibEngine, Face, FaceEngine, enrollment_face
from .images import decode_image
from .liveness import Sample, five_points, sample
from .snapshots import snapshot


def _analyse(engine: FaceEngine, image: bytes, upsample: int, max_faces: int) -> list[Face]:
    return engine.analyse(decode_image(image), upsample=upsample, max_faces=max_faces)


def _analyse_crops(
    engine: FaceEngine, image: bytes, upsample: int, max_faces: int
) -> list[tuple[Face, tuple[bytes, float] | None]]:
    """Each face with a small crop of it and the crop's quality (stranger snapshots):
    the frame itself never leaves this process."""
    rgb = decode_image(image)
    faces = engine.analyse(rgb, upsample=upsample, max_faces=max_faces)
    return [(face, snapshot(rgb, face)) for face in faces]


def _analyse_live(
    engine: FaceEngine, image: bytes, upsample: int, max_faces: int, crops: bool
) -> list[tuple[Face, tuple[bytes, float] | None, Sample]]:
    """Each face with its liveness sample (5 points, a small aligned grey chip: what
    ``liveness.py`` judges a track on) and, with ``crops``, its snapshot crop."""
    rgb = decode_image(image)
    with_points = getattr(engine, "analyse_points", None)
    if with_points is not None:  # ncnn: YuNet's points, unrounded
        pairs = with_points(rgb, upsample=upsample, max_faces=max_faces)
    else:  # dlib: its 68 points, reduced to 5
        faces = engine.analyse(rgb, upsample=upsample, max_faces=max_faces)
        pairs = [(f, five_points(f.landmarks)) for f in faces]
    return [
        (face, snapshot(rgb, face) if crops else None, sample(rgb, points))
        for face, points in pairs
    ]


def _enroll(engine: FaceEngine, image: bytes) -> Face:
    return enrollment_face(engine, decode_image(image))


def _ping(engine: FaceEngine) -> str:
    return getattr(engine, "name", type(engine).__name__)


_HANDLERS: dict[str, Callable[..., Any]] = {
    "analyse": _analyse,
    "analyse_crops": _analyse_crops,
    "analyse_live": _analyse_live,
    "enroll": _enroll,
    "ping": _ping,
}


def _serve(conn: Connection, factory: Callable[[], FaceEngine]) -> None:
    """The child's loop: build the engine once, answer requests until EOF/None."""
    # Ctrl-C in a terminal reaches the whole process group: Home Assistant stops and ends
    # this process itself (a None, or EOF if it dies), so the child ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine: FaceEngine | None = None
    failure: BaseException | None = None
    try:
        engine = factory()
    except Exception as err:  # reported on every request, e.g. models missing
        failure = err
    while True:
        try:
            msg = conn.recv()
        except EOFError, OSError:
            return
        if msg is None:
            return
        name, args = msg
        try:
            if failure is not None:
                raise failure
            assert engine is not None
            result = _HANDLERS[name](engine, *args)
        except Exception as err:
            try:
                conn.send((False, err))
            except Exception:  # unpicklable: send the gist
                conn.send((False, RuntimeError(f"{type(err).__name__}: {err}")))
        else:
            conn.send((True, result))


class FaceWorker:
    """A child process owning one face engine. Thread-safe; calls block the caller."""

    def __init__(self, factory: Callable[[], FaceEngine] = DlibEngine) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._proc: Any = None
        self._closed = False

    def _ensure(self) -> Connection:
        if self._closed:
            # Home Assistant is stopping: a late call must not start a new child.
            raise FaceUnavailableError("face worker stopped", why="stopped")
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            return self._conn
        self._stop_locked()
        # The child imports this module by name: make sure the folder holding
        # ``custom_components`` is on the path it inherits (HA mounts its config dir
        # only for its own imports).
        root = str(Path(__file__).resolve().parents[3])
        if root not in sys.path:
            sys.path.append(root)
        # spawn, never fork: forking a process with running threads (HA) is unsafe.
        ctx = get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_serve, args=(child, self._factory), name="community_gate_faces", daemon=True
        )
        proc.start()
        child.close()
        if self._closed:
            # close() ran while the child was starting (it could not see it yet).
            proc.kill()
            proc.join(timeout=5)
            parent.close()
            raise FaceUnavailableError("face worker stopped", why="stopped")
        self._conn, self._proc = parent, proc
        return parent

    def call(self, name: str, *args: Any) -> Any:
        with self._lock:
            conn = self._ensure()
            try:
                conn.send((name, args))
                ok, payload = conn.recv()
            except (EOFError, OSError, BrokenPipeError) as err:
                # The child died (out of memory, killed): restart on the next call.
                self._stop_locked()
                raise FaceUnavailableError("face worker died", why="worker_died") from err
        if ok:
            return payload
        if isinstance(payload, BaseException):
            raise payload
        raise RuntimeError(str(payload))  # pragma: no cover - protocol guard

    def analyse(self, image: bytes, *, upsample: int = 0, max_faces: int = 4) -> list[Face]:
        result: list[Face] = self.call("analyse", image, upsample, max_faces)
        return result

    def analyse_crops(
        self, image: bytes, *, upsample: int = 0, max_faces: int = 4
    ) -> list[tuple[Face, tuple[bytes, float] | None]]:
        """``analyse``, each face with its JPEG crop and quality (``snapshots.py``)."""
        result: list[tuple[Face, tuple[bytes, float] | None]] = self.call(
            "analyse_crops", image, upsample, max_faces
        )
        return result

    def analyse_live(
        self, image: bytes, *, crops: bool, upsample: int = 0, max_faces: int = 4
    ) -> list[tuple[Face, tuple[bytes, float] | None, Sample]]:
        """``analyse``, each face with its liveness sample (and its crop if ``crops``)."""
        result: list[tuple[Face, tuple[bytes, float] | None, Sample]] = self.call(
            "analyse_live", image, upsample, max_faces, crops
        )
        return result

    def enroll(self, image: bytes) -> Face:
        result: Face = self.call("enroll", image)
        return result

    def ping(self) -> str:
        """Start the child if needed and wait until its engine is loaded."""
        return str(self.call("ping"))

    def _stop_locked(self) -> None:
        if self._conn is not None:
            with suppress(OSError):  # BrokenPipeError is an OSError
                self._conn.send(None)
            self._conn.close()
        if self._proc is not None:
            self._proc.join(timeout=5)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(timeout=5)
        self._conn = self._proc = None

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the child for good: later calls raise instead of starting another.
        A call in progress gets ``timeout`` seconds, then the child is killed under it
        (its caller sees EOF and cleans up). Blocking: call from an executor."""
        self._closed = True
        if self._lock.acquire(timeout=timeout):
            try:
                self._stop_locked()
            finally:
                self._lock.release()
        elif (proc := self._proc) is not None:
            proc.kill()
