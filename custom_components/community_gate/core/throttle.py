"""Throttling of failed credential presentations, per gate and caller. No Home Assistant.

A key is (gate id, caller): the Home Assistant user behind an action, the MQTT device
behind a reader, or ``""`` for automations and scripts (the gate's own readers). Failures
(an unknown or malformed value) inside a sliding window lock that key out; each further
lock-out doubles, up to a cap, until the key has been quiet for ``forgive_s``. While a key
is locked out the hub refuses without looking at the credential, so guessing on through
a lock-out learns nothing, not even a right guess.

Time is passed in by the caller (epoch seconds); memory is bounded by ``max_keys``
(least recently used keys go first). Not thread-safe: the hub uses it on the event loop.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

from .model import Reason

type ThrottleKey = tuple[str, str]

# What counts as a failed guess: a value nobody holds, or one no reader could send. A
# known but refused credential (revoked, out of schedule) is its holder's, not a guess.
FAILED_GUESSES = frozenset({Reason.UNKNOWN_CREDENTIAL, Reason.MALFORMED_CREDENTIAL})


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    """Defaults sized so that people never meet them (docs/architecture.md, Throttling):
    a resident who mistypes twice, or a busy gate where a few cards are misread each
    minute, stays far below 10 failures a minute from one source; a guesser is held to
    10 guesses per lock-out, and lock-outs grow to 15 minutes, about 1,000 guesses a day."""

    failures: int = 10  # failures within window_s that lock a key out
    window_s: float = 60.0
    lockout_s: float = 30.0  # the first lock-out; each next one doubles
    max_lockout_s: float = 900.0
    forgive_s: float = 3600.0  # quiet this long and the doubling starts over
    max_keys: int = 4096

    def __post_init__(self) -> None:
        if self.failures < 1 or self.max_keys < 1:
            raise ValueError("failures and max_keys must be at least 1")
        if min(self.window_s, self.lockout_s, self.max_lockout_s, self.forgive_s) <= 0:
            raise ValueError("times must be positive")


# Unknown faces from one terminal: a terminal asks once per person, so a busy gate at
# rush hour stays well below 20 strangers a minute, while 30 random embeddings posted in
# a burst (issue 13) are a flood. Past the budget a face is still matched (a resident is
# let in as ever) and an unknown one still denied and logged, but it makes no stranger
# cluster and no ``unknown_face`` alert; the passage carries ``FACE_FLOOD`` and the
# rules raise one ``brute_force`` alert for the gate instead. The lock-out (doubling up
# to 15 min) is how long the budget stays spent.
UNKNOWN_FACE_BUDGET = ThrottleLimits(failures=20, window_s=60.0, lockout_s=60.0)
FACE_FLOOD = "face_flood"


def device_caller(device_id: str) -> str:
    """A field device as a throttle caller: the same on every channel it talks on."""
    return f"device:{device_id}"


@dataclass(slots=True)
class _State:
    failures: deque[float]
    in_flight: int = 0
    strikes: int = 0
    locked_until: float = 0.0
    last_failure: float = float("-inf")


@dataclass(slots=True)
class Throttle:
    limits: ThrottleLimits = field(default_factory=ThrottleLimits)
    _keys: OrderedDict[ThrottleKey, _State] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._keys)

    def admit(self, key: ThrottleKey, now: float) -> bool:
        """May this key present a credential now? An admitted attempt must be ended
        with ``done``. Attempts still being decided count against the limit, so firing
        many at once gets no more through than firing them one by one."""
        st = self._touch(key)
        if now < st.locked_until:
            return False
        self._expire(st, now)
        if len(st.failures) + st.in_flight >= self.limits.failures:
            return False
        st.in_flight += 1
        return True

    def done(self, key: ThrottleKey, now: float, *, failed: bool) -> float | None:
        """End an admitted attempt. Returns the lock-out's end if this failure started one."""
        st = self._keys.get(key)
        if st is None:
            return None  # evicted meanwhile
        st.in_flight = max(0, st.in_flight - 1)
        if not failed:
            return None
        lim = self.limits
        if now - st.last_failure >= lim.forgive_s:
            st.strikes = 0
        st.last_failure = now
        st.failures.append(now)
        self._expire(st, now)
        if len(st.failures) < lim.failures:
            return None
        st.failures.clear()
        st.strikes += 1
        # Capped exponent: the cap is reached long before the float would overflow.
        st.locked_until = now + min(lim.lockout_s * 2 ** min(st.strikes - 1, 32), lim.max_lockout_s)
        return st.locked_until

    def locked_until(self, key: ThrottleKey, now: float) -> float | None:
        st = self._keys.get(key)
        return st.locked_until if st is not None and now < st.locked_until else None

    def _touch(self, key: ThrottleKey) -> _State:
        st = self._keys.get(key)
        if st is None:
            st = _State(deque(maxlen=self.limits.failures))
            self._keys[key] = st
            while len(self._keys) > self.limits.max_keys:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(key)
        return st

    def _expire(self, st: _State, now: float) -> None:
        while st.failures and now - st.failures[0] >= self.limits.window_s:
            st.failures.popleft()
