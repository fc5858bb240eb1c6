"""Durable timers: work due at an instant of the service clock (a notification to send now, an
escalation in 15 minutes), kept in Redis so it survives a worker's restart, and claimed
atomically so that of several workers exactly one does it.

Keys:
- `winet:timers:due`     sorted set  timer id -> due instant (epoch seconds of the service
                         clock; 0: at once). A claimed timer is moved to the end of its lease.
- `winet:timers:jobs`    hash  timer id -> JSON {kind, ...data}
- `winet:timers:claims`  hash  timer id -> the token of the claim that holds it

A timer id names its work (`notify:12:0:1`), so scheduling the same work twice keeps one
timer. A worker claims due timers for a lease; it completes each one with its token when the
work is done. A worker that dies mid-work loses its claim when the lease ends, and another
worker takes the timer then: work is done once while workers live, at least once when one dies.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from ivr.store import key

DUE = key("timers", "due")
JOBS = key("timers", "jobs")
CLAIMS = key("timers", "claims")
AT_ONCE = 0.0

_CLAIM = """
-- KEYS: due, jobs, claims; ARGV: now, lease end, token, limit
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
local claimed = {}
for _, id in ipairs(ids) do
  local job = redis.call('HGET', KEYS[2], id)
  if job then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    redis.call('HSET', KEYS[3], id, ARGV[3])
    table.insert(claimed, id)
    table.insert(claimed, job)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return claimed
"""

_COMPLETE = """
-- KEYS: due, jobs, claims; ARGV: id, token
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Timer:
    id: str
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Claim:
    timer: Timer
    token: str


def job_json(kind: str, data: dict[str, Any]) -> str:
    return json.dumps({"kind": kind, **data}, sort_keys=True)


def due_score(due: datetime | None) -> float:
    return AT_ONCE if due is None else due.timestamp()


async def schedule(
    redis: Redis, timer_id: str, kind: str, data: dict[str, Any], due: datetime | None = None
) -> bool:
    """Keep `kind` work due at `due` (None: at once); False when that timer exists already."""
    pipe = redis.pipeline(transaction=True)
    pipe.hsetnx(JOBS, timer_id, job_json(kind, data))
    pipe.zadd(DUE, {timer_id: due_score(due)}, nx=True)
    created, _ = await pipe.execute()
    return bool(created)


async def claim_due(
    redis: Redis, now: datetime, *, lease: timedelta, limit: int = 10
) -> list[Claim]:
    """Claim up to `limit` timers due at `now`, each for `lease`: nobody else gets them then."""
    token = secrets.token_hex(8)
    lease_end = (now + lease).timestamp()
    found = await redis.register_script(_CLAIM)(
        keys=[DUE, JOBS, CLAIMS], args=[now.timestamp(), lease_end, token, limit]
    )
    claims = []
    for timer_id, job in zip(found[::2], found[1::2], strict=True):
        data = json.loads(job)
        claims.append(Claim(Timer(timer_id, data.pop("kind"), data), token))
    return claims


async def complete(redis: Redis, claim: Claim) -> bool:
    """Done: the timer goes away. False when the claim had lapsed and another worker holds it."""
    done = await redis.register_script(_COMPLETE)(
        keys=[DUE, JOBS, CLAIMS], args=[claim.timer.id, claim.token]
    )
    return bool(done)


async def pending(redis: Redis) -> list[tuple[Timer, float]]:
    """Every timer with its due score, the earliest first (for admins and tests)."""
    entries = await redis.zrange(DUE, 0, -1, withscores=True)
    jobs = await redis.hmget(JOBS, [timer_id for timer_id, _ in entries]) if entries else []
    timers = []
    for (timer_id, score), job in zip(entries, jobs, strict=True):
        if job is not None:
            data = json.loads(job)
            timers.append((Timer(timer_id, data.pop("kind"), data), score))
    return timers
