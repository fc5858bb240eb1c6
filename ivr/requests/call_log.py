"""What a call placed for a request records, in the request's history instead of a call record:
the leg to the customer and the bridge. The prompts the technician hears are not kept. Like a
call record, writing it never costs the call: a Redis failure is logged and the call goes on."""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.clock import Clock
from ivr.store import requests as request_store

log = logging.getLogger(__name__)


class RequestCallLog:
    def __init__(self, redis: Redis, request_id: int, call_id: str, clock: Clock) -> None:
        self.call_id = call_id
        self._redis = redis
        self._request_id = request_id
        self._clock = clock

    async def prompt(self, ids: list[str], lang: str, text: str | None = None) -> None:
        return None

    async def leg(self, kind: str, leg_id: str, result: str, **details: Any) -> None:
        await self._event("call_leg", role=kind, to=leg_id, result=result)

    async def bridged(self, kind: str, leg_id: str) -> None:
        await self._event("bridged", role=kind, to=leg_id, call=self.call_id)

    async def _event(self, kind: str, **details: Any) -> None:
        try:
            await request_store.add_event(
                self._redis, self._request_id, kind, self._clock(), **details
            )
        except RedisError as error:
            log.warning("request %s: could not record %s: %s", self._request_id, kind, error)
