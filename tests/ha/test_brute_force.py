"""Issue 13, brute force: guessing at a reader is throttled per gate and caller, a burst
of unknown credentials raises an alert, and short PINs are refused. (A non-admin Home
Assistant user has no way to present at all: no action takes a credential value, see
tests/ha/test_recorder_leaks.py.)"""

from __future__ import annotations

from datetime import timedelta
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.community_gate.const import EVENT_PASSAGE
from custom_components.community_gate.core.throttle import ThrottleLimits
from tests.ha.helpers import CARD, call, hub_of, present_credential, private, settle

PIN = "918273"
LIMITS = ThrottleLimits()


@pytest.fixture
async def resident(hass: HomeAssistant, tenant: MockConfigEntry) -> MockConfigEntry:
    """The tenant p1 also has PIN."""
    await private(hass, "add_credential", {"person_id": "p1", "kind": "pin", "value": PIN})
    return tenant


@pytest.fixture
async def guest(hass: HomeAssistant, hass_owner_user: User) -> User:
    """A Home Assistant user who is not an administrator (the first user made would be
    the owner, hence the owner fixture)."""
    user = await hass.auth.async_create_user("tenant")
    assert not user.is_admin
    return user


async def pin(
    hass: HomeAssistant, value: str, context: Context | None = None, gate: str = "east_gate"
) -> Any:
    return await present_credential(
        hass,
        {"gate_id": gate, "kind": "pin", "value": value},
        context,
    )


async def release(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def last_reasons(entry: MockConfigEntry, n: int) -> list[str]:
    rows = hub_of(entry).store.recent_passages(limit=n)
    return [p.reason.value for p in reversed(rows)]


# ------------------------------------------------------------------- throttling
async def test_guessing_pins_locks_the_guesser_out_and_a_right_guess_then_opens_nothing(
    hass: HomeAssistant,
    resident: MockConfigEntry,
    guest: User,
    relay_calls: list[tuple[str, str]],
    freezer: FrozenDateTimeFactory,
) -> None:
    ctx = Context(user_id=guest.id)
    for i in range(LIMITS.failures):
        assert (await pin(hass, f"{i:06d}", ctx))["allowed"] is False
    relay_calls.clear()
    # Locked out: the right PIN is refused without being looked at, and logged.
    assert (await pin(hass, PIN, ctx))["allowed"] is False
    await hass.async_block_till_done()
    assert relay_calls == []
    assert last_reasons(resident, 2) == ["unknown_credential", "throttled"]
    assert hub_of(resident).store.recent_passages(limit=1)[0].person_id is None
    # Others at the same gate are not locked out with the guesser: the automation of the
    # gate's own keypad, and the guesser at another gate.
    assert (await pin(hass, PIN))["reason"] == "granted"
    await release(hass, freezer, 10)
    # Still locked out a second before the lock-out ends; let in after it.
    await release(hass, freezer, LIMITS.lockout_s - 11)
    assert (await pin(hass, PIN, ctx))["allowed"] is False
    assert last_reasons(resident, 1) == ["throttled"]
    await release(hass, freezer, 1)
    assert (await pin(hass, PIN, ctx))["allowed"] is True


async def test_back_off_doubles_for_a_guesser_who_comes_back(
    hass: HomeAssistant, resident: MockConfigEntry, guest: User, freezer: FrozenDateTimeFactory
) -> None:
    ctx = Context(user_id=guest.id)
    for _ in range(2):
        for i in range(LIMITS.failures):
            await pin(hass, f"{i:06d}", ctx)
        await release(hass, freezer, LIMITS.lockout_s)
    # The second lock-out is twice as long: the first one's length is not enough.
    assert (await pin(hass, PIN, ctx))["allowed"] is False
    assert last_reasons(resident, 1) == ["throttled"]
    await release(hass, freezer, LIMITS.lockout_s)
    assert (await pin(hass, PIN, ctx))["allowed"] is True


async def test_a_resident_who_mistypes_and_a_busy_gate_are_never_locked_out(
    hass: HomeAssistant, resident: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    # One resident mistypes twice, then gets it right.
    assert (await pin(hass, "918272"))["reason"] == "unknown_credential"
    assert (await pin(hass, "91827"))["reason"] == "unknown_credential"
    assert (await pin(hass, PIN))["reason"] == "granted"
    # Rush hour at the keypad: someone every 4 s for ten minutes, one in three mistyping.
    reasons = []
    for i in range(150):
        await release(hass, freezer, 4)
        reasons.append((await pin(hass, "000000" if i % 3 == 0 else PIN))["reason"])
    assert "throttled" not in reasons
    assert reasons.count("granted") == 100


# --------------------------------------------------------------- brute_force alert
async def test_a_burst_of_unknown_credentials_raises_a_brute_force_alert(
    hass: HomeAssistant, tenant: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    alerts: list[Any] = []
    hass.bus.async_listen("community_gate_alert", alerts.append)
    passages: list[Any] = []
    hass.bus.async_listen(EVENT_PASSAGE, passages.append)
    tried = [f"{4000000000 + i}" for i in range(25)]
    for i, card in enumerate(tried[:19]):
        await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": card})
        if i == 9:
            await release(hass, freezer, LIMITS.lockout_s)  # the reader's own lock-out
    await settle(hass)
    assert await call(hass, "list_alerts", {}) == {"alerts": []}
    for card in tried[19:]:
        await present_credential(hass, {"gate_id": "east_gate", "kind": "card", "value": card})
    await settle(hass)
    listed = (await call(hass, "list_alerts", {"rule": "brute_force"}))["alerts"]
    assert len(listed) == 1
    alert = listed[0]
    assert (alert["subject_kind"], alert["subject_id"], alert["gate_id"]) == (
        "gate",
        "east_gate",
        "east_gate",
    )
    assert alert["evidence"]["count"] >= 20
    # Ids and codes only: no tried value anywhere the alert went.
    told = json.dumps([alert, *(a.data for a in alerts)])
    assert not [c for c in tried if c in told]
    assert CARD.lstrip("0") not in told


# ------------------------------------------------------------- minimum PIN length
async def test_a_pin_shorter_than_the_minimum_is_refused(
    hass: HomeAssistant, tenant: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as exc:
        await private(hass, "add_credential", {"person_id": "p1", "kind": "pin", "value": "1234"})
    assert exc.value.translation_key == "pin_too_short"
    assert exc.value.translation_placeholders == {"min": "6"}
    assert "1234" not in str(exc.value)
    await private(hass, "add_credential", {"person_id": "p1", "kind": "pin", "value": "123456"})


async def test_the_minimum_pin_length_is_an_option(
    hass: HomeAssistant, tenant: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(tenant.entry_id)
    assert result["data_schema"]({})["min_pin_length"] == 6
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"min_pin_length": 8}
    )
    await hass.async_block_till_done()
    assert tenant.options["min_pin_length"] == 8
    with pytest.raises(ServiceValidationError) as exc:
        await private(
            hass, "add_credential", {"person_id": "p1", "kind": "pin", "value": "1234567"}
        )
    assert exc.value.translation_placeholders == {"min": "8"}
    await private(hass, "add_credential", {"person_id": "p1", "kind": "pin", "value": "12345678"})


async def test_pins_enrolled_before_the_minimum_keep_working(
    hass: HomeAssistant, resident: MockConfigEntry
) -> None:
    """Stored as keyed hashes only, an old short PIN cannot be found to be short until it
    is used: it keeps opening, and its passages are flagged so staff can re-enrol it."""
    await set_min_pin_length(hass, resident, 4)
    await private(hass, "add_credential", {"person_id": "p1", "kind": "pin", "value": "2468"})
    await set_min_pin_length(hass, resident, 6)
    resp = await pin(hass, "2468")
    assert resp["reason"] == "granted"
    assert "short_pin" in resp["flags"]
    assert "short_pin" not in (await pin(hass, PIN))["flags"]


async def set_min_pin_length(hass: HomeAssistant, entry: MockConfigEntry, n: int) -> None:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    await hass.config_entries.options.async_configure(result["flow_id"], {"min_pin_length": n})
    await hass.async_block_till_done()
