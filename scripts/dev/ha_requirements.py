"""Print the pip requirements Home Assistant installs at its first start for what the demo
estate loads, so that `hass --skip-pip` (the end-to-end tests, run with no network) starts
complete, as a real hub would after its first start.

Seeds: the integrations HA always loads (its bootstrap sets), the ones whose modules HA
imports to validate any services.yaml, this integration's dependencies and the demo's
configuration; then their dependencies, read from each core integration's manifest.
Run with the venv's Python, after Home Assistant is installed.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import sys

from homeassistant import bootstrap
import homeassistant.components

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = Path(homeassistant.components.__file__).parent
DEMO_DOMAINS = {
    "automation",
    "config",
    "frontend",
    "history",
    "input_boolean",
    "input_select",
    "local_file",
    "logbook",
    "logger",
    "script",
    "template",
}


def _manifest(domain: str) -> dict[str, object] | None:
    path = COMPONENTS / domain / "manifest.json"
    if not path.is_file():
        return None
    data: dict[str, object] = json.loads(path.read_text())
    return data


def _seeds() -> set[str]:
    seeds: set[str] = set(DEMO_DOMAINS)
    for name in dir(bootstrap):
        value = getattr(bootstrap, name)
        if name.endswith("_INTEGRATIONS") and isinstance(value, set | frozenset | tuple):
            seeds |= {d for d in value if isinstance(d, str)}
    # helpers/service.py imports these modules whenever it validates a services.yaml.
    service_py = (COMPONENTS.parent / "helpers" / "service.py").read_text()
    block = re.search(r"from homeassistant\.components import \(([^)]*)\)", service_py)
    if block:
        seeds |= set(re.findall(r"\b([a-z_]+),", block.group(1)))
    ours = json.loads((ROOT / "custom_components/community_gate/manifest.json").read_text())
    seeds |= set(ours.get("dependencies", [])) | set(ours.get("after_dependencies", []))
    return seeds


def main() -> None:
    todo = sorted(_seeds())
    seen: set[str] = set()
    requirements: set[str] = set()
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest = _manifest(domain)
        if manifest is None:
            continue
        requirements |= set(manifest.get("requirements", []))  # type: ignore[arg-type]
        # Dependencies only: an after-dependency is loaded only when configured.
        todo += [d for d in manifest.get("dependencies", []) if d not in seen]  # type: ignore[attr-defined]
    sys.stdout.write("".join(f"{r}\n" for r in sorted(requirements, key=str.lower)))


if __name__ == "__main__":
    main()
