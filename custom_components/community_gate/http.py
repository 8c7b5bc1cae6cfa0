"""HTTP endpoints: enrollment photo upload (admins) and the edge-terminal decision
endpoint (authenticated terminals send an embedding, never an image or a name)."""

from __future__ import annotations

from http import HTTPStatus
import logging
import time
from typing import Any

from aiohttp import web
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
import numpy as np

from .core import contract as c
from .core.device_auth import UNAUTHENTICATED
from .core.display import pick_language, prompt
from .core.errors import UnknownSnapshotError
from .core.ids import check_id
from .core.images import MAX_IMAGE_BYTES
from .core.model import Direction, FaceVariant
from .core.throttle import device_caller
from .exceptions import error_body, ha_error, http_status, translated
from .face import enroll_answer
from .privacy import async_audit, audit_look_alike
from .runtime import EstateRuntime, resolve_runtime

_LOGGER = logging.getLogger(__name__)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/octet-stream"})


@callback
def async_register_views(hass: HomeAssistant) -> None:
    hass.http.register_view(EnrollUploadView())
    hass.http.register_view(TerminalDecisionView())
    hass.http.register_view(StrangerSnapshotView())


def _error(code: str, status: HTTPStatus, **extra: Any) -> web.Response:
    return web.json_response({"error": code, **extra}, status=status)


def _answer(err: HomeAssistantError) -> web.Response:
    """A translated error as the view's JSON answer (the same codes as the actions)."""
    return web.json_response(error_body(err), status=http_status(err))


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
    """POST an image body to enroll it: ``?person_id=..&variant=plain|masked``
    [``&different_from=<person>``: staff confirmed a look-alike is someone else]."""

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
                    person_id,
                    body,
                    variant=variant,
                    dry_run=request.query.get("dry_run") == "1",
                    different_from=request.query.get("different_from") or None,
                )
        except HomeAssistantError as err:
            return _answer(err)
        await audit_look_alike(estate.hub, user.id, person_id, result)
        return web.json_response(enroll_answer(result))


SNAPSHOT_ACTION = "view_stranger_snapshot"


class StrangerSnapshotView(HomeAssistantView):
    """GET ``?cluster_id=<stranger>[&config_entry_id=..]`` → the stranger's kept face
    crop (JPEG), for the admin panel's strangers view: admins only, never cached,
    each look audited. There is no public URL: the panel fetches it with its token."""

    url = "/api/community_gate/stranger_snapshot"
    name = "api:community_gate:stranger_snapshot"
    requires_auth = True

    async def get(self, request: web.Request) -> web.Response:
        hass = request.app[KEY_HASS]
        user = request[KEY_HASS_USER]
        cluster_id = request.query.get("cluster_id", "")
        try:
            estate = resolve_runtime(hass, request.query.get("config_entry_id"))
        except HomeAssistantError as err:
            return _answer(err)
        if not user.is_admin:
            await async_audit(estate.hub, user.id, SNAPSHOT_ACTION, None, "unauthorized")
            return _error("unauthorized", HTTPStatus.FORBIDDEN)
        try:
            with translated(estate.hub.store.path):
                check_id(cluster_id, "cluster_id")
                image = await estate.face.async_snapshot(cluster_id)
                if image is None:
                    raise UnknownSnapshotError("no snapshot", cluster_id=cluster_id)
        except HomeAssistantError as err:
            return _answer(err)
        await async_audit(estate.hub, user.id, SNAPSHOT_ACTION, cluster_id)
        return web.Response(
            body=image,
            content_type="image/jpeg",
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )


class TerminalDecisionView(HomeAssistantView):
    """POST a terminal's signed ``face`` message (docs/mqtt.md, the same body a terminal
    publishes on MQTT) to ``?gate_id=<gate>[&config_entry_id=..]`` → the decision.

    Terminals are devices, not people: no Home Assistant login opens anything here
    (an administrator's token included). The body is signed with the terminal's own
    key over ``contract.http_topic(gate)``; the device must be bound to that gate and its
    counter must grow, the same counter as on MQTT. Checked cheapest first, nothing acted
    on before all pass; every refusal is answered with a code, logged (codes and ids
    only) and written to the audit log."""

    url = "/api/community_gate/terminal/decision"
    name = "api:community_gate:terminal"
    requires_auth = False

    async def post(self, request: web.Request) -> web.Response:
        hass = request.app[KEY_HASS]
        try:
            estate = resolve_runtime(hass, request.query.get("config_entry_id"))
        except HomeAssistantError as err:
            return _answer(err)
        gate_id = request.query.get("gate_id", "")
        refusal = _TerminalRefusal(estate, request, gate_id)
        if request.content_type.lower() != "application/json":
            return await refusal("unsupported_media_type", HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        # The contract's limit, as on MQTT (128 numbers at full precision take ~3 kB).
        raw = await _read_limited(request, c.MAX_PAYLOAD_BYTES)
        if raw is None:
            return await refusal("too_large", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            c.unsigned_body(raw)  # no signature at all: refused before anything else
            if not _is_segment(gate_id):
                return await refusal("gate_id_required", HTTPStatus.BAD_REQUEST)
            dev, body = estate.devices.authenticate(c.http_topic(gate_id), gate_id, raw)
        except c.ContractError as err:
            if err.code in UNAUTHENTICATED:
                # Which check failed (unknown device, bad signature) is for the log and
                # the audit row, not for whoever is probing.
                return await refusal("terminal_unauthenticated", HTTPStatus.UNAUTHORIZED, err.code)
            refusal.device = err.detail  # the signature held: a known device
            return await refusal("terminal_wrong_gate", HTTPStatus.FORBIDDEN, err.code)
        refusal.device = dev.id
        now = time.time()
        try:
            message = c.parse(gate_id, c.Leaf.FACE, body, now=now)
        except c.ContractError as err:
            code, status = _PARSE_REFUSALS.get(err.code, ("invalid_json", HTTPStatus.BAD_REQUEST))
            if err.code == "wrong_type":
                # The field names the old JSON API's codes, which terminals may know.
                code = _WRONG_FIELD.get(err.detail, "invalid_json")
            return await refusal(code, status, err.code)
        try:
            with translated(estate.hub.store.path):
                claimed = await estate.hub.db(
                    estate.hub.store.claim_device_counter, dev.id, message.envelope.ctr
                )
                if not claimed:
                    return await refusal("terminal_replay", HTTPStatus.FORBIDDEN, "replay")
                direction_raw = message.fields["dir"]
                outcome = await estate.face.async_present_embedding(
                    gate_id,
                    np.asarray(message.fields["emb"], dtype=np.float32),
                    direction=Direction(direction_raw) if direction_raw else None,
                    caller=device_caller(dev.id),
                )
        except HomeAssistantError as err:
            return _answer(err)
        assert outcome is not None  # not debounced: a terminal asks once per person
        p = outcome.passage
        lang = pick_language(request.headers.get("Accept-Language"))
        shown = prompt(p.reason, lang, face=True)
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


# A signed body that breaks the schema: the caller's code and status. ``stale`` is a
# proven device whose clock is off (or a message held back): refused like a replay.
_PARSE_REFUSALS: dict[str, tuple[str, HTTPStatus]] = {
    "stale": ("terminal_stale", HTTPStatus.FORBIDDEN),
    "forbidden_field": ("forbidden_field", HTTPStatus.BAD_REQUEST),
    "bad_version": ("invalid_json", HTTPStatus.BAD_REQUEST),
    "malformed_json": ("invalid_json", HTTPStatus.BAD_REQUEST),
}


_WRONG_FIELD = {"emb": "invalid_embedding", "dir": "invalid_direction"}


class _TerminalRefusal:
    """Answer, log and audit one refused terminal request."""

    def __init__(self, estate: EstateRuntime, request: web.Request, gate_id: str) -> None:
        self.estate = estate
        self.request = request
        # The caller's string: quoted in the audit row only when it is a gate id's shape.
        self.gate_id = gate_id if _is_segment(gate_id) else None
        self.device: str | None = None

    async def __call__(
        self, code: str, status: HTTPStatus, reason: str | None = None
    ) -> web.Response:
        why = reason or code
        if self.device is not None:
            who = f"device:{self.device}"
        else:
            # A Home Assistant login is not a terminal, but the audit row names it.
            user = self.request.get(KEY_HASS_USER)
            who = user.id if user is not None else "anonymous"
        _LOGGER.warning(
            "Terminal request for gate %s refused: %s (%s)", self.gate_id or "?", why, who
        )
        await async_audit(self.estate.hub, who, "terminal_decision", self.gate_id, why)
        return web.json_response(
            error_body(ha_error(code)) if code in _TRANSLATED else {"error": code},
            status=status,
        )


# Refusals that have a translated message (the others are plain input-format codes the
# view has always answered with).
_TRANSLATED = frozenset(
    {"terminal_unauthenticated", "terminal_wrong_gate", "terminal_replay", "terminal_stale"}
)


def _is_segment(value: str) -> bool:
    try:
        c.check_segment(value, "gate")
    except c.ContractError:
        return False
    return True
