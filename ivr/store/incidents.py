"""Major incidents: a serious problem with Winet's basic system services, declared by the chief
technician (or an admin). While one is active, callers hear an announcement after the greeting,
the desk view shows a banner, and requests may be attached to it.

Keys:
- `winet:incidents:last-id`  the highest incident number given out
- `winet:incident:active`    hash  field -> JSON value: id, summary, declared_by, declared_at
                             (absent: no major incident)
- `winet:incidents:ended`    list  JSON of the ended incidents (with ended_by, ended_at), the
                             latest first, the last `KEPT` of them
Declaring and ending also replace `winet:call-facts:version` (ivr.store.call_facts).
At most one incident is active; declaring and ending are atomic, so two people acting at once
never both win.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ivr.store import CALL_FACTS_VERSION, key, new_call_facts_version

LAST_ID = key("incidents", "last-id")
ACTIVE = key("incident", "active")
ENDED = key("incidents", "ended")
KEPT = 100
MAX_SUMMARY = 500

_ALREADY = "incident already active"
_NONE = "no incident active"

_DECLARE = f"""
-- KEYS: last id, active, call facts version
-- ARGV: summary, declared by, declared at (JSON each), new version
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.error_reply('{_ALREADY} ' .. redis.call('HGET', KEYS[2], 'id'))
end
redis.call('SET', KEYS[3], ARGV[4])
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], 'id', id, 'summary', ARGV[1], 'declared_by', ARGV[2],
           'declared_at', ARGV[3])
return id
"""

_END = f"""
-- KEYS: active, ended, call facts version; ARGV: ended by, ended at (JSON each), kept, new version
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  return redis.error_reply('{_NONE}')
end
redis.call('SET', KEYS[3], ARGV[4])
local ended = {{ended_by = cjson.decode(ARGV[1]), ended_at = cjson.decode(ARGV[2])}}
for i = 1, #fields, 2 do
  ended[fields[i]] = cjson.decode(fields[i + 1])
end
local entry = cjson.encode(ended)
redis.call('LPUSH', KEYS[2], entry)
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
redis.call('DEL', KEYS[1])
return entry
"""


@dataclass(frozen=True)
class Incident:
    id: int
    summary: str
    declared_by: str
    declared_at: datetime
    ended_by: str | None = None
    ended_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "summary": self.summary,
            "declared_by": self.declared_by,
            "declared_at": self.declared_at.isoformat(),
            "ended_by": self.ended_by,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }


class IncidentRefused(ValueError):
    """Declaring or ending is not possible now (or the summary is wrong); the message says why."""


async def declare(redis: Redis, summary: str, *, by: str, now: datetime) -> Incident:
    """Declare a major incident; IncidentRefused when one is active or the summary is bad."""
    summary = summary.strip()
    if not summary:
        raise IncidentRefused("the summary is empty: say what is wrong with which service")
    if len(summary) > MAX_SUMMARY:
        raise IncidentRefused(f"the summary is longer than {MAX_SUMMARY} characters")
    try:
        incident_id = await redis.register_script(_DECLARE)(
            keys=[LAST_ID, ACTIVE, CALL_FACTS_VERSION],
            args=[
                _dumps(summary),
                _dumps(by),
                _dumps(now.isoformat()),
                new_call_facts_version(),
            ],
        )
    except ResponseError as error:
        if _ALREADY in str(error):
            existing = str(error).rsplit(" ", 1)[1]
            raise IncidentRefused(
                f"major incident #{existing} is active already: end it first"
            ) from None
        raise
    return Incident(int(incident_id), summary, by, now)


async def end(redis: Redis, *, by: str, now: datetime) -> Incident:
    """End the active incident; IncidentRefused when there is none."""
    try:
        entry = await redis.register_script(_END)(
            keys=[ACTIVE, ENDED, CALL_FACTS_VERSION],
            args=[_dumps(by), _dumps(now.isoformat()), KEPT, new_call_facts_version()],
        )
    except ResponseError as error:
        if _NONE in str(error):
            raise IncidentRefused("there is no major incident to end") from None
        raise
    return _incident(json.loads(entry))


async def active(redis: Redis) -> Incident | None:
    """The major incident going on, if any."""
    fields = await redis.hgetall(ACTIVE)
    if not fields:
        return None
    return _incident({name: json.loads(value) for name, value in fields.items()})


async def ended(redis: Redis, limit: int = 10) -> list[Incident]:
    """The latest ended incidents, the last ended first."""
    return [_incident(json.loads(entry)) for entry in await redis.lrange(ENDED, 0, limit - 1)]


def _incident(data: dict[str, Any]) -> Incident:
    return Incident(
        id=int(data["id"]),
        summary=data["summary"],
        declared_by=data["declared_by"],
        declared_at=datetime.fromisoformat(data["declared_at"]),
        ended_by=data.get("ended_by"),
        ended_at=datetime.fromisoformat(data["ended_at"]) if data.get("ended_at") else None,
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
