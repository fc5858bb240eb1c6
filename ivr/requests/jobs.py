"""The timed work on requests (`ivr.store.timers`): notifying the technicians one after the
other, escalating (routing/escalation.toml), and calling a customer back for a technician
(click-to-call in the console).

Timer ids: `notify:<request>:<round>:<position>` (creating a request schedules round 0,
position 0: the standby technician), `ack:<request>:<round>:<position>` (that technician has
not acknowledged it in time: the next one is rung), `chief:<request>` (the first contact is
still missing shortly before the due time), `breach:<request>` (the due time),
`callback:<request>:<random>`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from redis.asyncio import Redis

from ivr.store import timers
from ivr.store.requests import NOTIFY

CALLBACK = "callback"
ACK = "ack"
CHIEF = "chief"
BREACH = "breach"


async def notify_next(
    redis: Redis, request_id: int, round_: int, position: int, due: datetime | None = None
) -> None:
    """Tell the technician at `position` of the on-call order (in `round_`) at `due`."""
    await _schedule_step(redis, NOTIFY, request_id, round_, position, due)


async def expect_ack(
    redis: Redis, request_id: int, round_: int, position: int, due: datetime
) -> None:
    """Move on to the next technician at `due` unless the one notified now acknowledged it."""
    await _schedule_step(redis, ACK, request_id, round_, position, due)


async def _schedule_step(
    redis: Redis, kind: str, request_id: int, round_: int, position: int, due: datetime | None
) -> None:
    step = {"request_id": request_id, "round": round_, "position": position}
    await timers.schedule(redis, f"{kind}:{request_id}:{round_}:{position}", kind, step, due)


async def watch_first_reaction(
    redis: Redis, request_id: int, due: datetime, chief_before_due: timedelta
) -> None:
    """Tell the chief technician at `chief_before_due` before `due` if the first contact is
    still missing then, and mark the request breached at `due` if it still is."""
    data = {"request_id": request_id}
    await timers.schedule(redis, f"{CHIEF}:{request_id}", CHIEF, data, due - chief_before_due)
    await timers.schedule(redis, f"{BREACH}:{request_id}", BREACH, data, due)


async def call_back(redis: Redis, request_id: int, technician: str) -> None:
    """Ring `technician`'s phone at once, then the customer's, and bridge the two."""
    await timers.schedule(
        redis,
        f"{CALLBACK}:{request_id}:{secrets.token_hex(4)}",
        CALLBACK,
        {"request_id": request_id, "technician": technician},
    )
