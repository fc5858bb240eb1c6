"""The worker's call-record writer: every call's record changes, sent to Redis together.

A change waits at most `window` seconds; then every change waiting, of every call, goes in one
round trip, in the order the changes were made. A flow never waits for Redis: it makes the
change and goes on, and only the end of a call waits until its record is written (`written`).
With several calls a second, one round trip carries the changes of many calls, which saves the
worker, Redis and the kernel most of their per-write work.

A change Redis did not take goes to the backlog (`ivr.calls.backlog`), and so does every later
change of that call, so a call's events keep their order; the worker replays the backlog.
Without a window (`window=None`, for tools and tests) each change is written at once and its
maker waits for it.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.calls.backlog import RecordBacklog
from ivr.store import calls
from ivr.store.calls import RecordChange

log = logging.getLogger(__name__)

WINDOW_SECONDS = 0.1


class RecordWriter:
    def __init__(
        self, redis: Redis, backlog: RecordBacklog, window: float | None = WINDOW_SECONDS
    ) -> None:
        self._backlog = backlog
        self.round_trips = 0
        self._redis = redis
        self._window = window
        self._waiting: list[tuple[RecordChange, asyncio.Future[None]]] = []
        self._last: dict[str, asyncio.Future[None]] = {}  # call id -> its latest change
        self._sender: asyncio.Task[None] | None = None
        self._no_more_waiting = asyncio.Event()  # set by drain: the window is over

    async def submit(self, change: RecordChange) -> None:
        """Write the change with the next batch; return at once (without a window: once it is
        written, or kept in the backlog)."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((change, done))
        self._last[change.call_id] = done
        done.add_done_callback(lambda _: self._forget(change.call_id, done))
        if self._window is None:
            await self._send_waiting()
            await done
        elif self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_soon(), name="record-writer")

    async def written(self, call_id: str) -> None:
        """Return once every change of the call made so far is written (or kept)."""
        last = self._last.get(call_id)
        if last is not None:
            await asyncio.shield(last)

    async def drain(self) -> None:
        """Write everything waiting now, and from now on each change at once (the worker
        stops)."""
        self._no_more_waiting.set()
        if self._sender is not None:
            await asyncio.shield(self._sender)
        await self._send_waiting()

    async def _send_soon(self) -> None:
        """Every window, the changes made meanwhile; until none are left."""
        while self._waiting:
            try:
                await asyncio.wait_for(self._no_more_waiting.wait(), self._window)
            except TimeoutError:
                pass
            await self._send_batch()

    async def _send_waiting(self) -> None:
        while self._waiting:
            await self._send_batch()

    async def _send_batch(self) -> None:
        batch, self._waiting = self._waiting, []
        try:
            await self._send([change for change, _ in batch])
        finally:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _send(self, batch: list[RecordChange]) -> None:
        changes = []
        for change in batch:
            if self._backlog.holds(change.call_id):
                self._backlog.keep(change)  # behind the call's earlier changes
            else:
                changes.append(change)
        if not changes:
            return
        self.round_trips += 1
        try:
            results = await calls.apply_all(self._redis, changes)
        except (RedisError, OSError) as error:
            log.error("%d call-record change(s) kept until Redis answers (%s)", len(changes), error)
            for change in changes:
                self._backlog.keep(change)
            return
        for result in results:
            if isinstance(result, calls.UnknownCall):
                log.error("call %s: %s", result.call_id, result)

    def _forget(self, call_id: str, done: asyncio.Future[None]) -> None:
        if self._last.get(call_id) is done:
            del self._last[call_id]
