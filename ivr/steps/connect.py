"""Putting the caller through: the technician on standby (and the escalation ladder), or the
24/7 xy AG desk.

A technician's leg first hears a whisper (hotline call, customer, tier) and must press 1 within
the tables' accept_timeout, so a voicemail cannot take the call; no answer, busy, a decline or
silence moves on down the ladder, and a caller whose technician answered without accepting
hears why the wait goes on. The caller hears hold music, never silence, while legs ring.

The desk is a queue of agents (Asterisk's app_queue): the caller waits there by priority (tier,
identified before unidentified), hears the position and the expected wait, and is never hung
up on because the agents are busy; after the tables' callback_offer_after seconds they may ask
to be called back instead, which leaves a request on the desk's list. Every leg carries the
X-Winet-* context headers.
"""

from __future__ import annotations

import asyncio
import logging

from ivr.ari.call import DTMF_KEYS, Call
from ivr.conversation import Conversation, Prompt
from ivr.prompts.phrase import render_phrase
from ivr.routing import Leg, desk_priority
from ivr.steps.callback import take_callback

log = logging.getLogger(__name__)

ACCEPT_KEY = "1"
CALLBACK_KEY = "1"
CALLBACK_ANSWER_SECONDS = 6.0  # after the call-back offer, for the caller's key


async def connect_to_technician(talk: Conversation) -> bool:
    """Ring the technicians of the ladder in turn; True once one accepted and the call ended.
    Those who passed the call on before a worker died (`talk.ladder_passed`) are not rung again."""
    technicians = [
        leg
        for leg in talk.decision.ladder
        if leg.kind == "technician" and leg.id not in talk.ladder_passed
    ]
    if technicians and await _ring_in_turn(talk, technicians):
        return True
    await talk.say("technician_unavailable")
    return False


async def _ring_in_turn(talk: Conversation, technicians: list[Leg]) -> bool:
    whisper = asyncio.create_task(_whisper(talk))
    try:
        await talk.say("connecting_technician")
        await talk.hold()
        for index, leg in enumerate(technicians):
            technician = await _ring_technician(talk, leg, await whisper)
            if technician is None:
                continue  # not answered: the caller still hears the hold music
            if technician is not NOT_ACCEPTED and await talk.bridge(technician, leg):
                return True
            if index < len(technicians) - 1:  # answered, and not accepted or gone at once
                await talk.say("technician_not_accepted")  # why the wait goes on
                await talk.hold()
    finally:
        whisper.cancel()
    return False


async def hand_to_desk(talk: Conversation) -> None:
    """Into the desk queue (the last leg of every ladder) with the call's context, until an
    agent has talked with the caller or the caller asked for a call back."""
    destinations = talk.runtime.tables.destinations
    await talk.say("connecting_desk")
    wants_callback = await talk.wait_in_desk_queue(
        destinations.desk,
        destinations.desk_queue,
        desk_priority(talk.runtime.tables, talk.decision.tier),
        offer_after=destinations.callback_offer_after,
        offer=talk.prompt("queue/callback_offer"),
        key=CALLBACK_KEY,
        wait=CALLBACK_ANSWER_SECONDS,
    )
    if wants_callback:
        await take_callback(talk)


NOT_ACCEPTED = "not accepted"  # the technician answered but did not press the accept key


async def _ring_technician(talk: Conversation, leg: Leg, whisper: Prompt) -> Call | str | None:
    """The technician's leg once they accepted; NOT_ACCEPTED when they answered without
    accepting; None when the phone was not answered."""
    answered = await talk.dial(leg)
    if answered is None:
        return None
    wait = talk.runtime.tables.destinations.accept_timeout
    key = await talk.choose([whisper], DTMF_KEYS, wait=wait, party=answered)
    if key == ACCEPT_KEY:
        await talk.record.leg(leg.kind, leg.id, "accepted")
        return answered
    await talk.record.leg(leg.kind, leg.id, "declined" if key else "not_accepted")
    await answered.hangup()
    return NOT_ACCEPTED


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
