"""Call records: a summary and a timeline of events for every call.

Keys:
- `winet:call:<id>`          hash  summary field -> JSON value
- `winet:call:<id>:events`   list  JSON events {"kind", "at", ...data}, oldest first
- `winet:calls:by-start`     sorted set  call id by start time (epoch seconds)
- `winet:calls:open`         set  ids of the calls started and not yet finished
Both per-call keys expire `retention` after the call started (90 days unless told);
older ids leave the sorted set when later calls start.

Every change is one run of a Lua script: it changes the record and, while anyone follows the
channel `winet:calls` (the desk view, `subscribe_calls`), publishes there the call id, the whole
summary and the new event, if any. With nobody following, nothing is read back or sent. A
change is made (`opened`, `event_added`, ...) apart from being applied, so that a writer can
send many in one round trip (`apply_all`); `start_call`, `add_event`, ... do both at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis

from ivr.calls.summary import unknown_fields
from ivr.store import key
from ivr.store.pubsub import Subscription

CHANNEL = key("calls")
BY_START = key("calls", "by-start")
OPEN = key("calls", "open")
RETENTION = timedelta(days=90)

_WRITE = """
-- Changes to call records, applied in order. KEYS: ids by start, open ids, then per change its
-- summary hash and events list. ARGV: the live channel, then per change: how many arguments
-- follow (call id, event JSON or '', start score or '' (not a start), retention seconds,
-- oldest start kept, ending ('', 'finish' or 'finish-if-open'), summary field/value pairs).
-- Per change: 1 applied, 0 a finish-if-open of a finished call, -1 no record of the call.
local by_start, open, channel = KEYS[1], KEYS[2], ARGV[1]
local watched = redis.call('PUBSUB', 'NUMSUB', channel)[2] > 0

local function apply(summary, events, first, last)
  local call_id, event, start = ARGV[first], ARGV[first + 1], ARGV[first + 2]
  local ending = ARGV[first + 5]
  if start ~= '' then
    redis.call('DEL', summary, events)
    redis.call('ZADD', by_start, start, call_id)
    redis.call('ZREMRANGEBYSCORE', by_start, '-inf', '(' .. ARGV[first + 4])
    redis.call('SADD', open, call_id)
  elseif redis.call('EXISTS', summary) == 0 then
    redis.call('SREM', open, call_id)
    return -1
  elseif ending == 'finish-if-open' and redis.call('HEXISTS', summary, 'ended_at') == 1 then
    redis.call('SREM', open, call_id)
    return 0
  end
  if last >= first + 6 then
    redis.call('HSET', summary, unpack(ARGV, first + 6, last))
  end
  if event ~= '' then
    redis.call('RPUSH', events, event)
  end
  if start ~= '' then
    redis.call('EXPIRE', summary, ARGV[first + 3])
    redis.call('EXPIRE', events, ARGV[first + 3])
  end
  if ending ~= '' then
    redis.call('SREM', open, call_id)
  end
  if watched then
    local change = {call_id = call_id, summary = redis.call('HGETALL', summary)}
    if event ~= '' then
      change.event = event
    end
    redis.call('PUBLISH', channel, cjson.encode(change))
  end
  return 1
end

local results, at = {}, 2
for key = 3, #KEYS, 2 do
  local count = tonumber(ARGV[at])
  results[#results + 1] = apply(KEYS[key], KEYS[key + 1], at + 1, at + count)
  at = at + count + 1
end
return results
"""
_APPLIED, _NOT_OPEN, _UNKNOWN = 1, 0, -1
_AS_BEFORE = (  # as json.dumps wrote them: dates by `_jsonable`, keys made strings
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)


class UnknownCall(LookupError):
    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        super().__init__(f"no record of call {call_id!r}: start_call first")


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    summary: dict[str, Any]
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class CallChange:
    """A change published live: the whole summary, and the event it added, if any."""

    call_id: str
    summary: dict[str, Any]
    event: dict[str, Any] | None


@dataclass(frozen=True)
class RecordChange:
    """One change to a call's record, ready to apply: its keys and arguments in the write
    script (summary hash and events list; call id, event, start, retention, ending, fields)."""

    call_id: str
    keys: tuple[str, ...]
    args: tuple[Any, ...]


def opened(
    call_id: str,
    caller_number: str | None,
    started_at: datetime,
    *,
    retention: timedelta = RETENTION,
    **fields: Any,
) -> RecordChange:
    """Open the record (replacing any earlier one with this id) with a `started` event."""
    summary = {
        "call_id": call_id,
        "caller_number": caller_number,
        "started_at": started_at,
        **fields,
    }
    return _change(
        call_id,
        summary,
        _event("started", started_at, {"caller_number": caller_number}),
        start=started_at,
        retention=retention,
    )


def event_added(call_id: str, kind: str, at: datetime, **data: Any) -> RecordChange:
    """Append to the call's timeline; `data` must be JSON-serialisable (datetimes are fine)."""
    return _change(call_id, {}, _event(kind, at, data))


def fields_set(call_id: str, **fields: Any) -> RecordChange:
    """Set summary fields: customer_id, tier, covered, identified, outcome, ..."""
    return _change(call_id, fields, None)


def fields_and_event(
    call_id: str, fields: dict[str, Any], kind: str, at: datetime, **data: Any
) -> RecordChange:
    """Set summary fields and append to the timeline in one change (one change published)."""
    return _change(call_id, fields, _event(kind, at, data))


def finished(
    call_id: str,
    ended_at: datetime,
    outcome: str,
    hangup_side: str | None,
    hangup_cause: str | int | None,
    *,
    if_open: bool = False,
) -> RecordChange:
    """Close the record: summary fields and an `ended` event in one change. `if_open`: unless
    it is finished already (for writers that may come upon a call twice)."""
    ending = {"outcome": outcome, "hangup_side": hangup_side, "hangup_cause": hangup_cause}
    return _change(
        call_id,
        {"ended_at": ended_at, **ending},
        _event("ended", ended_at, ending),
        ending="finish-if-open" if if_open else "finish",
    )


async def start_call(
    redis: Redis,
    call_id: str,
    caller_number: str | None,
    started_at: datetime,
    *,
    retention: timedelta = RETENTION,
    **fields: Any,
) -> None:
    await apply(redis, opened(call_id, caller_number, started_at, retention=retention, **fields))


async def add_event(redis: Redis, call_id: str, kind: str, at: datetime, **data: Any) -> None:
    await apply(redis, event_added(call_id, kind, at, **data))


async def update_call(redis: Redis, call_id: str, **fields: Any) -> None:
    await apply(redis, fields_set(call_id, **fields))


async def update_call_with_event(
    redis: Redis, call_id: str, fields: dict[str, Any], kind: str, at: datetime, **data: Any
) -> None:
    await apply(redis, fields_and_event(call_id, fields, kind, at, **data))


async def finish_call(
    redis: Redis,
    call_id: str,
    ended_at: datetime,
    outcome: str,
    hangup_side: str | None,
    hangup_cause: str | int | None,
) -> None:
    await apply(redis, finished(call_id, ended_at, outcome, hangup_side, hangup_cause))


async def close_lost_call(redis: Redis, call_id: str, ended_at: datetime, reason: str) -> bool:
    """Close a record nobody finished (its channel is gone: the worker handling it died, or
    its last writes were lost), saying why; False if it was finished meanwhile. A call that a
    desk agent had answered reached the desk (outcome `desk`); any other is `lost`."""
    answered = await redis.hget(_summary_key(call_id), "desk_status") == _dumps("connected")
    outcome = "desk" if answered else "lost"
    return await finish_open_call(redis, call_id, ended_at, outcome, hangup_cause=reason)


async def finish_open_call(
    redis: Redis,
    call_id: str,
    ended_at: datetime,
    outcome: str,
    *,
    hangup_cause: str | int | None,
) -> bool:
    """Finish the record unless it is finished already (then False): for writers that may
    come upon a call twice."""
    return await apply(
        redis, finished(call_id, ended_at, outcome, None, hangup_cause, if_open=True)
    )


async def open_calls(redis: Redis) -> dict[str, datetime]:
    """The calls started and not finished, with their start."""
    ids = list(await redis.smembers(OPEN))
    if not ids:
        return {}
    scores = await redis.zmscore(BY_START, ids)
    return {
        call_id: datetime.fromtimestamp(score).astimezone()
        for call_id, score in zip(ids, scores, strict=True)
        if score is not None
    }


async def call_exists(redis: Redis, call_id: str) -> bool:
    return bool(await redis.exists(_summary_key(call_id)))


async def get_call(redis: Redis, call_id: str) -> CallRecord | None:
    pipe = redis.pipeline(transaction=True)
    pipe.hgetall(_summary_key(call_id))
    pipe.lrange(_events_key(call_id), 0, -1)
    summary, events = await pipe.execute()
    if not summary:
        return None
    return CallRecord(call_id, _decode_summary(summary), [json.loads(e) for e in events])


async def list_calls(
    redis: Redis, since: datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Summaries of the calls started at or after `since`, newest first, at most `limit`."""
    low = since.timestamp() if since else "-inf"
    ids = await redis.zrevrangebyscore(BY_START, "+inf", low, start=0, num=limit)
    if not ids:
        return []
    pipe = redis.pipeline(transaction=False)
    for call_id in ids:
        pipe.hgetall(_summary_key(call_id))
    return [_decode_summary(summary) for summary in await pipe.execute() if summary]


def subscribe_calls(redis: Redis) -> Subscription[CallChange]:
    """Every change to any call record, as it happens."""
    return Subscription(redis, CHANNEL, _decode_change)


async def apply(redis: Redis, change: RecordChange) -> bool:
    """Apply one change; False when a finish-if-open found the call finished already.
    UnknownCall when the record was never opened."""
    (result,) = await apply_all(redis, [change])
    if isinstance(result, UnknownCall):
        raise result
    return result


async def apply_all(redis: Redis, changes: list[RecordChange]) -> list[bool | UnknownCall]:
    """Apply changes in order, all in one script (atomic, one round trip); per change, what
    `apply` returns or raises. RedisError or OSError when Redis could not be reached (then none
    was applied).

    The script goes whole (EVAL): Redis keeps it compiled, and a Redis that restarted and forgot
    it still runs it, so no change ever waits for a script load."""
    keys: list[str] = [BY_START, OPEN]
    args: list[Any] = [CHANNEL]
    for change in changes:
        keys += change.keys
        args += [len(change.args), *change.args]
    results = await redis.eval(_WRITE, len(keys), *keys, *args)
    return [_result(change, result) for change, result in zip(changes, results, strict=True)]


def _result(change: RecordChange, result: int) -> bool | UnknownCall:
    if result == _UNKNOWN:
        return UnknownCall(change.call_id)
    return result == _APPLIED


def _change(
    call_id: str,
    fields: dict[str, Any],
    event: dict[str, Any] | None,
    *,
    start: datetime | None = None,
    retention: timedelta = RETENTION,
    ending: str = "",
) -> RecordChange:
    unknown = unknown_fields(set(fields) - {"call_id"})
    if unknown:
        raise ValueError(f"not fields of a call summary: {', '.join(unknown)}")
    start_score = start.timestamp() if start else None
    args: list[Any] = [
        call_id,
        _dumps(event) if event else "",
        start_score if start_score is not None else "",
        int(retention.total_seconds()),
        start_score - retention.total_seconds() if start_score is not None else "",
        ending,
    ]
    for name, value in fields.items():
        args += [name, _dumps(value)]
    return RecordChange(call_id, (_summary_key(call_id), _events_key(call_id)), tuple(args))


def _event(kind: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "at": at, **data}


def _dumps(value: Any) -> str:
    """Compact JSON, with dates as `isoformat` writes them. orjson: a call's record changes are
    a tenth of a worker's CPU with the standard library's encoder."""
    try:
        return orjson.dumps(value, default=_jsonable, option=_AS_BEFORE).decode()
    except orjson.JSONEncodeError as error:
        raise TypeError(str(error.__cause__ or error)) from None  # what `_jsonable` said


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable: {value!r}")


def _decode_summary(fields: dict[str, str]) -> dict[str, Any]:
    """The stored summary, plus `duration_seconds` once the call has ended."""
    summary = {name: json.loads(value) for name, value in fields.items()}
    if summary.get("started_at") and summary.get("ended_at"):
        started = datetime.fromisoformat(summary["started_at"])
        ended = datetime.fromisoformat(summary["ended_at"])
        summary["duration_seconds"] = round((ended - started).total_seconds(), 3)
    return summary


def _decode_change(message: str) -> CallChange:
    change = json.loads(message)
    pairs = change["summary"]
    summary = _decode_summary(dict(zip(pairs[0::2], pairs[1::2], strict=True)))
    event = json.loads(change["event"]) if "event" in change else None
    return CallChange(change["call_id"], summary, event)


def _summary_key(call_id: str) -> str:
    return key("call", call_id)


def _events_key(call_id: str) -> str:
    return key("call", call_id, "events")
