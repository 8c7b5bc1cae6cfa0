"""``python -m devtools.bench pad ...``: the presentation-attack measurement of
``devtools/eval_pad.py`` among the benchmarks (one code path, two entry points)."""

from __future__ import annotations

from devtools.benchlib import Command
from devtools.eval_pad import add_args, format_report, run

PAD_COMMAND: Command = (
    "presentation-attack detection: APCER per attack, BPCER per level, latency",
    add_args,
    run,
    format_report,
)
