"""The support hotline, as a caller lives it.

1. Answer and greet, in the hotline's language (the customer's once known, or the one the
   caller picks when the tables offer a language menu). During a major incident, callers
   then hear that it is known.
2. Identify the caller by caller ID, else by PIN.
3. Decide with the routing core at the current instant.
4. Covered: connect to the technician on standby (escalation ladder, then the desk). When no
   technician took the call, a request to them is opened: the customer is owed a first reaction.
5. Not covered: the cost-consequence notice; the caller continues (to the desk) or withdraws.
6. Every hand-over to the desk carries the call's context.
7. Whatever fails on our side, the caller goes to the desk; the record is always finished.
   So does a new call while this worker is past capacity (its measured delay too long).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ivr.ari.call import Bridge, Call, CallerHungUp
from ivr.calls.record import CallRecorder
from ivr.conversation import Conversation
from ivr.routing import decide
from ivr.steps.connect import connect_to_technician, hand_to_desk
from ivr.steps.cost_notice import caller_continues
from ivr.steps.identify import identify, identify_again
from ivr.steps.incident import announce_incident
from ivr.steps.language import choose_language
from ivr.steps.owed_reaction import open_owed_request
from ivr.worker.runtime import Runtime

log = logging.getLogger(__name__)

# The dialplan context that dials the desk with the X-Winet-* headers taken from the
# inheritable WINET_* channel variables (dialplan/extensions.conf).
DESK_FALLBACK = ("hand-to-desk", "s", 1)
# The agent who answered a caller in the desk queue, set by the queue (dialplan: desk-answered).
DESK_AGENT_VARIABLE = "WINET_DESK_AGENT"


async def handle_call(call: Call, runtime: Runtime) -> None:
    talk = conversation(call, runtime)
    async with finished_whatever_fails(talk):
        if runtime.load.overloaded:
            await shed_to_desk(talk)
            return
        await talk.record.started(call.caller_number, call.caller_name, talk.lang)
        await talk.answer()
        await talk.say("greeting")
        await talk.record.first_prompt(call.first_prompt_delay)
        if runtime.tables.hotline.language_menu:
            await choose_language(talk)
        await announce_incident(talk)
        await identify(talk)
        await decide_route(talk)
        await route(talk)


@asynccontextmanager
async def finished_whatever_fails(talk: Conversation) -> AsyncIterator[None]:
    """Whatever fails on our side, the caller goes to the desk; the record is finished."""
    call = talk.call
    try:
        yield
    except CallerHungUp:
        talk.hangup_side = talk.hangup_side or "caller"
    except Exception as error:
        log.exception("call %s: internal error, sending the caller to the desk", call.channel_id)
        await talk.record.error(f"{type(error).__name__}: {error}")
        await send_to_desk_by_dialplan(talk)
    finally:
        # A caller still waiting in the desk queue (this worker stops) is not done: the worker
        # that takes our application over follows the call on and finishes its record.
        if not call.in_dialplan:
            await talk.record.ended(talk.outcome, talk.hangup_side, call.hangup_cause)


async def route(talk: Conversation, consent: str | None = None) -> None:
    """Where the decision sends the caller; `consent`: their answer to the notice, when a
    worker that died had asked it already."""
    if talk.decision.destination == "technician":
        if not await connect_to_technician(talk):
            try:
                await hand_to_desk(talk)
            finally:
                await open_owed_request(talk)
    elif talk.decision.notice and not await _continues(talk, consent):
        await withdraw(talk)
    else:
        await hand_to_desk(talk)


async def _continues(talk: Conversation, consent: str | None) -> bool:
    if consent is None:
        return await caller_continues(talk)
    talk.consent = consent
    return consent != "withdrawn"


async def decide_route(talk: Conversation) -> None:
    customer = talk.customer
    contract = customer.contract if customer else None
    talk.decision = decide(talk.runtime.tables, contract, talk.runtime.now())
    await talk.record.decided(talk.decision)


async def withdraw(talk: Conversation) -> None:
    talk.outcome = "withdrawn"
    await talk.say("withdrawn")
    await talk.hang_up()


async def send_to_desk_by_dialplan(talk: Conversation) -> None:
    """The last resort: leave our application for the dialplan's desk hand-off.

    It needs nothing but Asterisk, so it works when Redis or our own code failed.
    """
    if talk.call.ended or talk.call.in_dialplan:
        return  # gone, or already in the desk queue
    talk.outcome = "desk_fallback"
    try:
        await talk.leave_for_dialplan(*DESK_FALLBACK)
    except Exception:
        log.exception("call %s: could not even send it to the desk", talk.call.channel_id)


async def shed_to_desk(talk: Conversation) -> None:
    """Past capacity: the caller goes straight to the desk, with a record saying why."""
    talk.runtime.load.shed += 1
    await talk.record.started(talk.call.caller_number, talk.call.caller_name, talk.lang)
    await talk.record.overloaded(talk.runtime.load.lag, talk.runtime.load.asterisk_delay)
    talk.outcome = "desk_overload"
    await talk.leave_for_dialplan(*DESK_FALLBACK)


async def rescue_orphan(call: Call, runtime: Runtime, *, resume: bool = False) -> None:
    """A call found in our application with nobody handling it (e.g. after a worker crash): one
    talking with a technician goes on talking; a caller left in the IVR is routed again when
    `resume` (not while this worker stops); any other goes to the desk."""
    talk = conversation(call, runtime)
    bridge = await _bridge_left_to(call)
    routed_again = bridge is None and resume and not call.args  # args: back from a dialplan visit
    async with finished_whatever_fails(talk):
        detail = _orphan_detail(talking=bridge is not None, routed_again=routed_again)
        await talk.record.orphan(detail, call.caller_number, call.caller_name, talk.lang)
        if bridge is not None:
            await talk.follow_bridge(bridge)
            return
        await talk.take_over()
        if routed_again:
            await route_again(talk)
        else:
            await send_to_desk_by_dialplan(talk)


def _orphan_detail(*, talking: bool, routed_again: bool) -> str:
    if talking:
        return "found talking, followed on"
    return "found in the IVR, routed again" if routed_again else "found unhandled after a reconnect"


async def route_again(talk: Conversation) -> None:
    """A caller a worker that died left in the IVR goes on without the greeting, in the language
    of their record: a customer it names is not asked again for a PIN, an answer to the notice
    stands, and a technician who passed the call on is not rung again."""
    if not talk.call.up:  # its worker died before answering it
        await talk.answer()
    record = await talk.record.read()  # None when Redis does not answer: start afresh
    summary = record.summary if record else {}
    talk.lang = summary.get("language") or talk.lang
    talk.ladder_passed = _legs_that_passed(record.events) if record else frozenset()
    await identify_again(talk, summary)
    await decide_route(talk)
    await route(talk, consent=summary.get("consent"))


async def _bridge_left_to(call: Call) -> Bridge | None:
    """The bridge a worker that died left the call talking in, if any; None also when Asterisk
    cannot say (the caller then goes to the desk, as any orphan)."""
    try:
        return await call.adopt_bridge()
    except Exception:
        log.exception("call %s: could not look for its bridge", call.channel_id)
        return None


async def follow_waiting_caller(call: Call, runtime: Runtime) -> None:
    """A caller that a worker that died left waiting in the desk queue: follow the call on to its
    end and finish its record (its worker's application is ours now)."""
    talk = conversation(call, runtime)
    destinations = runtime.tables.destinations
    detail = "left waiting in the desk queue"
    await talk.record.orphan(detail, call.caller_number, call.caller_name, talk.lang)
    try:
        agent = await call.variable(DESK_AGENT_VARIABLE)
        await talk.follow_in_desk_queue(
            destinations.desk,
            destinations.desk_queue,
            agent or None,
            answer_recorded=await talk.record.desk_answer_recorded(),
        )
    except CallerHungUp:
        talk.hangup_side = talk.hangup_side or "caller"
    finally:
        await talk.record.ended(talk.outcome, talk.hangup_side, call.hangup_cause)


def _legs_that_passed(events: list[dict]) -> frozenset[str]:
    """The ladder legs a record says were rung and did not take the call. One that had accepted
    when its worker died was hung up unbridged, and is rung again."""
    last_result = {
        event["id"]: event["result"]
        for event in events
        if event["kind"] == "leg" and event["result"] != "ringing"
    }
    return frozenset(leg for leg, result in last_result.items() if result != "accepted")


def conversation(call: Call, runtime: Runtime) -> Conversation:
    """A new call's conversation: the hotline's language until the caller is known."""
    record = CallRecorder(runtime.redis, call.channel_id, runtime.now, runtime.records)
    return Conversation(call, runtime, record, runtime.tables.hotline.default_language)
