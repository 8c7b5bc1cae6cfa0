"""Developer tools for community_gate: benchmarks, the estate simulator, the face evaluator.

Run from the repository root, e.g. ``python -m devtools.bench --help``. Not part of the
integration HACS installs (``custom_components/community_gate``).
"""
