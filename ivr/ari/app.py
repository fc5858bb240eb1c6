"""Run the Stasis application: each incoming call goes to the handler in a task of its own.

StasisStart of the legs our calls originate (appArgs `leg`) is not a new call: the Call that
dialled it follows that channel. Nor is a channel that comes back from a visit to the dialplan
(with arguments, e.g. `desk-offer`): its Call goes on with it. Channels nobody handles go to
`on_orphan`: those found in the application at a (re)connect (a previous worker died, or events
were lost), those that come back to a worker that never sent them away (the one that did died),
and calls that arrive while the application is stopping. Orphaned legs are hung up, except one
still bridged with its caller: the caller's orphan handler may adopt the bridge.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ivr.ari.call import LEG_ARG, Call, CallerHungUp, PlaybackObserver
from ivr.ari.client import AriClient, Event

log = logging.getLogger(__name__)

CallHandler = Callable[[Call], Awaitable[None]]


async def abandon(call: Call) -> None:
    """The default for orphans: nothing to do; closing the call hangs it up."""
    log.warning("hanging up %s: it was left in the application with nobody handling it", call)


class StasisApp:
    def __init__(
        self,
        client: AriClient,
        handler: CallHandler,
        *,
        on_orphan: CallHandler = abandon,
        on_playback: PlaybackObserver | None = None,
    ) -> None:
        self.client = client
        self._handler = handler
        self._on_orphan = on_orphan
        self._on_playback = on_playback
        self._calls: dict[str, Call] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        client.on_stasis_start = self._stasis_start
        client.on_orphan = self._orphan

    @property
    def active_calls(self) -> int:
        return len(self._tasks)

    @property
    def stopping(self) -> bool:
        """Stopping: calls still handled finish, and new ones are orphans."""
        return self._stopping

    async def start(self, within: float = 10.0) -> None:
        """Connect to ARI; raises AriUnavailable when the websocket is not up `within` seconds."""
        await self.client.connect(within)

    async def stop(self, drain_timeout: float = 0.0) -> None:
        """Let running calls finish for up to `drain_timeout` s, cancel the rest, disconnect.

        Calls arriving meanwhile go to `on_orphan`. A cancelled call is closed like any other:
        its bridges destroyed, its legs and the channel hung up.
        """
        self._stopping = True
        if self._tasks and drain_timeout > 0:
            await asyncio.wait(set(self._tasks), timeout=drain_timeout)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.client.close()

    def follow(self, channel: dict[str, Any], handler: CallHandler) -> None:
        """Run `handler` for a channel outside the application that it follows on (e.g. a
        caller that a worker that died left waiting in the dialplan), unless it is handled."""
        if not self._is_handled(channel["id"]):
            self._start(handler, channel, ())

    def _stasis_start(self, event: Event) -> None:
        args = event.get("args") or []
        if args[:1] == [LEG_ARG]:
            return
        channel = event["channel"]
        if self._is_handled(channel["id"]):
            return  # back from the dialplan, or a resync just handed it over as an orphan
        orphaned = self._stopping or bool(args)  # a new caller comes with no arguments
        self._start(self._on_orphan if orphaned else self._handler, channel, args)

    def _orphan(self, channel: dict[str, Any]) -> None:
        if self._is_handled(channel["id"]):
            return
        args = channel["dialplan"]["app_data"].split(",")[1:]
        self._start(_leg_left if args[:1] == [LEG_ARG] else self._on_orphan, channel, args)

    def _is_handled(self, channel_id: str) -> bool:
        call = self._calls.get(channel_id)
        return call is not None and not call.ended

    def _start(self, handler: CallHandler, channel: dict[str, Any], args: Sequence[str]) -> None:
        call = Call(self.client, channel, args=args, on_playback=self._on_playback)
        self._calls[call.channel_id] = call
        task = asyncio.create_task(self._run(handler, call), name=f"call-{call.channel_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: CallHandler, call: Call) -> None:
        try:
            await handler(call)
        except CallerHungUp as error:
            log.info("call ended by the caller: %s", error)
        except Exception:
            log.exception("the handler of %s failed", call)
        finally:
            await call.close()
            if self._calls.get(call.channel_id) is call:
                del self._calls[call.channel_id]


async def _leg_left(call: Call) -> None:
    """A leg a worker that died left behind: hung up, unless it is still bridged with its
    caller, whose orphan handler takes it on (`Call.adopt_bridge`)."""
    if await call.in_bridge_with_another():
        call.release()
    else:
        await call.hangup()
