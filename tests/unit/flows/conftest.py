"""The worker's runtime for scripted calls: the repository's tables and prompt catalogue, the
demo customers in a real Redis, and a clock that stands at Saturday 28 Nov 2026 10:15 in
Zurich (premium and pro-plus covered, pro, basic-plus and basic not) until the call moves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from ivr.clock import parse_instant
from ivr.config import REPO_DIR, Settings
from ivr.customers.demo import load_demo_customers
from ivr.prompts.catalogue import Catalogue, load_catalogue
from ivr.routing import Tables, load_tables
from ivr.worker.runtime import Runtime
from tests.unit.flows.scripted import ScriptClock

SATURDAY_MORNING = "2026-11-28T10:15:00+01:00"
PIN_KEY = b"scripted-call-pin-key"


@cache
def repository_tables() -> Tables:
    return load_tables(REPO_DIR / "routing")


@cache
def repository_catalogue() -> Catalogue:
    return load_catalogue(REPO_DIR / "prompts")


@pytest.fixture(scope="session")
def sounds_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the customers' names are rendered for the whisper, once per session."""
    return tmp_path_factory.mktemp("sounds")


@pytest_asyncio.fixture
async def runtime(redis_client: Redis, sounds_dir: Path, tmp_path: Path) -> AsyncIterator[Runtime]:
    tables = repository_tables()
    await load_demo_customers(redis_client, pin_key=PIN_KEY, known_tiers=set(tables.tiers))
    settings = Settings.from_env(
        {"IVR_STATE_DIR": str(tmp_path), "IVR_SOUNDS_DIR": str(sounds_dir)}
    )
    yield Runtime(
        settings=settings,
        redis=redis_client,
        clock=ScriptClock(parse_instant(SATURDAY_MORNING, tables.zone)),
        tables=tables,
        catalogue=repository_catalogue(),
        pin_key=PIN_KEY,
    )
