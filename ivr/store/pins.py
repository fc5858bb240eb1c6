"""PIN brute-force limiting, per caller number, per customer number typed, and hotline-wide.

- A caller number (or all withheld callers together) with five failed PIN calls within an
  hour gets no PIN attempts until fewer than five remain in the last hour.
- So does a phone number typed as customer number: guessing one customer's PIN from many
  caller IDs (which a SIP caller chooses freely) gets no further.
- Hotline-wide, MAX_FAILED_PIN_CALLS_HOTLINE failed PIN calls within the hour stop PIN
  identification of callers whose number is not a customer's: a spray of guesses from
  ever-new numbers ends there. Admins see the failures of the last hour once there are
  BURST_ALERT of them (`failed_pin_calls`). Such callers still reach the desk.

Keys: `winet:pin-failures:<number>`, `winet:pin-failures:account:<number>` and
`winet:pin-failures:hotline`, sorted sets of failed calls scored by their time (epoch
seconds), trimmed to the window and expiring an hour after the last failure. `now` is passed
in: the service clock is injectable.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from redis.asyncio import Redis

from ivr.store import key

MAX_FAILED_PIN_CALLS = 5
MAX_FAILED_PIN_CALLS_HOTLINE = 30
BURST_ALERT = 10
WINDOW = timedelta(hours=1)
HOTLINE = "hotline"


def account_key(number: str) -> str:
    """The limit key of a customer number (E.164) a caller typed."""
    return f"account:{number}"


async def record_failed_pin_call(redis: Redis, *limit_keys: str, now: datetime) -> None:
    """Count a call that ended its PIN attempts without the right PIN, against each limit key
    (the caller's number, the customer numbers typed) and the hotline."""
    moment = now.timestamp()
    pipe = redis.pipeline(transaction=True)
    for limit_key in dict.fromkeys([*limit_keys, HOTLINE]):
        failures = _failures_key(limit_key)
        # A random member keeps two failures at the same instant (a fixed test clock) apart.
        pipe.zadd(failures, {f"{moment}:{secrets.token_hex(4)}": moment})
        pipe.zremrangebyscore(failures, "-inf", moment - WINDOW.total_seconds())
        pipe.expire(failures, WINDOW)
    await pipe.execute()


async def pin_attempts_blocked(redis: Redis, limit_key: str, now: datetime) -> bool:
    return await _recent(redis, limit_key, now) >= MAX_FAILED_PIN_CALLS


async def hotline_blocked(redis: Redis, now: datetime) -> bool:
    """Too many failed PIN calls hotline-wide: no PIN identification by customer number."""
    return await failed_pin_calls(redis, now) >= MAX_FAILED_PIN_CALLS_HOTLINE


async def failed_pin_calls(redis: Redis, now: datetime) -> int:
    """Failed PIN calls of the last hour, hotline-wide."""
    return await _recent(redis, HOTLINE, now)


async def _recent(redis: Redis, limit_key: str, now: datetime) -> int:
    moment = now.timestamp()
    return await redis.zcount(
        _failures_key(limit_key), f"({moment - WINDOW.total_seconds()}", moment
    )


def _failures_key(limit_key: str) -> str:
    return key("pin-failures", limit_key)
