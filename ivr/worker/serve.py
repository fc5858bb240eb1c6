"""The IVR worker process (`ivr serve`): it connects to ARI and runs the call flow for every call,
and beside it the notifier, which tells the technicians of requests (`ivr.worker.notifier`).

It refuses to start on a broken prompt catalogue or broken routing tables (a caller must
never hear a missing prompt), and otherwise keeps running through faults: Redis down (calls
go to the desk), ARI down (it reconnects; meanwhile the dialplan sends calls to the desk).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from redis.exceptions import RedisError

from ivr import store
from ivr.ari.app import StasisApp
from ivr.ari.call import EVENT_TYPES, originate
from ivr.ari.client import AriClient, AriUnavailable
from ivr.clock import clock_from_env
from ivr.config import Settings
from ivr.flows.hotline import follow_waiting_caller, handle_call, rescue_orphan
from ivr.prompts.catalogue import load_catalogue
from ivr.prompts.check import check_catalogue
from ivr.routing import TablesError
from ivr.stack.asterisk import fail_open_ledger
from ivr.worker.channels_alive import channels_alive
from ivr.worker.fail_open import FailOpenLedger
from ivr.worker.lost_records import LostRecordSweeper
from ivr.worker.notifier import Notifier
from ivr.worker.runtime import Runtime, repository_tables
from ivr.worker.waiting_callers import left_waiting

log = logging.getLogger("ivr.worker")

DRAIN_SECONDS = 30.0  # calls in progress may finish this long after a stop is asked
# After a (re)connect, how long a channel in our application may wait for its StasisStart
# before it counts as left behind (by a worker that died): short, so its caller is not kept.
ORPHAN_SETTLE_SECONDS = 0.5
# Asterisk's HTTP server serves at most this many connections at once (asterisk-config/http.conf,
# sessionlimit) and refuses the next. The workers share them, less a few for the console, the
# command line and the launcher, and one each for the event websocket: past its share a
# worker's requests wait for a free connection instead of being refused.
ARI_HTTP_SESSIONS = 100
ARI_SESSIONS_KEPT_FREE = 10


class StartupError(Exception):
    """The worker must not take calls; the message says what to fix."""


async def serve(settings: Settings) -> None:
    runtime = await start_runtime(settings)
    client = AriClient(
        settings.ari_url,
        settings.ari_user,
        settings.ari_password,
        settings.ari_app,
        orphan_settle=ORPHAN_SETTLE_SECONDS,
        connections=ari_connections(settings.workers),
    )
    app = StasisApp(
        client,
        lambda call: handle_call(call, runtime),
        on_orphan=lambda call: rescue_orphan(call, runtime, resume=not app.stopping),
    )

    async def on_connect() -> None:
        """Tell the dialplan over how many workers' applications to spread calls, and follow
        on the callers a previous worker of our application left waiting in the desk queue."""
        await client.request(
            "POST",
            "/asterisk/variable",
            params={"variable": "WINET_WORKERS", "value": settings.workers},
        )
        for channel in await left_waiting(client):
            app.follow(channel, lambda call: follow_waiting_caller(call, runtime))

    client.on_connect = on_connect
    client.event_types = EVENT_TYPES
    client.on_response_time = runtime.load.note_response

    async def alive(ids: set[str]) -> set[str]:
        return await channels_alive(client, settings, ids)

    _, ledger = fail_open_ledger(settings)
    housekeeping = [
        asyncio.create_task(runtime.backlog.run(), name="record-backlog"),
        asyncio.create_task(runtime.load.run(), name="load-gauge"),
        asyncio.create_task(LostRecordSweeper(runtime, alive).run(), name="lost-records"),
        asyncio.create_task(FailOpenLedger(runtime.redis, ledger).run(), name="fail-open-ledger"),
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await connect(app)
    log.info("taking calls for Stasis application %s", settings.ari_app)
    notifier = Notifier(
        runtime,
        lambda endpoint, ring, caller_id: originate(
            client, endpoint, timeout=ring, caller_id=caller_id
        ),
    )
    notifier.start()
    await stop.wait()
    log.info("stopping: %d call(s) in progress may finish", app.active_calls)
    await notifier.stop()
    for task in housekeeping:
        task.cancel()
    await asyncio.gather(*housekeeping, return_exceptions=True)
    await app.stop(drain_timeout=DRAIN_SECONDS)
    await runtime.records.drain()
    await runtime.backlog.replay()
    if len(runtime.backlog):
        log.warning("%d call-record write(s) could not be written", len(runtime.backlog))
    await runtime.stop_watching()
    await runtime.redis.aclose()


def ari_connections(workers: int) -> int:
    """One worker's share of Asterisk's HTTP connections for REST requests."""
    return max(1, (ARI_HTTP_SESSIONS - ARI_SESSIONS_KEPT_FREE) // max(1, workers) - 1)


async def start_runtime(settings: Settings) -> Runtime:
    try:
        tables = repository_tables(settings)
    except TablesError as error:
        raise StartupError(
            f"the routing tables in {settings.tables_dir} are invalid:\n{error}"
        ) from None
    problems = await asyncio.to_thread(check_catalogue, settings, tables.tier_names)
    if problems:
        raise StartupError("the prompt catalogue is not usable:\n  " + "\n  ".join(problems))
    runtime = Runtime(
        settings=settings,
        redis=store.connect(settings),
        clock=clock_from_env(os.environ, tables.zone),
        tables=tables,
        catalogue=await asyncio.to_thread(load_catalogue, settings.prompts_dir),
        pin_key=settings.pin_key,
    )
    try:
        await runtime.redis.ping()  # opens the first connection before the first call
        await runtime.load_published_tables()
        await runtime.call_facts()  # read before the first call needs them
    except (RedisError, OSError) as error:
        log.error("Redis does not answer (%s): calls go to the desk until it does", error)
    runtime.watch_tables()
    return runtime


async def connect(app: StasisApp) -> None:
    """Wait for ARI as long as it takes; the dialplan sends calls to the desk meanwhile."""
    while True:
        try:
            await app.start(within=10.0)
            return
        except AriUnavailable as error:
            log.warning("ARI is not reachable yet (%s); still trying", error)
