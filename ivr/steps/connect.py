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

from ivr.ari.call import DTMF_KEYS, Call
from ivr.conversation import Conversation, Prompt
from ivr.prompts.phrase import render_phrase
from ivr.routing import Leg

log = logging.getLogger(__name__)

ACCEPT_KEY = "1"
ACCEPT_SECONDS = 10.0  # after the whisper, for the technician's key
DESK_ATTEMPTS = 3


async def connect_to_technician(talk: Conversation) -> bool:
    """Ring the technicians of the ladder in turn; True once one accepted and the call ended."""
    whisper = asyncio.create_task(_whisper(talk))
    try:
        await talk.say("connecting_technician")
        await talk.hold()
        for leg in talk.decision.ladder:
            if leg.kind != "technician":
                continue
            technician = await _ring_technician(talk, leg, await whisper)
            if technician is not None:
                await talk.bridge(technician, leg)
                return True
    finally:
        whisper.cancel()
    await talk.say("technician_unavailable")
    return False


async def hand_to_desk(talk: Conversation) -> None:
    """Through to the desk (the last leg of every ladder) with the call's context; a few
    tries if it does not answer."""
    desk = talk.decision.desk
    await talk.record.desk("ringing")
    await talk.say("connecting_desk")
    for attempt in range(1, DESK_ATTEMPTS + 1):
        await talk.hold()
        answered = await talk.dial(desk)
        if answered is not None:
            await talk.record.leg(desk.kind, desk.id, "answered")
            await talk.record.desk("connected")
            await talk.bridge(answered, desk)
            return
        if attempt < DESK_ATTEMPTS:
            await talk.say("please_hold")
    talk.outcome = "desk_unreachable"
    await talk.record.desk("unreachable")
    await talk.say("goodbye")


async def _ring_technician(talk: Conversation, leg: Leg, whisper: Prompt) -> Call | None:
    answered = await talk.dial(leg)
    if answered is None:
        return None
    key = await talk.choose([whisper], DTMF_KEYS, wait=ACCEPT_SECONDS, party=answered)
    if key == ACCEPT_KEY:
        await talk.record.leg(leg.kind, leg.id, "accepted")
        return answered
    await talk.record.leg(leg.kind, leg.id, "declined" if key else "not_accepted")
    await answered.hangup()
    return None


async def _whisper(talk: Conversation) -> Prompt:
    """What the technician hears before accepting, in the hotline's language: hotline,
    customer's name, tier."""
    lang = talk.runtime.tables.hotline.default_language
    customer = talk.customer
    if customer is None:
        return talk.prompt("whisper/intro", "whisper/unidentified", "whisper/accept", lang=lang)
    try:
        name = await render_phrase(customer.name, lang, talk.runtime.settings)
    except Exception:  # the whisper still works without the name: say the customer's id
        log.exception("could not render the name of %s for the whisper", customer.id)
        name = f"characters:{customer.id.replace('-', '')}"
    intro = talk.prompt("whisper/intro", "whisper/customer", lang=lang).media
    tier = talk.prompt("whisper/tier", f"tier/{talk.decision.tier}", "whisper/accept", lang=lang)
    return Prompt((*intro, name, *tier.media), lang)
