"""Callback requests: the desk forwards a caller's problem to the technician on standby, with
the first-reaction due time of the caller's contract; admins see the open ones and close them.

Keys:
- `winet:requests:last-id`  the highest request number given out
- `winet:request:<n>`       hash  field -> JSON value (the fields of CallbackRequest)
- `winet:requests:open`     sorted set  request number by first-reaction due (epoch; none: +inf)
- `winet:requests:closed`   sorted set  request number by closing time
- `winet:requests:by-call`  hash  call id -> number of the call's open request
A call has at most one open request. A closed request expires `RETENTION` after closing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ivr.store import key

LAST_ID = key("requests", "last-id")
OPEN = key("requests", "open")
CLOSED = key("requests", "closed")
BY_CALL = key("requests", "by-call")
_REQUEST_PREFIX = key("request", "")
RETENTION = timedelta(days=90)

_ALREADY_OPEN = "request already open"
_NOT_OPEN = "request not open"

_CREATE = f"""
-- KEYS: last id, open, by call; ARGV: request key prefix, call id, due score, field/value pairs
local existing = redis.call('HGET', KEYS[3], ARGV[2])
if existing then
  return redis.error_reply('{_ALREADY_OPEN} ' .. existing)
end
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', ARGV[1] .. id, 'request_id', id, unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[3], id)
redis.call('HSET', KEYS[3], ARGV[2], id)
return id
"""

_CLOSE = f"""
-- KEYS: request, open, closed, by call; ARGV: id, closed score, oldest kept score,
--       retention seconds, field/value pairs
if redis.call('ZSCORE', KEYS[2], ARGV[1]) == false then
  return redis.error_reply('{_NOT_OPEN}')
end
local call_id = cjson.decode(redis.call('HGET', KEYS[1], 'call_id'))
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[3])
if redis.call('HGET', KEYS[4], call_id) == ARGV[1] then
  redis.call('HDEL', KEYS[4], call_id)
end
return 1
"""


@dataclass(frozen=True)
class CallbackRequest:
    request_id: int
    call_id: str
    customer_id: str | None
    customer_name: str | None
    caller_number: str | None
    problem: str
    technician_id: str
    technician_name: str
    first_reaction_due: datetime | None
    created_by: str
    created_at: datetime
    status: str  # "open" or "closed"
    closed_by: str | None = None
    closed_at: datetime | None = None
    resolution: str | None = None


class RequestAlreadyOpen(Exception):
    def __init__(self, call_id: str, request_id: int) -> None:
        self.call_id = call_id
        self.request_id = request_id
        super().__init__(f"call {call_id} already has the open callback request #{request_id}")


class RequestNotOpen(LookupError):
    def __init__(self, request_id: int) -> None:
        self.request_id = request_id
        super().__init__(f"callback request #{request_id} is not open (closed, or never made)")


async def create_request(
    redis: Redis,
    *,
    call_id: str,
    customer_id: str | None,
    customer_name: str | None,
    caller_number: str | None,
    problem: str,
    technician_id: str,
    technician_name: str,
    first_reaction_due: datetime | None,
    created_by: str,
    now: datetime,
) -> CallbackRequest:
    """Open a request for the call; RequestAlreadyOpen when the call has one."""
    fields = {
        "call_id": call_id,
        "customer_id": customer_id,
        "customer_name": customer_name,
        "caller_number": caller_number,
        "problem": problem,
        "technician_id": technician_id,
        "technician_name": technician_name,
        "first_reaction_due": first_reaction_due,
        "created_by": created_by,
        "created_at": now,
        "status": "open",
    }
    due = first_reaction_due.timestamp() if first_reaction_due else "+inf"
    try:
        request_id = await redis.register_script(_CREATE)(
            keys=[LAST_ID, OPEN, BY_CALL],
            args=[_REQUEST_PREFIX, call_id, due, *_pairs(fields)],
        )
    except ResponseError as error:
        if _ALREADY_OPEN in str(error):
            raise RequestAlreadyOpen(call_id, int(str(error).rsplit(" ", 1)[1])) from None
        raise
    return _request({**fields, "request_id": int(request_id)})


async def close_request(
    redis: Redis, request_id: int, *, closed_by: str, resolution: str, now: datetime
) -> None:
    """Close an open request; RequestNotOpen when it is not open."""
    fields = {
        "status": "closed",
        "closed_by": closed_by,
        "closed_at": now,
        "resolution": resolution,
    }
    oldest = (now - RETENTION).timestamp()
    try:
        await redis.register_script(_CLOSE)(
            keys=[_request_key(request_id), OPEN, CLOSED, BY_CALL],
            args=[
                request_id,
                now.timestamp(),
                oldest,
                int(RETENTION.total_seconds()),
                *_pairs(fields),
            ],
        )
    except ResponseError as error:
        if _NOT_OPEN in str(error):
            raise RequestNotOpen(request_id) from None
        raise


async def get_request(redis: Redis, request_id: int) -> CallbackRequest | None:
    fields = await redis.hgetall(_request_key(request_id))
    return _decode(fields) if fields else None


async def open_requests(redis: Redis) -> list[CallbackRequest]:
    """The open requests, the earliest due first (those without a due time last)."""
    return await _requests(redis, await redis.zrange(OPEN, 0, -1))


async def closed_requests(redis: Redis, limit: int = 50) -> list[CallbackRequest]:
    """The latest closed requests, the last closed first."""
    return await _requests(redis, await redis.zrevrange(CLOSED, 0, limit - 1))


async def _requests(redis: Redis, ids: list[str]) -> list[CallbackRequest]:
    pipe = redis.pipeline(transaction=False)
    for request_id in ids:
        pipe.hgetall(_request_key(int(request_id)))
    return [_decode(fields) for fields in await pipe.execute() if fields]


def _pairs(fields: dict[str, Any]) -> list[str]:
    return [item for name, value in fields.items() for item in (name, _dumps(value))]


def _dumps(value: Any) -> str:
    return json.dumps(value.isoformat() if isinstance(value, datetime) else value)


def _decode(fields: dict[str, str]) -> CallbackRequest:
    return _request({name: json.loads(value) for name, value in fields.items()})


def _request(data: dict[str, Any]) -> CallbackRequest:
    data = dict(data)
    for name in ("first_reaction_due", "created_at", "closed_at"):
        if isinstance(data.get(name), str):
            data[name] = datetime.fromisoformat(data[name])
    return CallbackRequest(**data)


def _request_key(request_id: int) -> str:
    return _REQUEST_PREFIX + str(request_id)
