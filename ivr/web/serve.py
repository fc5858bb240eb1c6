"""The console's web server process (`ivr web serve`)."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from redis.exceptions import RedisError

from ivr import store
from ivr.clock import Clock
from ivr.config import Settings
from ivr.web.app import create_app

log = logging.getLogger("ivr.web")


async def serve(settings: Settings, clock: Clock, *, secure_cookies: bool) -> None:
    """Serve until SIGTERM or SIGINT; open pages and live views are closed on the way out."""
    redis = store.connect(settings)
    try:
        await redis.ping()
    except (RedisError, OSError) as error:
        log.error(
            "Redis at %s does not answer (%s): pages fail until it does", settings.redis_url, error
        )
    runner = web.AppRunner(create_app(settings, redis, clock, secure_cookies=secure_cookies))
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
        log.info("console on http://%s:%d/", settings.web_host, settings.web_port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
        await redis.aclose()
