"""Network camera streams, read from a real HTTP MJPEG server on loopback with both
backends (OpenCV and PyAV): newest frame only, reconnect, refusals."""

from __future__ import annotations

from collections.abc import Iterator
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from custom_components.community_gate.core.errors import InvalidValueError
from custom_components.community_gate.core.images import decode_image
from custom_components.community_gate.core.stream import (
    LatestFrameStream,
    check_stream_url,
    encode_jpeg,
)
from custom_components.community_gate.core.urls import redact_url
from tests.core.photos import package_photo
from tests.mjpeg_server import MJPEGServer

BACKENDS = ("opencv", "pyav")


@pytest.fixture
def jpeg() -> bytes:
    return package_photo("obama.jpg").read_bytes()


@pytest.fixture
def server(jpeg: bytes, socket_enabled: None) -> Iterator[MJPEGServer]:
    with MJPEGServer(jpeg, fps=25) as srv:
        yield srv


def _stream(url: str, backend: str, **kw: object) -> LatestFrameStream:
    s = LatestFrameStream(url, backend=backend, **kw)  # type: ignore[arg-type]
    s.start()
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_frames_arrive_newest_first(server: MJPEGServer, backend: str) -> None:
    s = _stream(server.url, backend)
    try:
        got = s.latest(wait=10)
        assert got is not None, s.last_error
        seq, frame = got
        assert frame.shape == (1137, 910, 3)
        # Nothing new has been handed out twice.
        assert s.latest(wait=0) is None or s.latest(wait=0) is None
        # A slow consumer: frames keep arriving, only the newest is kept.
        time.sleep(0.6)
        got2 = s.latest(wait=5)
        assert got2 is not None
        assert got2[0] > seq + 1
        assert s.dropped >= 1
        assert s.connected
    finally:
        s.stop()
    assert not s.connected


@pytest.mark.parametrize("backend", BACKENDS)
def test_reconnects_after_the_camera_drops(jpeg: bytes, socket_enabled: None, backend: str) -> None:
    states: list[bool] = []
    with MJPEGServer(jpeg, fps=25) as srv:
        s = _stream(srv.url, backend, on_state=states.append)
        try:
            assert s.latest(wait=10) is not None
            srv.drop()  # the camera loses power mid-stream
            deadline = time.monotonic() + 20
            while srv.connections < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert srv.connections >= 2, s.last_error
            # Frames of the new connection arrive (the first latest() may still hand
            # out the last frame from before the drop).
            while not s.connected and time.monotonic() < deadline:
                time.sleep(0.05)
            s.latest()
            assert s.latest(wait=10) is not None
            assert s.reconnects >= 1
            assert states[0] is True
            assert False in states
            assert states[-1] is True
        finally:
            s.stop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_unreachable_camera_is_retried_not_fatal(socket_enabled: None, backend: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on that port now.
    s = _stream(f"http://127.0.0.1:{port}/x.mjpg", backend)
    try:
        assert s.latest(wait=1.5) is None
        assert not s.connected
        assert s.last_error is not None
        assert s.reconnects >= 1
    finally:
        started = time.monotonic()
        s.stop()
        assert time.monotonic() - started < 15
    assert not any(
        t.name == "community_gate_stream" and t.is_alive() for t in threading.enumerate()
    )


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        None,
        42,
        "file:///etc/passwd",
        "/dev/video0",
        "rtsp://",
        "ftp://cam/x",
        "concat:/etc/passwd",
    ],
)
def test_only_network_streams_are_accepted(url: object) -> None:
    with pytest.raises(InvalidValueError) as err:
        check_stream_url(url)
    assert err.value.placeholders["field"] == "stream_url"


def test_urls_accepted_and_passwords_redacted() -> None:
    url = "rtsp://admin:s3cret@192.168.1.20:554/Streaming/Channels/101"
    assert check_stream_url(f"  {url} ") == url
    assert "s3cret" not in redact_url(url)
    assert redact_url(url) == "rtsp://admin:***@192.168.1.20:554/Streaming/Channels/101"
    assert redact_url("http://cam.local/video") == "http://cam.local/video"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://cam/live?user=admin&password=secret", "rtsp://cam/live?user=***&password=***"),
        ("rtsp://u:p@[fe80::1]:554/x", "rtsp://u:***@[fe80::1]:554/x"),
        ("rtsp://[2001:db8::7]/live?token=abc", "rtsp://[2001:db8::7]/live?token=***"),
        (
            "http://viewer:pw@cam:8080/video.cgi?user=viewer&pwd=pw&channel=1",
            "http://viewer:***@cam:8080/video.cgi?user=***&pwd=***&channel=***",
        ),
        ("rtsp://viewer@cam/live", "rtsp://viewer@cam/live"),
        ("rtsp://viewer:@cam/live", "rtsp://viewer:***@cam/live"),
        ("rtsp://cam/live?s3cret", "rtsp://cam/live?***"),
        ("http://cam/x?a=1&&b=", "http://cam/x?a=***&&b=***"),
        ("http://cam/x#pw=s3cret", "http://cam/x#***"),
        ("http://[::1/broken?password=s3cret", "***"),
    ],
)
def test_redacted_url_hides_passwords_and_query_values(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    for secret in ("secret", "s3cret", "abc", ":p@", ":pw@", "pwd=pw"):
        assert secret not in redact_url(url)
    if "[" in url and shown != "***":
        # Still a URL: the IPv6 host parses back with its brackets.
        assert urlsplit(redact_url(url)).hostname == urlsplit(url).hostname


def test_encoded_frame_decodes_back(jpeg: bytes) -> None:
    rgb = decode_image(jpeg)
    again = decode_image(encode_jpeg(rgb[:, :, ::-1].copy()))
    assert again.shape == rgb.shape
    # JPEG is lossy, but the picture is the same picture.
    assert abs(float(again.mean()) - float(rgb.mean())) < 2.0
