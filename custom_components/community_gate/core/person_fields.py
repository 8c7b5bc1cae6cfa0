"""The fields of a person, defined once.

The store's columns, the update allowlist, the subject-access export, the add / update
person service schemas and the generated service strings are all derived from
``PERSON_FIELDS``. Each of them maps a field's ``kind`` to its own form (a column value,
a validator, a selector), so a new field is added here, in ``model.Person`` and in a
migration, and each place that cannot handle its kind fails loudly (a missing key).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final


class FieldKind(StrEnum):
    """What a field holds; decides how it is stored, validated, exported and shown."""

    ID = "id"  # a record id: the person's own, or a reference that may be None
    TEXT = "text"  # short free text
    ROLE = "role"  # a model.Role
    FLAG = "flag"  # a yes/no the rules and the panel filter on
    TIME = "time"  # epoch seconds, or None (open-ended)
    GATES = "gates"  # a set of gate ids
    SCHEDULE = "schedule"  # weekly windows (model.ScheduleWindow)
    YEAR = "year"  # a year, or None


@dataclass(frozen=True, slots=True)
class PersonField:
    name: str  # the model.Person attribute, and the column of the ``people`` table
    kind: FieldKind
    alias: str | None = None  # the name in services and exports, where it differs
    editable: bool = True  # set by add / update person (the id names the record instead)
    required_on_add: bool = False
    in_panel: bool = True  # listed in the staff panel's people view
    # A name: set only through the staff panel's websocket commands, never by an action,
    # because Home Assistant records every action's data in its own database.
    private: bool = False

    @property
    def key(self) -> str:
        """The name users see: service fields, the export."""
        return self.alias or self.name


# In the order the services list them (and the export shows them).
PERSON_FIELDS: Final = (
    PersonField("id", FieldKind.ID, alias="person_id", editable=False),
    PersonField("display_name", FieldKind.TEXT, alias="name", private=True),
    PersonField("role", FieldKind.ROLE, required_on_add=True),
    PersonField("unit_id", FieldKind.ID),
    PersonField("company", FieldKind.TEXT),
    PersonField("special_attention", FieldKind.FLAG),
    PersonField("lives_alone", FieldKind.FLAG),
    PersonField("blocked", FieldKind.FLAG),
    PersonField("valid_from", FieldKind.TIME),
    PersonField("valid_until", FieldKind.TIME),
    PersonField("allowed_gates", FieldKind.GATES),
    PersonField("schedule", FieldKind.SCHEDULE, in_panel=False),
    PersonField("birth_year", FieldKind.YEAR, in_panel=False),
)
EDITABLE_FIELDS: Final = tuple(f for f in PERSON_FIELDS if f.editable)
# What the add / update person actions may set (the panel's commands set all of them).
ACTION_FIELDS: Final = tuple(f for f in EDITABLE_FIELDS if not f.private)
# The keys of the add / update person services, in order.
PERSON_KEYS: Final = tuple(f.key for f in PERSON_FIELDS)
ACTION_PERSON_KEYS: Final = tuple(f.key for f in PERSON_FIELDS if not f.private)


def as_is(value: Any) -> Any:
    """The conversion of a kind that needs none (in the per-kind tables of each layer)."""
    return value
