"""The record of one call, written as the call goes (summary fields and a timeline of events).

Writing the record must never cost the caller their call: when Redis fails, the record logs
the failure once, stops writing for this call, and the call goes on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.clock import Clock
from ivr.store import calls

log = logging.getLogger(__name__)


class CallLog:
    def __init__(self, redis: Redis, call_id: str, clock: Clock) -> None:
        self.call_id = call_id
        self.summary: dict[str, Any] = {}
        self._redis = redis
        self._clock = clock
        self._writing = True

    async def start(self, caller_number: str, **fields: Any) -> None:
        self.summary.update(caller_number=caller_number, **fields)
        await self._write(calls.start_call, self.call_id, caller_number, self._clock(), **fields)

    async def update(self, **fields: Any) -> None:
        self.summary.update(fields)
        await self._write(calls.update_call, self.call_id, **fields)

    async def event(self, kind: str, **data: Any) -> None:
        await self._write(calls.add_event, self.call_id, kind, self._clock(), **data)

    async def finish(self, outcome: str, hangup_side: str | None, cause: str | int | None) -> None:
        self.summary.update(outcome=outcome, hangup_side=hangup_side, hangup_cause=cause)
        await self._write(
            calls.finish_call, self.call_id, self._clock(), outcome, hangup_side, cause
        )

    def at(self) -> datetime:
        return self._clock()

    async def _write(self, write, *args: Any, **kwargs: Any) -> None:
        if not self._writing:
            return
        try:
            await write(self._redis, *args, **kwargs)
        except (RedisError, OSError, calls.UnknownCall) as error:
            self._writing = False
            log.error("call %s: record not written from here on (%s)", self.call_id, error)
