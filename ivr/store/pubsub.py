"""Pub/sub channels: live notifications of changes, decoded for the reader."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

from redis.asyncio import Redis

from ivr.store import COMMAND_TIMEOUT_SECONDS

T = TypeVar("T")
STOP_RETRY_SECONDS = 0.2


class Subscription(Generic[T]):
    """The messages of one channel, decoded: an async iterator and an async context manager.

    `async with` subscribes before its body runs, so a reader can subscribe, read the current
    state, then apply changes without missing one in between:

        async with subscribe_calls(redis) as changes:
            calls = await list_calls(redis)
            async for change in changes: ...

    Plain `async for` subscribes on the first iteration. Close with `aclose()` (or leave the
    `async with`) to release the connection. A lost connection raises redis' ConnectionError
    from the iterator: the reader subscribes again and re-reads the state it may have missed.
    """

    def __init__(self, redis: Redis, channel: str, decode: Callable[[str], T]) -> None:
        self._pubsub = redis.pubsub()
        self._channel = channel
        self._decode = decode
        self._subscribed = False

    async def open(self) -> None:
        if self._subscribed:
            return
        await self._pubsub.subscribe(self._channel)
        while True:  # the server's confirmation: from now on every publish reaches us
            message = await self._pubsub.get_message(timeout=COMMAND_TIMEOUT_SECONDS)
            if message is None:
                raise TimeoutError(f"Redis did not confirm the subscription to {self._channel}")
            if message["type"] == "subscribe":
                break
        self._subscribed = True

    async def aclose(self) -> None:
        await self._pubsub.aclose()

    async def __aenter__(self) -> Subscription[T]:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        await self.open()
        while True:
            message = await self._pubsub.get_message(timeout=None)
            if message is not None and message["type"] == "message":
                return self._decode(message["data"])


async def stop_follower(task: asyncio.Task[None] | None) -> None:
    """Stop a task that follows a Subscription. redis-py (8.1) can swallow a cancellation
    that lands while it sets up a connection, so cancel until the task has really ended."""
    while task is not None and not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=STOP_RETRY_SECONDS)
