"""The support-hotline call flow on the real stack: what only Asterisk, SIP and real DTMF show
(bridging, whispers, typed-ahead keys, X-headers at the desk, cancelled ringing, a Redis outage).
Every path of the flow also runs, in milliseconds, in tests/unit/flows/test_hotline_flow.py.

Every call is placed by SIPp into the support number, routed at Saturday 28 Nov 2026 10:15
(see conftest), and answered by pjsua2 phones standing in for the technicians and the desk.
Each test checks where the call ended up, what the other phone received and the call record.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from ivr.clock import parse_instant
from ivr.config import REPO_DIR
from ivr.routing import Contract, decide, load_tables
from ivr.stack import asterisk, processes
from ivr.stack import redis as redis_launcher
from tests.e2e.conftest import SATURDAY_MORNING, prompt_seconds, publish_change, wait_for_record

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker", "clean_asterisk")]

PREMIUM = "+41441234567"  # klinik-seefeld, premium, de, PIN 481516: covered on Saturday
PRO = "+41912345678"  # studio-lugano, pro, it: not covered on Saturday
PREMIUM_PIN = "481516"
PREMIUM_TYPED = "0441234567#"  # klinik-seefeld's number as typed for "customer number"
KEYS_APART = 4.0  # seconds between the caller's key strings


def routed(tier: str):
    tables = load_tables(REPO_DIR / "routing")
    at = parse_instant(SATURDAY_MORNING, tables.zone)
    return decide(tables, Contract(tier), at)


def phone_of(leg) -> str:
    """The test phone a ladder leg rings (the desk queue's is the desk's own line)."""
    return "xy-desk" if leg.kind == "desk" else leg.dial.removeprefix("PJSIP/")


def leg_results(record) -> list[tuple[str, str]]:
    return [
        (event["id"], event["result"])
        for event in record.events
        if event["kind"] == "leg" and event["result"] != "ringing"
    ]


async def nothing_left(settings) -> None:
    """No channel or bridge stays behind once a call is over."""
    for _ in range(50):
        channels = asterisk.ari_get(settings, "/channels")
        bridges = asterisk.ari_get(settings, "/bridges")
        if not channels and not bridges:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"left behind: channels {channels}, bridges {bridges}")


async def test_covered_known_caller_goes_to_the_standby_technician(
    worker, phones, sipp, redis, stack_settings
):
    standby = routed("premium").standby
    tech = phone_of(standby)
    await phones.configure(tech, answer_after=1, dtmf=[(0.5, "1")])
    ring_up = prompt_seconds(stack_settings, "de", "greeting", "connecting_technician")

    call = await sipp(PREMIUM, hangup_after=ring_up + 8)

    assert call.answered and call.hangup_by == "caller"
    incoming = await phones.wait_for(tech, "incoming")
    assert incoming["x_headers"]["X-Winet-Customer"] == "klinik-seefeld"
    assert incoming["x_headers"]["X-Winet-Tier"] == "premium"
    assert incoming["x_headers"]["X-Winet-Covered"] == "yes"
    assert incoming["x_headers"]["X-Winet-Identified"] == "caller_id"
    await phones.wait_for(tech, "media")
    ended = await phones.wait_for(tech, "disconnected", timeout=15)
    assert ended["answered"] and ended["by"] == "remote"
    assert ended["connected_seconds"] > 3, "the technician was bridged with the caller"
    record = await wait_for_record(redis)
    summary = record.summary
    assert summary["customer_id"] == "klinik-seefeld"
    assert summary["identified"] == "caller_id"
    assert summary["covered"] is True
    assert summary["outcome"] == "technician"
    assert summary["bridged_to"] == standby.id
    assert summary["hangup_side"] == "caller"
    assert leg_results(record) == [(standby.id, "accepted")]
    assert incoming["x_headers"]["X-Winet-Call"] == record.call_id
    await nothing_left(stack_settings)


async def test_first_technician_silent_second_accepts(worker, phones, sipp, redis, stack_settings):
    await publish_change(
        redis, worker, "destinations.toml", "ring_timeout = 20", "ring_timeout = 4"
    )
    decision = routed("premium")
    first, second = [leg for leg in decision.ladder if leg.kind == "technician"][:2]
    await phones.configure(phone_of(first), answer_after=None)
    await phones.configure(phone_of(second), answer_after=0.5, dtmf=[(0.5, "1")], hangup_after=3)

    call = await sipp(PREMIUM)

    assert call.answered and call.hangup_by == "far_end"
    await phones.wait_for(phone_of(first), "incoming")
    incoming = await phones.wait_for(phone_of(second), "incoming")
    assert incoming["x_headers"]["X-Winet-Tier"] == "premium"
    assert phones.events(phone_of(second), "dtmf_sent"), "the second technician pressed 1"
    record = await wait_for_record(redis)
    assert leg_results(record) == [(first.id, "no_answer"), (second.id, "accepted")]
    assert record.summary["bridged_to"] == second.id
    assert record.summary["hangup_side"] == "technician"
    await nothing_left(stack_settings)


async def test_withheld_number_with_customer_number_and_pin_reaches_the_technician(
    worker, phones, sipp, redis, stack_settings
):
    tech = phone_of(routed("premium").standby)
    await phones.configure(tech, answer_after=0.5, dtmf=[(0.5, "1")], hangup_after=2)
    number_at = prompt_seconds(stack_settings, "de", "greeting") + 1.0

    call = await sipp(None, [(number_at, PREMIUM_TYPED), (number_at + KEYS_APART, PREMIUM_PIN)])

    assert call.answered and call.hangup_by == "far_end"
    incoming = await phones.wait_for(tech, "incoming")
    assert incoming["x_headers"]["X-Winet-Identified"] == "pin"
    assert incoming["x_headers"]["X-Winet-Customer"] == "klinik-seefeld"
    record = await wait_for_record(redis)
    assert record.summary["caller_number"] == "anonymous"
    assert record.summary["identified"] == "pin"
    assert record.summary["outcome"] == "technician"
    attempts = [e for e in record.events if e["kind"] == "pin_attempt"]
    assert [(a["keys"], a["ok"]) for a in attempts] == [(6, True)]
    assert PREMIUM_PIN not in str(record), "the PIN itself is never recorded"


async def test_not_covered_and_continue_goes_to_the_desk_with_context(
    worker, phones, sipp, redis, stack_settings
):
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=2)
    during_notice = prompt_seconds(stack_settings, "de", "greeting") + 3.0

    call = await sipp(PRO, [(during_notice, "1")])

    assert call.answered and call.hangup_by == "far_end"
    incoming = await phones.wait_for("xy-desk", "incoming")
    headers = incoming["x_headers"]
    record = await wait_for_record(redis)
    assert incoming["from_display"] == "Studio Lugano Sagl", "the customer's name on the display"
    assert headers["X-Winet-Customer"] == "studio-lugano"
    assert headers["X-Winet-Tier"] == "pro"
    assert headers["X-Winet-Covered"] == "no"
    assert headers["X-Winet-Identified"] == "caller_id"
    assert re.fullmatch(r"accepted; at=2026-11-28T1\d:\d\d:\d\d\+01:00", headers["X-Winet-Consent"])
    assert headers["X-Winet-Call"] == record.call_id
    summary = record.summary
    assert (summary["consent"], summary["consent_key"]) == ("accepted", "1")
    assert summary["outcome"] == "desk" and summary["bridged_to"] == "desk"
    assert (summary["desk_agent_line"], summary["hangup_side"]) == ("xy-desk", "desk")
    assert "winCall pro, 5x12h" in summary["notice_text"]
    notice = [e for e in record.events if e["kind"] == "prompt" and e.get("text")]
    assert notice and notice[0]["lang"] == "it"


async def test_caller_hanging_up_while_the_technician_rings_ends_cleanly(
    worker, phones, sipp, redis, stack_settings
):
    for leg in routed("premium").ladder:
        await phones.configure(phone_of(leg), answer_after=None)
    ringing_for = prompt_seconds(stack_settings, "de", "greeting", "connecting_technician") + 2.0

    call = await sipp(PREMIUM, hangup_after=ringing_for)

    assert call.answered and call.hangup_by == "caller"
    record = await wait_for_record(redis)
    assert record.summary["hangup_side"] == "caller"
    assert record.summary["outcome"] == "abandoned"
    await nothing_left(stack_settings)
    dropped = await phones.wait_for(phone_of(routed("premium").standby), "disconnected")
    assert not dropped["answered"], "the ringing technician's phone is cancelled"


async def test_while_redis_is_down_callers_are_routed_and_recorded_once_it_is_back(
    worker, phones, sipp, redis, stack_settings
):
    tech = phone_of(routed("premium").standby)
    await phones.configure(tech, answer_after=0.5, dtmf=[(0.5, "1")], hangup_after=3)
    assert processes.stop(stack_settings, "redis"), "this test needs the launcher's own Redis"
    try:
        call = await sipp(PREMIUM)
    finally:
        await asyncio.to_thread(redis_launcher.start, stack_settings)

    assert call.answered and call.hangup_by == "far_end"
    incoming = await phones.wait_for(tech, "incoming")
    assert incoming["x_headers"]["X-Winet-Customer"] == "klinik-seefeld", "the facts read before"
    record = await wait_for_record(redis)  # kept by the worker, written once Redis is back
    assert record.summary["outcome"] == "technician"
    assert record.call_id == incoming["x_headers"]["X-Winet-Call"]
    assert "did not confirm the call facts" in worker.log_text()


async def test_the_language_chosen_in_the_menu_wins_over_the_customers(
    worker, phones, sipp, redis, stack_settings
):
    await publish_change(
        redis, worker, "hotline.toml", "language_menu = false", "language_menu = true"
    )
    menu = prompt_seconds(stack_settings, "de", "greeting") + 1.0

    call = await sipp(PRO, [(menu, "4"), (menu + 6.0, "2")])

    assert call.answered and call.hangup_by == "far_end"
    record = await wait_for_record(redis)
    assert [(e["chosen"], e["key"]) for e in record.events if e["kind"] == "language"] == [
        ("en", "4")
    ]
    assert record.summary["language"] == "en", "studio-lugano's Italian gave way to the choice"
    notice = [e for e in record.events if e["kind"] == "prompt" and e.get("text")]
    assert notice[0]["lang"] == "en" and "winCall pro, 5x12h" in notice[0]["text"]
    assert record.summary["outcome"] == "withdrawn"
