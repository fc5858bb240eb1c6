"""The live list of calls routed to the desk, shared by every desk view this server shows.

One subscription to the call records feeds it while at least one desk view listens: it
first subscribes, then reads the recent calls, then applies each published change (the whole
summary and the event it added), so no change falls between the read and the subscription.
Every desk view listens to it and gets each change of a desk call as it happens. A lost Redis
connection is retried; every listener then gets the whole list again. When the last view has
gone for IDLE_SECONDS, the board stops following: nobody watching costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.clock import Clock
from ivr.store.calls import CallChange, get_call, list_calls, subscribe_calls
from ivr.store.pubsub import stop_follower
from ivr.web.desk_cards import DeskCard, desk_card, is_desk_call

log = logging.getLogger(__name__)

DESK_WINDOW = timedelta(hours=24)  # desk calls started this long ago are still listed
MAX_DESK_CALLS = 200
STALE_CALL = timedelta(hours=2)  # a non-desk call without an end is forgotten after this
RESUBSCRIBE_SECONDS = 1.0
LISTENER_BACKLOG = 500  # updates a slow listener may fall behind before it is dropped
PRUNE_EVERY = 500  # changes
_DEDUPLICATE_TAIL = 50
IDLE_SECONDS = 30.0  # the board follows this long after the last view left (a page reload)


@dataclass(frozen=True)
class Update:
    """For listeners: one desk call changed (`cards` has it), or the whole list (`snapshot`)."""

    snapshot: bool
    cards: tuple[DeskCard, ...]


@dataclass
class _Call:
    summary: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def started_at(self) -> datetime | None:
        started = self.summary.get("started_at")
        return datetime.fromisoformat(started) if started else None


class Listener:
    """One desk view's queue of updates; None in the queue means: stop, the board is closing
    or this view fell too far behind (it reconnects and gets the whole list)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Update | None] = asyncio.Queue(LISTENER_BACKLOG)

    def offer(self, update: Update | None) -> bool:
        try:
            self.queue.put_nowait(update)
        except asyncio.QueueFull:
            self.close()
            return False
        return True

    def close(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class DeskBoard:
    def __init__(self, redis: Redis, clock: Clock, zone: Callable[[], ZoneInfo]) -> None:
        self._redis = redis
        self._clock = clock
        self._zone = zone
        self._calls: dict[str, _Call] = {}
        self._listeners: set[Listener] = set()
        self._changes_since_prune = 0
        self._task: asyncio.Task[None] | None = None
        self._idle: asyncio.Task[None] | None = None

    @property
    def following(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        await stop_follower(self._task)
        self._task = None
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()

    async def current_cards(self) -> tuple[DeskCard, ...]:
        """The desk calls now: as followed, or read once when no view is open."""
        if not self.following:
            await self._load()
        return self.cards()

    def cards(self) -> tuple[DeskCard, ...]:
        """The desk calls of the last DESK_WINDOW, newest first."""
        since = self._clock() - DESK_WINDOW
        desk_calls = [
            call
            for call in self._calls.values()
            if is_desk_call(call.summary) and (call.started_at or since) >= since
        ]
        desk_calls.sort(key=lambda call: call.summary.get("started_at", ""), reverse=True)
        return tuple(self._card(call) for call in desk_calls[:MAX_DESK_CALLS])

    def listen(self) -> Listener:
        listener = Listener()
        self._listeners.add(listener)
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if not self.following:
            self._task = asyncio.create_task(self._follow(), name="desk-board")
        return listener

    def unlisten(self, listener: Listener) -> None:
        self._listeners.discard(listener)
        if not self._listeners and self._idle is None:
            self._idle = asyncio.create_task(self._stop_when_idle(), name="desk-board-idle")

    async def _stop_when_idle(self) -> None:
        await asyncio.sleep(IDLE_SECONDS)
        self._idle = None
        if not self._listeners:
            await stop_follower(self._task)
            self._task = None

    async def _follow(self) -> None:
        while True:
            try:
                async with subscribe_calls(self._redis) as changes:
                    await self._load()
                    self._broadcast(Update(snapshot=True, cards=self.cards()))
                    async for change in changes:
                        await self._apply(change)
            except (RedisError, OSError) as error:
                log.warning("desk board: lost the call records (%s); reconnecting", error)
                await asyncio.sleep(RESUBSCRIBE_SECONDS)

    async def _load(self) -> None:
        summaries = await list_calls(self._redis, since=self._clock() - DESK_WINDOW, limit=1000)
        calls = {}
        for summary in summaries:
            if is_desk_call(summary) or not summary.get("ended_at"):
                record = await get_call(self._redis, summary["call_id"])
                if record is not None:
                    calls[record.call_id] = _Call(record.summary, list(record.events))
        self._calls = calls

    async def _apply(self, change: CallChange) -> None:
        call = self._calls.get(change.call_id)
        event = change.event
        if call is None:
            call = await self._first_sight(change)
            if call is None:
                return
        else:
            call.summary = change.summary
            if event is not None and event not in call.events[-_DEDUPLICATE_TAIL:]:
                call.events.append(event)
        if is_desk_call(call.summary):
            self._broadcast(Update(snapshot=False, cards=(self._card(call),)))
        elif call.summary.get("ended_at"):
            del self._calls[change.call_id]
        self._changes_since_prune += 1
        if self._changes_since_prune >= PRUNE_EVERY:
            self._prune()

    async def _first_sight(self, change: CallChange) -> _Call | None:
        """A call not followed yet: from its start, or read whole when it started unseen."""
        if change.event is not None and change.event.get("kind") == "started":
            call = _Call(change.summary, [change.event])
        else:
            record = await get_call(self._redis, change.call_id)
            if record is None:
                return None
            call = _Call(record.summary, list(record.events))
        self._calls[change.call_id] = call
        return call

    def _prune(self) -> None:
        self._changes_since_prune = 0
        now = self._clock()
        kept = {}
        for call_id, call in self._calls.items():
            age = now - (call.started_at or now)
            limit = DESK_WINDOW if is_desk_call(call.summary) else STALE_CALL
            if age <= limit:
                kept[call_id] = call
        self._calls = kept

    def _broadcast(self, update: Update) -> None:
        for listener in list(self._listeners):
            if not listener.offer(update):
                self._listeners.discard(listener)

    def _card(self, call: _Call) -> DeskCard:
        return desk_card(call.summary, call.events, self._zone())
