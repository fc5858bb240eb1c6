"""Requests to the 2nd level (`ivr.requests.model`): created, notified, acknowledged, contacted,
resolved. Creating a request also schedules its first notification (a timer, `ivr.store.timers`)
in the same atomic step, so no request is ever left without one.

Keys:
- `winet:requests:last-id`      the highest request number given out
- `winet:request:<n>`           hash  field -> JSON value (the fields of Request but history)
                                and `notify_step` "<round>:<position>": who of the on-call
                                order is being notified (`advance_step`)
- `winet:request:<n>:history`   list  JSON {at, kind, ...}: kind `created`, `state` (action,
                                state, by), `notification` (to, channel, result), `escalation`
                                (level, to, reason), `incident` (incident, by)
- `winet:requests:active`       sorted set  number of each request not yet closed, by
                                first-reaction due (epoch; none: +inf)
- `winet:requests:closed`       sorted set  number by closing time
- `winet:requests:by-call`      hash  call id -> number of the call's active request
A call has at most one active request. A closed request expires `RETENTION` after closing.
State changes are compare-and-set on the state read, so two people acting at once never both
win: the second is told what happened.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ivr.requests.model import (
    FINAL_STATES,
    NewRequest,
    Request,
    TransitionRefused,
    transition,
)
from ivr.store import key, timers

LAST_ID = key("requests", "last-id")
ACTIVE = key("requests", "active")
CLOSED = key("requests", "closed")
BY_CALL = key("requests", "by-call")
_REQUEST_PREFIX = key("request", "")
RETENTION = timedelta(days=90)
NOTIFY = "notify"  # the timer kind of a notification to the technicians

_ALREADY_OPEN = "request already open"
_NO_REQUEST = "no such request"
_STATE_CHANGED = "state changed"
_DATETIMES = (
    "created_at",
    "first_reaction_due",
    "acknowledged_at",
    "first_contact_at",
    "resolved_at",
    "breached_at",
)

_CREATE = f"""
-- KEYS: last id, active, by call, timers due, timer jobs
-- ARGV: request key prefix, call id ('' for none), due score, created event (JSON),
--       field/value pairs
if ARGV[2] ~= '' then
  local existing = redis.call('HGET', KEYS[3], ARGV[2])
  if existing then
    return redis.error_reply('{_ALREADY_OPEN} ' .. existing)
  end
end
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', ARGV[1] .. id, 'id', id, unpack(ARGV, 5))
redis.call('RPUSH', ARGV[1] .. id .. ':history', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], id)
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[2], id)
end
local timer = '{NOTIFY}:' .. id .. ':0:0'
local job = cjson.encode({{kind = '{NOTIFY}', request_id = id, round = 0, position = 0}})
redis.call('HSETNX', KEYS[5], timer, job)
redis.call('ZADD', KEYS[4], 'NX', {timers.AT_ONCE}, timer)
return id
"""

_TRANSITION = f"""
-- KEYS: request, history, active, closed, by call
-- ARGV: id, expected state (JSON), closes (1/0), now score, oldest kept score,
--       retention seconds, event (JSON), field/value pairs
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return redis.error_reply('{_NO_REQUEST}')
end
if state ~= ARGV[2] then
  return redis.error_reply('{_STATE_CHANGED}')
end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('RPUSH', KEYS[2], ARGV[7])
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  redis.call('EXPIRE', KEYS[2], ARGV[6])
  local call_id = cjson.decode(redis.call('HGET', KEYS[1], 'call_id'))
  if type(call_id) == 'string' and redis.call('HGET', KEYS[5], call_id) == ARGV[1] then
    redis.call('HDEL', KEYS[5], call_id)
  end
end
return 1
"""


class RequestAlreadyOpen(Exception):
    def __init__(self, call_id: str, request_id: int) -> None:
        self.call_id = call_id
        self.request_id = request_id
        super().__init__(f"call {call_id} already has the active request #{request_id}")


class UnknownRequest(LookupError):
    def __init__(self, request_id: int) -> None:
        self.request_id = request_id
        super().__init__(f"there is no request #{request_id}")


async def create_request(redis: Redis, new: NewRequest, *, now: datetime) -> Request:
    """Store a new request (state open) and schedule its first notification at once.

    RequestAlreadyOpen when its call already has an active request.
    """
    fields = {
        "summary": new.summary,
        "source": new.source,
        "created_by": new.created_by,
        "created_at": now,
        "state": "open",
        "customer_id": new.customer_id,
        "customer_name": new.customer_name,
        "tier": new.tier,
        "call_id": new.call_id,
        "callback_number": new.callback_number,
        "first_reaction_due": new.first_reaction_due,
        "holder": new.holder,
        "covered": new.covered,
    }
    due = new.first_reaction_due.timestamp() if new.first_reaction_due else "+inf"
    created = {"at": now, "kind": "created", "source": new.source, "by": new.created_by}
    try:
        request_id = await redis.register_script(_CREATE)(
            keys=[LAST_ID, ACTIVE, BY_CALL, timers.DUE, timers.JOBS],
            args=[_REQUEST_PREFIX, new.call_id or "", due, _dumps(created), *_pairs(fields)],
        )
    except ResponseError as error:
        if _ALREADY_OPEN in str(error):
            existing = int(str(error).rsplit(" ", 1)[1])
            raise RequestAlreadyOpen(new.call_id or "", existing) from None
        raise
    return _request({**fields, "id": int(request_id)}, [json.loads(_dumps(created))])


async def act(
    redis: Redis, request_id: int, action: str, *, now: datetime, **details: Any
) -> Request:
    """Carry out `action` (ack, contact, resolve, cancel, withdraw) with `details` as
    `ivr.requests.model.transition` takes them; the request as it is afterwards.

    UnknownRequest, or TransitionRefused when the state does not allow it (also when someone
    else changed it a moment before).
    """
    for _ in range(3):
        request = await get_request(redis, request_id)
        if request is None:
            raise UnknownRequest(request_id)
        change = transition(request, action, now=now, **details)
        closes = change.state in FINAL_STATES
        try:
            await redis.register_script(_TRANSITION)(
                keys=[_key(request_id), _history_key(request_id), ACTIVE, CLOSED, BY_CALL],
                args=[
                    request_id,
                    _dumps(change.from_state),
                    int(closes),
                    now.timestamp(),
                    (now - RETENTION).timestamp(),
                    int(RETENTION.total_seconds()),
                    _dumps(change.event),
                    *_pairs(change.fields),
                ],
            )
        except ResponseError as error:
            if _STATE_CHANGED in str(error):
                continue  # read again: the refusal then names the new state
            if _NO_REQUEST in str(error):
                raise UnknownRequest(request_id) from None
            raise
        return await get_request(redis, request_id)  # type: ignore[return-value]
    raise TransitionRefused(f"request #{request_id} keeps changing; try again")


async def add_event(
    redis: Redis, request_id: int, kind: str, now: datetime, **details: Any
) -> None:
    """Keep a notification or escalation in the request's history."""
    await redis.rpush(_history_key(request_id), _dumps({"at": now, "kind": kind, **details}))


_ADVANCE = """
-- KEYS: request; ARGV: the step expected (JSON), the next step (JSON)
if (redis.call('HGET', KEYS[1], 'notify_step') or '"0:0"') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'notify_step', ARGV[2])
return 1
"""


async def advance_step(
    redis: Redis, request_id: int, step: tuple[int, int], following: tuple[int, int]
) -> bool:
    """Move the request's notification on from `step` (round, position) to `following`;
    False when someone else moved it on already (so it is moved on once)."""
    moved = await redis.register_script(_ADVANCE)(
        keys=[_key(request_id)], args=[_dumps(_step(*step)), _dumps(_step(*following))]
    )
    return bool(moved)


async def notify_step(redis: Redis, request_id: int) -> tuple[int, int]:
    """The (round, position) of the on-call order the request's notification is at."""
    step = json.loads(await redis.hget(_key(request_id), "notify_step") or '"0:0"')
    round_, position = step.split(":")
    return int(round_), int(position)


def _step(round_: int, position: int) -> str:
    return f"{round_}:{position}"


async def mark_breached(redis: Redis, request_id: int, now: datetime, reason: str, to: str) -> None:
    """The due time passed without a first contact: the request shows as breached (an
    escalation `to` whoever is told, with `reason`)."""
    pipe = redis.pipeline(transaction=True)
    pipe.hset(
        _key(request_id), mapping={"breached_at": _dumps(now), "breach_reason": _dumps(reason)}
    )
    pipe.rpush(
        _history_key(request_id),
        _dumps({"at": now, "kind": "escalation", "level": "breach", "to": to, "reason": reason}),
    )
    await pipe.execute()


async def attach_incident(
    redis: Redis, request_id: int, incident_id: int, *, by: str, now: datetime
) -> Request:
    """Attach the request to a major incident (recorded in its history); UnknownRequest."""
    if not await redis.exists(_key(request_id)):
        raise UnknownRequest(request_id)
    pipe = redis.pipeline(transaction=True)
    pipe.hset(_key(request_id), "incident", _dumps(incident_id))
    pipe.rpush(
        _history_key(request_id),
        _dumps({"at": now, "kind": "incident", "incident": incident_id, "by": by}),
    )
    await pipe.execute()
    return await get_request(redis, request_id)  # type: ignore[return-value]


async def set_holder(redis: Redis, request_id: int, technician_id: str) -> None:
    """The technician the request is with while it is not acknowledged (being notified)."""
    await redis.hset(_key(request_id), "holder", _dumps(technician_id))


async def get_request(redis: Redis, request_id: int) -> Request | None:
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(_key(request_id))
    pipe.lrange(_history_key(request_id), 0, -1)
    fields, history = await pipe.execute()
    return _decode(fields, history) if fields else None


async def active_requests(redis: Redis) -> list[Request]:
    """The requests not yet closed, the earliest due first (those without a due time last)."""
    return await _requests(redis, await redis.zrange(ACTIVE, 0, -1))


async def closed_requests(redis: Redis, limit: int = 50) -> list[Request]:
    """The latest closed requests, the last closed first."""
    return await _requests(redis, await redis.zrevrange(CLOSED, 0, limit - 1))


async def all_requests(redis: Redis) -> list[Request]:
    """Every request still kept (closed ones expire `RETENTION` after closing), by number."""
    last = int(await redis.get(LAST_ID) or 0)
    found: list[Request] = []
    for first in range(1, last + 1, _BATCH):
        found += await _requests(
            redis, [str(n) for n in range(first, min(first + _BATCH, last + 1))]
        )
    return found


_BATCH = 500


async def _requests(redis: Redis, ids: list[str]) -> list[Request]:
    pipe = redis.pipeline(transaction=False)
    for request_id in ids:
        pipe.hgetall(_key(int(request_id)))
        pipe.lrange(_history_key(int(request_id)), 0, -1)
    answers = await pipe.execute()
    return [
        _decode(fields, history)
        for fields, history in zip(answers[::2], answers[1::2], strict=True)
        if fields
    ]


def _pairs(fields: dict[str, Any]) -> list[str]:
    return [item for name, value in fields.items() for item in (name, _dumps(value))]


def _dumps(value: Any) -> str:
    if isinstance(value, dict):
        value = {name: _plain(item) for name, item in value.items()}
    return json.dumps(_plain(value), ensure_ascii=False)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _decode(fields: dict[str, str], history: list[str]) -> Request:
    data = {name: json.loads(value) for name, value in fields.items()}
    return _request(data, [json.loads(entry) for entry in history])


def _request(data: dict[str, Any], history: list[dict[str, Any]]) -> Request:
    data = {name: value for name, value in data.items() if name in _FIELDS}
    for name in _DATETIMES:
        if isinstance(data.get(name), str):
            data[name] = datetime.fromisoformat(data[name])
    return Request(**data, history=tuple(history))


_FIELDS = set(Request.__dataclass_fields__) - {"history"}


def _key(request_id: int) -> str:
    return _REQUEST_PREFIX + str(request_id)


def _history_key(request_id: int) -> str:
    return _key(request_id) + ":history"
