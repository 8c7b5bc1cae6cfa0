"""The capture loop of one gate camera: take the camera's current frame, recognise,
repeat. The latest frame always wins: a frame is taken only when the previous one is
done, so nothing queues and a slow frame delays nothing but itself.

Frames come from the gate's stream URL (RTSP/HTTP, read on a thread that keeps only the
newest frame, see ``core/stream.py``) when one is configured, otherwise from the camera
entity's snapshot. With a presence sensor the loop runs only while someone stands at the
gate; without one it runs continuously at the configured interval.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
import logging
from typing import TYPE_CHECKING

from homeassistant.components.camera import async_get_image
from homeassistant.const import STATE_ON
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_state_change_event

from .core.errors import CoreError
from .core.stream import LatestFrameStream, encode_jpeg
from .core.urls import redact_url

if TYPE_CHECKING:
    from .face import FaceService
    from .gates import GateRuntime

_LOGGER = logging.getLogger(__name__)
FRAME_TIMEOUT_S = 5
MAX_BACKOFF_S = 30.0
STREAM_POLL_S = 0.02
# While a face's liveness is being judged (PAD, ``core/liveness.py``) the loop takes a
# frame this often: the evidence is frames, and 8 of them at the usual 0.5 s would keep a
# resident waiting 4 s (the attack corpus models 8 frames in 1-2 s).
PAD_INTERVAL_S = 0.2


class CaptureLoop:
    """One gate's camera loop; ``start()`` from the event loop, ``stop()`` on unload."""

    def __init__(
        self,
        hass: HomeAssistant,
        face: FaceService,
        rt: GateRuntime,
        *,
        interval: float,
    ) -> None:
        assert rt.camera is not None or rt.stream_url is not None
        self.hass = hass
        self.face = face
        self.rt = rt
        self.camera = rt.camera
        self.stream = LatestFrameStream(rt.stream_url) if rt.stream_url else None
        self.source = "stream" if self.stream is not None else "camera"
        self.interval = interval
        self.frames = 0
        self.errors = 0
        self.camera_ok = True
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsub: list[object] = []

    def _present(self) -> bool:
        if self.rt.presence is None:
            return True
        state = self.hass.states.get(self.rt.presence)
        return state is not None and state.state == STATE_ON

    @callback
    def start(self) -> None:
        if self.rt.presence is not None:

            @callback
            def _presence(_event: Event[EventStateChangedData]) -> None:
                self._wake.set()

            self._unsub.append(
                async_track_state_change_event(self.hass, [self.rt.presence], _presence)
            )
        if self.stream is not None:
            self.stream.start()  # stays connected: no RTSP handshake when someone arrives
        self._task = self.hass.async_create_background_task(
            self._run(), f"community_gate capture {self.rt.gate.id}"
        )

    async def stop(self) -> None:
        for unsub in self._unsub:
            unsub()  # type: ignore[operator]
        self._unsub.clear()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.stream is not None:
            await self.hass.async_add_executor_job(self.stream.stop)

    def _outage(self, what: str, why: object) -> None:
        self.errors += 1
        if self.camera_ok:
            # Once per outage, not once per frame.
            _LOGGER.warning("%s gives no frames: %s", what, why)
        self.camera_ok = False

    def _back(self, what: str) -> None:
        if not self.camera_ok:
            _LOGGER.info("%s is back", what)
        self.camera_ok = True

    async def _stream_frame(self) -> bytes | None:
        """The newest unseen stream frame as JPEG, or None if none came in time."""
        assert self.stream is not None
        what = f"Stream {redact_url(self.stream.url)}"
        deadline = self.hass.loop.time() + FRAME_TIMEOUT_S
        while (got := self.stream.latest()) is None:
            if self.hass.loop.time() >= deadline:
                self._outage(what, self.stream.last_error or "no frame")
                return None
            await asyncio.sleep(STREAM_POLL_S)
        self._back(what)
        return await self.hass.async_add_executor_job(encode_jpeg, got[1])

    async def _run(self) -> None:
        backoff = self.interval
        while True:
            if not self._present():
                self._wake.clear()
                await self._wake.wait()
                continue
            if not self.face.ready:
                await asyncio.sleep(1.0)
                continue
            content: bytes | None = None
            if self.stream is not None:
                # The reader thread reconnects by itself; just wait for its next frame.
                content = await self._stream_frame()
                if content is None:
                    continue
            else:
                assert self.camera is not None
                try:
                    image = await async_get_image(self.hass, self.camera, timeout=FRAME_TIMEOUT_S)
                except HomeAssistantError as err:
                    self._outage(f"Camera {self.camera}", err)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                    await asyncio.sleep(backoff)
                    continue
                self._back(f"Camera {self.camera}")
                content = image.content
            backoff = self.interval
            self.frames += 1
            try:
                await self.face.async_present_frame(self.rt.gate.id, content)
            except CoreError as err:
                # A bad frame (corrupt JPEG) costs that frame only.
                self.errors += 1
                _LOGGER.debug("Frame at %s skipped: %s", self.rt.gate.id, err.code)
            pending = self.face.pad_pending.get(self.rt.gate.id, False)
            await asyncio.sleep(min(self.interval, PAD_INTERVAL_S) if pending else self.interval)
