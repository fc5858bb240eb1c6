"""Who is calling: by caller ID when it names exactly one customer, else by PIN.

The PIN is asked when the number is withheld, unknown, shared by several customers, or the
customer requires it. Three attempts; a number with five failed PIN calls within an hour
gets no PIN attempts for the rest of that hour (it still reaches the desk). Withheld callers
share one such limit: a brute force hidden behind a withheld number cannot try more.
"""

from __future__ import annotations

from ivr.conversation import Caller, Conversation
from ivr.customers.numbers import caller_number
from ivr.store import customers, pins

WITHHELD = "withheld"


async def identify(talk: Conversation) -> Caller:
    number = caller_number(talk.call.caller_number)
    candidates = await customers.find_by_number(talk.runtime.redis, number) if number else []
    if len(candidates) == 1 and not candidates[0].pin_required:
        caller = Caller(number, candidates[0], "caller_id")
    else:
        why = _why_pin(number, candidates)
        await talk.record.pin_needed(why)
        caller = await identify_by_pin(talk, number)
    await _note(talk, caller)
    return caller


async def identify_by_pin(talk: Conversation, number: str | None) -> Caller:
    runtime = talk.runtime
    limit_key = number or WITHHELD
    if await pins.pin_attempts_blocked(runtime.redis, limit_key, runtime.now()):
        await talk.record.pin_blocked(limit_key)
        await talk.say("pin_locked")
        return Caller(number, None, "no")
    rules = runtime.tables.hotline
    for attempt in range(1, rules.pin_attempts + 1):
        pin = await talk.ask(
            "pin_request",
            max_digits=rules.pin_length,
            first_digit_timeout=rules.pin_first_digit_timeout,
            inter_digit_timeout=rules.pin_inter_digit_timeout,
        )
        customer = None
        if len(pin) == rules.pin_length:
            customer = await customers.find_by_pin(runtime.redis, pin, pin_key=runtime.pin_key)
        await talk.record.pin_attempt(attempt, keys=len(pin), ok=bool(customer))
        if customer:
            return Caller(number, customer, "pin")
        if attempt < rules.pin_attempts:
            await talk.say("pin_wrong" if pin else "no_input")
    await pins.record_failed_pin_call(runtime.redis, limit_key, runtime.now())
    await talk.say("identified_unknown")
    return Caller(number, None, "no")


def _why_pin(number: str | None, candidates: list) -> str:
    if number is None:
        return "number withheld or invalid"
    if not candidates:
        return "number unknown"
    if len(candidates) > 1:
        return f"number shared by {len(candidates)} customers"
    return "customer requires a PIN"


async def _note(talk: Conversation, caller: Caller) -> None:
    talk.caller = caller
    customer = caller.customer
    known = customer and customer.language in talk.runtime.tables.hotline.languages
    if known and not talk.language_chosen:
        talk.lang = customer.language
    await talk.record.identified(
        caller.identified_by,
        customer.id if customer else None,
        customer.name if customer else None,
        talk.lang,
    )
