"""The xy AG desk as a queue on the real stack (issue 13): what callers hear and pay, priority
by tier, the call-back offer, agents logging in and out (phone and console), the position
announcement a waiting caller hears, and an admin's data surviving a restart."""

from __future__ import annotations

import asyncio
import audioop
import time
import wave
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer

from ivr.ari import desk_queue
from ivr.ari.client import AriClient
from ivr.desk_agents import LOGIN_CODE, LOGOUT_CODE
from ivr.prompts.installed import sound_path
from ivr.stack import asterisk
from ivr.stack.setup import prepare_data
from ivr.store import customers, pins, requests, users
from ivr.web.accounts import hash_password
from ivr.web.app import create_app
from ivr.web.desk import render_card
from ivr.web.desk_cards import desk_card
from tests.e2e.conftest import SATURDAY_MORNING, prompt_seconds, publish_change, wait_for_record
from tests.harness.phones import audio_level
from tests.harness.sipp import support_number_uri
from tests.unit.web.conftest import PASSWORDS, Browser

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker", "clean_asterisk")]

PREMIUM = "+41441234567"  # klinik-seefeld, premium, de: covered on Saturday
PRO = "+41912345678"  # studio-lugano, pro, it: not covered on Saturday
NO_UNITS = "+41449876543"  # zurich-translations, basic-plus, en, 0 free units: not covered
TECHNICIANS = ("tech-anna", "tech-marco", "tech-lea")
LOCKED_OUT = "+41445550000"  # nobody's number, PIN attempts blocked for the hour
SATURDAY = datetime.fromisoformat(SATURDAY_MORNING)


def prompts_of(record) -> list[str]:
    return [i for e in record.events if e["kind"] == "prompt" for i in e["ids"]]


def queue_event(record, status: str) -> dict:
    return next(e for e in record.events if e["kind"] == "desk_queue" and e["status"] == status)


async def agents(settings, change=None, endpoint: str = "") -> list[str]:
    client = AriClient(settings.ari_url, settings.ari_user, settings.ari_password, settings.ari_app)
    try:
        if change is None:
            return await desk_queue.logged_in(client)
        return await change(client, endpoint)
    finally:
        await client.close()


async def test_a_customer_with_no_free_units_hears_that_none_are_left(
    worker, phones, sipp, redis, stack_settings
):
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=1)
    during_notice = prompt_seconds(stack_settings, "de", "greeting") + 3.0

    call = await sipp(NO_UNITS, [(during_notice, "1")])

    assert call.answered and call.hangup_by == "far_end"
    record = await wait_for_record(redis, caller=NO_UNITS)
    assert "You have no free service units left." in record.summary["notice_text"]
    assert "notice/no_free_units" in prompts_of(record)
    assert record.summary["outcome"] == "desk"


async def test_an_unidentified_caller_sent_to_the_technician_hears_so(
    worker, phones, sipp, redis, stack_settings
):
    await publish_change(
        redis, worker, "hotline.toml", 'destination = "desk"', 'destination = "technician"'
    )
    for phone in TECHNICIANS:
        await phones.configure(phone, answer_after=0.5, dtmf=((1.0, "1"),), hangup_after=2)
    # the quickest way to stay unidentified: PIN attempts blocked for the number (the three
    # wrong PINs are scripted calls, tests/unit/flows/test_hotline_flow.py)
    for _ in range(5):
        await pins.record_failed_pin_call(redis, LOCKED_OUT, now=SATURDAY)

    call = await sipp(LOCKED_OUT)

    assert call.answered
    record = await wait_for_record(redis, caller=LOCKED_OUT)
    heard = prompts_of(record)
    assert heard[heard.index("pin_locked") + 1] == "connecting_technician"
    assert "connecting_desk" not in heard
    assert record.summary["outcome"] == "technician"


async def test_busy_agents_queue_callers_by_priority_and_nobody_is_dropped(
    worker, phones, sipp, redis, stack_settings
):
    assert "xy-desk-2" in await agents(stack_settings, desk_queue.log_in, "xy-desk-2")
    try:
        for phone in TECHNICIANS:
            await phones.configure(phone, reject=486)
        # the first agent is free again well before the second one
        await phones.configure("xy-desk", answer_after=0.5, hangup_after=15)
        await phones.configure("xy-desk-2", answer_after=0.5, hangup_after=45)
        during_notice = prompt_seconds(stack_settings, "de", "greeting") + 3.0

        busy = [asyncio.create_task(sipp(PRO, [(during_notice, "1")])) for _ in range(2)]
        await asyncio.sleep(5)
        basic = asyncio.create_task(sipp(NO_UNITS, [(during_notice, "1")]))
        await asyncio.sleep(6)
        premium = asyncio.create_task(sipp(PREMIUM))
        waiting = await _both_waiting(stack_settings)
        results = await asyncio.gather(*busy, basic, premium)
    finally:
        await agents(stack_settings, desk_queue.log_out, "xy-desk-2")

    assert all(r.answered and r.hangup_by == "far_end" for r in results), "nobody was dropped"
    assert "prio: 50" in waiting and "prio: 20" in waiting, waiting
    basic_record = await wait_for_record(redis, caller=NO_UNITS)
    premium_record = await wait_for_record(redis, caller=PREMIUM)
    assert queue_event(basic_record, "queued")["at"] < queue_event(premium_record, "queued")["at"]
    first = queue_event(premium_record, "answered")
    second = queue_event(basic_record, "answered")
    assert first["at"] < second["at"], "the premium caller who came later is answered first"
    assert first["agent"] == "xy-desk", "by the agent who was free first"
    assert premium_record.summary["desk_priority"] > basic_record.summary["desk_priority"] > 0


async def _both_waiting(settings) -> str:
    """`queue show` once two callers wait in the desk queue."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown = await asyncio.to_thread(asterisk.cli, settings, "queue show xy-desk")
        if "prio: 50" in shown and "prio: 20" in shown:
            return shown
        await asyncio.sleep(0.5)
    return shown


async def test_a_caller_who_waits_past_the_setting_can_ask_for_a_call_back(
    worker, phones, sipp, redis, stack_settings
):
    await publish_change(
        redis, worker, "destinations.toml", "callback_offer_after = 90", "callback_offer_after = 3"
    )
    await phones.configure("xy-desk", answer_after=None)
    during_notice = prompt_seconds(stack_settings, "de", "greeting") + 3.0
    notice_over = during_notice + 1.0 + prompt_seconds(stack_settings, "it", "connecting_desk")
    during_offer = notice_over + 3.0 + 3.0

    call = await sipp(PRO, [(during_notice, "1"), (during_offer, "1")])

    assert call.answered and call.hangup_by == "far_end"
    record = await wait_for_record(redis, caller=PRO)
    summary = record.summary
    assert summary["outcome"] == "callback_requested"
    opened = await requests.active_requests(redis)
    assert [(r.id, r.call_id) for r in opened] == [(summary["callback_request"], record.call_id)]
    assert "queue/callback_confirmed" in prompts_of(record)
    card = desk_card(summary, record.events, ZoneInfo("Europe/Zurich"))
    assert f"callback request #{summary['callback_request']}" in render_card(card, "csrf", {})


async def test_a_caller_who_lets_the_offer_pass_goes_back_into_the_queue_and_is_answered(
    worker, phones, sipp, redis, stack_settings
):
    """The queue hands the caller back to the worker for the offer (Stasis again); without the
    key, the caller goes back to their place (label rejoin) and the next free agent answers."""
    await publish_change(
        redis, worker, "destinations.toml", "callback_offer_after = 90", "callback_offer_after = 3"
    )
    await phones.configure("xy-desk", answer_after=None)
    during_notice = prompt_seconds(stack_settings, "de", "greeting") + 3.0

    call = asyncio.create_task(sipp(PRO, [(during_notice, "1")]))
    offered = await _until_event(redis, PRO, "callback_offered")
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=2)
    result = await call

    assert result.answered and result.hangup_by == "far_end"
    record = await wait_for_record(redis, caller=PRO)
    statuses = [e["status"] for e in record.events if e["kind"] == "desk_queue"]
    assert statuses == ["queued", "callback_offered", "answered"]
    assert queue_event(record, "answered")["at"] > offered["at"]
    summary = record.summary
    assert (summary["outcome"], summary["desk_agent_line"]) == ("desk", "xy-desk")
    assert summary["hangup_side"] == "desk"
    assert "queue/callback_offer" in prompts_of(record)
    assert await requests.active_requests(redis) == [], "no call back was asked for"


async def test_a_caller_waiting_when_the_worker_dies_is_followed_on_by_its_successor(
    worker, phones, sipp, redis, stack_settings
):
    """kill -9 of the worker while a caller waits in the queue: the caller waits on unharmed,
    and the worker started again under the same application follows the call to its end."""
    await phones.configure("xy-desk", answer_after=None)
    during_notice = prompt_seconds(stack_settings, "de", "greeting") + 3.0
    call = asyncio.create_task(sipp(PRO, [(during_notice, "1")]))
    deadline = time.monotonic() + 60
    while (await wait_for_record(redis, caller=PRO, ended=False)).summary.get("bridged_kind") != (
        "desk"
    ):
        assert time.monotonic() < deadline, "the caller never reached the desk queue"
        await asyncio.sleep(0.2)

    worker.process.kill()
    worker.process.wait()
    await asyncio.to_thread(worker.start)
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=2)
    result = await call

    assert result.answered and result.hangup_by == "far_end"
    record = await wait_for_record(redis, caller=PRO, within=40)
    kinds = [e["kind"] for e in record.events]
    assert kinds.index("orphan") < kinds.index("ended")
    orphan = next(e for e in record.events if e["kind"] == "orphan")
    assert orphan["detail"] == "left waiting in the desk queue"
    assert queue_event(record, "answered")["at"] > orphan["at"]
    summary = record.summary
    assert (summary["outcome"], summary["desk_agent_line"]) == ("desk", "xy-desk")
    assert summary["hangup_side"] == "desk"


async def _until_event(redis, caller: str, status: str, within: float = 60.0) -> dict:
    """The desk_queue event `status` of the caller's call in progress, once it is recorded."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        record = await wait_for_record(redis, caller=caller, ended=False)
        found = [e for e in record.events if e["kind"] == "desk_queue" and e["status"] == status]
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {status} within {within} s")


async def test_restarting_keeps_an_admins_change_to_a_demo_customer(redis, stack_settings):
    tiers = {"premium", "pro-plus", "pro", "basic-plus", "basic"}
    lugano = await customers.get_customer(redis, "studio-lugano")
    changed = replace(lugano, contract=replace(lugano.contract, tier="premium"))
    await customers.save_customer(redis, changed, pin_key=stack_settings.pin_key, known_tiers=tiers)
    pin = await customers.reset_pin(redis, "studio-lugano", pin_key=stack_settings.pin_key)

    lines = await asyncio.to_thread(prepare_data, stack_settings)  # what a restart runs

    assert any(line.startswith("demo customers: left as they are") for line in lines)
    kept = await customers.get_customer(redis, "studio-lugano")
    assert kept.contract.tier == "premium"
    number = kept.numbers[0]
    found = await customers.find_by_pin(redis, number, pin, pin_key=stack_settings.pin_key)
    assert found is not None and found.id == "studio-lugano"


def feature_code_uri(settings, code: str) -> str:
    return f"sip:{code}@{settings.sip_host}:{settings.sip_port}"


def asterisk_sound_seconds(settings, name: str) -> float:
    """How long one of Asterisk's own GSM sounds lasts (33 bytes per 20 ms)."""
    path = settings.asterisk_root / "usr/share/asterisk/sounds/en" / f"{name}.gsm"
    return path.stat().st_size / 33 * 0.02


async def dial_feature_code(phones, settings, phone: str, code: str):
    heard = await phones.record_call(
        feature_code_uri(settings, code), caller_id=phone, phone=phone, within=20
    )
    assert heard.answered and heard.hung_up_by == "remote" and heard.recording is not None
    return audio_level(heard.recording).voiced_seconds


async def test_an_agent_logs_in_and_out_with_the_desk_phones_feature_codes(
    worker, phones, sipp, redis, stack_settings
):
    await agents(stack_settings, desk_queue.log_out, "xy-desk-2")
    refused = await sipp(PRO, to=feature_code_uri(stack_settings, LOGIN_CODE))  # the trunk
    assert refused.status == 403 and not refused.answered
    assert "xy-desk-2" not in await agents(stack_settings)

    voiced = await dial_feature_code(phones, stack_settings, "xy-desk-2", LOGIN_CODE)
    assert voiced >= 0.6 * asterisk_sound_seconds(stack_settings, "agent-loginok"), voiced
    assert "xy-desk-2" in await agents(stack_settings)

    await phones.configure("xy-desk", reject=486)  # the fixed line is busy
    await phones.configure("xy-desk-2", answer_after=0.5, hangup_after=1)
    during_notice = prompt_seconds(stack_settings, "de", "greeting") + 3.0
    answered = await sipp(PRO, [(during_notice, "1")])
    assert answered.answered and answered.hangup_by == "far_end"
    record = await wait_for_record(redis, caller=PRO)
    assert queue_event(record, "answered")["agent"] == "xy-desk-2"

    voiced = await dial_feature_code(phones, stack_settings, "xy-desk-2", LOGOUT_CODE)
    assert voiced >= 0.6 * asterisk_sound_seconds(stack_settings, "agent-loggedoff"), voiced
    assert "xy-desk-2" not in await agents(stack_settings)

    waits = await sipp(PRO, [(during_notice, "1")], hangup_after=during_notice + 15)
    assert waits.answered and waits.hangup_by == "caller"
    assert phones.events("xy-desk", kind="incoming"), "the queue kept trying the fixed line"
    assert len(phones.events("xy-desk-2", kind="incoming")) == 1, "xy-desk-2 rang only once"


async def test_the_console_logs_a_desk_agent_in_and_out_of_the_real_queue(redis, stack_settings):
    await agents(stack_settings, desk_queue.log_out, "xy-desk-3")
    await users.save_user(redis, "dan", "desk", hash_password(PASSWORDS["dan"]), now=_now())
    server = TestServer(create_app(stack_settings, redis, _now))
    client = TestClient(server, cookie_jar=CookieJar(unsafe=True))
    await client.start_server()
    try:
        desk = Browser(client)
        assert (await desk.log_in("dan")).status == 303
        assert (await desk.post("/desk/agents/xy-desk-3", {"action": "login"})).status == 303
        shown = await asyncio.to_thread(asterisk.cli, stack_settings, "queue show xy-desk")
        assert "PJSIP/xy-desk-3" in shown, shown
        assert 'xy-desk-3</td><td class="state">logged in' in await desk.page("/desk/agents")

        assert (await desk.post("/desk/agents/xy-desk-3", {"action": "logout"})).status == 303
        shown = await asyncio.to_thread(asterisk.cli, stack_settings, "queue show xy-desk")
        assert "PJSIP/xy-desk-3" not in shown, shown
    finally:
        await client.close()
        await agents(stack_settings, desk_queue.log_out, "xy-desk-3")


def _now() -> datetime:
    return datetime.now(UTC)


async def test_a_waiting_caller_hears_the_queue_announce_its_position(
    worker, phones, sipp, redis, stack_settings
):
    await phones.configure("xy-desk", answer_after=None)  # rings on, nobody answers
    during_notice = prompt_seconds(stack_settings, "de", "greeting") + 3.0
    in_queue = during_notice + 1.0 + prompt_seconds(stack_settings, "it", "connecting_desk")
    ahead = asyncio.create_task(sipp(PRO, [(during_notice, "1")], hangup_after=in_queue + 14))
    await asyncio.sleep(3.0)  # the same contract, so the caller who came first stays ahead

    heard = await phones.record_call(
        support_number_uri(stack_settings),
        caller_id=PRO,
        dtmf=[(during_notice, "1")],
        hangup_after=in_queue + 8,
        within=90,
    )
    await ahead

    record = await wait_for_record(redis, caller=PRO)
    assert queue_event(record, "queued")
    prompts = stack_settings.sounds_dir
    connecting = heard_at(heard.recording, sound_path(prompts, "it", "connecting_desk"))
    position = heard_at(heard.recording, sound_path(prompts, "it", "queue/there_are"))
    never_played = sound_path(prompts, "it", "queue/callback_confirmed")
    asked = [(e["lang"], e["ids"]) for e in record.events if e["kind"] == "prompt"]
    assert connecting is not None, f"the worker's own prompt is heard (the call asked: {asked})"
    assert position is not None, "the second caller never heard how many wait ahead"
    assert position > connecting, "and heard it once waiting in the queue"
    assert heard_at(heard.recording, never_played) is None, "the check tells prompts apart"


PROMPT_RATE = 8000  # the installed prompts: 16-bit signed linear, 8 kHz (.sln)
MATCH_SECONDS = 0.5
MAX_RESIDUAL = 0.5  # what is left of the recording once the prompt is taken out, at most


def heard_at(recording, prompt) -> float | None:
    """Where in the recording (seconds) `prompt` starts, or None. Half a second of the prompt,
    from its first, second or third quarter, is fitted into the caller's audio (through G.711
    both ways) and accepted when taking it out leaves at most MAX_RESIDUAL of the recording's
    level there: a jitter-buffer glitch in one piece, on a busy machine, does not hide the
    prompt."""
    with wave.open(str(recording), "rb") as wav:
        audio = wav.readframes(wav.getnframes())
        if wav.getnchannels() == 2:
            audio = audioop.tomono(audio, 2, 0.5, 0.5)
        audio, _ = audioop.ratecv(audio, 2, 1, wav.getframerate(), PROMPT_RATE, None)
    sound = prompt.read_bytes()
    samples = int(MATCH_SECONDS * PROMPT_RATE)
    for quarter in (2, 1, 3):
        first = max(0, len(sound) // 2 * quarter // 4 - samples // 2)  # in samples
        piece = sound[2 * first : 2 * (first + samples)]
        offset, factor = audioop.findfit(audio, piece)
        found = audio[2 * offset : 2 * offset + len(piece)]
        left = audioop.add(found, audioop.mul(piece, 2, -factor), 2)
        if audioop.rms(left, 2) <= MAX_RESIDUAL * audioop.rms(found, 2):
            return (offset - first) / PROMPT_RATE
    return None
