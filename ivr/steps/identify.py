"""Who is calling: by caller ID when it names exactly one customer, else by PIN.

A PIN never identifies a caller alone. When the caller's number is shared by several
customers, or the customer requires a PIN, it is checked against the customers of that
number. When the number is withheld or unknown, the caller types a customer number (the
phone number the contract is registered under) and then the PIN, as with a bank or a telco.

Three attempts. Five failed PIN calls within an hour block further PIN attempts from that
caller number (withheld callers share one limit) and for that customer number; many failed
PIN calls hotline-wide stop identification by customer number for the hour (`ivr.store.pins`).
A blocked caller still reaches the desk.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr.conversation import Caller, Conversation
from ivr.customers.numbers import caller_number
from ivr.store import customers, pins

WITHHELD = "withheld"
CUSTOMER_NUMBER_DIGITS = 16  # the longest number with its international prefix; # ends it


async def identify(talk: Conversation) -> Caller:
    number = caller_number(talk.call.caller_number)
    candidates = (await talk.facts()).customers_with(number) if number else []
    if len(candidates) == 1 and not candidates[0].pin_required:
        caller = Caller(number, candidates[0], "caller_id")
    else:
        why = _why_pin(number, candidates)
        await talk.record.pin_needed(why)
        caller = await identify_by_pin(talk, number, known_number=bool(candidates))
    await _note(talk, caller)
    return caller


async def identify_again(talk: Conversation, record: Mapping[str, Any]) -> Caller:
    """A caller taken over from a worker that died: the customer their call's record names is
    not asked again (for a PIN); without one, the caller is identified afresh."""
    known = record.get("customer_id")
    customer = await customers.get_customer(talk.runtime.redis, known) if known else None
    if customer is None:
        return await identify(talk)
    by = record.get("identified") or "caller_id"
    caller = Caller(caller_number(talk.call.caller_number), customer, by)
    await _note(talk, caller)
    return caller


async def identify_by_pin(talk: Conversation, number: str | None, *, known_number: bool) -> Caller:
    """The PIN of a customer of the caller's number when it is a customer's (`known_number`),
    else a customer number and its PIN."""
    runtime = talk.runtime
    limit_key = number or WITHHELD
    blocked = await _blocked(talk, limit_key, known_number)
    if blocked:
        await talk.record.pin_blocked(blocked)
        await talk.say("pin_locked")
        return Caller(number, None, "no")
    rules = runtime.tables.hotline
    typed: list[str] = []  # the limit keys of the customer numbers typed
    for attempt in range(1, rules.pin_attempts + 1):
        account = number if known_number else await _ask_customer_number(talk)
        pin = await _ask_pin(talk)
        customer = None
        if account and not known_number:
            typed.append(pins.account_key(account))
        if account and len(pin) == rules.pin_length and not await _account_blocked(talk, typed):
            customer = await customers.find_by_pin(
                runtime.redis, account, pin, pin_key=runtime.pin_key
            )
        # the record keeps how many keys were typed, never the keys
        await talk.record.pin_attempt(attempt, keys=len(pin), ok=bool(customer))
        if customer:
            return Caller(number, customer, "pin")
        if attempt < rules.pin_attempts:
            await talk.say(
                ("pin_wrong" if known_number else "account_wrong") if pin else "no_input"
            )
    await pins.record_failed_pin_call(runtime.redis, limit_key, *typed, now=runtime.now())
    await talk.say("identified_unknown")
    return Caller(number, None, "no")


async def _blocked(talk: Conversation, limit_key: str, known_number: bool) -> str | None:
    """Which limit stops PIN attempts for this call, if any."""
    redis, now = talk.runtime.redis, talk.runtime.now()
    if await pins.pin_attempts_blocked(redis, limit_key, now):
        return limit_key
    if not known_number and await pins.hotline_blocked(redis, now):
        return pins.HOTLINE
    return None


async def _account_blocked(talk: Conversation, typed: list[str]) -> bool:
    """The customer number just typed has had too many failed PIN calls: its PIN is not even
    checked (the caller hears the same as for a wrong PIN)."""
    if not typed:
        return False
    return await pins.pin_attempts_blocked(talk.runtime.redis, typed[-1], talk.runtime.now())


async def _ask_customer_number(talk: Conversation) -> str | None:
    rules = talk.runtime.tables.hotline
    digits = await talk.ask(
        "account_request",
        max_digits=CUSTOMER_NUMBER_DIGITS,
        first_digit_timeout=rules.pin_first_digit_timeout,
        inter_digit_timeout=rules.pin_inter_digit_timeout,
    )
    return caller_number(digits) if digits else None


async def _ask_pin(talk: Conversation) -> str:
    rules = talk.runtime.tables.hotline
    return await talk.ask(
        "pin_request",
        max_digits=rules.pin_length,
        first_digit_timeout=rules.pin_first_digit_timeout,
        inter_digit_timeout=rules.pin_inter_digit_timeout,
    )


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
