"""Records for the calls Asterisk handled while no worker was connected.

When no worker's Stasis application takes a call, the dialplan sends it straight to the desk
(fail-open, dialplan/extensions.conf) and appends to a ledger file one line when the call
starts and one when it ends:

    started <call id> <epoch> <caller number>
    ended <call id> <epoch> <hangup cause> <desk agent's endpoint>

A connected worker takes the ledger by renaming it (of several workers exactly one rename
succeeds; Asterisk starts a new file at its next line), writes the records those calls would
otherwise never have, and deletes what it took. A call still at the desk stays open until its
`ended` line arrives in a later ledger. A ledger whose taker died is taken over once it is old.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.store import calls

log = logging.getLogger(__name__)

READ_SECONDS = 5.0
ABANDONED_AFTER = 60.0  # seconds: a taken ledger this old lost its taker
REASON = "no IVR worker was connected: the dialplan sent the call to the desk"


@dataclass(frozen=True)
class LedgerLine:
    what: str  # started or ended
    call_id: str
    at: datetime
    detail: str  # the caller number (started) or the hangup cause (ended)
    agent: str = ""  # the endpoint of the desk agent who answered (ended)


def parse_line(line: str) -> LedgerLine | None:
    """One ledger line, or None for a line that is not one (torn by a crash, say)."""
    words = line.split(" ")
    if len(words) < 4 or words[0] not in ("started", "ended"):
        return None
    try:
        at = datetime.fromtimestamp(float(words[2]), UTC)
    except ValueError:
        return None
    if words[0] == "started":
        return LedgerLine("started", words[1], at, " ".join(words[3:]).strip())
    return LedgerLine("ended", words[1], at, words[3], " ".join(words[4:]).strip())


class FailOpenLedger:
    def __init__(self, redis: Redis, path: Path, abandoned_after: float = ABANDONED_AFTER) -> None:
        self._redis = redis
        self._path = path
        self._abandoned_after = abandoned_after
        self._token = secrets.token_hex(6)

    async def read(self) -> int:
        """Write the records of every ledger this worker could take; how many lines."""
        read = 0
        for taken in self._take():
            for line in filter(
                None, map(parse_line, taken.read_text(errors="replace").splitlines())
            ):
                await self._record(line)
                read += 1
            taken.unlink()
        return read

    def _take(self) -> list[Path]:
        """The new ledger and the abandoned ones, renamed to this worker's name."""
        taken_before = self._path.parent.glob(f"{self._path.name}.*")
        abandoned = (path for path in taken_before if self._abandoned(path))
        candidates = [self._path, *abandoned]
        taken = []
        for number, path in enumerate(candidates):
            mine = path.with_name(f"{self._path.name}.{self._token}-{number}")
            try:
                os.rename(path, mine)
            except FileNotFoundError:  # none yet, or another worker took it
                continue
            taken.append(mine)
        return taken

    def _abandoned(self, taken: Path) -> bool:
        try:
            return time.time() - taken.stat().st_ctime > self._abandoned_after
        except FileNotFoundError:  # its taker just finished with it
            return False

    async def _record(self, line: LedgerLine) -> None:
        redis = self._redis
        if line.what == "started":
            if await calls.get_call(redis, line.call_id) is None:
                await calls.start_call(
                    redis, line.call_id, line.detail or None, line.at, identified="no"
                )
                await calls.add_event(redis, line.call_id, "fail_open", line.at, reason=REASON)
            return
        try:
            if line.agent:
                await calls.update_call(redis, line.call_id, desk_agent_line=line.agent)
            await calls.finish_open_call(
                redis, line.call_id, line.at, "desk_fallback", hangup_cause=line.detail
            )
        except calls.UnknownCall:
            log.warning("the fail-open ledger ends call %s that it never started", line.call_id)

    async def run(self) -> None:
        while True:
            try:
                await self.read()
            except (RedisError, OSError) as error:
                log.info("the fail-open ledger is not read this time (%s)", error)
            await asyncio.sleep(READ_SECONDS)
