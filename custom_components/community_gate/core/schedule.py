"""Weekly schedules: read from service / stored JSON, written back as stored JSON."""

from __future__ import annotations

from collections.abc import Sequence
import json
from typing import Any

from . import errors
from .model import ScheduleWindow
from .policy import parse_hhmm


def schedule_to_obj(schedule: Sequence[ScheduleWindow]) -> list[dict[str, Any]]:
    """The windows as services take them (and the staff panel edits them)."""
    return [
        {"days": sorted(w.days), "start": w.start.strftime("%H:%M"), "end": _fmt_end(w)}
        for w in schedule
    ]


def schedule_to_json(schedule: Sequence[ScheduleWindow]) -> str:
    return json.dumps(schedule_to_obj(schedule))


def _fmt_end(w: ScheduleWindow) -> str:
    return (
        "24:00"
        if w.end.hour == 23 and w.end.minute == 59 and w.end.second == 59
        else w.end.strftime("%H:%M")
    )


def stored_schedule(schedule: Sequence[ScheduleWindow]) -> str:
    """The schedule as stored JSON, refusing windows that would not read back as written:
    a person saved with an unreadable schedule could never be loaded (or admitted) again."""
    text = schedule_to_json(schedule)
    if schedule_from_obj(json.loads(text)) != tuple(schedule):
        raise errors.InvalidScheduleError(why="schedule windows must be whole HH:MM minutes")
    return text


def schedule_from_obj(obj: Any) -> tuple[ScheduleWindow, ...]:
    """Build windows from ``[{"days": [1..7], "start": "HH:MM", "end": "HH:MM"}, ...]``."""
    if obj in (None, ""):
        return ()
    if not isinstance(obj, list):
        raise errors.InvalidScheduleError(why="schedule must be a list of windows")
    out: list[ScheduleWindow] = []
    for item in obj:
        if not isinstance(item, dict):
            raise errors.InvalidScheduleError(why="each window must be a mapping")
        days = item.get("days", [1, 2, 3, 4, 5, 6, 7])
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days)
        ):
            raise errors.InvalidScheduleError(why="days must be weekday numbers 1 (Mon) to 7 (Sun)")
        try:
            start = parse_hhmm(str(item["start"]))
            end = parse_hhmm(str(item["end"]))
        except (KeyError, ValueError) as err:
            raise errors.InvalidScheduleError(why="start and end must be HH:MM") from err
        if start == end:
            raise errors.InvalidScheduleError(why="a window cannot start and end at the same time")
        out.append(ScheduleWindow(frozenset(days), start, end))
    return tuple(out)
