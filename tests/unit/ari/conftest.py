"""A small fake ARI server (REST + event websocket) for protocol-level tests of the client.

It records every request, answers REST calls with scripted replies (204 by default, the channel
list for GET /channels), pushes events over the current websocket, and can drop, refuse or
silence the websocket. Behaviour of Asterisk itself is tested end to end, not here.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from ivr.ari.client import AriClient

APP = "test-app"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any


Script = Callable[[Recorded], list[dict[str, Any]]]


class FakeAri:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: dict[tuple[str, str], tuple[int, Any]] = {}
        self.channels: list[dict[str, Any]] = []
        self.authorization: list[str] = []
        self.event_attempts: list[float] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.refuse_events = 0
        self.silent_events = 0
        self.script: Script | None = None
        self._changed = asyncio.Condition()
        self._pushing: set[asyncio.Task[None]] = set()
        self.base_url = ""
        self.web_app = web.Application()
        self.web_app.router.add_get("/ari/events", self._events)
        self.web_app.router.add_route("*", "/ari/{tail:.*}", self._rest)

    # -- what tests use ----------------------------------------------------------------------

    async def wait_sockets(self, count: int, within: float = 5.0) -> None:
        """Until the client has opened `count` websockets and the last one is open."""

        def reached() -> bool:
            return len(self.sockets) >= count and not self.sockets[-1].closed

        await self._wait_for(reached, within)

    async def push(self, *events: dict[str, Any]) -> None:
        for event in events:
            await self.sockets[-1].send_json(event)

    async def drop(self) -> None:
        await self.sockets[-1].close()

    def requested(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    async def wait_request(self, method: str, path: str, within: float = 2.0) -> Recorded:
        return await self.wait_request_matching(
            lambda r: r.method == method and r.path == path, within
        )

    async def wait_request_matching(
        self, predicate: Callable[[Recorded], bool], within: float = 2.0
    ) -> Recorded:
        await self._wait_for(lambda: any(map(predicate, self.requests)), within)
        return next(r for r in self.requests if predicate(r))

    async def _wait_for(self, predicate: Callable[[], bool], within: float) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- building events ---------------------------------------------------------------------

    @staticmethod
    def channel(channel_id: str, *, app: str | None = APP, args: str = "", **extra: Any) -> dict:
        """A channel as ARI describes it; `app` None means not in any Stasis application."""
        app_data = app + ("," + args if args else "") if app else ""
        return {
            "id": channel_id,
            "name": f"PJSIP/test-{channel_id}",
            "state": "Up",
            "caller": {"name": "Test Caller", "number": "+41441234567"},
            "connected": {"name": "", "number": ""},
            "dialplan": {
                "context": "from-callers",
                "exten": "0800100200",
                "priority": 2,
                "app_name": "Stasis" if app else "Wait",
                "app_data": app_data,
            },
            "language": "de",
            **extra,
        }

    @classmethod
    def event(cls, kind: str, channel_id: str | None = None, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"type": kind, "application": APP, **fields}
        if channel_id is not None:
            body["channel"] = cls.channel(channel_id)
        return body

    # -- the server --------------------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.StreamResponse:
        self.event_attempts.append(asyncio.get_running_loop().time())
        self.authorization.append(request.headers.get("Authorization", ""))
        if request.query.get("app") != APP or request.query.get("subscribeAll") != "false":
            return web.json_response({"message": "bad query"}, status=400)
        if self.refuse_events:
            self.refuse_events -= 1
            return web.json_response({"message": "not yet"}, status=503)
        silent = self.silent_events > 0
        self.silent_events -= silent
        ws = web.WebSocketResponse(autoping=not silent)
        await ws.prepare(request)
        self.sockets.append(ws)
        await self._notify()
        async for message in ws:
            if message.type is WSMsgType.ERROR:
                break
        await self._notify()
        return ws

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        path = "/" + request.match_info["tail"]
        recorded = Recorded(request.method, path, dict(request.query), body)
        self.requests.append(recorded)
        await self._notify()
        self.authorization.append(request.headers.get("Authorization", ""))
        if self.script is not None:
            events = self.script(recorded)
            if events:
                asyncio.get_running_loop().call_later(0.01, self._push_soon, events)
        status, payload = self.replies.get((request.method, path), (0, None))
        if status:
            return web.json_response(payload, status=status)
        if request.method == "GET" and path == "/channels":
            return web.json_response(self.channels)
        return web.Response(status=204)

    def _push_soon(self, events: list[dict[str, Any]]) -> None:
        task = asyncio.ensure_future(self.push(*events))
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAri]:
    ari = FakeAri()
    server = TestServer(ari.web_app, host="127.0.0.1")
    await server.start_server()
    ari.base_url = f"http://127.0.0.1:{server.port}/ari"
    yield ari
    await server.close()


@pytest.fixture
def refused_url() -> str:
    """An ARI base URL on a loopback port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ari"


@pytest.fixture
async def client(fake: FakeAri) -> AsyncIterator[AriClient]:
    ari = AriClient(
        fake.base_url,
        "user",
        "secret",
        APP,
        heartbeat=1.0,
        backoff=(0.05, 0.2),
        orphan_settle=0.05,
    )
    yield ari
    await ari.close()


async def _until(condition: Callable[[], Any], within: float = 2.0) -> None:
    """Poll state the code under test keeps without an event to wait on."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def _client_tasks() -> list[asyncio.Task[Any]]:
    """The tasks still running code of the ARI package."""
    return [
        task for task in asyncio.all_tasks() if "/ivr/ari/" in task.get_coro().cr_code.co_filename
    ]


@pytest.fixture
def until() -> Callable[..., Any]:
    return _until


@pytest.fixture
def client_tasks() -> Callable[[], list[asyncio.Task[Any]]]:
    return _client_tasks
