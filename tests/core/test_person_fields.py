"""The one definition of a person's fields covers the model, and the store keeps every
field as written (each kind's column mapping reads back what it wrote)."""

from __future__ import annotations

from dataclasses import fields
from datetime import time
from pathlib import Path

from custom_components.community_gate.core.model import Person, Role, ScheduleWindow, Unit
from custom_components.community_gate.core.person_fields import (
    EDITABLE_FIELDS,
    PERSON_FIELDS,
    PERSON_KEYS,
)
from custom_components.community_gate.core.store import Store


def test_every_person_attribute_is_defined_once() -> None:
    names = [f.name for f in PERSON_FIELDS]
    assert sorted(names) == sorted(f.name for f in fields(Person))
    assert len(set(PERSON_KEYS)) == len(PERSON_KEYS)
    assert [f.name for f in PERSON_FIELDS if not f.editable] == ["id"]


def test_every_field_round_trips_through_the_store(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "p.db")
    try:
        store.add_unit(Unit("u1", "3", "1201"))
        store.add_unit(Unit("u2", "3", "1202"))
        person = Person(
            "p1",
            Role.TENANT,
            "Wang Fang",
            "u1",
            "ACME",
            special_attention=True,
            lives_alone=True,
            blocked=True,
            valid_from=1.0,
            valid_until=2.0,
            allowed_gates=frozenset({"g1", "g2"}),
            schedule=(ScheduleWindow(frozenset({1, 7}), time(22), time(6)),),
            birth_year=1950,
        )
        store.add_person(person)
        assert store.get_person("p1") == person
        changed = {
            "display_name": "Li Lei",
            "role": Role.CO_RESIDENT,
            "unit_id": "u2",
            "company": "",
            "special_attention": False,
            "lives_alone": False,
            "blocked": False,
            "valid_from": None,
            "valid_until": None,
            "allowed_gates": frozenset(),
            "schedule": (),
            "birth_year": None,
        }
        assert set(changed) == {f.name for f in EDITABLE_FIELDS}
        updated = store.update_person("p1", **changed)
        assert store.get_person("p1") == updated == Person("p1", **changed)
    finally:
        store.close()
