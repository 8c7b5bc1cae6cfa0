"""A network camera stream (RTSP, HTTP MJPEG) read on its own thread, newest frame only.

A gate camera that is polled through Home Assistant's camera entity costs one snapshot
request per frame; a stream read directly is cheaper and lower-latency. The reader thread
decodes frames as fast as the camera sends them and keeps only the newest one: the
recogniser asks for it when it is free, so a slow frame is dropped, never queued.

The connection stays open while nobody stands at the gate: an RTSP handshake takes one
to two seconds, which a resident would otherwise wait through on arrival.

OpenCV (FFmpeg inside) reads the stream where it is installed; PyAV, which Home Assistant
always ships, is the fallback (OpenCV has no musllinux wheels, so HA OS may lack it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
import io
import logging
import threading
import time
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from .errors import InvalidValueError
from .urls import redact_url

_LOGGER = logging.getLogger(__name__)

SCHEMES: Final = ("rtsp", "rtsps", "http", "https")
OPEN_TIMEOUT_S: Final = 5.0
READ_TIMEOUT_S: Final = 5.0
MAX_BACKOFF_S: Final = 30.0
JPEG_QUALITY: Final = 90

BGRFrame = npt.NDArray[np.uint8]


def check_stream_url(url: object) -> str:
    """The URL if it names a network stream we can read; ``InvalidValueError`` if not.

    Local paths and other schemes are refused: FFmpeg would happily open a file or a
    device, and a gate setting must not become a way to read the hub's disk."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidValueError("stream URL empty", field="stream_url")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise InvalidValueError("stream URL must be rtsp:// or http(s)://", field="stream_url")
    return url


class _Source(Protocol):
    def frames(self) -> Iterator[BGRFrame]: ...
    def close(self) -> None: ...


class _OpenCVSource:
    def __init__(self, cv2: Any, url: str) -> None:
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(OPEN_TIMEOUT_S * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(READ_TIMEOUT_S * 1000),
        ]
        self._cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
        if not self._cap.isOpened():
            self._cap.release()
            raise OSError("stream did not open")

    def frames(self) -> Iterator[BGRFrame]:
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                return
            yield frame

    def close(self) -> None:
        self._cap.release()


class _PyAVSource:
    def __init__(self, av: Any, url: str) -> None:
        options = {"rtsp_transport": "tcp"} if url.lower().startswith("rtsp") else {}
        self._container = av.open(url, options=options, timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))

    def frames(self) -> Iterator[BGRFrame]:
        for frame in self._container.decode(video=0):
            yield frame.to_ndarray(format="bgr24")

    def close(self) -> None:
        self._container.close()


def _open_source(url: str, backend: str) -> _Source:
    if backend == "opencv":
        import cv2

        return _OpenCVSource(cv2, url)
    import av

    return _PyAVSource(av, url)


def default_backend() -> str:
    try:
        import cv2  # noqa: F401 - availability probe
    except ImportError:
        return "pyav"
    return "opencv"


def encode_jpeg(frame: BGRFrame) -> bytes:
    """A BGR frame as JPEG bytes (the recogniser's input format)."""
    try:
        import cv2
    except ImportError:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(frame[:, :, ::-1]).save(buf, format="JPEG", quality=JPEG_QUALITY)
        return buf.getvalue()
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise InvalidValueError("frame could not be encoded", field="frame")
    return bytes(data)


class LatestFrameStream:
    """Reads ``url`` on a daemon thread; ``latest()`` gives the newest unseen frame.

    Reconnects with exponential backoff (1 s doubling to 30 s) when the stream drops.
    Thread-safe: the reader thread writes, any thread reads."""

    def __init__(
        self,
        url: str,
        *,
        backend: str | None = None,
        on_state: Callable[[bool], None] | None = None,
    ) -> None:
        self.url = check_stream_url(url)
        self.backend = backend or default_backend()
        self._on_state = on_state
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._new = threading.Event()
        self._frame: BGRFrame | None = None
        self._seq = 0
        self._taken = 0
        self._thread: threading.Thread | None = None
        self.connected = False
        self.decoded = 0  # frames read from the camera
        self.dropped = 0  # frames replaced before anyone took them
        self.reconnects = 0
        self.last_error: str | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="community_gate_stream", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = OPEN_TIMEOUT_S + READ_TIMEOUT_S) -> None:
        """Ask the thread to end and wait for it (blocking: call from an executor)."""
        self._stop.set()
        self._new.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def latest(self, wait: float = 0.0) -> tuple[int, BGRFrame] | None:
        """The newest frame not handed out before, waiting up to ``wait`` seconds for one.
        Returns ``(sequence number, frame)`` or None."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                if self._frame is not None and self._seq > self._taken:
                    self._taken = self._seq
                    self._new.clear()
                    return self._seq, self._frame
                self._new.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stop.is_set():
                return None
            self._new.wait(remaining)

    def _set_connected(self, value: bool) -> None:
        if value != self.connected:
            self.connected = value
            if self._on_state is not None:
                with suppress(Exception):  # a callback bug must not kill the reader
                    self._on_state(value)

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            source: _Source | None = None
            try:
                source = _open_source(self.url, self.backend)
                for frame in source.frames():
                    if self._stop.is_set():
                        break
                    self._set_connected(True)
                    backoff = 1.0
                    with self._lock:
                        if self._seq > self._taken:
                            self.dropped += 1
                        self._frame = frame
                        self._seq += 1
                        self.decoded += 1
                    self._new.set()
                else:
                    self.last_error = "stream ended"
            except Exception as err:
                self.last_error = type(err).__name__
            finally:
                if source is not None:
                    with suppress(Exception):
                        source.close()
            if self._stop.is_set():
                break
            self._set_connected(False)
            self.reconnects += 1
            _LOGGER.debug(
                "Stream %s: %s; retry in %.0f s", redact_url(self.url), self.last_error, backoff
            )
            self._stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        self._set_connected(False)
