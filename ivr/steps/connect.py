"""Putting the caller through: the technician on standby (and the escalation ladder), or the
24/7 xy AG desk.

A technician's leg first hears a whisper (hotline call, customer, tier) and must press 1 to
accept, so a voicemail cannot take the call; no answer, busy, a decline or silence moves on
down the ladder. The caller hears hold music, never silence, while legs ring. Every leg
carries the X-Winet-* context headers.
"""

from __future__ import annotations

import asyncio
import logging

from ivr.ari.call import Call, CallerHungUp, DialFailed
from ivr.prompts.installed import media_uri
from ivr.prompts.phrase import render_phrase
from ivr.routing import Leg
from ivr.steps.conversation import Conversation

log = logging.getLogger(__name__)

ACCEPT_KEY = "1"
ACCEPT_SECONDS = 10.0  # after the whisper, for the technician's key
DESK_ATTEMPTS = 3


async def connect_to_technician(talk: Conversation) -> bool:
    """Ring the technicians of the ladder in turn; True once one accepted and the call ended."""
    whisper = asyncio.create_task(_whisper(talk))
    try:
        await talk.say("connecting_technician")
        await talk.call.hold()
        for leg in talk.decision.ladder:
            if leg.kind != "technician":
                continue
            technician = await _ring_technician(talk, leg, await whisper)
            if technician is not None:
                await _stay_connected(talk, technician, leg)
                return True
    finally:
        whisper.cancel()
    await talk.say("technician_unavailable")
    return False


async def hand_to_desk(talk: Conversation) -> None:
    """Through to the desk with the call's context; a few tries if it does not answer."""
    desk = talk.hotline.tables.destinations.desk
    await talk.record.update(destination="desk", desk_status="ringing")
    await talk.say("connecting_desk")
    for attempt in range(1, DESK_ATTEMPTS + 1):
        await talk.call.hold()
        answered = await _dial(talk, desk)
        if answered is not None:
            await talk.record.event("leg", role=desk.kind, id=desk.id, result="answered")
            await talk.record.update(desk_status="connected")
            await _stay_connected(talk, answered, desk)
            return
        if attempt < DESK_ATTEMPTS:
            await talk.say("please_hold")
    talk.outcome = "desk_unreachable"
    await talk.record.update(desk_status="unreachable")
    await talk.say("goodbye")


async def _ring_technician(talk: Conversation, leg: Leg, whisper: tuple[str, ...]) -> Call | None:
    answered = await _dial(talk, leg)
    if answered is None:
        return None
    try:
        key = await talk.call.unless_hung_up(
            answered.collect_digits(
                max_digits=1,
                first_digit_timeout=ACCEPT_SECONDS,
                inter_digit_timeout=ACCEPT_SECONDS,
                terminator="",
                prompt=whisper,
                lang=talk.hotline.tables.hotline.default_language,
            )
        )
    except CallerHungUp as hung_up:
        if hung_up.channel_id != answered.channel_id:
            raise
        key = None
    if key == ACCEPT_KEY:
        await talk.record.event("leg", role=leg.kind, id=leg.id, result="accepted")
        return answered
    result = "declined" if key else "not_accepted"
    await talk.record.event("leg", role=leg.kind, id=leg.id, result=result)
    await answered.hangup()
    return None


async def _dial(talk: Conversation, leg: Leg) -> Call | None:
    await talk.record.event("leg", role=leg.kind, id=leg.id, result="ringing", dial=leg.dial)
    try:
        return await talk.call.dial(
            leg.dial,
            timeout=leg.ring_timeout,
            caller_id=_caller_id(talk),
            headers=talk.context_headers(),
        )
    except DialFailed as failure:
        await talk.record.event("leg", role=leg.kind, id=leg.id, result=failure.reason)
        return None


async def _stay_connected(talk: Conversation, other: Call, leg: Leg) -> None:
    bridge = await talk.call.bridge(other)
    talk.outcome = leg.kind
    await talk.record.update(
        bridged_to=leg.id, bridged_kind=leg.kind, bridged_at=talk.hotline.now()
    )
    await talk.record.event("bridged", role=leg.kind, id=leg.id)
    ended = await bridge.wait_hangup()
    talk.hangup_side = "caller" if ended is talk.call else leg.kind


async def _whisper(talk: Conversation) -> tuple[str, ...]:
    """What the technician hears before accepting: hotline, customer's name, tier."""
    customer = talk.caller.customer if talk.caller else None
    if customer is None:
        return tuple(map(media_uri, ("whisper/intro", "whisper/unidentified", "whisper/accept")))
    lang = talk.hotline.tables.hotline.default_language
    try:
        name = await render_phrase(customer.name, lang, talk.hotline.settings)
    except Exception:  # the whisper still works without the name: say the customer's id
        log.exception("could not render the name of %s for the whisper", customer.id)
        name = f"characters:{customer.id.replace('-', '')}"
    return (
        media_uri("whisper/intro"),
        media_uri("whisper/customer"),
        name,
        media_uri("whisper/tier"),
        media_uri(f"tier/{talk.decision.tier}"),
        media_uri("whisper/accept"),
    )


def _caller_id(talk: Conversation) -> str:
    caller = talk.caller
    number = (caller.number if caller else None) or "anonymous"
    if caller and caller.customer:
        name = caller.customer.name.replace('"', "")
        return f'"{name}" <{number}>'
    return number
