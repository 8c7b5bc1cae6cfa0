"""The schema library of the running Home Assistant, as ``vol``.

HA 2026.9 moved its validation (config_validation, selectors, service and flow schemas)
from voluptuous to probatio, whose API is a superset of the parts used here. Schemas
built with the library HA itself uses type-check against its signatures and raise the
errors HA catches; voluptuous stays only for the releases before the move.
"""

from __future__ import annotations

try:
    import probatio as vol
except ImportError:  # Home Assistant before 2026.9
    import voluptuous as vol  # type: ignore[no-redef]

__all__ = ["vol"]
