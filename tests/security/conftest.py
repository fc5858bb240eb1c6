"""The attack suite's targets: the real console (`ivr web serve` in a subprocess) on the test
stack's Redis (a database of its own), and the stack's Redis and Asterisk themselves.

- `stack_settings` (session): Redis and Asterisk up, database SECURITY_REDIS_DB emptied and
  prepared (tables, demo customers).
- `console` (function): the console on a free port with users ada (admin) and dan (desk), its
  own state folder (uploads) and sounds folder, the repository's tables and prompts.
- `visitor(address)`: a browser-like HTTP client whose connections come from `address`
  (any of 127.0.0.0/8), so tests can attack from several machines.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis as sync_redis
from redis.asyncio import Redis
from yarl import URL

from ivr import store
from ivr.config import Settings
from ivr.stack.processes import LaunchError
from tests.e2e.test_web_console import PASSWORDS, ConsoleServer
from tests.harness.worker import prepare_stack

SECURITY_REDIS_DB = 3
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    try:
        return prepare_stack(SECURITY_REDIS_DB)
    except LaunchError as error:
        pytest.fail(f"the stack could not start: {error}", pytrace=False)


@pytest_asyncio.fixture
async def redis(stack_settings: Settings) -> AsyncIterator[Redis]:
    client = store.connect(stack_settings)
    yield client
    await client.aclose()


@pytest.fixture
def console(stack_settings: Settings, tmp_path: Path) -> Iterator[ConsoleServer]:
    server = ConsoleServer(
        stack_settings.redis_url,
        tmp_path,
        {
            "IVR_STATE_DIR": str(tmp_path / "state"),
            "IVR_SOUNDS_DIR": str(tmp_path / "sounds"),
            "IVR_SECRET_REDIS_PASSWORD": stack_settings.redis_password,
            "IVR_LOG_LEVEL": "INFO",
        },
    )
    flush_web_state(stack_settings)
    server.add_user("ada", "admin")
    server.add_user("dan", "desk")
    server.start()
    yield server
    server.stop()


def flush_web_state(settings: Settings) -> None:
    """No users, sessions, failure counts or known devices left by an earlier test."""
    with sync_redis.Redis.from_url(settings.redis_url, password=settings.redis_password) as r:
        keys = list(r.scan_iter("winet:web:*"))
        if keys:
            r.delete(*keys)


@dataclass
class Visitor:
    """A browser from one address: cookies, Accept: text/html, no automatic redirects."""

    base: str
    session: aiohttp.ClientSession
    csrf: str = ""

    async def get(self, path: str | URL, **kwargs: Any) -> aiohttp.ClientResponse:
        headers = {"Accept": "text/html", **kwargs.pop("headers", {})}
        async with self.session.get(
            self._url(path), headers=headers, allow_redirects=False, **kwargs
        ) as response:
            await response.read()
            return response

    async def post(
        self, path: str, data: Any = None, *, csrf: bool = True, **kwargs: Any
    ) -> aiohttp.ClientResponse:
        headers = {"Accept": "text/html", **kwargs.pop("headers", {})}
        if csrf and isinstance(data, dict):
            data = {"csrf_token": self.csrf, **data}
        async with self.session.post(
            self._url(path), data=data, headers=headers, allow_redirects=False, **kwargs
        ) as response:
            await response.read()
            return response

    async def login_token(self) -> str:
        form = await self.get("/login")
        assert form.status == 200, form.status
        return CSRF_FIELD.search(await form.text()).group(1)

    async def log_in(self, user: str, password: str | None = None, **fields: str):
        token = await self.login_token()
        response = await self.post(
            "/login",
            {"csrf_token": token, "user": user, "password": password or PASSWORDS[user], **fields},
            csrf=False,
        )
        if response.status == 303:
            home = await self.get("/desk")
            self.csrf = CSRF_META.search(await home.text()).group(1)
        return response

    def _url(self, path: str | URL) -> str | URL:
        """`path` as a URL on the console; a yarl URL keeps its encoding as it is."""
        if isinstance(path, URL):
            return URL(self.base + str(path), encoded=True)
        return self.base + path


@pytest_asyncio.fixture
async def visitor(
    console: ConsoleServer,
) -> AsyncIterator[Callable[[str], Awaitable[Visitor]]]:
    sessions: list[aiohttp.ClientSession] = []

    async def make(address: str = "127.0.0.1") -> Visitor:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(address, 0), force_close=True),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )
        sessions.append(session)
        return Visitor(console.url, session)

    yield make
    for session in sessions:
        await session.close()
