"""The xy AG desk as a queue on the real stack (issue 13): what callers hear and pay, priority
by tier, the call-back offer, agents logging in, and an admin's data surviving a restart."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from ivr.ari import desk_queue
from ivr.ari.client import AriClient
from ivr.stack import asterisk
from ivr.stack.setup import prepare_data
from ivr.store import customers, requests
from ivr.web.desk import render_card
from ivr.web.desk_cards import desk_card
from tests.e2e.conftest import prompt_seconds, publish_change, wait_for_record

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker", "clean_asterisk")]

PREMIUM = "+41441234567"  # klinik-seefeld, premium, de: covered on Saturday
PRO = "+41912345678"  # studio-lugano, pro, it: not covered on Saturday
NO_UNITS = "+41449876543"  # zurich-translations, basic-plus, en, 0 free units: not covered
TECHNICIANS = ("tech-anna", "tech-marco", "tech-lea")


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
    greeting = prompt_seconds(stack_settings, "de", "greeting")
    retry = 2.5 + prompt_seconds(stack_settings, "de", "pin_wrong") + 1.0
    schedule = [(greeting + 1.0 + n * retry, "000000") for n in range(3)]

    call = await sipp("+41445550000", schedule)

    assert call.answered
    record = await wait_for_record(redis, caller="+41445550000")
    heard = prompts_of(record)
    assert heard[heard.index("identified_unknown") + 1] == "connecting_technician"
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
