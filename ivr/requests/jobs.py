"""The timed work on requests (`ivr.store.timers`): notifying the technicians one after the
other, and calling a customer back for a technician (click-to-call in the console).

Timer ids: `notify:<request>:<round>:<position>` (creating a request schedules round 0,
position 0: the standby technician), `callback:<request>:<random>`.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from redis.asyncio import Redis

from ivr.store import timers
from ivr.store.requests import NOTIFY

CALLBACK = "callback"


async def notify_next(
    redis: Redis, request_id: int, round_: int, position: int, due: datetime | None = None
) -> None:
    """Tell the technician at `position` of the on-call order (in `round_`) at `due`."""
    await timers.schedule(
        redis,
        f"{NOTIFY}:{request_id}:{round_}:{position}",
        NOTIFY,
        {"request_id": request_id, "round": round_, "position": position},
        due,
    )


async def call_back(redis: Redis, request_id: int, technician: str) -> None:
    """Ring `technician`'s phone at once, then the customer's, and bridge the two."""
    await timers.schedule(
        redis,
        f"{CALLBACK}:{request_id}:{secrets.token_hex(4)}",
        CALLBACK,
        {"request_id": request_id, "technician": technician},
    )
