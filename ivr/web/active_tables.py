"""The routing tables the console shows and simulates with: the active published version.

Before anything is published, the tables in the installation's folder (what the workers use
then too). A version is parsed once, when it first becomes active, not on every request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Set
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiohttp import web
from redis.asyncio import Redis

from ivr.config import Settings
from ivr.routing import Problem, Tables, TablesError, load_tables, parse_tables
from ivr.store.tables import active_tables
from ivr.web.console import console_of


@dataclass(frozen=True)
class Current:
    """The active tables: `version` None means not published (the folder's tables)."""

    version: int | None
    bundle: dict[str, str]
    tables: Tables | None  # None when the bundle is invalid (see `problems`)
    problems: tuple[Problem, ...] = ()


class ActiveTables:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._settings = settings
        self._current: Current | None = None
        self._folder: Current | None = None

    @property
    def zone(self) -> ZoneInfo:
        """The zone of the tables seen last (for showing times), Europe/Zurich before any."""
        current = self._current
        if current is None or current.tables is None:
            return ZoneInfo("Europe/Zurich")
        return current.tables.zone

    async def get(self) -> Current:
        active = await active_tables(self._redis)
        if active is None:
            current = await self._folder_tables()
        else:
            version, bundle = active
            current = self._current
            if current is None or current.version != version:
                current = parsed(version, bundle)
        self._current = current
        return current

    async def _folder_tables(self) -> Current:
        if self._folder is None:
            try:
                tables = await asyncio.to_thread(load_tables, self._settings.tables_dir)
            except TablesError as error:
                self._folder = Current(None, {}, None, error.problems)
            else:
                self._folder = Current(None, dict(tables.files), tables)
        return self._folder


def parsed(
    version: int | None, bundle: dict[str, str], *, endpoints: Set[str] | None = None
) -> Current:
    """The bundle parsed; the problems when it is invalid. `endpoints`: the Asterisk endpoints
    its dial strings may name (checked for an edit; a published version was checked then)."""
    try:
        return Current(version, bundle, parse_tables(bundle, endpoints=endpoints))
    except TablesError as error:
        return Current(version, bundle, None, error.problems)


async def tables_for(request: web.Request) -> tuple[Current, Tables]:
    """The active tables for a page that needs them; a 500 naming the problems if invalid."""
    current = await console_of(request).tables.get()
    if current.tables is None:
        problems = "; ".join(str(problem) for problem in current.problems)
        raise web.HTTPInternalServerError(
            text=f"the active routing tables are invalid, fix them first: {problems}"
        )
    return current, current.tables
