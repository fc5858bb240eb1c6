"""Round-trip cost of the ARI client against raw aiohttp calls to ARI, in the same run.

One cycle: originate `Local/answer@ari-test` into a Stasis app, StasisStart, answer, hang up,
StasisEnd. The client side runs through StasisApp and Call exactly as the service does (the
handler answers and hangs up); the raw side does the same with bare aiohttp requests and a bare
websocket reader. Cycles alternate (client-raw, raw-client, ...) so that load from other
processes and drift in Asterisk's speed hit both alike. Prints median and p95 per cycle and the
ratio client/raw (target: within 10 %).

Then the CPU this process spends per REST request (`--requests`, 10 at once,
`GET /asterisk/variable`): through the client's own keep-alive connections (`ivr/ari/rest.py`)
and through aiohttp's client, alternately, three rounds each.

Needs the running stack (`ivr stack up`); hold the e2e lock so no test shares Asterisk:
    flock /tmp/winet-e2e.lock .venv/bin/python bench/bench_ari.py [--cycles 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from ivr.ari import AriClient, Call, StasisApp
from ivr.ari.client import basic_auth_header
from ivr.config import Settings

CLIENT_APP = "winet-bench-ari"
RAW_APP = "winet-bench-raw"
ENDPOINT = "Local/answer@ari-test"
WARM_UP = 10
AT_ONCE = 10
ROUNDS = 3
VARIABLE = {"variable": "WINET_WORKERS"}

Cycle = Callable[[], Awaitable[float]]


class ClientSide:
    """Cycles through StasisApp + Call: the handler answers and hangs up."""

    def __init__(self, settings: Settings) -> None:
        client = AriClient(settings.ari_url, settings.ari_user, settings.ari_password, CLIENT_APP)
        self.app = StasisApp(client, self._handle)
        self._done: dict[str, asyncio.Future[float]] = {}

    async def _handle(self, call: Call) -> None:
        await call.answer()
        await call.hangup()  # returns on StasisEnd
        # The cycle ends here, not when the originating task next wakes up.
        self._done.pop(call.channel_id).set_result(asyncio.get_running_loop().time())

    async def cycle(self) -> float:
        loop = asyncio.get_running_loop()
        channel_id = str(uuid.uuid4())
        done = self._done[channel_id] = loop.create_future()
        started = loop.time()
        await self.app.client.request(
            "POST",
            "/channels",
            params={"endpoint": ENDPOINT, "app": CLIENT_APP, "channelId": channel_id},
        )
        return await done - started


class RawSide:
    """The same cycle with bare aiohttp requests and a bare websocket reader."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.ari_url
        self.headers = {
            "Authorization": basic_auth_header(settings.ari_user, settings.ari_password)
        }
        self._waiting: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(headers=self.headers)
        ws = await self._session.ws_connect(
            self.url + "/events", params={"app": RAW_APP, "subscribeAll": "false"}
        )
        self._reader = asyncio.create_task(self._read(ws))

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            event = json.loads(message.data)
            channel = event.get("channel")
            if channel is not None:
                waiter = self._waiting.pop((event["type"], channel["id"]), None)
                if waiter is not None:
                    waiter.set_result(None)

    async def get_variable(self) -> None:
        await self._call("GET", "/asterisk/variable", VARIABLE)

    async def _call(self, method: str, path: str, params: dict[str, Any] | None = None) -> None:
        assert self._session is not None
        async with self._session.request(method, self.url + path, params=params) as response:
            response.raise_for_status()
            await response.read()

    async def cycle(self) -> float:
        loop = asyncio.get_running_loop()
        channel_id = str(uuid.uuid4())
        stasis_start = self._waiting[("StasisStart", channel_id)] = loop.create_future()
        stasis_end = self._waiting[("StasisEnd", channel_id)] = loop.create_future()
        started = loop.time()
        params = {"endpoint": ENDPOINT, "app": RAW_APP, "channelId": channel_id}
        await self._call("POST", "/channels", params)
        await stasis_start
        await self._call("POST", f"/channels/{channel_id}/answer")
        await self._call("DELETE", f"/channels/{channel_id}")
        await stasis_end
        return loop.time() - started


async def run(cycles: int) -> tuple[list[float], list[float]]:
    settings = Settings.from_env()
    client_side = ClientSide(settings)
    raw_side = RawSide(settings)
    await client_side.app.start()
    await raw_side.start()
    timings: dict[str, list[float]] = {"client": [], "raw": []}
    try:
        for _ in range(WARM_UP):
            await client_side.cycle()
            await raw_side.cycle()
        sides: list[tuple[str, Cycle]] = [("client", client_side.cycle), ("raw", raw_side.cycle)]
        for _ in range(cycles):
            for name, cycle in sides:
                timings[name].append(await asyncio.wait_for(cycle(), 10.0))
            sides.reverse()  # client-raw, raw-client, ...: neither side always goes first
    finally:
        await client_side.app.stop(drain_timeout=5.0)
        await raw_side.stop()
    return timings["client"], timings["raw"]


async def cpu_per_request(requests: int) -> dict[str, list[float]]:
    """Microseconds of this process's CPU per request, per side and round."""
    settings = Settings.from_env()
    client = AriClient(settings.ari_url, settings.ari_user, settings.ari_password, CLIENT_APP)
    raw_side = RawSide(settings)
    await raw_side.start()

    async def through_client() -> None:
        await client.request("GET", "/asterisk/variable", params=VARIABLE)

    sides: dict[str, Callable[[], Awaitable[None]]] = {
        "client": through_client,
        "aiohttp": raw_side.get_variable,
    }
    cpu: dict[str, list[float]] = {name: [] for name in sides}

    async def worker(send: Callable[[], Awaitable[None]], count: int) -> None:
        for _ in range(count):
            await send()

    try:
        for _ in range(ROUNDS):
            for name, send in sides.items():
                await worker(send, WARM_UP)
                started = time.process_time()
                await asyncio.gather(*(worker(send, requests // AT_ONCE) for _ in range(AT_ONCE)))
                cpu[name].append((time.process_time() - started) / requests * 1e6)
    finally:
        await client.close()
        await raw_side.stop()
    return cpu


def summary(name: str, timings: list[float]) -> tuple[float, float]:
    median = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[-1]
    print(f"{name:7} median {median * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms   n={len(timings)}")
    return median, p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=200, help="cycles per side (default 200)")
    parser.add_argument(
        "--requests", type=int, default=3000, help="requests per side and round (default 3000)"
    )
    args = parser.parse_args()
    if args.cycles < 2:
        parser.error("--cycles must be at least 2")
    client_timings, raw_timings = asyncio.run(run(args.cycles))
    print("originate, StasisStart, answer, hang up, StasisEnd; per cycle:")
    client_median, client_p95 = summary("client", client_timings)
    raw_median, raw_p95 = summary("raw", raw_timings)
    ratio = client_median / raw_median
    print(f"ratio client/raw: median {ratio:.3f}   p95 {client_p95 / raw_p95:.3f}")
    print("within the 10 % target" if ratio <= 1.10 else "OVER the 10 % target")
    print(f"CPU of this process per REST request, {AT_ONCE} at once, {ROUNDS} rounds:")
    for name, rounds in asyncio.run(cpu_per_request(args.requests)).items():
        print(f"{name:7} " + "  ".join(f"{micros:5.0f} µs" for micros in rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
