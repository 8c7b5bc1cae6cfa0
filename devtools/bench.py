"""community_gate benchmarks, measured against DESIGN §6: one subcommand each.

    python -m devtools.bench store --json
    python -m devtools.bench store --people 1000 --passages 10000
    python -m devtools.bench faces|privacy|mqtt|rules|gate|central --json
    python -m devtools.bench pad ../shared/faces --out .cache-pad/test --repeats 3

Run from the repository root. This module only dispatches: every benchmark lives in its
own module (``bench_store``, ``bench_faces``, ``bench_privacy``, ``bench_mqtt``,
``bench_rules``, ``bench_gate``) and what they share is in ``benchlib``.

Progress goes to stderr; the result to stdout (``--json``: one JSON object).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import json
import sys

from devtools.bench_central import CENTRAL_COMMAND
from devtools.bench_face_gate import FACEGATE_COMMAND
from devtools.bench_faces import FACES_COMMAND
from devtools.bench_gate import GATE_COMMAND
from devtools.bench_mqtt import MQTT_COMMAND
from devtools.bench_pad import PAD_COMMAND
from devtools.bench_privacy import PRIVACY_COMMAND
from devtools.bench_rules import RULES_COMMAND
from devtools.bench_scope import SCOPE_COMMAND
from devtools.bench_store import STORE_COMMAND
from devtools.benchlib import Command

COMMANDS: dict[str, Command] = {
    "store": STORE_COMMAND,
    "faces": FACES_COMMAND,
    "privacy": PRIVACY_COMMAND,
    "mqtt": MQTT_COMMAND,
    "rules": RULES_COMMAND,
    "gate": GATE_COMMAND,
    "facegate": FACEGATE_COMMAND,
    "scope": SCOPE_COMMAND,
    "central": CENTRAL_COMMAND,
    "pad": PAD_COMMAND,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.bench",
        description="community_gate benchmarks (DESIGN §6 targets)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_args, _run, _fmt) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        add_args(p)
        p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _help, _add, run, fmt = COMMANDS[args.command]
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else fmt(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
