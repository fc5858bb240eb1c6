"""The real stack for end-to-end tests: Asterisk 22 and Redis from the launcher, the prompts
built, and an IVR worker running with a set clock against a Redis database of its own.

The worker is the real `ivr serve` in a subprocess. The dialplan sends the support number to
the Stasis application `winet-hotline`, so a hotline worker started by `./hotline up` is
stopped for the test session (start it again with `./hotline up`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from ivr import store
from ivr.config import REPO_DIR, Settings
from ivr.prompts.installed import sound_path
from ivr.routing import tables_version
from ivr.stack import asterisk
from ivr.stack.processes import LaunchError
from ivr.stack.setup import prepare_data
from ivr.store import calls
from ivr.store import tables as table_versions
from tests.harness.worker import Worker, WorkerError, prepare_stack

# Saturday 28 Nov 2026, 10:15 in Zurich: premium and pro-plus are covered, pro, basic-plus and
# basic are not. Every e2e call is routed at this instant (the worker's clock runs on from it).
SATURDAY_MORNING = "2026-11-28T10:15:00+01:00"
TEST_REDIS_DB = 1
# The workers send e-mail here; a test that reads it runs an SMTP server on this port
# (tests/e2e/test_requests.py). Without one, sending fails at once and is only recorded.
SMTP_PORT = 2525


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    """Asterisk and Redis up (started when needed), prompts built, a clean test database."""
    try:
        return prepare_stack(TEST_REDIS_DB)
    except LaunchError as error:
        pytest.fail(f"the end-to-end stack could not start: {error}", pytrace=False)


@pytest.fixture(scope="session")
def worker(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """`ivr serve` with its clock set to SATURDAY_MORNING, for the whole session."""
    handle = Worker(
        stack_settings,
        SATURDAY_MORNING,
        tmp_path_factory.mktemp("worker"),
        IVR_SMTP_PORT=str(SMTP_PORT),
    )
    try:
        handle.start()
    except WorkerError as error:
        pytest.fail(str(error), pytrace=False)
    yield handle
    handle.stop()


@pytest_asyncio.fixture
async def redis(stack_settings: Settings) -> AsyncIterator[Redis]:
    """The test database, reset to the repository's tables and the demo customers."""
    client = store.connect(stack_settings)
    await client.flushdb()
    await asyncio.to_thread(prepare_data, stack_settings)
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def clean_asterisk(stack_settings: Settings) -> AsyncIterator[None]:
    """No channel or bridge left over from an earlier test, and none left by this one."""
    await asyncio.to_thread(hang_up_everything, stack_settings)
    yield
    await asyncio.to_thread(hang_up_everything, stack_settings)


def prompt_seconds(settings: Settings, lang: str, *prompt_ids: str) -> float:
    """How long the installed prompts last (8 kHz, 16-bit: 16000 bytes a second)."""
    return sum(
        sound_path(settings.sounds_dir, lang, prompt_id).stat().st_size / 16000
        for prompt_id in prompt_ids
    )


def hang_up_everything(settings: Settings) -> None:
    asterisk.cli(settings, "channel request hangup all")
    deadline = time.monotonic() + 5
    while asterisk.ari_get(settings, "/channels") and time.monotonic() < deadline:
        time.sleep(0.1)
    for bridge in asterisk.ari_get(settings, "/bridges") or []:
        asterisk.ari_request(settings, "DELETE", f"/bridges/{bridge['id']}")


async def wait_for_record(
    redis: Redis, *, ended: bool = True, within: float = 20.0, caller: str | None = None
) -> calls.CallRecord:
    """The newest call record (of `caller`, if given), once it has ended."""
    deadline = time.monotonic() + within
    while True:
        for summary in await calls.list_calls(redis, limit=5):
            if caller and summary.get("caller_number") != caller:
                continue
            if not ended or summary.get("ended_at"):
                return await calls.get_call(redis, summary["call_id"])
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"no {'ended ' if ended else ''}call record within {within} s")
        await asyncio.sleep(0.1)


async def publish_change(redis, worker, file: str, old: str, new: str) -> None:
    """Publish the active tables with one edit and wait until the worker has loaded them."""
    _, bundle = await table_versions.active_tables(redis)
    assert old in bundle[file], f"{old!r} not in {file}"
    bundle[file] = bundle[file].replace(old, new)
    seen = len(worker.log_text())
    published = await table_versions.publish_tables(redis, bundle, "e2e", f"{file}: {new}")
    loaded = f"published version {published} ({tables_version(bundle)})"
    for _ in range(50):
        if loaded in worker.log_text()[seen:]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the worker did not load tables version {published}")


async def run_ivr(settings, *args: str, now: str = SATURDAY_MORNING) -> str:
    """Run the real `ivr ...` command against the test database at the instant `now`; its
    output (a failing command fails the test with its error)."""
    env = {
        **os.environ,
        "IVR_REDIS_URL": settings.redis_url,
        "IVR_ALLOW_FAKE_CLOCK": "1",
        "IVR_NOW": now,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr",
        *args,
        env=env,
        cwd=REPO_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()
