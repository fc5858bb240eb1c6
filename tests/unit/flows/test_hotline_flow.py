"""Every path of the support call (`ivr.flows.hotline`) as a scripted call, in milliseconds.

The same paths run on the real stack in tests/e2e/test_call_flow.py; these show what the flow
decides, plays, dials and records, with keys, legs and time scripted.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import datetime

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ivr.flows.hotline import conversation, follow_waiting_caller, handle_call, rescue_orphan
from ivr.routing import Contract, Leg, decide, desk_priority
from ivr.store import calls, pins, requests
from ivr.store import requests as request_store
from ivr.worker.runtime import Runtime
from tests.unit.flows.scripted import (
    ACCEPTS,
    DECLINES,
    GONE_AT_ONCE,
    HANGS_UP,
    SILENT,
    Press,
    Script,
    ScriptedCall,
    desk_context,
)

PREMIUM = "+41441234567"  # klinik-seefeld, premium, de, PIN 481516: covered on Saturday
PRO = "+41912345678"  # studio-lugano, pro, it: not covered on Saturday
UNKNOWN = "+41445550000"
NO_UNITS = "+41449876543"  # zurich-translations, basic-plus, en, 0 free units: not covered
PREMIUM_PIN = "481516"
PREMIUM_NATIONAL = "0441234567"  # the same number as typed on a Swiss keypad
WRONG_PIN = "000000"
DESK_QUEUE = ("desk-queue", "xy-desk", None)  # the caller's visit to the dialplan's desk queue
REJOIN = ("desk-queue", "xy-desk", "rejoin")  # back to their place after the call-back offer


async def place(runtime: Runtime, script: Script) -> tuple[ScriptedCall, calls.CallRecord]:
    call = ScriptedCall(script, runtime.clock)
    await handle_call(call, runtime)
    record = await calls.get_call(runtime.redis, call.channel_id)
    assert record is not None and record.summary.get("ended_at"), "the record is finished"
    return call, record


def technicians(runtime: Runtime, tier: str = "premium") -> list[Leg]:
    decision = decide(runtime.tables, Contract(tier), runtime.now())
    return [leg for leg in decision.ladder if leg.kind == "technician"]


def leg_results(record: calls.CallRecord) -> list[tuple[str, str]]:
    return [
        (event["id"], event["result"])
        for event in record.events
        if event["kind"] == "leg" and event["result"] != "ringing"
    ]


def offer_the_language_menu(runtime: Runtime) -> None:
    tables = runtime.tables
    runtime.tables = replace(tables, hotline=replace(tables.hotline, language_menu=True))


def last_headers(call: ScriptedCall) -> dict[str, str]:
    return call.dialled[-1][1]


async def test_covered_known_caller_goes_to_the_standby_technician(runtime: Runtime):
    standby = technicians(runtime)[0]

    call, record = await place(runtime, Script(PREMIUM, legs={standby.dial: ACCEPTS}))

    assert call.bridged_with == [standby.dial]
    headers = last_headers(call)
    assert headers["X-Winet-Customer"] == "klinik-seefeld"
    assert headers["X-Winet-Tier"] == "premium"
    assert headers["X-Winet-Covered"] == "yes"
    assert headers["X-Winet-Identified"] == "caller_id"
    assert headers["X-Winet-Call"] == record.call_id
    summary = record.summary
    assert (summary["customer_id"], summary["identified"]) == ("klinik-seefeld", "caller_id")
    assert summary["covered"] is True and summary["destination"] == "technician"
    assert summary["outcome"] == "technician" and summary["hangup_side"] == "caller"
    assert summary["bridged_to"] == standby.id
    assert leg_results(record) == [(standby.id, "accepted")]
    assert call.prompts_heard[:2] == ["greeting", "connecting_technician"]
    assert summary["language"] == "de"


async def test_the_technician_hears_the_whisper_before_accepting(runtime: Runtime):
    standby = technicians(runtime)[0]
    call = ScriptedCall(Script(PREMIUM, legs={standby.dial: ACCEPTS}), runtime.clock)
    legs = []
    dial = call.dial

    async def keep_leg(*args, **kwargs):
        legs.append(await dial(*args, **kwargs))
        return legs[-1]

    call.dial = keep_leg
    await handle_call(call, runtime)

    whisper = legs[0].heard[0]
    assert whisper[:2] == ("whisper/intro", "whisper/customer")
    assert whisper[2].startswith("phrase/"), "the customer's name, spoken"
    assert whisper[3:] == ("whisper/tier", "tier/premium", "whisper/accept")


async def test_first_technician_silent_second_accepts(runtime: Runtime):
    first, second = technicians(runtime)[:2]
    script = Script(PREMIUM, legs={first.dial: SILENT, second.dial: ACCEPTS})
    script.leg_hangs_up_first = True

    _, record = await place(runtime, script)

    assert leg_results(record) == [(first.id, "not_accepted"), (second.id, "accepted")]
    assert record.summary["bridged_to"] == second.id
    assert record.summary["hangup_side"] == "technician"


@pytest.mark.parametrize(
    ("behaviour", "result"),
    [
        (DECLINES, "declined"),
        (HANGS_UP, "not_accepted"),
        ("busy", "busy"),
        ("no_answer", "no_answer"),
    ],
)
async def test_a_technician_who_does_not_accept_passes_it_on(runtime, behaviour, result):
    first, second = technicians(runtime)[:2]

    legs = {first.dial: behaviour, second.dial: ACCEPTS}

    _, record = await place(runtime, Script(PREMIUM, legs=legs))

    assert leg_results(record)[0] == (first.id, result)
    assert record.summary["outcome"] == "technician"


async def test_a_technician_gone_between_accepting_and_the_bridge_passes_it_on(runtime):
    first, second = technicians(runtime)[:2]

    call, record = await place(
        runtime, Script(PREMIUM, legs={first.dial: GONE_AT_ONCE, second.dial: ACCEPTS})
    )

    assert leg_results(record)[:3] == [
        (first.id, "accepted"),
        (first.id, "gone_before_bridge"),
        (second.id, "accepted"),
    ]
    assert record.summary["outcome"] == "technician"
    assert record.summary["bridged_to"] == second.id
    assert call.bridged_with == [first.dial, second.dial]
    heard = call.prompts_heard
    assert "technician_not_accepted" in heard, "the caller hears why the wait goes on"


async def test_the_last_technician_gone_before_the_bridge_leaves_the_caller_to_the_desk(runtime):
    ladder = technicians(runtime)
    legs = {leg.dial: "no_answer" for leg in ladder[:-1]} | {ladder[-1].dial: GONE_AT_ONCE}

    call, record = await place(runtime, Script(PREMIUM, legs=legs))

    assert leg_results(record)[-1] == (ladder[-1].id, "gone_before_bridge")
    assert call.visits == [DESK_QUEUE]
    assert record.summary["outcome"] == "desk"
    assert record.summary["bridged_to"] == "desk"  # not the technician who was gone


async def test_ladder_exhausted_goes_to_the_desk(runtime: Runtime):
    ladder = technicians(runtime)

    call, record = await place(runtime, Script(PREMIUM))

    assert [endpoint for endpoint, _ in call.dialled] == [leg.dial for leg in ladder]
    assert call.visits == [DESK_QUEUE]
    assert desk_context(call)["X-Winet-Covered"] == "yes"
    assert leg_results(record) == [(leg.id, "no_answer") for leg in ladder]
    assert record.summary["outcome"] == "desk" and record.summary["desk_status"] == "connected"
    assert record.summary["desk_agent_line"] == "xy-desk"
    assert record.summary["hangup_side"] == "caller"
    heard = call.prompts_heard
    assert heard[heard.index("technician_unavailable") + 1] == "connecting_desk"
    assert heard.count("connecting_desk") == 1, "the desk is named once"
    assert desk_context(call)["priority"] == str(desk_priority(runtime.tables, "premium"))
    assert desk_context(call)["language"] == "de"
    assert desk_context(call)["offer_after"] == "90"
    assert desk_context(call)["application"] == call.application


async def test_ladder_exhausted_opens_the_request_the_customer_is_owed(runtime: Runtime):
    call, record = await place(runtime, Script(PREMIUM))

    [request] = await request_store.active_requests(runtime.redis)
    assert (request.source, request.call_id, request.state) == (
        "ladder_exhausted",
        call.channel_id,
        "open",
    )
    assert (request.customer_id, request.callback_number) == ("klinik-seefeld", PREMIUM)
    assert request.first_reaction_due.isoformat() == record.summary["first_reaction_due"]
    assert record.summary["callback_request"] == request.id
    assert record.events[-2]["kind"] == "callback_requested"


async def test_a_call_a_technician_took_opens_no_request(runtime: Runtime):
    standby = technicians(runtime)[0]
    await place(runtime, Script(PREMIUM, legs={standby.dial: ACCEPTS}))
    assert await request_store.active_requests(runtime.redis) == []


async def test_withheld_number_with_customer_number_and_pin_reaches_the_technician(
    runtime: Runtime,
):
    standby = technicians(runtime)[0]
    presses = [Press("account_request", PREMIUM_NATIONAL + "#"), Press("pin_request", PREMIUM_PIN)]
    script = Script("anonymous", presses, {standby.dial: ACCEPTS})

    call, record = await place(runtime, script)

    assert last_headers(call)["X-Winet-Identified"] == "pin"
    assert last_headers(call)["X-Winet-Customer"] == "klinik-seefeld"
    assert record.summary["caller_number"] == "anonymous"
    assert record.summary["identified"] == "pin" and record.summary["outcome"] == "technician"
    attempts = [e for e in record.events if e["kind"] == "pin_attempt"]
    assert [(a["keys"], a["ok"]) for a in attempts] == [(6, True)]
    assert PREMIUM_PIN not in str(record), "the PIN itself is never recorded"


async def test_a_pin_ended_by_the_hash_key_counts(runtime: Runtime):
    standby = technicians(runtime)[0]
    presses = [Press("account_request", PREMIUM + "#"), Press("pin_request", PREMIUM_PIN + "#")]
    script = Script("", presses, {standby.dial: ACCEPTS})

    _, record = await place(runtime, script)

    assert record.summary["identified"] == "pin"


async def test_a_pin_alone_identifies_nobody(runtime: Runtime):
    """The right PIN of a customer, typed with another customer's number, is refused: a
    guessed PIN only ever tries one customer, not all of them."""
    presses = [Press("account_request", PRO + "#"), Press("pin_request", PREMIUM_PIN)] * 3

    call, record = await place(runtime, Script("anonymous", presses))

    assert record.summary["identified"] == "no"
    assert call.prompts_heard.count("account_wrong") == 2


async def test_failed_pin_calls_for_one_customer_number_block_it_from_every_caller_id(
    runtime: Runtime,
):
    for _ in range(pins.MAX_FAILED_PIN_CALLS):
        await pins.record_failed_pin_call(
            runtime.redis, "+41215550000", pins.account_key(PREMIUM), now=runtime.now()
        )
    presses = [Press("account_request", PREMIUM + "#"), Press("pin_request", PREMIUM_PIN)]

    _, record = await place(runtime, Script("+41225550000", presses * 3))

    assert record.summary["identified"] == "no"  # even the right PIN is not checked now


async def test_a_burst_of_failed_pin_calls_stops_identification_by_customer_number(
    runtime: Runtime,
):
    for caller in range(pins.MAX_FAILED_PIN_CALLS_HOTLINE):
        await pins.record_failed_pin_call(runtime.redis, f"+4121555{caller:04d}", now=runtime.now())
    presses = [Press("account_request", PREMIUM + "#"), Press("pin_request", PREMIUM_PIN)]

    call, record = await place(runtime, Script("anonymous", presses))

    blocked = [e for e in record.events if e["kind"] == "pin_blocked"]
    assert [e["number"] for e in blocked] == [pins.HOTLINE]
    assert "pin_locked" in call.prompts_heard and record.summary["outcome"] == "desk"
    assert await pins.failed_pin_calls(runtime.redis, runtime.now()) >= pins.BURST_ALERT


async def test_three_wrong_pins_go_to_the_desk_unidentified(runtime: Runtime):
    presses = [Press("account_request", PREMIUM + "#"), Press("pin_request", WRONG_PIN)] * 3

    call, record = await place(runtime, Script(UNKNOWN, presses))

    assert desk_context(call)["X-Winet-Identified"] == "no"
    assert desk_context(call)["X-Winet-Customer"] == "unknown"
    attempts = [(e["attempt"], e["ok"]) for e in record.events if e["kind"] == "pin_attempt"]
    assert attempts == [(1, False), (2, False), (3, False)]
    assert [e["reason"] for e in record.events if e["kind"] == "pin_needed"] == ["number unknown"]
    assert (record.summary["identified"], record.summary["outcome"]) == ("no", "desk")
    assert "CALLERID(name)" not in call.variables, "the caller's own caller ID"
    assert call.prompts_heard.count("account_wrong") == 2
    assert "identified_unknown" in call.prompts_heard
    for counted in (UNKNOWN, pins.account_key(PREMIUM), pins.HOTLINE):
        assert await runtime.redis.zcard(f"winet:pin-failures:{counted}") == 1


async def test_no_keys_at_all_says_so_and_goes_to_the_desk(runtime: Runtime):
    call, record = await place(runtime, Script(UNKNOWN))

    assert call.prompts_heard.count("no_input") == 2
    assert record.summary["outcome"] == "desk"


async def test_five_failed_pin_calls_block_pin_attempts_for_the_hour(runtime: Runtime):
    for _ in range(5):
        await pins.record_failed_pin_call(runtime.redis, UNKNOWN, now=runtime.now())

    call, record = await place(runtime, Script(UNKNOWN))

    assert [e["kind"] for e in record.events if e["kind"].startswith("pin")] == [
        "pin_needed",
        "pin_blocked",
    ]
    assert "pin_locked" in call.prompts_heard and "pin_request" not in call.prompts_heard
    assert desk_context(call)["X-Winet-Identified"] == "no"


async def test_not_covered_and_continue_goes_to_the_desk_with_context(runtime: Runtime):
    call, record = await place(runtime, Script(PRO, [Press("notice", "1")]))

    headers = desk_context(call)
    assert headers["X-Winet-Customer"] == "studio-lugano"
    assert (headers["X-Winet-Tier"], headers["X-Winet-Covered"]) == ("pro", "no")
    assert re.fullmatch(r"accepted; at=2026-11-28T10:1\d:\d\d\+01:00", headers["X-Winet-Consent"])
    summary = record.summary
    assert (summary["consent"], summary["consent_key"]) == ("accepted", "1")
    assert summary["outcome"] == "desk" and summary["bridged_to"] == "desk"
    assert "winCall pro, 5x12h" in summary["notice_text"]
    notice = [e for e in record.events if e["kind"] == "prompt" and e.get("text")]
    assert notice and notice[0]["lang"] == "it"
    assert call.dialled == [] and call.visits == [DESK_QUEUE]
    assert desk_context(call)["language"] == "it"
    assert call.variables["CALLERID(name)"] == "Studio Lugano Sagl", "on the agents' phones"


async def test_not_covered_and_withdraw_ends_the_call(runtime: Runtime):
    call, record = await place(runtime, Script(PRO, [Press("notice", "2")]))

    assert (record.summary["outcome"], record.summary["consent"]) == ("withdrawn", "withdrawn")
    assert record.summary["hangup_side"] == "hotline"
    assert call.dialled == [] and call.visits == [], "a withdrawn call never reaches the desk"
    assert call.prompts_heard[-1] == "withdrawn"


async def test_not_covered_and_silence_goes_to_the_desk(runtime: Runtime):
    call, record = await place(runtime, Script(PRO))

    assert desk_context(call)["X-Winet-Consent"] == "silence"
    assert (record.summary["consent"], record.summary["outcome"]) == ("silence", "desk")
    repeats = runtime.tables.hotline.notice_repeats_before_consent
    notices = [e for e in record.events if e["kind"] == "prompt" and e.get("text")]
    assert len(notices) == repeats + 1


async def test_a_wrong_key_after_the_notice_is_not_a_choice(runtime: Runtime):
    script = Script(PRO, [Press("notice", "7"), Press("notice", "1")])

    call, record = await place(runtime, script)

    assert "invalid_choice" in call.prompts_heard
    assert record.summary["consent"] == "accepted"


@pytest.mark.parametrize("moment", ["greeting", "connecting_technician", "pin_request", "notice"])
async def test_caller_hanging_up_ends_cleanly(runtime: Runtime, moment: str):
    number = {"pin_request": "", "notice": PRO}.get(moment, PREMIUM)

    call, record = await place(runtime, Script(number, hang_up_at=moment))

    assert record.summary["hangup_side"] == "caller", moment
    assert record.summary["outcome"] == "abandoned", moment
    assert call.bridged_with == [] and call.left_for is None and call.visits == []


def offer_a_callback_after(runtime: Runtime, seconds: int) -> None:
    tables = runtime.tables
    destinations = replace(tables.destinations, callback_offer_after=seconds)
    runtime.tables = replace(tables, destinations=destinations)


async def test_a_caller_nobody_at_the_desk_answers_waits_and_may_ask_for_a_call_back(
    runtime: Runtime,
):
    offer_a_callback_after(runtime, 1)
    presses = [Press("notice", "1"), Press("queue/callback_offer", "1")]

    call, record = await place(runtime, Script(PRO, presses, desk_agent=None))

    assert call.visits == [DESK_QUEUE], "one queue, no retries"
    summary = record.summary
    assert (summary["outcome"], summary["desk_status"]) == ("callback_requested", "queued")
    assert summary["hangup_side"] == "hotline" and "goodbye" not in call.prompts_heard
    opened = await requests.active_requests(runtime.redis)
    assert [(r.id, r.call_id, r.customer_id) for r in opened] == [
        (summary["callback_request"], call.channel_id, "studio-lugano")
    ]
    assert opened[0].first_reaction_due == datetime.fromisoformat(summary["first_reaction_due"])
    heard = call.heard[-1]
    assert heard[0][0] == "queue/callback_confirmed" and heard[0][-1] == "queue/callback_hours"
    said = [e for e in record.events if e["kind"] == "prompt"][-1]["text"]
    # studio-lugano (pro): due Mon 30 Nov 13:00, 50 h 45 min after Saturday 10:15
    assert said == (
        "La Sua richiesta di richiamata è registrata presso il service desk. "
        "Sarà richiamato entro cinquantuno ore."
    )
    kinds = [e["status"] for e in record.events if e["kind"] == "desk_queue"]
    assert kinds == ["queued", "callback_offered"]


async def test_the_callback_offer_needs_the_key_else_the_caller_keeps_waiting(runtime: Runtime):
    offer_a_callback_after(runtime, 1)
    script = Script(PRO, [Press("notice", "1")], desk_agent=None)
    call = ScriptedCall(script, runtime.clock)

    waiting = asyncio.create_task(handle_call(call, runtime))
    await asyncio.sleep(0.1)
    assert not waiting.done(), "still in the queue: nobody is hung up on"
    assert "queue/callback_offer" in call.prompts_heard
    assert call.visits == [DESK_QUEUE, REJOIN], "back to their place in the queue"
    waiting.cancel()  # this worker stops: the caller waits on in the queue
    await asyncio.gather(waiting, return_exceptions=True)
    assert await requests.active_requests(runtime.redis) == []
    await runtime.records.written(call.channel_id)
    record = await calls.get_call(runtime.redis, call.channel_id)
    assert "ended_at" not in record.summary, "left open for the worker that follows the call on"


async def test_a_caller_who_lets_the_offer_pass_rejoins_their_place_and_reaches_an_agent(
    runtime: Runtime,
):
    offer_a_callback_after(runtime, 60)
    script = Script(PRO, [Press("notice", "1")], queue_seconds=75, leg_hangs_up_first=True)

    call, record = await place(runtime, script)

    assert call.visits == [DESK_QUEUE, REJOIN]
    assert desk_context(call)["offer_after"] == "60"
    statuses = [e["status"] for e in record.events if e["kind"] == "desk_queue"]
    assert statuses == ["queued", "callback_offered", "answered"]
    summary = record.summary
    assert (summary["outcome"], summary["desk_agent_line"]) == ("desk", "xy-desk")
    assert summary["hangup_side"] == "desk", "the agent hung up"
    assert await requests.active_requests(runtime.redis) == []


async def test_what_the_dialplan_would_misread_never_reaches_it(runtime: Runtime):
    call = ScriptedCall(Script(PRO), runtime.clock)
    talk = conversation(call, runtime)
    talk.consent = 'accepted, "quoted" ${EXPR} (x)'

    await talk.leave_for_dialplan("hand-to-desk", "s")

    context = desk_context(call)  # still ten fields, split at the commas
    assert context["X-Winet-Consent"] == "accepted_ _quoted_ __EXPR_ _x_"
    assert context["language"] == talk.lang


async def test_redis_down_still_reaches_the_desk(runtime: Runtime):
    # nothing listens on port 1; no retries, so the test stays fast
    runtime.redis = Redis(port=1, retry=Retry(NoBackoff(), 0))
    call = ScriptedCall(Script(PREMIUM), runtime.clock)

    await handle_call(call, runtime)

    assert call.left_for == ("hand-to-desk", "s", 1), "the dialplan's desk hand-off"
    assert desk_context(call)["X-Winet-Customer"] == "unknown"
    assert desk_context(call)["X-Winet-Identified"] == "no"
    assert desk_context(call)["offer_after"] == "", "the dialplan alone offers no call back"


async def test_while_redis_does_not_answer_callers_are_routed_by_the_facts_read_before(
    runtime: Runtime,
):
    standby = technicians(runtime)[0]
    await place(runtime, Script(PREMIUM, legs={standby.dial: ACCEPTS}))  # facts read
    runtime.redis = Redis(port=1, retry=Retry(NoBackoff(), 0))  # Redis gone from now on

    call = ScriptedCall(Script(PREMIUM, legs={standby.dial: ACCEPTS}), runtime.clock)
    await handle_call(call, runtime)

    assert call.left_for is None, "not the dialplan's desk hand-off"
    assert call.bridged_with == [standby.dial]
    assert last_headers(call)["X-Winet-Customer"] == "klinik-seefeld"


async def test_an_error_in_our_code_sends_the_caller_to_the_desk(runtime: Runtime, redis_client):
    call = ScriptedCall(Script(PREMIUM), runtime.clock)
    call.dial = None  # the flow's own failure, not the caller's

    await handle_call(call, runtime)

    record = await calls.get_call(redis_client, call.channel_id)
    assert call.left_for == ("hand-to-desk", "s", 1)
    assert [e["kind"] for e in record.events if e["kind"] == "error"] == ["error"]
    assert record.summary["outcome"] == "desk_fallback"
    assert desk_context(call)["X-Winet-Customer"] == "klinik-seefeld"


async def test_a_call_asterisk_would_not_answer_still_has_a_finished_record(
    runtime: Runtime, redis_client
):
    async def times_out() -> None:
        raise TimeoutError("ARI POST /answer: no reply")  # an Asterisk past capacity

    call = ScriptedCall(Script(PREMIUM), runtime.clock)
    call.answer = times_out

    await handle_call(call, runtime)

    record = await calls.get_call(redis_client, call.channel_id)
    assert record is not None, "the record opens before the call is answered"
    assert record.summary["outcome"] == "desk_fallback"
    assert record.summary["ended_at"]
    assert call.left_for == ("hand-to-desk", "s", 1)


async def test_an_orphan_goes_to_the_desk_and_its_record_is_finished(runtime: Runtime):
    call = ScriptedCall(Script(PREMIUM), runtime.clock)
    await conversation(call, runtime).record.started(PREMIUM, "", "de")  # by a worker now dead

    await rescue_orphan(call, runtime)

    assert call.taken_over, "what the dead worker left playing is stopped first"
    assert call.left_for == ("hand-to-desk", "s", 1)
    record = await calls.get_call(runtime.redis, call.channel_id)
    assert [e["kind"] for e in record.events] == ["started", "orphan", "ended"]
    assert record.summary["outcome"] == "desk_fallback"


async def test_an_orphan_whose_bridge_cannot_be_looked_for_goes_to_the_desk(runtime: Runtime):
    call = ScriptedCall(Script(PREMIUM), runtime.clock)

    async def no_answer() -> None:
        raise TimeoutError("ARI GET /bridges: no reply")

    call.adopt_bridge = no_answer

    await rescue_orphan(call, runtime)

    assert call.left_for == ("hand-to-desk", "s", 1), "not hung up: the desk"


@pytest.mark.parametrize("technician_hangs_up", [False, True])
async def test_an_orphan_talking_with_a_technician_goes_on_talking(
    runtime: Runtime, technician_hangs_up: bool
):
    standby = technicians(runtime)[0]
    script = Script(PREMIUM, talking_with=standby.dial, leg_hangs_up_first=technician_hangs_up)
    call = ScriptedCall(script, runtime.clock)
    await conversation(call, runtime).record.started(PREMIUM, "", "de")  # by a worker now dead

    await rescue_orphan(call, runtime)

    assert call.left_for is None and not call.taken_over, "not moved, nothing stopped"
    record = await calls.get_call(runtime.redis, call.channel_id)
    orphan = [e for e in record.events if e["kind"] == "orphan"]
    assert orphan and orphan[0]["detail"] == "found talking, followed on"
    assert record.summary["outcome"] == "technician"
    assert record.summary["bridged_to"] == standby.id, "written for the worker that died"
    side = "technician" if technician_hangs_up else "caller"
    assert record.summary["hangup_side"] == side


async def test_an_orphan_whose_worker_died_before_its_record_gets_one(runtime: Runtime):
    call = ScriptedCall(Script(PREMIUM), runtime.clock)  # StasisStart, then the worker died

    await rescue_orphan(call, runtime)

    record = await calls.get_call(runtime.redis, call.channel_id)
    assert record is not None, "every call Asterisk saw has a record"
    assert [e["kind"] for e in record.events] == ["started", "orphan", "ended"]
    assert record.summary["caller_number"] == PREMIUM
    assert record.summary["outcome"] == "desk_fallback"


async def left_in_the_ivr(runtime: Runtime, script: Script, **record) -> ScriptedCall:
    """A caller whose worker died in the IVR: the record it wrote, `record` its summary."""
    call = ScriptedCall(script, runtime.clock)
    talk = conversation(call, runtime)
    await talk.record.started(script.caller_number, "", "de")
    await talk.record.written()
    if record:
        await calls.update_call(runtime.redis, call.channel_id, **record)
    return call


def orphan_details(record: calls.CallRecord) -> list[str]:
    return [event["detail"] for event in record.events if event["kind"] == "orphan"]


async def test_a_caller_left_in_the_ivr_is_routed_again_to_the_technician(runtime: Runtime):
    standby = technicians(runtime)[0]
    call = await left_in_the_ivr(runtime, Script(PREMIUM, legs={standby.dial: ACCEPTS}))

    await rescue_orphan(call, runtime, resume=True)

    record = await calls.get_call(runtime.redis, call.channel_id)
    assert orphan_details(record) == ["found in the IVR, routed again"]
    assert call.taken_over, "what the dead worker left playing is stopped first"
    assert record.summary["outcome"] == "technician"
    assert record.summary["bridged_to"] == standby.id
    assert "greeting" not in call.prompts_heard, "not greeted twice"
    assert call.left_for is None
    assert call.answered, "its worker had died before answering it"


async def test_a_caller_who_had_accepted_the_notice_goes_on_to_the_desk_without_it(runtime):
    call = await left_in_the_ivr(runtime, Script(PRO), consent="accepted")

    await rescue_orphan(call, runtime, resume=True)

    record = await calls.get_call(runtime.redis, call.channel_id)
    assert not [p for p in call.prompts_heard if p.startswith("notice/")], "the answer stands"
    assert call.visits == [DESK_QUEUE]
    assert desk_context(call)["X-Winet-Consent"] == "accepted"
    assert record.summary["outcome"] == "desk"


async def test_a_caller_left_before_answering_the_notice_hears_it_again(runtime: Runtime):
    call = await left_in_the_ivr(runtime, Script(PRO, [Press("notice", "2")]))

    await rescue_orphan(call, runtime, resume=True)

    record = await calls.get_call(runtime.redis, call.channel_id)
    assert call.prompts_heard.count("notice/outside_hours") == 1
    assert record.summary["outcome"] == "withdrawn"


async def test_a_caller_identified_by_pin_is_not_asked_again(runtime: Runtime):
    standby = technicians(runtime)[0]
    script = Script(UNKNOWN, legs={standby.dial: ACCEPTS})
    call = await left_in_the_ivr(runtime, script, customer_id="klinik-seefeld", identified="pin")

    await rescue_orphan(call, runtime, resume=True)

    record = await calls.get_call(runtime.redis, call.channel_id)
    assert not [p for p in call.prompts_heard if p.startswith("pin")], "no PIN asked again"
    assert record.summary["customer_id"] == "klinik-seefeld"
    assert record.summary["identified"] == "pin"
    assert record.summary["outcome"] == "technician"


async def test_technicians_who_passed_the_call_on_are_not_rung_again(runtime: Runtime):
    ladder = technicians(runtime)
    assert len(ladder) >= 3, "the premium ladder of the tables"
    first, second, third = ladder[:3]
    call = await left_in_the_ivr(runtime, Script(PREMIUM, legs={third.dial: ACCEPTS}))
    talk = conversation(call, runtime)
    await talk.record.leg("technician", first.id, "ringing")
    await talk.record.leg("technician", first.id, "no_answer")
    await talk.record.leg("technician", second.id, "declined")
    await talk.record.written()

    await rescue_orphan(call, runtime, resume=True)

    assert [endpoint for endpoint, _ in call.dialled] == [third.dial]
    record = await calls.get_call(runtime.redis, call.channel_id)
    assert record.summary["bridged_to"] == third.id


async def test_a_technician_who_had_accepted_when_the_worker_died_is_rung_again(runtime):
    standby = technicians(runtime)[0]
    call = await left_in_the_ivr(runtime, Script(PREMIUM, legs={standby.dial: ACCEPTS}))
    talk = conversation(call, runtime)
    await talk.record.leg("technician", standby.id, "accepted")
    await talk.record.written()

    await rescue_orphan(call, runtime, resume=True)

    assert [endpoint for endpoint, _ in call.dialled] == [standby.dial]


async def test_when_every_technician_passed_the_call_on_it_goes_on_to_the_desk(runtime):
    call = await left_in_the_ivr(runtime, Script(PREMIUM))
    talk = conversation(call, runtime)
    for leg in technicians(runtime):
        await talk.record.leg("technician", leg.id, "no_answer")
    await talk.record.written()

    await rescue_orphan(call, runtime, resume=True)

    assert call.dialled == []
    assert "connecting_technician" not in call.prompts_heard
    heard = call.prompts_heard
    assert heard[heard.index("technician_unavailable") + 1] == "connecting_desk"
    assert call.visits == [DESK_QUEUE]


@pytest.mark.parametrize("why", ["this worker stops", "back from a dialplan visit"])
async def test_other_orphans_still_go_to_the_desk(runtime: Runtime, why: str):
    call = await left_in_the_ivr(runtime, Script(PREMIUM))
    if why == "back from a dialplan visit":
        call.args = ("desk-offer",)

    await rescue_orphan(call, runtime, resume=why != "this worker stops")

    record = await calls.get_call(runtime.redis, call.channel_id)
    assert orphan_details(record) == ["found unhandled after a reconnect"]
    assert call.left_for == ("hand-to-desk", "s", 1)


async def test_the_language_chosen_in_the_menu_wins_over_the_customers(runtime: Runtime):
    offer_the_language_menu(runtime)
    script = Script(PRO, [Press("language_menu", "4"), Press("notice", "2")])

    call, record = await place(runtime, script)

    assert [(e["chosen"], e["key"]) for e in record.events if e["kind"] == "language"] == [
        ("en", "4")
    ]
    assert record.summary["language"] == "en", "studio-lugano's Italian gave way to the choice"
    notice = [e for e in record.events if e["kind"] == "prompt" and e.get("text")]
    assert notice[0]["lang"] == "en" and "winCall pro, 5x12h" in notice[0]["text"]
    menu = [lang for ids, lang in call.heard if ids == ("language_menu",)]
    assert menu == ["de"], "a key pressed during the first offer stops the menu"


async def test_no_choice_in_the_menu_keeps_the_customers_language(runtime: Runtime):
    offer_the_language_menu(runtime)

    call, record = await place(runtime, Script(PRO, [Press("notice", "2")]))

    assert [(e["chosen"], e["key"]) for e in record.events if e["kind"] == "language"] == [
        (None, None)
    ]
    menu = [lang for ids, lang in call.heard if ids == ("language_menu",)]
    assert menu == ["de", "fr", "it", "en"], "each language offers itself in its own voice"
    assert record.summary["language"] == "it"


async def test_a_customer_with_no_free_units_hears_that_none_are_left(runtime: Runtime):
    _, record = await place(runtime, Script(NO_UNITS, [Press("notice", "1")]))

    assert "You have no free service units left." in record.summary["notice_text"]
    assert "one free service unit" not in record.summary["notice_text"]


async def test_an_unidentified_caller_sent_to_the_technician_hears_so(runtime: Runtime):
    tables = runtime.tables
    hotline = replace(tables.hotline, unidentified_destination="technician")
    runtime.tables = replace(tables, hotline=hotline)
    presses = [Press("pin_request", WRONG_PIN) for _ in range(3)]
    first = technicians(runtime)[0]

    call, record = await place(runtime, Script(UNKNOWN, presses, {first.dial: ACCEPTS}))

    heard = call.prompts_heard
    assert heard[heard.index("identified_unknown") + 1] == "connecting_technician"
    assert "connecting_desk" not in heard
    assert record.summary["outcome"] == "technician"


async def test_a_technician_who_answers_without_accepting_costs_the_tables_accept_time(
    runtime: Runtime,
):
    first, second = technicians(runtime)[:2]
    script = Script(PREMIUM, legs={first.dial: SILENT, second.dial: ACCEPTS})
    started = runtime.now()

    call, _ = await place(runtime, script)

    heard = call.prompts_heard
    assert heard.count("technician_not_accepted") == 1, "the caller hears why the wait goes on"
    assert heard.index("technician_not_accepted") > heard.index("connecting_technician")
    waited = (runtime.now() - started).total_seconds()
    accept = runtime.tables.destinations.accept_timeout
    assert accept == 8 and waited < 60, "no 20 s of silence per technician"


async def test_past_capacity_a_new_call_goes_straight_to_the_desk_with_a_record(runtime: Runtime):
    runtime.load.note(runtime.load.limit * 10)
    call = ScriptedCall(Script(PREMIUM), runtime.clock)

    await handle_call(call, runtime)

    assert not call.answered and call.heard == [], "no IVR at all: straight on"
    assert call.left_for == ("hand-to-desk", "s", 1)
    record = await calls.get_call(runtime.redis, call.channel_id)
    assert record.summary["outcome"] == "desk_overload"
    assert [e["kind"] for e in record.events] == ["started", "overload", "ended"]
    assert runtime.load.shed == 1


async def left_waiting(runtime: Runtime, script: Script) -> ScriptedCall:
    """A caller whose worker died while they waited in the desk queue (it had recorded so)."""
    call = ScriptedCall(script, runtime.clock)
    record = conversation(call, runtime).record
    await record.started(PRO, "", "it")
    await record.queued(3)
    await record.written()
    return call


async def test_a_caller_left_waiting_in_the_desk_queue_is_followed_on_to_the_agent(
    runtime: Runtime,
):
    call = await left_waiting(runtime, Script(PRO, leg_hangs_up_first=True))

    await follow_waiting_caller(call, runtime)

    assert call.followed_on and call.visits == [], "followed where it waits, not sent again"
    record = await calls.get_call(runtime.redis, call.channel_id)
    kinds = [(e["kind"], e.get("status")) for e in record.events]
    assert kinds == [
        ("started", None),
        ("desk_queue", "queued"),
        ("orphan", None),
        ("desk_queue", "answered"),
        ("ended", None),
    ]
    summary = record.summary
    assert (summary["outcome"], summary["desk_agent_line"]) == ("desk", "xy-desk")
    assert summary["hangup_side"] == "desk"


@pytest.mark.parametrize("recorded", [True, False])
async def test_a_caller_the_agent_answered_before_their_worker_died_keeps_one_answer(
    runtime: Runtime, recorded: bool
):
    call = await left_waiting(runtime, Script(PRO, desk_agent=None))
    call.variables["WINET_DESK_AGENT"] = "xy-desk-2"  # set by the queue when the agent answered
    if recorded:
        record = conversation(call, runtime).record
        await record.desk_answered("xy-desk-2")
        await record.written()

    await follow_waiting_caller(call, runtime)

    record = await calls.get_call(runtime.redis, call.channel_id)
    answers = [e for e in record.events if e.get("status") == "answered"]
    assert [e["agent"] for e in answers] == ["xy-desk-2"]
    assert (record.summary["outcome"], record.summary["hangup_side"]) == ("desk", "caller")
