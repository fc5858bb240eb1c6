"""Faults while the worker runs (issue 3): the ARI websocket drops, Asterisk restarts, the
worker is down. The worker reconnects within 5 seconds and takes the next call; a call that
arrives while no worker is connected reaches the desk through the fail-open dialplan, and gets
its record once a worker is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.stack import asterisk
from ivr.stack.launcher import start_components
from ivr.worker.fail_open import READ_SECONDS
from tests.e2e.conftest import SATURDAY_MORNING, prompt_seconds, wait_for_record
from tests.harness.proxy import CuttableProxy
from tests.harness.worker import Worker, app_registered

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_asterisk")]

PRO = "+41912345678"  # studio-lugano: the notice path on Saturday; 2 withdraws
PREMIUM = "+41441234567"
RECONNECT_LIMIT = 5.0
LEDGER_READ_WITHIN = READ_SECONDS + 5.0
UNREGISTER_LIMIT = 2.0
OVERLOAD_LIMIT_MS = 300
LATE_ANSWERS = 2.0  # seconds every answer and event of Asterisk's is late


async def withdrawn_call_is_handled(sipp, redis, settings) -> None:
    during_notice = prompt_seconds(settings, "de", "greeting") + 3.0
    call = await sipp(PRO, [(during_notice, "2")])
    assert call.answered and call.hangup_by == "far_end"
    record = await wait_for_record(redis, caller=PRO)
    assert record.summary["outcome"] == "withdrawn"


async def reconnected_within(worker: Worker, connections_before: int, limit: float) -> float:
    """Seconds until the worker logged a new connection and Asterisk lists its application."""
    started = time.monotonic()
    while worker.connections() <= connections_before or not await asyncio.to_thread(
        app_registered, worker.settings
    ):
        assert time.monotonic() - started < limit, f"no reconnect within {limit} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_worker_reconnects_after_asterisk_restarts(worker, sipp, redis, stack_settings):
    connections = worker.connections()
    await asyncio.to_thread(asterisk.stop, stack_settings)
    await asyncio.to_thread(start_components, stack_settings, ("asterisk",))  # until ARI answers

    seconds = await reconnected_within(worker, connections, RECONNECT_LIMIT)

    print(f"\nworker reconnected {seconds:.2f} s after Asterisk's ARI answered again")
    await withdrawn_call_is_handled(sipp, redis, stack_settings)


async def unregistered_within(settings: Settings, limit: float) -> None:
    """Asterisk drops a stopped worker's application once it reads the websocket's end."""
    started = time.monotonic()
    while await asyncio.to_thread(app_registered, settings):
        assert time.monotonic() - started < limit, f"application still listed after {limit} s"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def worker_behind_a_proxy(
    worker: Worker, settings: Settings, work_dir: Path, **env: str
) -> AsyncIterator[tuple[Worker, CuttableProxy]]:
    """The session's worker stopped, and one that reaches ARI through a proxy in its place."""
    proxy = CuttableProxy(int(settings.ari_url.split(":")[2].split("/")[0]))
    await proxy.start()
    await asyncio.to_thread(worker.stop)
    behind = Worker(
        settings,
        SATURDAY_MORNING,
        work_dir,
        IVR_ARI_URL=f"http://127.0.0.1:{proxy.port}/ari",
        **env,
    )
    try:
        await asyncio.to_thread(behind.start)
        yield behind, proxy
    finally:
        await asyncio.to_thread(behind.stop)
        await proxy.close()
        await asyncio.to_thread(worker.start)


async def test_worker_reconnects_after_the_websocket_drops(
    worker, sipp, redis, stack_settings, tmp_path
):
    async with worker_behind_a_proxy(worker, stack_settings, tmp_path) as (behind, proxy):
        connections = behind.connections()

        proxy.cut()
        seconds = await reconnected_within(behind, connections, RECONNECT_LIMIT)

        print(f"\nworker reconnected {seconds:.2f} s after its websocket was cut")
        await withdrawn_call_is_handled(sipp, redis, stack_settings)


async def test_while_asterisk_answers_late_new_calls_go_straight_to_the_desk(
    worker, phones, sipp, redis, stack_settings, tmp_path
):
    """Admission control gauges Asterisk's response time, not only the worker's own lag."""
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=2)
    limit = {"IVR_OVERLOAD_LAG_MS": str(OVERLOAD_LIMIT_MS)}
    async with worker_behind_a_proxy(worker, stack_settings, tmp_path, **limit) as (_, proxy):
        await withdrawn_call_is_handled(sipp, redis, stack_settings)  # answered in time: admitted

        proxy.answer_delay = LATE_ANSWERS
        await sipp(PRO, hangup_after=5.0)  # its requests are answered late
        call = await sipp(PREMIUM)

    assert call.answered and call.hangup_by == "far_end"
    await phones.wait_for("xy-desk", "incoming")
    record = await wait_for_record(redis, caller=PREMIUM)
    assert record.summary["outcome"] == "desk_overload"
    [overload] = [event for event in record.events if event["kind"] == "overload"]
    assert overload["asterisk_ms"] > OVERLOAD_LIMIT_MS, overload


async def test_a_call_reaches_the_desk_while_the_worker_is_down_and_is_recorded_after(
    worker, phones, sipp, redis, stack_settings
):
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=3)
    await asyncio.to_thread(worker.stop)
    try:
        await unregistered_within(stack_settings, UNREGISTER_LIMIT)
        call = await sipp(PREMIUM, [(1.0, "42#")])
    finally:
        await asyncio.to_thread(worker.start)

    assert call.answered and call.hangup_by == "far_end"
    assert phones.digits("xy-desk") == "42#", "the caller's keys crossed the desk bridge"
    headers = (await phones.wait_for("xy-desk", "incoming"))["x_headers"]
    assert headers["X-Winet-Fail-Open"] == "yes"
    assert headers["X-Winet-Customer"] == "unknown"
    assert headers["X-Winet-Call"], "the desk still gets a call id to quote"
    # the worker, connected again, writes the record from Asterisk's fail-open ledger
    record = await wait_for_record(redis, caller=PREMIUM, within=LEDGER_READ_WITHIN)
    assert record.call_id == headers["X-Winet-Call"]
    assert record.summary["outcome"] == "desk_fallback"
    assert record.summary["desk_agent_line"] == "xy-desk"
    assert [e["kind"] for e in record.events] == ["started", "fail_open", "ended"]
