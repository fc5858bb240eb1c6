"""The call facts a worker keeps (`ivr.store.call_facts`): confirmed against Redis once per call,
read again when they changed, and gone on with while Redis does not answer.

When Redis freezes or restarts, a caller is still identified, hears the incident and the right
free units, and reaches the technician; only the call's record waits for Redis (the record
backlog). Without them, every call in that time went to the desk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.store.call_facts import CallFacts, read_call_facts, version

log = logging.getLogger(__name__)

# How long a call waits for Redis to confirm the facts before going on with the ones it has.
CONFIRM_SECONDS = 0.5
# After Redis did not answer, calls go on without asking for this long: a frozen Redis costs
# one caller half a second per second, not every caller.
UNANSWERED_PAUSE_SECONDS = 1.0


@dataclass(frozen=True)
class _Reading:
    wanted: str | None  # the version the read was started for (None: the first read)
    month: tuple[int, int]
    task: asyncio.Task[CallFacts]


class KeptCallFacts:
    def __init__(self) -> None:
        self._facts: CallFacts | None = None
        self._facts_read_by = 0  # the number of the read that gave them
        self._reading: _Reading | None = None
        self._reads = 0
        self._quiet_until = 0.0  # monotonic; Redis did not answer, do not ask before
        self._checking: asyncio.Task[str | None] | None = None
        self._unanswered_since: float | None = None  # monotonic, for the log

    async def current(self, redis: Redis, now: datetime) -> CallFacts:
        """The facts for a call starting `now`. Raises RedisError only when Redis does not
        answer and no facts for this month were read yet."""
        kept, month = self._facts, (now.year, now.month)
        if kept is None or not kept.of_month(*month):
            return await self._read(redis, now, None)
        if time.monotonic() < self._quiet_until:
            return kept
        try:
            confirmed = await self._check(redis)
            latest = self._facts  # another call may have read them meanwhile
            if latest is not None and latest.version == confirmed and latest.of_month(*month):
                return latest
            return await self._read(redis, now, confirmed)
        except (RedisError, OSError, TimeoutError) as error:
            self._unanswered(error)
            return kept

    async def _check(self, redis: Redis) -> str | None:
        """The version now. Calls that start while a check is under way wait for that one:
        a Redis that does not answer keeps them half a second, not each a check of its own."""
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(
                asyncio.wait_for(version(redis), CONFIRM_SECONDS), name="check-call-facts"
            )
        confirmed = await asyncio.shield(self._checking)
        if self._unanswered_since is not None:
            log.warning(
                "Redis confirms the call facts again, after %.1f s",
                time.monotonic() - self._unanswered_since,
            )
            self._unanswered_since = None
        return confirmed

    async def _read(self, redis: Redis, now: datetime, wanted: str | None) -> CallFacts:
        """Facts at least as new as version `wanted`. The calls that found the same new version
        share one read (a storm of calls after one change reads the facts once, not per call)."""
        month = (now.year, now.month)
        reading = self._reading
        if (
            reading is None
            or reading.task.done()
            or reading.month != month
            or (wanted is not None and reading.wanted != wanted)
        ):
            self._reads += 1
            task = asyncio.create_task(
                self._read_and_keep(redis, month, self._reads), name="read-call-facts"
            )
            reading = self._reading = _Reading(wanted, month, task)
        return await asyncio.shield(reading.task)

    async def _read_and_keep(self, redis: Redis, month: tuple[int, int], number: int) -> CallFacts:
        facts = await read_call_facts(redis, *month)
        if number > self._facts_read_by:  # reads may overlap: keep the latest started
            self._facts, self._facts_read_by = facts, number
        return facts

    def _unanswered(self, error: BaseException) -> None:
        if self._unanswered_since is None:
            self._unanswered_since = time.monotonic()
            log.warning(
                "Redis did not confirm the call facts (%s); calls go on with the ones read "
                "before until it does",
                type(error).__name__,
            )
        self._quiet_until = time.monotonic() + UNANSWERED_PAUSE_SECONDS
