"""What every handler of the console reaches through `request.app[CONSOLE]`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web
from redis.asyncio import Redis

from ivr.clock import Clock
from ivr.config import Settings

if TYPE_CHECKING:
    from ivr.web.active_tables import ActiveTables
    from ivr.web.board import DeskBoard


@dataclass
class Console:
    settings: Settings
    redis: Redis
    clock: Clock
    tables: ActiveTables
    board: DeskBoard
    secure_cookies: bool

    def now(self) -> datetime:
        return self.clock().astimezone(self.tables.zone)


CONSOLE = web.AppKey("console", Console)


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE]
