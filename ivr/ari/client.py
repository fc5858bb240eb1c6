"""A thin ARI client: REST calls with typed errors (`rest.py`), and the event websocket
(aiohttp).

The websocket reconnects with capped exponential backoff. After every connect the client
resyncs: channels it was following that are gone get a synthetic `ChannelDestroyed`, channels
still there get an `AriResync` event (so their owner can re-check what it may have missed),
and channels in our Stasis application that nobody follows go to `on_orphan`.

Events are delivered in order per channel: each followed channel has its own queue, and a
listener that awaits gets a task of its channel's own, so a slow listener on one channel never
delays another. Listeners that do not await run straight from the reader, without a task hop.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from ivr.ari.rest import RestConnections

log = logging.getLogger(__name__)

Event = dict[str, Any]
Listener = Callable[[Event], Awaitable[None] | None]
QueryValue = str | int | float | bool | None

RESYNC_EVENT = "AriResync"
"""Synthetic: the websocket reconnected and this channel still exists; `channel` is its state."""
ORPHAN_EVENT = "AriOrphan"
"""Synthetic: a channel in our application that nobody follows; goes to `on_orphan`."""


class AriError(Exception):
    """An ARI request failed; `status` is None when Asterisk could not be reached at all."""

    def __init__(self, status: int | None, method: str, path: str, message: str) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        shown = "unreachable" if status is None else str(status)
        super().__init__(f"ARI {method} {path} failed ({shown}): {message}")


class BadRequest(AriError):
    """400: a parameter is missing or wrong."""


class NotFound(AriError):
    """404: the channel, bridge or playback does not exist (often: it just hung up)."""


class Conflict(AriError):
    """409: the resource is in the wrong state, e.g. the channel is not in a Stasis app."""


class ServerError(AriError):
    """5xx: Asterisk failed to carry the request out."""


class AriUnavailable(AriError):
    """Connection refused, reset or timed out: Asterisk (or its HTTP server) is not there."""


_ERRORS_BY_STATUS: dict[int, type[AriError]] = {400: BadRequest, 404: NotFound, 409: Conflict}


def basic_auth_header(user: str, password: str) -> str:
    """The Authorization header value; aiohttp 3.14 has a helper and deprecates BasicAuth."""
    encode = getattr(aiohttp, "encode_basic_auth", None)
    if encode is not None:
        return encode(user, password)
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def error_for_status(status: int, method: str, path: str, body: bytes) -> AriError:
    try:
        answer = orjson.loads(body)
        message = answer.get("message") or answer["error"]  # ARI uses both keys
    except (ValueError, KeyError, TypeError, AttributeError):
        message = body.decode("utf-8", "replace").strip() or "no message"
    kind = _ERRORS_BY_STATUS.get(status, ServerError if status >= 500 else AriError)
    return kind(status, method, path, message)


def channel_id_of(event: Event) -> str | None:
    """The channel an event is about, or None for events of the application or of bridges."""
    channel = event.get("channel")
    if channel is not None:
        return channel["id"]
    playback = event.get("playback")
    if playback is not None:
        target = playback.get("target_uri", "")
        return target[len("channel:") :] if target.startswith("channel:") else None
    # Dial events: the channel that dials (app_queue on a caller's channel), or for a channel
    # ARI originated, which nothing dials, the dialled one (the peer)
    dialling = event.get("caller") or event.get("peer")
    return dialling["id"] if dialling is not None else None


def in_stasis_app(channel: Mapping[str, Any], app: str) -> bool:
    dialplan = channel.get("dialplan") or {}
    if dialplan.get("app_name") != "Stasis":
        return False
    return dialplan.get("app_data", "").split(",", 1)[0] == app


def synthetic_hangup(channel_id: str) -> Event:
    return {
        "type": "ChannelDestroyed",
        "channel": {"id": channel_id},
        "cause": 0,
        "cause_txt": "gone while the ARI event connection was down",
        "synthetic": True,
    }


class _ChannelEvents:
    """The listeners of one channel, and its events waiting behind a listener that awaits."""

    __slots__ = ("listeners", "pending", "task")

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.pending: deque[Event] = deque()
        self.task: asyncio.Task[None] | None = None


class AriClient:
    """REST and events of one Stasis application.

    `on_stasis_start(event)` is called for every StasisStart, in the channel's order, before the
    channel's listeners; `on_orphan(channel)` for channels found in the application at a
    (re)connect that nobody follows. Both may be plain functions or coroutine functions.
    """

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        app: str,
        *,
        heartbeat: float = 5.0,
        backoff: tuple[float, float] = (0.2, 2.0),
        request_timeout: float = 10.0,
        orphan_settle: float = 1.0,
        connections: int = 100,
    ) -> None:
        if not app:
            raise ValueError("the Stasis application name must not be empty")
        self.base_url = base_url.rstrip("/")
        self.app = app
        self.on_stasis_start: Callable[[Event], Awaitable[None] | None] | None = None
        self.on_orphan: Callable[[dict[str, Any]], Awaitable[None] | None] | None = None
        # run after every (re)connect of the event websocket, e.g. to set a global variable
        self.on_connect: Callable[[], Awaitable[None]] | None = None
        # the only event types Asterisk sends us (None: all); fewer events, less CPU on both sides
        self.event_types: Sequence[str] | None = None
        # told how many seconds each REST request took, answered or not (Asterisk's load)
        self.on_response_time: Callable[[float], None] | None = None
        self._headers = {"Authorization": basic_auth_header(user, password)}
        self._session: aiohttp.ClientSession | None = None  # the event websocket's
        self._rest: RestConnections | None = None
        self._heartbeat = heartbeat
        self._backoff_min, self._backoff_max = backoff
        self._request_timeout = request_timeout
        self._orphan_settle = orphan_settle
        # REST requests beyond this many at once wait for a free connection
        self._connections = connections
        self._channels: dict[str, _ChannelEvents] = {}
        self._listings: dict[str, asyncio.Future[Any]] = {}  # shared GETs under way, by path
        self._connected = asyncio.Event()
        self._events_task: asyncio.Task[None] | None = None
        self._resync_task: asyncio.Task[None] | None = None
        self._hook_task: asyncio.Task[None] | None = None
        self._last_error = "not connected yet"
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> AriClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def connect(self, within: float = 10.0) -> None:
        """Start the event websocket (reconnecting for ever) and wait until it is up."""
        if self._closed:
            raise RuntimeError("this AriClient is closed")
        if self._events_task is None:
            self._events_task = asyncio.create_task(self._run_events(), name="ari-events")
        await self.wait_connected(within)

    async def wait_connected(self, within: float) -> None:
        """Wait until the event websocket is up; AriUnavailable after `within` seconds."""
        try:
            async with asyncio.timeout(within):
                await self._connected.wait()
        except TimeoutError:
            raise AriUnavailable(
                None, "GET", "/events", f"no event websocket after {within} s: {self._last_error}"
            ) from None

    async def close(self) -> None:
        """Close the websocket, cancel every task of the client, close the session it owns."""
        self._closed = True
        running = (self._events_task, self._resync_task, self._hook_task)
        tasks = [task for task in running if task is not None]
        tasks += [entry.task for entry in self._channels.values() if entry.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._channels.clear()
        self._events_task = self._resync_task = self._hook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._rest is not None:
            await self._rest.close()
            self._rest = None

    # -- REST --------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        body: Any = None,
    ) -> Any:
        """One REST call; the decoded JSON answer, or None for an empty one.

        `path` is relative to the ARI base URL, e.g. `/channels/ID/answer`. Parameters whose
        value is None are left out; booleans are sent as `true`/`false`.
        """
        if self._closed:
            raise RuntimeError("this AriClient is closed")
        if self._rest is None:
            self._rest = RestConnections(
                self.base_url, self._headers, self._connections, self._request_timeout
            )
        query = _query(params) if params else None
        payload = None if body is None else orjson.dumps(body)
        sent = time.monotonic()
        try:
            status, data = await self._rest.request(method, path, query, payload)
        except (OSError, TimeoutError) as error:
            raise AriUnavailable(None, method, path, _describe(error)) from error
        finally:
            if self.on_response_time is not None:
                self.on_response_time(time.monotonic() - sent)
        if status >= 400:
            raise error_for_status(status, method, path, data)
        return orjson.loads(data) if data else None

    async def listing(self, path: str) -> Any:
        """GET `path`, in one request for everyone who asks while it is under way: a worker
        taking over a hundred orphans lists Asterisk's bridges once, not a hundred times."""
        pending = self._listings.get(path)
        if pending is None:
            pending = self._listings[path] = asyncio.ensure_future(self.request("GET", path))
            pending.add_done_callback(lambda done: self._listing_done(path, done))
        return await asyncio.shield(pending)

    def _listing_done(self, path: str, done: asyncio.Future[Any]) -> None:
        if self._listings.get(path) is done:
            del self._listings[path]
        if not done.cancelled():
            done.exception()  # retrieved even when everyone who asked has given up

    def _require_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this AriClient is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self._request_timeout),
            )
        return self._session

    # -- following channels ------------------------------------------------------------------

    def watch(self, channel_id: str, listener: Listener) -> None:
        """Deliver every later event of the channel to `listener`, in order."""
        entry = self._channels.get(channel_id)
        if entry is None:
            entry = self._channels[channel_id] = _ChannelEvents()
        entry.listeners.append(listener)

    def unwatch(self, channel_id: str, listener: Listener) -> None:
        entry = self._channels.get(channel_id)
        if entry is None or listener not in entry.listeners:
            return
        entry.listeners.remove(listener)
        self._retire_if_unwatched(channel_id, entry)

    def is_watched(self, channel_id: str) -> bool:
        entry = self._channels.get(channel_id)
        return entry is not None and bool(entry.listeners)

    def _retire_if_unwatched(self, channel_id: str, entry: _ChannelEvents) -> None:
        if entry.listeners or entry.task is not None:
            return
        if self._channels.get(channel_id) is entry:
            del self._channels[channel_id]

    def _dispatch(self, event: Event) -> None:
        """Deliver at once when the channel is idle; else queue behind its busy listener.

        Listeners that return nothing run right here, in the reader; the first one that
        returns an awaitable gets a task of its channel's own, which then also delivers the
        channel's later events, in order, until the queue is empty.
        """
        channel_id = channel_id_of(event)
        if channel_id is None:
            self._application_event(event)
            return
        entry = self._channels.get(channel_id)
        if entry is None:
            if event["type"] not in ("StasisStart", ORPHAN_EVENT):
                return  # nobody follows this channel
            entry = self._channels[channel_id] = _ChannelEvents()
        if entry.task is not None:
            entry.pending.append(event)
            return
        targets = self._targets(entry, event)
        for listener, arg in targets:
            result = _call(listener, arg)
            if result is not None:
                entry.task = asyncio.create_task(
                    self._deliver_later(channel_id, entry, result, targets)
                )
                return
        self._retire_if_unwatched(channel_id, entry)

    async def _deliver_later(
        self,
        channel_id: str,
        entry: _ChannelEvents,
        started: Awaitable[None],
        targets: Iterator[tuple[Callable[[Any], Any], Any]],
    ) -> None:
        """Finish the event whose listener awaits, then the events that queued behind it."""
        await _finish(started)
        for listener, arg in targets:
            await _finish(_call(listener, arg))
        while entry.pending:
            for listener, arg in self._targets(entry, entry.pending.popleft()):
                await _finish(_call(listener, arg))
        entry.task = None
        self._retire_if_unwatched(channel_id, entry)

    def _targets(
        self, entry: _ChannelEvents, event: Event
    ) -> Iterator[tuple[Callable[[Any], Any], Any]]:
        """Who gets an event, in order; lazy, so a listener that on_stasis_start adds counts."""
        kind = event["type"]
        if kind == ORPHAN_EVENT:
            if not entry.listeners and self.on_orphan is not None:
                yield self.on_orphan, event["channel"]
            return
        if kind == "StasisStart" and self.on_stasis_start is not None:
            yield self.on_stasis_start, event
        for listener in tuple(entry.listeners):
            yield listener, event

    def _application_event(self, event: Event) -> None:
        if event["type"] == "ApplicationReplaced":
            log.error("another client took over the Stasis application %s", self.app)

    # -- the event websocket -----------------------------------------------------------------

    async def _run_events(self) -> None:
        url = self.base_url + "/events"
        params = {"app": self.app, "subscribeAll": "false"}
        delay = self._backoff_min
        while True:
            try:
                ws = await self._require_session().ws_connect(
                    url, params=params, heartbeat=self._heartbeat
                )
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                self._last_error = _describe(error)
                log.warning("ARI event websocket: %s; retrying in %.1f s", self._last_error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff_max)
                continue
            delay = self._backoff_min
            try:
                self._on_connected()
                await self._read(ws)
            finally:
                self._connected.clear()
                await ws.close()
            self._last_error = f"websocket closed ({ws.exception() or ws.close_code})"
            log.warning("ARI event %s; reconnecting", self._last_error)
            await asyncio.sleep(delay)

    def _on_connected(self) -> None:
        log.info("ARI event websocket connected for application %s", self.app)
        # Only channels followed before this connect can have missed events; a channel
        # watched from now on may simply not exist in Asterisk yet.
        followed = list(self._channels)
        if self._resync_task is not None:
            self._resync_task.cancel()
        self._resync_task = asyncio.create_task(self._resync(followed), name="ari-resync")
        self._hook_task = asyncio.create_task(self._after_connect(), name="ari-after-connect")
        self._connected.set()

    async def _after_connect(self) -> None:
        try:
            if self.event_types is not None:
                allowed = {"allowed": [{"type": kind} for kind in self.event_types]}
                await self.request("PUT", f"/applications/{self.app}/eventFilter", body=allowed)
            if self.on_connect is not None:
                await self.on_connect()
        except AriError as error:
            log.warning("ARI: the after-connect step failed: %s", error)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                try:
                    event = orjson.loads(message.data)
                except ValueError:
                    log.warning("ARI sent an event that is not JSON: %.200s", message.data)
                    continue
                self._dispatch(event)
            elif message.type is aiohttp.WSMsgType.ERROR:
                return

    async def _resync(self, followed: list[str]) -> None:
        try:
            channels = await self.request("GET", "/channels")
        except AriError as error:
            log.warning("ARI resync skipped: %s", error)
            return
        present = {channel["id"]: channel for channel in channels}
        for channel_id in followed:
            channel = present.get(channel_id)
            if channel is None:
                self._dispatch(synthetic_hangup(channel_id))
            else:
                self._dispatch({"type": RESYNC_EVENT, "channel": channel})
        if any(self._unclaimed(channel) for channel in channels):
            await self._hand_over_orphans()

    def _unclaimed(self, channel: Mapping[str, Any]) -> bool:
        return in_stasis_app(channel, self.app) and not self.is_watched(channel["id"])

    async def _hand_over_orphans(self) -> None:
        """Channels in our application that nobody claimed, once their StasisStart had time.

        A channel entering Stasis just as we connect shows in the channel list while its
        StasisStart is still on its way; it is not an orphan, so wait, then look again.
        """
        await asyncio.sleep(self._orphan_settle)
        try:
            channels = await self.request("GET", "/channels")
        except AriError as error:
            log.warning("ARI orphan check skipped: %s", error)
            return
        for channel in channels:
            if self._unclaimed(channel):
                self._dispatch({"type": ORPHAN_EVENT, "channel": channel})


def _call(listener: Callable[[Any], Any], arg: Any) -> Awaitable[None] | None:
    """Run one listener; what it returns to be awaited, if anything. A failure is logged."""
    try:
        result = listener(arg)
    except Exception:
        log.exception("ARI event listener %r failed", listener)
        return None
    if result is None:  # most listeners; isawaitable's ABC check was 1.6 % of a worker's CPU
        return None
    return result if inspect.isawaitable(result) else None


async def _finish(awaitable: Awaitable[None] | None) -> None:
    if awaitable is None:
        return
    try:
        await awaitable
    except Exception:
        log.exception("ARI event listener failed")


def _query(params: Mapping[str, QueryValue]) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            query[name] = "true" if value else "false"
        else:
            query[name] = str(value)
    return query


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
