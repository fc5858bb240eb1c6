"""Running store work from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ivr.config import Settings
from ivr.store import connect

StoreWork = Callable[[Redis, Settings, argparse.Namespace], Awaitable[int]]


def store_command(work: StoreWork) -> Callable[[argparse.Namespace], int]:
    """`run(args) -> int` for the CLI: runs `work` with a client; an unreachable Redis is
    reported on stderr with exit code 2."""

    def run(args: argparse.Namespace) -> int:
        settings = Settings.from_env()
        try:
            return asyncio.run(_with_client(work, settings, args))
        except (RedisConnectionError, RedisTimeoutError) as error:
            print(f"ivr: Redis at {settings.redis_url} does not answer: {error}", file=sys.stderr)
            return 2

    return run


async def _with_client(work: StoreWork, settings: Settings, args: argparse.Namespace) -> int:
    redis = connect(settings)
    try:
        return await work(redis, settings, args)
    finally:
        await redis.aclose()
