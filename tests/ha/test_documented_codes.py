"""What the documentation states about error codes and limits is what the code does:
every code docs/services.md lists is one the integration can raise (it has a translated
message), the ones it calls plain Home Assistant errors are failures, and the privacy
notes give the terminal payload cap the code enforces."""

from __future__ import annotations

import json
from pathlib import Path
import re

from custom_components.community_gate.core.contract import MAX_PAYLOAD_BYTES
from custom_components.community_gate.exceptions import is_failure

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
STRINGS = ROOT / "custom_components" / "community_gate" / "strings.json"


def _exception_keys() -> set[str]:
    return set(json.loads(STRINGS.read_text(encoding="utf-8"))["exceptions"])


def _table_codes(markdown: str) -> set[str]:
    """The codes in the first column of every ``| code | when |`` table."""
    codes: set[str] = set()
    in_table = False
    for line in markdown.splitlines():
        if line.startswith("| code |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table:
            codes.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return codes


def test_every_documented_error_code_exists() -> None:
    services = (DOCS / "services.md").read_text(encoding="utf-8")
    codes = _table_codes(services)
    assert len(codes) > 20
    assert sorted(codes - _exception_keys()) == []


def test_codes_documented_as_failures_are_failures() -> None:
    services = (DOCS / "services.md").read_text(encoding="utf-8")
    paragraph = services[services.index("gate that did not open and failures of the estate") :]
    paragraph = paragraph[: paragraph.index("plain Home Assistant errors")]
    codes = re.findall(r"`([a-z_*]+)`", paragraph)
    assert "face_unavailable" in codes
    for code in codes:
        if code.endswith("*"):
            assert is_failure(code.rstrip("*") + "error"), code
        else:
            assert is_failure(code), code
            assert code in _exception_keys(), code


def test_privacy_notes_state_the_terminal_payload_cap() -> None:
    stated = f"{MAX_PAYLOAD_BYTES:,}"  # 4,096
    for name in ("privacy.md", "privacy.zh-Hans.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        section = text[text.index("## 7.") :]
        assert f"JSON ≤ {stated}" in section, name
        assert "16 KiB" not in text, name
