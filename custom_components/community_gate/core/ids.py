"""Record ids: short, printable, safe in entity ids, topics, file names and logs."""

from __future__ import annotations

import re

from . import errors

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


def check_id(value: object, what: str = "id") -> str:
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise errors.InvalidIdError(f"bad {what}", field=what)
    return value
