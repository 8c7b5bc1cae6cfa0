"""URLs as logs may show them: no password, no query value.

Camera stream URLs and database DSNs carry credentials in two places: the user part
(``user:password@host``) and the query (``?user=admin&password=secret``, how many IP
cameras and some drivers take them). A log line names the scheme, the host and the path;
the password and every query value are replaced by ``***`` (query keys are kept, so the
line still says *which* parameters were set).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit, urlunsplit

MASK: Final = "***"


def _redact_query(query: str) -> str:
    out: list[str] = []
    for item in query.split("&"):
        if not item:
            out.append(item)
            continue
        key, eq, _value = item.partition("=")
        # A bare item (``?s3cret``) may be a token on its own: it is a value too.
        out.append(f"{key}={MASK}" if eq else MASK)
    return "&".join(out)


def redact_url(url: str) -> str:
    """``url`` without its password and query values, for logs and diagnostics.

    The host is kept as written (an IPv6 host keeps its brackets, so the result is still
    a URL). A URL too broken to parse is not shown at all."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{user}@{hostport}"
    else:
        netloc = hostport
    query = _redact_query(parts.query) if parts.query else ""
    fragment = MASK if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
