"""The face process: real models in a spawned child, errors that cross the pipe whole,
and a child that dies is replaced instead of taking faces down for good."""

from __future__ import annotations

from collections.abc import Iterator
import os
import signal
import threading
import time

import pytest

from custom_components.community_gate.core.errors import FaceUnavailableError
from custom_components.community_gate.core.face_worker import FaceWorker
from custom_components.community_gate.core.faces import (
    FaceEngine,
    FaceQualityError,
    ModelsMissingError,
)
from custom_components.community_gate.core.images import ImageError
from tests.core.photos import package_photos

PHOTOS = package_photos()
needs_photos = pytest.mark.skipif(PHOTOS is None, reason="run scripts/fetch_photos first")


def no_models() -> FaceEngine:
    raise ModelsMissingError("models folder missing", why="test")


@pytest.fixture(scope="module")
def worker() -> Iterator[FaceWorker]:
    w = FaceWorker()
    yield w
    w.stop()


@needs_photos
def test_worker_encodes_like_the_engine_and_reports_errors(worker: FaceWorker) -> None:
    assert PHOTOS is not None
    assert worker.ping() == "dlib_resnet_v1"
    faces = worker.analyse((PHOTOS / "obama.jpg").read_bytes())
    assert len(faces) == 1
    assert faces[0].encoding.shape == (128,)
    with pytest.raises(ImageError) as img:
        worker.analyse(b"definitely not an image")
    assert img.value.code == "image_invalid"
    assert img.value.placeholders["why"] == "not_an_image"
    with pytest.raises(FaceQualityError) as q:
        worker.enroll((PHOTOS / "chelsea.png").read_bytes())  # a cat
    assert q.value.placeholders["why"] == "no_face"


@needs_photos
def test_a_killed_child_is_replaced(worker: FaceWorker) -> None:
    assert PHOTOS is not None
    worker.ping()
    pid = worker._proc.pid
    os.kill(pid, signal.SIGKILL)
    worker._proc.join(5)
    # Found dead before the next request: that request starts a new child.
    assert worker.ping() == "dlib_resnet_v1"
    assert worker._proc.pid != pid
    assert len(worker.analyse((PHOTOS / "obama.jpg").read_bytes())) == 1


def test_ctrl_c_reaches_home_assistant_not_the_face_process(worker: FaceWorker) -> None:
    """Ctrl-C in a terminal signals the whole process group: Home Assistant stops and
    ends the face process itself; the face process must not die (with a traceback) first."""
    worker.ping()
    pid = worker._proc.pid
    os.kill(pid, signal.SIGINT)
    worker._proc.join(1)
    assert worker._proc.is_alive()
    assert worker._proc.pid == pid
    assert worker.ping() == "dlib_resnet_v1"


def slow_engine() -> FaceEngine:
    os.kill(os.getpid(), signal.SIGKILL)  # dies while building: mid-request for the parent
    raise AssertionError("unreachable")


def test_a_child_dying_mid_request_is_reported_not_hung() -> None:
    w = FaceWorker(slow_engine)
    try:
        with pytest.raises(FaceUnavailableError) as exc:
            w.ping()
        assert exc.value.placeholders["why"] == "worker_died"
    finally:
        w.stop()


def test_missing_models_are_reported_on_every_call() -> None:
    w = FaceWorker(no_models)
    try:
        for _ in range(2):
            with pytest.raises(ModelsMissingError) as exc:
                w.ping()
            assert exc.value.code == "face_models_missing"
    finally:
        w.stop()


def test_close_ends_the_child_for_good() -> None:
    """Home Assistant is stopping: the child goes, and a late call is refused instead of
    starting a new one."""
    w = FaceWorker(no_models)
    with pytest.raises(ModelsMissingError):
        w.ping()
    proc = w._proc
    w.close()
    assert not proc.is_alive()
    with pytest.raises(FaceUnavailableError) as exc:
        w.ping()
    assert exc.value.placeholders["why"] == "stopped"
    assert w._proc is None


def stuck_engine() -> FaceEngine:
    time.sleep(60)  # a call that never answers in time
    raise AssertionError("unreachable")


def test_close_does_not_wait_for_a_stuck_call() -> None:
    w = FaceWorker(stuck_engine)
    errors: list[FaceUnavailableError] = []

    def call() -> None:
        try:
            w.ping()
        except FaceUnavailableError as err:
            errors.append(err)

    caller = threading.Thread(target=call)
    caller.start()
    while w._proc is None:
        time.sleep(0.01)
    started = time.monotonic()
    w.close(timeout=0.5)
    caller.join(10)
    assert time.monotonic() - started < 5
    assert not caller.is_alive()
    assert [e.placeholders["why"] for e in errors] == ["worker_died"]
