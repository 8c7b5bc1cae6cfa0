"""Logs a device going unavailable once, and its return once.

A gate's actuator entity or an MQTT controller that stays down must not write a line
per failed opening or per missed heartbeat; staff need the two moments only. Devices
are named by entity or device id and gate id: never a person, credential or URL.
"""

from __future__ import annotations

import logging


class AvailabilityLog:
    """Remembers which devices were logged as unavailable."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._down: set[str] = set()

    def update(self, key: str, available: bool, what: str) -> None:
        """``what`` names the device for the log line, e.g. "Gate x: actuator y"."""
        if not available and key not in self._down:
            self._down.add(key)
            # A warning: HA logs warnings by default, and this gate may not open.
            self._logger.warning("%s is unavailable", what)
        elif available and key in self._down:
            self._down.discard(key)
            self._logger.info("%s is available again", what)
