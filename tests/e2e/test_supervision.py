"""The workers under the supervisor, as `./hotline up` runs them (issue 10): two workers share
the calls; one killed with SIGKILL is started again within 3 s, the caller it left in the IVR
goes on (routed again) instead of hearing silence, a caller it left talking with the technician
talks on, and new calls meanwhile reach the other one."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ivr.config import Settings, worker_app
from ivr.prompts.installed import SOUND_EXTENSION, language_dir
from ivr.stack import asterisk, processes
from ivr.stack import worker as workers
from ivr.stack.launcher import SUPERVISOR, start_supervisor
from tests.e2e.conftest import SATURDAY_MORNING, wait_for_record
from tests.e2e.test_call_flow import routed
from tests.harness.worker import Worker

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_asterisk")]

PRO = "+41912345678"  # studio-lugano: the notice path on Saturday, a minute in the IVR
PREMIUM = "+41441234567"
TAKEOVER_LIMIT = 3.0
PROMPT_RATE = 8000  # the installed prompts: 16-bit signed linear, 8 kHz (.sln)


@pytest_asyncio.fixture
async def supervised(
    worker: Worker, stack_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Settings]:
    """Two launcher workers and the supervisor instead of the session's test worker."""
    await asyncio.to_thread(worker.stop)
    for name, value in {
        "IVR_REDIS_URL": stack_settings.redis_url,
        "IVR_ALLOW_FAKE_CLOCK": "1",
        "IVR_NOW": SATURDAY_MORNING,
        "IVR_WORKERS": "2",
    }.items():
        monkeypatch.setenv(name, value)
    settings = dataclasses.replace(stack_settings, workers=2)
    try:
        await asyncio.to_thread(workers.start, settings)
        start_supervisor(settings)
        yield settings
    finally:
        processes.stop(settings, SUPERVISOR)
        await asyncio.to_thread(workers.stop, settings)
        await asyncio.to_thread(worker.start)


async def channel_in_app(settings: Settings, caller: str, within: float = 15.0) -> tuple[str, str]:
    """The caller's channel once it is in a worker's application: (channel id, application)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for channel in await asyncio.to_thread(asterisk.ari_get, settings, "/channels") or []:
            plan = channel.get("dialplan", {})
            if channel["caller"]["number"] == caller and plan.get("app_name") == "Stasis":
                return channel["id"], plan["app_data"].split(",")[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no channel of {caller} in a worker's application within {within} s")


def prompt_seconds(settings: Settings, prompt: str, lang: str = "de") -> float:
    sound = language_dir(settings.sounds_dir, lang) / f"{prompt}{SOUND_EXTENSION}"
    return sound.stat().st_size / 2 / PROMPT_RATE


async def test_a_killed_worker_is_replaced_and_its_caller_in_the_ivr_goes_on(
    supervised, phones, sipp, redis
):
    technician = routed("premium").standby
    standby = technician.dial.removeprefix("PJSIP/")
    await phones.configure(standby, answer_after=0.2, dtmf=[(0.5, "1")], hangup_after=3)
    caller = asyncio.create_task(sipp(PREMIUM, hangup_after=40))
    channel_id, app = await channel_in_app(supervised, PREMIUM)
    index = int(app.rsplit("-", 1)[1])
    victim = processes.running_pid(supervised, f"worker-{index}")
    await asyncio.sleep(0.5)  # the caller hears the greeting

    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    incoming = await phones.wait_for(standby, "incoming", timeout=15)
    # the successor says "connecting you to the technician", then rings them
    taken_over = time.monotonic() - killed - prompt_seconds(supervised, "connecting_technician")
    replaced = processes.running_pid(supervised, f"worker-{index}")

    print(f"\nthe caller was taken over {taken_over:.2f} s after the kill")
    assert taken_over <= TAKEOVER_LIMIT
    assert replaced and replaced != victim, "the supervisor started the worker again"
    assert incoming["x_headers"]["X-Winet-Call"] == channel_id
    call = await caller
    assert call.answered and call.hangup_by == "far_end", "the technician ended it"
    record = await wait_for_record(redis, caller=PREMIUM)
    assert record.call_id == channel_id
    orphan = [e["detail"] for e in record.events if e["kind"] == "orphan"]
    assert orphan == ["found in the IVR, routed again"]
    assert (record.summary["outcome"], record.summary["bridged_to"]) == (
        "technician",
        technician.id,
    )


async def test_a_caller_who_had_not_answered_the_notice_hears_it_again_and_goes_on(
    supervised, phones, sipp, redis
):
    await phones.configure("xy-desk", answer_after=0.2, hangup_after=2)
    caller = asyncio.create_task(sipp(PRO, [(9.0, "1")], hangup_after=60))
    _, app = await channel_in_app(supervised, PRO)
    victim = processes.running_pid(supervised, f"worker-{int(app.rsplit('-', 1)[1])}")
    await asyncio.sleep(3.0)  # the caller is well into the notice

    os.kill(victim, signal.SIGKILL)
    await phones.wait_for("xy-desk", "incoming", timeout=20)
    call = await caller

    assert call.answered and call.hangup_by == "far_end", "the desk ended it, not silence"
    record = await wait_for_record(redis, caller=PRO)
    notices = [e for e in record.events if e["kind"] == "prompt" and e.get("text")]
    assert len(notices) == 2, "the notice, and again from the worker's successor"
    assert record.summary["consent"] == "accepted", "the key pressed during the second"
    assert record.summary["outcome"] == "desk"


async def test_a_caller_talking_with_the_technician_when_the_worker_dies_talks_on(
    supervised, phones, sipp, redis
):
    standby = routed("premium").standby.dial.removeprefix("PJSIP/")
    await phones.configure(standby, answer_after=0.3, dtmf=[(0.5, "1")], hangup_after=None)
    caller = asyncio.create_task(sipp(PREMIUM, hangup_after=25))
    channel_id, app = await channel_in_app(supervised, PREMIUM)
    await phones.wait_for(standby, "media", timeout=15)
    await asyncio.sleep(2.0)  # bridged: the whisper is over, 1 was pressed
    victim = processes.running_pid(supervised, f"worker-{int(app.rsplit('-', 1)[1])}")

    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    call = await caller

    assert call.answered and call.hangup_by == "caller", "the caller hung up, nobody else"
    ended = await phones.wait_for(standby, "disconnected", timeout=10)
    assert ended["by"] == "remote" and ended["connected_seconds"] > 12
    print(f"\nthe caller talked on {time.monotonic() - killed:.1f} s after the kill")
    record = await wait_for_record(redis, caller=PREMIUM)
    assert record.call_id == channel_id
    orphan = [e for e in record.events if e["kind"] == "orphan"]
    assert [e["detail"] for e in orphan] == ["found talking, followed on"]
    assert (record.summary["outcome"], record.summary["hangup_side"]) == ("technician", "caller")


async def test_calls_arriving_while_a_worker_is_dead_go_to_the_other(
    supervised, phones, sipp, redis
):
    standby = routed("premium").standby.dial.removeprefix("PJSIP/")
    await phones.configure(standby, answer_after=0.3, dtmf=[(0.5, "1")], hangup_after=2)
    processes.stop(supervised, SUPERVISOR)  # so that worker 1 stays dead
    os.kill(processes.running_pid(supervised, "worker-1"), signal.SIGKILL)
    await asyncio.sleep(0.5)

    calls = [await sipp(PREMIUM) for _ in range(2)]  # round robin: one would try worker 1

    assert all(call.answered and call.hangup_by == "far_end" for call in calls)
    assert len(phones.events(standby, "incoming")) == 2, "both reached the technician"
    record = await wait_for_record(redis, caller=PREMIUM)
    assert record.summary["outcome"] == "technician"
    assert workers.unregistered(supervised) == [worker_app(1)]
