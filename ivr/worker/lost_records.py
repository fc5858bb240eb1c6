"""Closing the records nobody will finish: the call's channel is gone from Asterisk, but its
record is still open (the worker handling it died, or its last writes never reached Redis).

Every worker sweeps; the close is conditional in Redis, so two workers never close one record
twice, and a record is closed only once its channel has been missing for two sweeps in a row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from ivr.ari.client import AriError
from ivr.store import calls
from ivr.worker.runtime import Runtime

log = logging.getLogger(__name__)

SWEEP_SECONDS = 5.0
REASON = "the channel was gone and nobody had finished the record"

ChannelsAlive = Callable[[set[str]], Awaitable[set[str]]]  # of these ids, those Asterisk has


class LostRecordSweeper:
    def __init__(self, runtime: Runtime, channels_alive: ChannelsAlive) -> None:
        self._runtime = runtime
        self._channels_alive = channels_alive
        self._missing_once: set[str] = set()

    async def sweep(self) -> list[str]:
        """One sweep; the ids of the records it closed."""
        open_calls = await calls.open_calls(self._runtime.redis)
        if not open_calls:
            self._missing_once.clear()
            return []
        alive = await self._channels_alive(set(open_calls))
        missing = {call_id for call_id in open_calls if call_id not in alive}
        closing, self._missing_once = missing & self._missing_once, missing - self._missing_once
        closed = []
        for call_id in sorted(closing):
            if await calls.close_lost_call(
                self._runtime.redis, call_id, self._runtime.now(), REASON
            ):
                closed.append(call_id)
        if closed:
            log.warning("closed %d record(s) left open by calls that are gone", len(closed))
        return closed

    async def run(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except (RedisError, OSError, AriError) as error:
                log.info("no sweep of lost records this time (%s)", error)
