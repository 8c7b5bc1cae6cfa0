"""Developer tools for community_gate (benchmarks). Not loaded by Home Assistant."""
