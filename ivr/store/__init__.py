"""Redis, behind narrow async functions per resource.

This package is the only code in the project that talks to Redis. Every key starts with
`winet:`; each module documents its own keys.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ivr.config import Settings

PREFIX = "winet:"
# A random token, replaced in the same transaction as every change of what a call reads
# (customers, their free units, the major incident): see ivr.store.call_facts.
CALL_FACTS_VERSION = PREFIX + "call-facts:version"

# A call waiting on Redis must fail over to the desk quickly rather than hang.
CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 2.0
# At most this many connections per process. A request waits for a free one rather than
# opening more (hundreds of calls at once would otherwise exhaust the server's clients or the
# process's files), and gives up after POOL_WAIT_SECONDS: the call goes on without Redis.
POOL_SIZE = 32
POOL_WAIT_SECONDS = 1.0
# One quick retry (a connection Redis closed meanwhile), no back-off: a caller must not wait.
RETRIES = 1


def connect(settings: Settings) -> Redis:
    """A client for the installation's Redis; connections open lazily on first use.

    Redis requires a password: the one in the URL, else the secret `redis-password`."""
    has_password = urlsplit(settings.redis_url).password is not None
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        password=None if has_password else settings.redis_password,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT_SECONDS,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), RETRIES),
    )
    return Redis.from_pool(pool)


def key(*parts: str) -> str:
    """`key("call", "abc")` -> `winet:call:abc`."""
    return PREFIX + ":".join(parts)


def new_call_facts_version() -> str:
    """A token no earlier version had, even across a flushed or restored database."""
    return secrets.token_hex(8)


def call_facts_changed(pipe: Pipeline) -> None:
    """Queue the new version in the transaction that changes a call fact."""
    pipe.set(CALL_FACTS_VERSION, new_call_facts_version())
