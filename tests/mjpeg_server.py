"""A real HTTP MJPEG camera on a loopback port, for stream tests.

It serves ``multipart/x-mixed-replace`` JPEG frames (what cheap IP cameras and
ESP32-CAMs send) from whatever ``frame`` currently holds, at ``fps``. ``drop()`` closes
every open connection, as a camera losing power would.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading
import time
from typing import Any


class MJPEGServer:
    def __init__(self, frame: bytes, *, fps: float = 20.0, max_frames: int | None = None) -> None:
        self.frame = frame
        self.fps = fps
        self.max_frames = max_frames
        self.served = 0
        self.connections = 0
        self._generation = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.connections += 1
                generation = server._generation
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                sent = 0
                try:
                    while generation == server._generation and (
                        server.max_frames is None or sent < server.max_frames
                    ):
                        data = server.frame
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\n"
                            + f"Content-Length: {len(data)}\r\n\r\n".encode()
                            + data
                            + b"\r\n"
                        )
                        sent += 1
                        server.served += 1
                        time.sleep(1 / server.fps)
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/stream.mjpg"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> MJPEGServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()
        self._httpd.shutdown()
        self._httpd.server_close()

    def drop(self) -> None:
        """End every stream being served now (clients see the connection end)."""
        self._generation += 1
