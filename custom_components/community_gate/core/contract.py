"""The MQTT contract between the hub and field devices (readers, relays, terminals).

Version 1. Topics are ``community_gate/<estate>/<gate>/<leaf>``. Every payload except
the broker's last-will ``offline`` is a JSON object *signed* with the sending device's
key: a reader message can open a gate, so it is as powerful as a relay command and gets
the same protection against forgery and replay.

Signing (both directions, byte-exact so a microcontroller needs no JSON canonicaliser):

1. build the body: a JSON object text with ``"v":1``, ``"dev"``, ``"ctr"``, ``"ts"`` and
   the message fields, e.g. ``{"v":1,"dev":"gc-east","ctr":7,"ts":0,"value":"1234"}``;
2. ``sig = hex(HMAC-SHA256(key, topic + "\\n" + body))`` (lower-case hex);
3. publish the body with its closing ``}`` replaced by ``,"sig":"<sig>"}``.

The receiver strips that exact suffix, checks the HMAC over the bytes it received, and
only then parses the JSON. ``ctr`` must grow with every message of a device (the hub
persists the last one it accepted); ``ts`` is Unix seconds, or 0 from a device without
a clock, and when non-zero must be within ``MAX_SKEW_S`` of the receiver's clock.

Pure: no Home Assistant imports. ``verify`` and ``parse`` raise ``ContractError`` whose
``code`` names the rejection (counted and logged by the glue).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
import hashlib
import hmac
import json
import re
import time
from typing import Any, TypeGuard

VERSION = 1
ROOT = "community_gate"
MAX_PAYLOAD_BYTES = 4096
MAX_SKEW_S = 300.0
MAX_CTR = 2**53 - 1  # JSON-safe integer range
MAX_VALUE_LEN = 128
MAX_TEXT_LEN = 120
EMBEDDING_DIMS = 128
# A face embedding's values are small (dlib's lie within +-1, SFace's are normalised):
# the bound keeps out what no float32 holds (a 400-digit integer, 1e300).
MAX_EMBEDDING_VALUE = 10.0
SIG_HEX_LEN = 64
OFFLINE = b"offline"

_SEGMENT_RE = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")
_DEVICE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_SIG_SUFFIX_RE = re.compile(rb',"sig":"([0-9a-f]{64})"\}\s*\Z')


class Leaf(StrEnum):
    """The last topic segment: what a message is."""

    # device -> hub
    CARD = "card"
    ID_CARD = "id_card"
    QR = "qr"
    PIN = "pin"
    FINGERPRINT = "fingerprint"
    FACE = "face"
    DOOR = "door"
    EXIT = "exit"
    STATUS = "status"
    TEMPERATURE = "temperature"
    FIRE = "fire"
    # hub -> device
    RELAY_SET = "relay/set"
    DECISION = "decision"


READER_LEAVES = frozenset({Leaf.CARD, Leaf.ID_CARD, Leaf.QR, Leaf.PIN, Leaf.FINGERPRINT})
INBOUND_LEAVES = frozenset(
    READER_LEAVES | {Leaf.FACE, Leaf.DOOR, Leaf.EXIT, Leaf.STATUS, Leaf.TEMPERATURE, Leaf.FIRE}
)


class ContractError(ValueError):
    """A message that breaks the contract. ``code`` is stable (logs, counters)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail  # e.g. the field of a ``wrong_type``


def check_segment(value: str, what: str) -> str:
    """A topic segment: lower-case slug, no wildcards or separators."""
    if not _SEGMENT_RE.fullmatch(value):
        raise ContractError("bad_segment", what)
    return value


def check_device_id(value: object) -> str:
    if not isinstance(value, str) or not _DEVICE_RE.fullmatch(value):
        raise ContractError("bad_device_id")
    return value


def base_topic(estate: str) -> str:
    return f"{ROOT}/{check_segment(estate, 'estate')}"


def topic(estate: str, gate: str, leaf: Leaf) -> str:
    return f"{base_topic(estate)}/{check_segment(gate, 'gate')}/{leaf.value}"


HTTP_FACE_PREFIX = "http:" + ROOT + "/"


def http_topic(gate: str) -> str:
    """What a terminal signs a ``face`` body over when it posts it to the HTTP terminal
    endpoint instead of publishing it: ``http:community_gate/<gate>/face``. It names the
    gate and can never equal an MQTT topic (no ``:`` in those), so a signature made for
    one gate or channel is refused on every other."""
    return f"{HTTP_FACE_PREFIX}{check_segment(gate, 'gate')}/{Leaf.FACE.value}"


def split_topic(estate: str, full: str) -> tuple[str, Leaf]:
    """``community_gate/<estate>/<gate>/<leaf>`` -> (gate, inbound leaf)."""
    prefix = base_topic(estate) + "/"
    if not full.startswith(prefix):
        raise ContractError("bad_topic")
    gate, _, rest = full[len(prefix) :].partition("/")
    try:
        leaf = Leaf(rest)
    except ValueError:
        raise ContractError("bad_topic") from None
    if leaf not in INBOUND_LEAVES or not _SEGMENT_RE.fullmatch(gate):
        raise ContractError("bad_topic")
    return gate, leaf


# ---------------------------------------------------------------------- signing
def signature(key: bytes, topic_name: str, body: bytes) -> str:
    return hmac.new(key, topic_name.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def sign(key: bytes, topic_name: str, fields: Mapping[str, Any]) -> bytes:
    """Serialise ``fields`` compactly and append the signature (step 3 above)."""
    body = json.dumps(dict(fields), separators=(",", ":"), ensure_ascii=False).encode()
    sig = signature(key, topic_name, body)
    return body[:-1] + b',"sig":"' + sig.encode() + b'"}'


def unsigned_body(payload: bytes) -> tuple[bytes, str]:
    """Split a signed payload into (body as signed, signature). No crypto."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError("too_large")
    m = _SIG_SUFFIX_RE.search(payload)
    if m is None:
        raise ContractError("unsigned")
    return payload[: m.start()] + b"}", m.group(1).decode()


def claimed_device(body: bytes) -> str:
    """The ``dev`` field of a body whose signature is not checked yet (to pick the key).

    Parsing attacker bytes before the HMAC is bounded by ``MAX_PAYLOAD_BYTES``."""
    obj = _load(body)
    return check_device_id(obj.get("dev"))


def verify(key: bytes, topic_name: str, body: bytes, sig: str) -> None:
    if not hmac.compare_digest(signature(key, topic_name, body), sig):
        raise ContractError("bad_signature")


def _load(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body, parse_constant=_no_constant)
    except ValueError, RecursionError:
        raise ContractError("malformed_json") from None
    if not isinstance(obj, dict):
        raise ContractError("malformed_json", "not an object")
    return obj


def _no_constant(name: str) -> float:
    raise ValueError(name)  # NaN / Infinity are not JSON


# ------------------------------------------------------------------------ schemas
@dataclass(frozen=True, slots=True)
class Envelope:
    """The signed header every message carries."""

    device: str
    ctr: int
    ts: float


@dataclass(frozen=True, slots=True)
class Message:
    leaf: Leaf
    gate: str
    envelope: Envelope
    fields: dict[str, Any]


def _int(obj: Mapping[str, Any], key: str, lo: int, hi: int) -> int:
    v = obj.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ContractError("wrong_type", key)
    return v


def _num(obj: Mapping[str, Any], key: str, lo: float, hi: float) -> float:
    v = obj.get(key)
    if not isinstance(v, int | float) or isinstance(v, bool) or not lo <= v <= hi:
        raise ContractError("wrong_type", key)
    return float(v)


def _str(obj: Mapping[str, Any], key: str, max_len: int) -> str:
    v = obj.get(key)
    if not isinstance(v, str) or not 0 < len(v) <= max_len:
        raise ContractError("wrong_type", key)
    return v


def _bool(obj: Mapping[str, Any], key: str) -> bool:
    v = obj.get(key)
    if not isinstance(v, bool):
        raise ContractError("wrong_type", key)
    return v


def _opt_direction(obj: Mapping[str, Any]) -> str | None:
    v = obj.get("dir")
    if v is None:
        return None
    if v not in ("in", "out"):
        raise ContractError("wrong_type", "dir")
    return str(v)


def is_embedding(v: object) -> TypeGuard[list[float]]:
    """128 finite numbers in range. Compared as they are (Python compares a huge int
    exactly, where ``math.isfinite`` or ``float`` would overflow, and NaN compares
    false), before anything converts them to floats."""
    return (
        isinstance(v, list)
        and len(v) == EMBEDDING_DIMS
        and all(
            isinstance(x, int | float)
            and not isinstance(x, bool)
            and -MAX_EMBEDDING_VALUE <= x <= MAX_EMBEDDING_VALUE
            for x in v
        )
    )


def _embedding(obj: Mapping[str, Any]) -> list[float]:
    v = obj.get("emb")
    if not is_embedding(v):
        raise ContractError("wrong_type", "emb")
    return [float(x) for x in v]


def _fields(leaf: Leaf, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The leaf's own fields, validated. Unknown extra fields are ignored (forward
    compatible); a terminal may never send an image or a name."""
    if leaf in READER_LEAVES:
        return {"value": _str(obj, "value", MAX_VALUE_LEN), "dir": _opt_direction(obj)}
    if leaf is Leaf.FACE:
        if any(k in obj for k in ("image", "img", "photo", "name")):
            raise ContractError("forbidden_field")
        return {"emb": _embedding(obj), "dir": _opt_direction(obj)}
    if leaf is Leaf.DOOR:
        return {"open": _bool(obj, "open")}
    if leaf is Leaf.EXIT:
        return {}
    if leaf is Leaf.STATUS:
        state = obj.get("state")
        if state != "online":
            raise ContractError("wrong_type", "state")
        up = obj.get("uptime")
        return {"uptime": None if up is None else _int(obj, "uptime", 0, MAX_CTR)}
    if leaf is Leaf.TEMPERATURE:
        return {"c": _num(obj, "c", -60.0, 100.0)}
    if leaf is Leaf.FIRE:
        return {"active": _bool(obj, "active")}
    raise ContractError("bad_topic")  # outbound leaves are never parsed here


def parse(gate: str, leaf: Leaf, body: bytes, *, now: float) -> Message:
    """Validate a body whose signature has been checked."""
    obj = _load(body)
    if obj.get("v") != VERSION:
        raise ContractError("bad_version")
    env = Envelope(
        device=check_device_id(obj.get("dev")),
        ctr=_int(obj, "ctr", 1, MAX_CTR),
        ts=_num(obj, "ts", 0, 2**40),
    )
    if env.ts and abs(env.ts - now) > MAX_SKEW_S:
        raise ContractError("stale")
    return Message(leaf, gate, env, _fields(leaf, obj))


# ------------------------------------------------------------------------ outbound
def relay_command(
    key: bytes,
    topic_name: str,
    *,
    device: str,
    ctr: int,
    ts: float,
    pulse_ms: int,
    hold: bool = False,
) -> bytes:
    """hub -> relay: pulse for ``pulse_ms``; ``hold`` keeps it energised (emergency)
    until a command with ``hold`` false and ``pulse_ms`` 0 releases it."""
    return sign(
        key,
        topic_name,
        {
            "v": VERSION,
            "dev": device,
            "ctr": ctr,
            "ts": int(ts),
            "pulse_ms": pulse_ms,
            "hold": hold,
        },
    )


def decision_message(
    key: bytes,
    topic_name: str,
    *,
    device: str,
    ctr: int,
    ts: float,
    allowed: bool,
    reason: str,
    display: str,
    voice: str,
) -> bytes:
    """hub -> terminal: the decision, a short display text and a voice prompt id."""
    return sign(
        key,
        topic_name,
        {
            "v": VERSION,
            "dev": device,
            "ctr": ctr,
            "ts": int(ts),
            "allowed": allowed,
            "reason": reason,
            "display": display[:MAX_TEXT_LEN],
            "voice": voice,
        },
    )


def device_message(
    key: bytes, topic_name: str, *, device: str, ctr: int, ts: float, **fields: Any
) -> bytes:
    """device -> hub, as a device would build it (tests, benchmark, reference)."""
    return sign(key, topic_name, {"v": VERSION, "dev": device, "ctr": ctr, "ts": int(ts), **fields})


# How far ahead of the hub's clock a persisted counter mark reaches (CounterWindow).
TX_BLOCK_US = 10_000_000


class CounterWindow:
    """The hub's counters towards one device: never reused, and never lower than the
    hub's clock in microseconds.

    - The persisted high-water mark is written once per ``block`` of counter space
      (``TX_BLOCK_US``: 10 s of clock), before the first counter of the block is used,
      so a restart continues above anything sent without a database write per relay
      command, and so does a clock set back (a Raspberry Pi without a battery clock
      boots in the past until NTP answers).
    - The clock floor covers what the high-water mark cannot: an estate database restored
      from a backup holds an old mark, and controllers refuse every counter not above the
      last they accepted. Counters from the clock pass anything the lost history sent
      once the clock passes it: at once, unless the restore follows the last relay
      command by less than a block (then within the block), instead of after as many
      relay commands as were sent since the backup.

    Microseconds since 1970 stay below 2**53 (JSON-safe) until the year 2255."""

    def __init__(
        self,
        reserved: int,
        block: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.next = reserved + 1
        self.reserved = reserved
        self.block = TX_BLOCK_US if block is None else block
        self._clock = clock

    def take(self) -> tuple[int, int | None]:
        """(counter to use, new high-water mark to persist first, or None)."""
        ctr = max(self.next, int(self._clock() * 1_000_000))
        self.next = ctr + 1
        if ctr > self.reserved:
            self.reserved = ctr + self.block - 1
            return ctr, self.reserved
        return ctr, None
