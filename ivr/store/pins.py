"""PIN brute-force limiting: after five failed PIN calls from one number within an hour, that
number gets no more PIN attempts until fewer than five remain in the last hour.

Key: `winet:pin-failures:<number>`, a sorted set of failed calls scored by their time (epoch
seconds), trimmed to the window and expiring an hour after the last failure. `now` is passed
in: the service clock is injectable.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from redis.asyncio import Redis

from ivr.store import key

MAX_FAILED_PIN_CALLS = 5
WINDOW = timedelta(hours=1)


async def record_failed_pin_call(redis: Redis, number: str, now: datetime) -> None:
    """Count a call from `number` that ended its PIN attempts without the right PIN."""
    failures = _failures_key(number)
    moment = now.timestamp()
    pipe = redis.pipeline(transaction=True)
    # A random member keeps two failures at the same instant (a fixed test clock) apart.
    pipe.zadd(failures, {f"{moment}:{secrets.token_hex(4)}": moment})
    pipe.zremrangebyscore(failures, "-inf", moment - WINDOW.total_seconds())
    pipe.expire(failures, WINDOW)
    await pipe.execute()


async def pin_attempts_blocked(redis: Redis, number: str, now: datetime) -> bool:
    moment = now.timestamp()
    recent = await redis.zcount(
        _failures_key(number), f"({moment - WINDOW.total_seconds()}", moment
    )
    return recent >= MAX_FAILED_PIN_CALLS


def _failures_key(number: str) -> str:
    return key("pin-failures", number)
