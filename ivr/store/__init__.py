"""Redis, behind narrow async functions per resource.

This package is the only code in the project that talks to Redis. Every key starts with
`winet:`; each module documents its own keys.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from redis.asyncio import Redis

from ivr.config import Settings

PREFIX = "winet:"

# A call waiting on Redis must fail over to the desk quickly rather than hang.
CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 2.0


def connect(settings: Settings) -> Redis:
    """A client for the installation's Redis; connections open lazily on first use.

    Redis requires a password: the one in the URL, else the secret `redis-password`."""
    has_password = urlsplit(settings.redis_url).password is not None
    return Redis.from_url(
        settings.redis_url,
        password=None if has_password else settings.redis_password,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
    )


def key(*parts: str) -> str:
    """`key("call", "abc")` -> `winet:call:abc`."""
    return PREFIX + ":".join(parts)
