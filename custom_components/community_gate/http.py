"""HTTP endpoints: enrollment photo upload (admins) and the edge-terminal decision
endpoint (authenticated terminals send an embedding, never an image or a name)."""

from __future__ import annotations

from http import HTTPStatus
import json
import logging
from typing import Any

from aiohttp import web
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
import numpy as np

from .core.display import pick_language, prompt
from .core.images import MAX_IMAGE_BYTES
from .core.model import Direction, FaceVariant
from .exceptions import error_body, http_status, translated
from .runtime import resolve_runtime

_LOGGER = logging.getLogger(__name__)
MAX_JSON_BYTES = 16 * 1024
# A face embedding's values are small (dlib's lie within +-1); the bound keeps out what no
# float32 holds (a JSON integer of 400 digits, 1e300) and, by comparison, NaN.
MAX_EMBEDDING_VALUE = 10.0
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/octet-stream"})


@callback
def async_register_views(hass: HomeAssistant) -> None:
    hass.http.register_view(EnrollUploadView())
    hass.http.register_view(TerminalDecisionView())


def _error(code: str, status: HTTPStatus, **extra: Any) -> web.Response:
    return web.json_response({"error": code, **extra}, status=status)


def _answer(err: HomeAssistantError) -> web.Response:
    """A translated error as the view's JSON answer (the same codes as the actions)."""
    return web.json_response(error_body(err), status=http_status(err))


def _is_embedding(value: Any) -> bool:
    """128 finite numbers in range. Compared as they are (Python compares a huge int
    exactly and NaN compares false), before anything converts them to floats."""
    return (
        isinstance(value, list)
        and len(value) == 128
        and all(
            isinstance(x, int | float)
            and not isinstance(x, bool)
            and -MAX_EMBEDDING_VALUE <= x <= MAX_EMBEDDING_VALUE
            for x in value
        )
    )


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    # read(n) returns what has arrived so far: keep reading to the end (or the limit).
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class EnrollUploadView(HomeAssistantView):
    """POST an image body to enroll it: ``?person_id=..&variant=plain|masked``."""

    url = "/api/community_gate/enroll"
    name = "api:community_gate:enroll"
    requires_auth = True

    async def post(self, request: web.Request) -> web.Response:
        hass = request.app[KEY_HASS]
        user = request[KEY_HASS_USER]
        if not user.is_admin:
            return _error("unauthorized", HTTPStatus.FORBIDDEN)
        person_id = request.query.get("person_id", "")
        if not person_id:
            return _error("person_id_required", HTTPStatus.BAD_REQUEST)
        try:
            variant = FaceVariant(request.query.get("variant", "plain"))
        except ValueError:
            return _error("invalid_variant", HTTPStatus.BAD_REQUEST)
        ctype = request.content_type.lower()
        if ctype not in IMAGE_TYPES:
            return _error("unsupported_media_type", HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            estate = resolve_runtime(hass, request.query.get("config_entry_id"))
        except HomeAssistantError as err:
            return _answer(err)
        body = await _read_limited(request, MAX_IMAGE_BYTES)
        if body is None:
            return _error("too_large", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            with translated(estate.hub.store.path):
                result = await estate.face.async_enroll(
                    person_id, body, variant=variant, dry_run=request.query.get("dry_run") == "1"
                )
        except HomeAssistantError as err:
            return _answer(err)
        return web.json_response(
            {
                "template_id": result.template_id,
                "variant": result.variant.value,
                "face_px": result.face_px,
            }
        )


class TerminalDecisionView(HomeAssistantView):
    """POST ``{"gate_id", "embedding": [128 floats], "direction"?}`` → the decision."""

    url = "/api/community_gate/terminal/decision"
    name = "api:community_gate:terminal"
    requires_auth = True

    async def post(self, request: web.Request) -> web.Response:
        hass = request.app[KEY_HASS]
        user = request[KEY_HASS_USER]
        if request.content_type.lower() != "application/json":
            return _error("unsupported_media_type", HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        raw = await _read_limited(request, MAX_JSON_BYTES)
        if raw is None:
            return _error("too_large", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            body = json.loads(raw)
        except ValueError:
            return _error("invalid_json", HTTPStatus.BAD_REQUEST)
        if not isinstance(body, dict):
            return _error("invalid_json", HTTPStatus.BAD_REQUEST)
        gate_id, embedding = body.get("gate_id"), body.get("embedding")
        if not isinstance(gate_id, str) or not gate_id:
            return _error("gate_id_required", HTTPStatus.BAD_REQUEST)
        if not _is_embedding(embedding):
            return _error("invalid_embedding", HTTPStatus.BAD_REQUEST)
        direction_raw = body.get("direction")
        if direction_raw not in (None, "in", "out"):
            return _error("invalid_direction", HTTPStatus.BAD_REQUEST)
        direction = Direction(direction_raw) if direction_raw else None
        try:
            estate = resolve_runtime(hass, body.get("config_entry_id"))
            with translated(estate.hub.store.path):
                outcome = await estate.face.async_present_embedding(
                    gate_id,
                    np.asarray(embedding, dtype=np.float32),
                    context=Context(user_id=user.id),
                    direction=direction,
                )
        except HomeAssistantError as err:
            return _answer(err)
        assert outcome is not None  # not debounced: a terminal asks once per person
        p = outcome.passage
        lang = pick_language(request.headers.get("Accept-Language"))
        shown = prompt(p.reason, lang)
        return web.json_response(
            {
                "allowed": p.allowed,
                "reason": p.reason.value,
                "passage_id": p.id,
                "language": lang,
                "display": shown.text,
                "voice": shown.voice,
            }
        )
