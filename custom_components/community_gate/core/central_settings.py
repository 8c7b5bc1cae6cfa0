"""How an estate (or the command centre) reaches the central PostgreSQL, as its options
hold it. The password is kept apart from the DSN so that a form can show the DSN back
without it, and diagnostics can name the host and database without either."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
import hashlib
from typing import Any, Final
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from .replicator import valid_estate_code

TLS_MODES: Final = ("disable", "prefer", "require", "verify-full")
DEFAULT_TLS: Final = "prefer"
DEFAULT_REPAIR_MINUTES: Final = 30
MAX_REPAIR_MINUTES: Final = 7 * 24 * 60
_SCHEMES: Final = ("postgresql", "postgres")
_CARD_KEY_CONTEXT: Final = b"community_gate operator card key v1\x00"


class DsnError(ValueError):
    """Not a ``postgresql://`` address with a host."""


def split_password(dsn: str) -> tuple[str, str]:
    """``(dsn without its password, the password or "")``. A password may sit in the
    user part (``user:pw@host``) or in the query (``?password=pw``)."""
    parts = urlsplit(dsn.strip())
    if parts.scheme not in _SCHEMES:
        raise DsnError("scheme")
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if not hosts.strip(":,"):
        raise DsnError("host")
    user, _colon, password = userinfo.partition(":")
    query = parse_qsl(parts.query, keep_blank_values=True)
    for key, value in query:
        if key == "password":
            password = quote(value, safe="")
    netloc = f"{user}{at}{hosts}" if at else hosts
    rest = urlencode([(k, v) for k, v in query if k != "password"])
    clean = urlunsplit((parts.scheme, netloc, parts.path, rest, parts.fragment))
    return clean, unquote(password)


def with_password(dsn: str, password: str) -> str:
    """The DSN to connect with: ``dsn`` (without a password) and ``password`` put back."""
    if not password:
        return dsn
    parts = urlsplit(dsn)
    userinfo, _at, hosts = parts.netloc.rpartition("@")
    netloc = f"{userinfo}:{quote(password, safe='')}@{hosts}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def dsn_summary(dsn: str) -> dict[str, str]:
    """Host(s) and database only: what diagnostics and logs may name."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return {"host": "", "database": ""}
    hosts = parts.netloc.rpartition("@")[2]
    return {"host": hosts, "database": parts.path.lstrip("/")}


def check_estate_code(value: object) -> str:
    """The estate's code at the centre (``replicator.valid_estate_code``); lower-cased,
    as codes are compared at the centre."""
    if not isinstance(value, str) or not valid_estate_code(value.strip().lower()):
        raise ValueError("estate code")
    return value.strip().lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class CentralSettings:
    """Field names are the keys stored under the ``central`` option (or the centre's
    entry data, where the estate code and sharing do not apply)."""

    enabled: bool = False
    dsn: str = ""  # without its password
    password: str = ""
    estate_code: str = ""
    tls: str = DEFAULT_TLS
    ca_file: str = ""
    # Person names cross the line only when the operator turns this on.
    share_names: bool = False
    # The link down longer than this raises a repair issue.
    repair_minutes: int = DEFAULT_REPAIR_MINUTES
    # The operator's secret, the same at every estate: visitor ID cards get a token the
    # centre can match across estates (outbox.card_token). Empty: no tokens.
    card_secret: str = ""

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> CentralSettings:
        """From stored options (checked by the options flow); missing keys take defaults."""
        raw = raw or {}
        d = cls()
        tls = str(raw.get("tls", d.tls))
        return cls(
            enabled=bool(raw.get("enabled", d.enabled)),
            dsn=str(raw.get("dsn", d.dsn)),
            password=str(raw.get("password", d.password)),
            estate_code=str(raw.get("estate_code", d.estate_code)),
            tls=tls if tls in TLS_MODES else d.tls,
            ca_file=str(raw.get("ca_file", d.ca_file) or ""),
            share_names=bool(raw.get("share_names", d.share_names)),
            repair_minutes=int(raw.get("repair_minutes", d.repair_minutes)),
            card_secret=str(raw.get("card_secret", d.card_secret) or ""),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def card_key(self) -> bytes | None:
        """The key of the ID-card tokens, from the operator's secret (same secret, same
        key at every estate); None without one or while replication is off."""
        if not (self.enabled and self.card_secret):
            return None
        return hashlib.sha256(_CARD_KEY_CONTEXT + self.card_secret.encode()).digest()

    @property
    def full_dsn(self) -> str:
        return with_password(self.dsn, self.password)

    def same_link(self, other: CentralSettings) -> bool:
        """Whether both reach the same server the same way (no new connection test)."""
        keys = ("dsn", "password", "tls", "ca_file", "estate_code")
        return all(getattr(self, k) == getattr(other, k) for k in keys)

    def redacted(self) -> dict[str, Any]:
        """For diagnostics: no password, and of the DSN only its host and database."""
        out = self.as_dict()
        out.pop("password")
        out.pop("dsn")
        out["card_secret"] = bool(out["card_secret"])  # whether one is set, never its value
        return out | dsn_summary(self.dsn)

    def disabled(self) -> CentralSettings:
        return replace(self, enabled=False)
