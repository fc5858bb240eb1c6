"""Facts about the installation itself that its set-up must remember.

Keys:
- `winet:installation:demo-data`  string  what the first set-up chose for the demo data:
  "loaded <ISO time>" or "declined <ISO time>". Set once; later set-ups leave the demo
  customers alone, so an admin's changes to them stay.
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from ivr.store import key

DEMO_DATA = key("installation", "demo-data")


async def demo_data_choice(redis: Redis) -> str | None:
    """What the first set-up did with the demo data, or None on a fresh installation."""
    return await redis.get(DEMO_DATA)


async def claim_demo_data_choice(redis: Redis, *, load: bool, now: datetime) -> bool:
    """Record the first set-up's choice; False when an earlier set-up made one already."""
    choice = f"{'loaded' if load else 'declined'} {now.isoformat(timespec='seconds')}"
    return bool(await redis.set(DEMO_DATA, choice, nx=True))


async def forget_demo_data_choice(redis: Redis) -> None:
    """Undo a claim whose loading failed, so the next set-up tries again."""
    await redis.delete(DEMO_DATA)
