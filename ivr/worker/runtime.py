"""The worker's runtime: what one worker process knows while it runs (its settings, Redis, the
clock, the prompt catalogue, the live routing tables and the call facts).

The routing tables are parsed once and replaced as a whole when an admin publishes a new
version (a Redis notification), never re-read per call.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.calls.backlog import RecordBacklog
from ivr.calls.writer import RecordWriter
from ivr.clock import Clock
from ivr.config import Settings
from ivr.prompts.catalogue import Catalogue
from ivr.routing import Tables, TablesError, load_tables, parse_tables
from ivr.store import tables as table_versions
from ivr.store.call_facts import CallFacts
from ivr.store.pubsub import stop_follower
from ivr.worker.call_facts import KeptCallFacts
from ivr.worker.load import LoadGauge

log = logging.getLogger(__name__)

RESUBSCRIBE_SECONDS = 2.0


@dataclass
class Runtime:
    settings: Settings
    redis: Redis
    clock: Clock
    tables: Tables
    catalogue: Catalogue
    pin_key: bytes
    tables_source: str = "repository"
    published_version: int | None = None
    backlog: RecordBacklog = field(init=False, repr=False)
    records: RecordWriter = field(init=False, repr=False)  # every call's record changes
    load: LoadGauge = field(init=False, repr=False)
    facts: KeptCallFacts = field(init=False, repr=False)  # customers, units, incident
    _watcher: asyncio.Task[None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.backlog = RecordBacklog(self.redis)
        self.records = RecordWriter(self.redis, self.backlog)
        self.load = LoadGauge(self.settings.overload_lag_ms / 1000)
        self.facts = KeptCallFacts()

    def now(self) -> datetime:
        return self.clock().astimezone(self.tables.zone)

    async def call_facts(self) -> CallFacts:
        """The customers, their free units and the incident, for a call starting now."""
        return await self.facts.current(self.redis, self.now())

    async def load_published_tables(self) -> None:
        """Switch to the active published version, if there is one and it is valid."""
        active = await table_versions.active_tables(self.redis)
        if active is None:
            return
        version, bundle = active
        if version == self.published_version:
            return
        try:
            self.tables = parse_tables(bundle)
        except TablesError as error:
            log.error(
                "published tables version %s invalid, keeping the current: %s", version, error
            )
            return
        self.published_version = version
        self.tables_source = f"published version {version}"
        log.info("routing tables: %s (%s)", self.tables_source, self.tables.version)

    def watch_tables(self) -> None:
        """Reload the tables whenever a new version is published, until `stop_watching`."""
        self._watcher = asyncio.create_task(self._watch(), name="watch-tables")

    async def stop_watching(self) -> None:
        await stop_follower(self._watcher)

    async def _watch(self) -> None:
        while True:
            try:
                async with table_versions.watch_tables(self.redis) as changes:
                    await self.load_published_tables()  # anything published while away
                    async for _version in changes:
                        await self.load_published_tables()
            except (RedisError, OSError) as error:
                log.warning("lost the tables notifications (%s); resubscribing", error)
                await asyncio.sleep(RESUBSCRIBE_SECONDS)


def repository_tables(settings: Settings) -> Tables:
    """The tables in the configured folder: the start-up default before any is published."""
    return load_tables(settings.tables_dir)
