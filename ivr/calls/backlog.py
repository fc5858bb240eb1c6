"""Call-record changes that Redis did not take, kept in order and applied once it answers again.

The record writer (`ivr.calls.writer`) hands a change Redis did not take, and every later change
of the same call, to the backlog, so a call's events keep their order and the caller never
waits on Redis. The worker replays the backlog every `RETRY_SECONDS` until it is empty.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.store import calls
from ivr.store.calls import RecordChange

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
LIMIT = 200_000  # changes kept at most; past that the oldest are dropped (and counted)


class RecordBacklog:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._writes: deque[RecordChange] = deque()
        self._calls: dict[str, int] = {}  # call id -> changes waiting
        self.dropped = 0
        self.replayed = 0

    def __len__(self) -> int:
        return len(self._writes)

    def holds(self, call_id: str) -> bool:
        """True while changes of this call wait: later ones must queue behind them."""
        return call_id in self._calls

    def keep(self, change: RecordChange) -> None:
        if len(self._writes) >= LIMIT:
            self._forget(self._writes.popleft())
            self.dropped += 1
        self._writes.append(change)
        self._calls[change.call_id] = self._calls.get(change.call_id, 0) + 1

    async def replay(self) -> int:
        """Apply what waits, oldest first, until done or Redis fails again; how many."""
        done = 0
        while self._writes:
            pending = self._writes[0]
            try:
                await calls.apply(self._redis, pending)
            except (RedisError, OSError):
                break
            except calls.UnknownCall:
                log.warning("call %s: a kept record change has no record to go to", pending.call_id)
            self._forget(self._writes.popleft())
            done += 1
        self.replayed += done
        if done:
            log.info("applied %d kept call-record change(s); %d still wait", done, len(self))
        return done

    async def run(self) -> None:
        """Replay every RETRY_SECONDS, for as long as the worker runs."""
        while True:
            await asyncio.sleep(RETRY_SECONDS)
            if self._writes:
                await self.replay()

    def _forget(self, pending: RecordChange) -> None:
        left = self._calls[pending.call_id] - 1
        if left:
            self._calls[pending.call_id] = left
        else:
            del self._calls[pending.call_id]
