"""A request reaches a technician by phone (2nd level), and a technician calls a customer back.

1. The technician's phone rings (placed by the notifier; no answer or busy moves it on).
2. They hear the request: its number, the customer, the contract, when the first reaction is due.
3. 1 takes the request. 2 takes it and calls the customer now, through the trunk, bridging the
   two: the customer answering is the first contact. 3, or no key, passes it on.
Click-to-call from the console is the same call without the choice: the technician hears
which request it is, and the customer's phone rings.
"""

from __future__ import annotations

import logging

from ivr.conversation import Conversation, Prompt
from ivr.prompts.phrase import render_phrase
from ivr.requests.model import Request, TransitionRefused
from ivr.requests.spoken import request_sentence
from ivr.routing import Leg
from ivr.store import requests as request_store

log = logging.getLogger(__name__)

TAKE, CONNECT, PASS = "1", "2", "3"
CHOICE_SECONDS = 8.0  # after the choices, for the technician's key (offered twice)
CUSTOMER_RING_SECONDS = 30
TRUNK = "trunk"  # the PJSIP endpoint to the public network (asterisk-config/pjsip.conf)


async def offer_request(talk: Conversation, request: Request, technician: str) -> str:
    """What the technician did: accepted, connected, customer_unreachable, passed, no_choice
    or taken (someone else took the request meanwhile)."""
    facts = await _facts(talk, request)
    key = await talk.choose(
        [talk.prompt("request/intro"), facts, talk.prompt("request/choices")],
        TAKE + CONNECT + PASS,
        wait=CHOICE_SECONDS,
    )
    if key is None:
        key = await talk.choose(
            [talk.prompt("request/choices")], TAKE + CONNECT + PASS, wait=CHOICE_SECONDS
        )
    if key not in (TAKE, CONNECT):
        if key == PASS:
            await talk.say("request/passed")
            return "passed"
        return "no_choice"
    if not await _change(talk, request, "ack", technician):
        await talk.say("request/taken")
        return "taken"
    if key == TAKE:
        await talk.say("request/accepted")
        return "accepted"
    return await call_customer(talk, request, technician)


async def call_back_customer(talk: Conversation, request: Request, technician: str) -> str:
    """Click-to-call: tell the technician which request, then ring the customer."""
    await talk.play(talk.prompt("request/callback"))
    await talk.play(await _facts(talk, request))
    return await call_customer(talk, request, technician)


async def call_customer(talk: Conversation, request: Request, technician: str) -> str:
    """Ring the customer's number through the trunk and bridge them with the technician;
    connected (the first contact is recorded) or customer_unreachable."""
    await talk.say("request/calling_customer")
    await talk.hold()
    leg = Leg(
        "customer",
        request.customer_id or "customer",
        request.customer_name or "",
        f"PJSIP/{request.callback_number}@{TRUNK}",
        CUSTOMER_RING_SECONDS,
    )
    answered = await talk.dial(leg)
    if answered is not None and request.first_contact_at is None:
        await _change(talk, request, "contact", technician)
    if answered is None or not await talk.bridge(answered, leg):  # or gone as they answered
        await talk.say("request/customer_unreachable")
        return "customer_unreachable"
    return "connected"


async def _change(talk: Conversation, request: Request, action: str, technician: str) -> bool:
    try:
        await request_store.act(
            talk.runtime.redis,
            request.id,
            action,
            by=technician,
            technician=technician,
            now=talk.runtime.now(),
        )
    except TransitionRefused as refused:
        log.info("request %s: %s", request.id, refused)
        return False
    return True


async def _facts(talk: Conversation, request: Request) -> Prompt:
    tier_name = talk.runtime.tables.tier_names.get(request.tier or "")
    text = request_sentence(request, tier_name, talk.lang, talk.runtime.now())
    media = await render_phrase(text, talk.lang, talk.runtime.settings)
    return Prompt((media,), talk.lang, text)
