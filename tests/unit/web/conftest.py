"""The console against the test Redis, with a browser-like client per user.

- `console` (function): the app served by aiohttp's test server, with users `ada` (admin) and
  `dan` (desk), a settable clock, the repository's routing tables and prompt catalogue (copied),
  and a sounds folder of its own.
- `anonymous`, `admin`, `desk`: clients with their own cookies; `admin` and `desk` are logged in.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from ivr import store
from ivr.config import REPO_DIR, Settings
from ivr.store import users
from ivr.web.accounts import hash_password
from ivr.web.app import create_app

# Saturday 28 Nov 2026 22:14 in Zurich: outside every tier but premium; Marco is on standby.
NOW = datetime(2026, 11, 28, 21, 14, tzinfo=UTC)
PASSWORDS = {"ada": "ada's long password", "dan": "dan's long password"}
ROLES = {"ada": "admin", "dan": "desk"}
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Console:
    app: web.Application
    server: TestServer
    settings: Settings
    redis: Redis
    clock: Clock
    clients: list[TestClient] = field(default_factory=list)

    async def client(self) -> Browser:
        client = TestClient(self.server, cookie_jar=CookieJar(unsafe=True))
        await client.start_server()
        self.clients.append(client)
        return Browser(client)


@dataclass
class Browser:
    """A client that behaves like a browser: cookies, Accept: text/html, the CSRF token."""

    client: TestClient
    csrf: str = ""

    async def get(self, path: str, **kwargs: Any):
        headers = {"Accept": "text/html", **kwargs.pop("headers", {})}
        return await self.client.get(path, headers=headers, allow_redirects=False, **kwargs)

    async def post(self, path: str, data: Any = None, *, csrf: bool = True, **kwargs: Any):
        headers = {"Accept": "text/html", **kwargs.pop("headers", {})}
        if csrf and isinstance(data, dict):
            data = {"csrf_token": self.csrf, **data}
        return await self.client.post(
            path, data=data, headers=headers, allow_redirects=False, **kwargs
        )

    async def page(self, path: str) -> str:
        response = await self.get(path)
        assert response.status == 200, (path, response.status, await response.text())
        return await response.text()

    async def log_in(self, user: str, password: str | None = None):
        form = await self.page("/login")
        token = CSRF_FIELD.search(form).group(1)
        response = await self.post(
            "/login",
            {"csrf_token": token, "user": user, "password": password or PASSWORDS[user]},
            csrf=False,
        )
        if response.status == 303:
            home = await self.page(response.headers["Location"])
            self.csrf = CSRF_META.search(home).group(1)
        return response


@pytest.fixture(scope="session")
def password_hashes() -> dict[str, str]:
    return {name: hash_password(password) for name, password in PASSWORDS.items()}


@pytest.fixture
def settings(redis_server, tmp_path) -> Settings:
    shutil.copytree(REPO_DIR / "prompts", tmp_path / "prompts")
    return Settings.from_env(
        {
            "IVR_REDIS_URL": redis_server.url,
            "IVR_STATE_DIR": str(tmp_path / "state"),
            "IVR_TABLES_DIR": str(REPO_DIR / "routing"),
            "IVR_PROMPTS_DIR": str(tmp_path / "prompts"),
            "IVR_SOUNDS_DIR": str(tmp_path / "sounds"),
        }
    )


@pytest_asyncio.fixture
async def console(redis_client, settings, password_hashes) -> AsyncIterator[Console]:
    redis = store.connect(settings)
    for name, role in ROLES.items():
        await users.save_user(redis, name, role, password_hashes[name], now=NOW)
    clock = Clock()
    app = create_app(settings, redis, clock)
    server = TestServer(app)
    await server.start_server()
    console = Console(app, server, settings, redis, clock)
    try:
        yield console
    finally:
        for client in console.clients:
            await client.close()
        await server.close()
        await redis.aclose()


@pytest_asyncio.fixture
async def anonymous(console) -> Browser:
    return await console.client()


@pytest_asyncio.fixture
async def admin(console) -> Browser:
    browser = await console.client()
    assert (await browser.log_in("ada")).status == 303
    return browser


@pytest_asyncio.fixture
async def desk(console) -> Browser:
    browser = await console.client()
    assert (await browser.log_in("dan")).status == 303
    return browser
