"""Pure domain logic of community_gate: no Home Assistant imports, tested in milliseconds."""
