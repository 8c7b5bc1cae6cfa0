"""Throttle: lock-out and back-off per (gate, caller), on injected time."""

from __future__ import annotations

import pytest

from custom_components.community_gate.core.throttle import Throttle, ThrottleLimits

T0 = 1_800_000_000.0
KEY = ("east_gate", "user:mallory")
LIM = ThrottleLimits()


def fail(t: Throttle, key: tuple[str, str], now: float) -> float | None:
    assert t.admit(key, now)
    return t.done(key, now, failed=True)


def ok(t: Throttle, key: tuple[str, str], now: float) -> None:
    assert t.admit(key, now)
    t.done(key, now, failed=False)


def test_limit_failures_lock_out_then_release() -> None:
    t = Throttle()
    for i in range(LIM.failures - 1):
        assert fail(t, KEY, T0 + i) is None
    until = fail(t, KEY, T0 + LIM.failures)
    assert until == T0 + LIM.failures + LIM.lockout_s
    assert not t.admit(KEY, until - 0.001)
    assert t.locked_until(KEY, until - 0.001) == until
    assert t.admit(KEY, until)
    t.done(KEY, until, failed=False)
    assert t.locked_until(KEY, until) is None


def test_back_off_doubles_up_to_the_cap_and_is_forgiven_after_quiet() -> None:
    t = Throttle()
    now = T0
    lengths = []
    for _ in range(8):
        until = None
        for _ in range(LIM.failures):
            until = fail(t, KEY, now)
        assert until is not None
        lengths.append(until - now)
        now = until
    assert lengths == [30, 60, 120, 240, 480, 900, 900, 900]
    # An hour without a failure: the next lock-out is the first one again.
    now += LIM.forgive_s
    for _ in range(LIM.failures):
        until = fail(t, KEY, now)
    assert until == now + LIM.lockout_s


def test_failures_spread_wider_than_the_window_never_lock() -> None:
    t = Throttle()
    gap = LIM.window_s / (LIM.failures - 1)  # at most failures-1 inside any window
    for i in range(500):
        assert fail(t, KEY, T0 + i * gap) is None


def test_keys_are_independent_per_gate_and_caller() -> None:
    t = Throttle()
    for i in range(LIM.failures):
        fail(t, KEY, T0 + i)
    assert not t.admit(KEY, T0 + 11)
    assert t.admit(("east_gate", "user:alice"), T0 + 11)
    assert t.admit(("north_door", "user:mallory"), T0 + 11)


def test_successes_do_not_count_and_a_busy_gate_stays_open() -> None:
    """A thousand residents through one reader in ten minutes, one in twenty mistyping
    once (five failures a minute): never locked out."""
    t = Throttle()
    key = ("east_gate", "")
    for i in range(1000):
        now = T0 + i * 0.6
        if i % 20 == 0:
            assert fail(t, key, now) is None
        ok(t, key, now)


def test_attempts_in_flight_count_against_the_limit() -> None:
    t = Throttle()
    admitted = sum(t.admit(KEY, T0) for _ in range(100))
    assert admitted == LIM.failures
    for _ in range(admitted):
        t.done(KEY, T0, failed=True)
    assert t.locked_until(KEY, T0) == T0 + LIM.lockout_s


def test_memory_is_bounded() -> None:
    t = Throttle(ThrottleLimits(max_keys=50))
    for i in range(1000):
        fail(t, ("east_gate", f"dev{i}"), T0 + i)
    assert len(t) == 50
    # An evicted key's pending attempt ends quietly.
    assert t.admit(("g", "x"), T0)
    for i in range(60):
        t.admit(("g", f"y{i}"), T0)
    assert t.done(("g", "x"), T0, failed=True) is None


@pytest.mark.parametrize(
    "bad", [{"failures": 0}, {"max_keys": 0}, {"window_s": 0}, {"lockout_s": -1}]
)
def test_limits_are_checked(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ThrottleLimits(**bad)  # type: ignore[arg-type]
