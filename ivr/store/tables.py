"""Versions of the routing tables, as published from the admin console.

A version is a bundle {file name: TOML text} with its author, time and comment. Versions are
numbered 1, 2, 3 ... and never change; activating an old version (a rollback) publishes a copy
of it as a new version, so the history reads in order. The store only stores: validating a
bundle is the routing core's job, before it is published.

Keys:
- `winet:tables:last-version`  the highest version number given out
- `winet:tables:version:<n>`   hash: bundle (JSON), files (JSON list), author, created_at,
                               comment, restored_from ("" or the version copied)
- `winet:tables:active`        the active version number
Each change publishes the new active version number on the channel `winet:tables`, so every
worker reloads once per change (`watch_tables`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ivr.store import key
from ivr.store.pubsub import Subscription

CHANNEL = key("tables")
LAST_VERSION = key("tables", "last-version")
ACTIVE = key("tables", "active")
_VERSION_PREFIX = key("tables", "version", "")

_UNKNOWN_VERSION = "unknown tables version"
_META_FIELDS = ("files", "author", "created_at", "comment", "restored_from")

_PUBLISH = f"""
-- KEYS: last version, active
-- ARGV: version key prefix, channel, bundle JSON, files JSON, author, created_at, comment,
--       restored_from: '' for a new bundle, else the version whose bundle is copied
local bundle, files, restored_from = ARGV[3], ARGV[4], ARGV[8]
if restored_from ~= '' then
  local source = ARGV[1] .. restored_from
  bundle = redis.call('HGET', source, 'bundle')
  if not bundle then
    return redis.error_reply('{_UNKNOWN_VERSION} ' .. restored_from)
  end
  files = redis.call('HGET', source, 'files')
end
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', ARGV[1] .. id, 'bundle', bundle, 'files', files, 'author', ARGV[5],
           'created_at', ARGV[6], 'comment', ARGV[7], 'restored_from', restored_from)
redis.call('SET', KEYS[2], id)
redis.call('PUBLISH', ARGV[2], id)
return id
"""


class UnknownTablesVersion(LookupError):
    def __init__(self, version_id: int) -> None:
        self.version_id = version_id
        super().__init__(f"no routing-tables version {version_id}")


@dataclass(frozen=True)
class TablesVersion:
    version_id: int
    files: tuple[str, ...]
    author: str
    created_at: datetime
    comment: str
    restored_from: int | None


async def publish_tables(
    redis: Redis,
    bundle: Mapping[str, str],
    author: str,
    comment: str,
    *,
    at: datetime | None = None,
) -> int:
    """Store the bundle as the next version and make it active; returns its number."""
    for name, text in bundle.items():
        if not isinstance(name, str) or not name or not isinstance(text, str):
            raise TypeError(f"a bundle maps file names to TOML text, not {name!r}: {text!r}")
    return await _publish(
        redis, json.dumps(dict(bundle)), json.dumps(sorted(bundle)), author, comment, at, None
    )


async def activate_tables_version(
    redis: Redis, version_id: int, author: str, *, at: datetime | None = None
) -> int:
    """Roll back (or forward) to an earlier version: its copy becomes a new, active version."""
    return await _publish(redis, "", "", author, f"activated version {version_id}", at, version_id)


async def active_tables(redis: Redis) -> tuple[int, dict[str, str]] | None:
    """The active version number and its bundle; None before the first publish."""
    active = await redis.get(ACTIVE)
    if active is None:
        return None
    bundle = await redis.hget(_version_key(int(active)), "bundle")
    return int(active), json.loads(bundle)


async def get_tables_version(
    redis: Redis, version_id: int
) -> tuple[TablesVersion, dict[str, str]] | None:
    values = await redis.hmget(_version_key(version_id), ["bundle", *_META_FIELDS])
    if values[0] is None:
        return None
    return _version(version_id, values[1:]), json.loads(values[0])


async def tables_history(redis: Redis, limit: int = 50) -> list[TablesVersion]:
    """The latest versions, newest first."""
    last = int(await redis.get(LAST_VERSION) or 0)
    ids = list(range(last, max(last - limit, 0), -1))
    pipe = redis.pipeline(transaction=False)
    for version_id in ids:
        pipe.hmget(_version_key(version_id), list(_META_FIELDS))
    return [
        _version(version_id, values)
        for version_id, values in zip(ids, await pipe.execute(), strict=True)
    ]


def watch_tables(redis: Redis) -> Subscription[int]:
    """The number of each newly active version, as it becomes active."""
    return Subscription(redis, CHANNEL, int)


async def _publish(
    redis: Redis,
    bundle: str,
    files: str,
    author: str,
    comment: str,
    at: datetime | None,
    restored_from: int | None,
) -> int:
    created_at = (at or datetime.now(UTC)).isoformat()
    args = [_VERSION_PREFIX, CHANNEL, bundle, files, author, created_at, comment]
    args.append("" if restored_from is None else str(restored_from))
    try:
        return int(await redis.register_script(_PUBLISH)(keys=[LAST_VERSION, ACTIVE], args=args))
    except ResponseError as error:
        if _UNKNOWN_VERSION in str(error) and restored_from is not None:
            raise UnknownTablesVersion(restored_from) from None
        raise


def _version(version_id: int, values: list[str]) -> TablesVersion:
    files, author, created_at, comment, restored_from = values
    return TablesVersion(
        version_id=version_id,
        files=tuple(json.loads(files)),
        author=author,
        created_at=datetime.fromisoformat(created_at),
        comment=comment,
        restored_from=int(restored_from) if restored_from else None,
    )


def _version_key(version_id: int) -> str:
    return _VERSION_PREFIX + str(version_id)
