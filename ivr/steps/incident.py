"""During a major incident (`ivr.store.incidents`), callers hear a short announcement right
after the greeting (and the language menu, when the tables offer it), in their language: the
one they chose, else their customer's when their number names exactly one customer, else the
hotline's."""

from __future__ import annotations

from ivr.conversation import Conversation
from ivr.customers.numbers import caller_number


async def announce_incident(talk: Conversation) -> None:
    if (await talk.facts()).incident is None:
        return
    lang = talk.lang if talk.language_chosen else await _callers_language(talk)
    await talk.play(talk.prompt("incident", lang=lang))


async def _callers_language(talk: Conversation) -> str:
    number = caller_number(talk.call.caller_number)
    found = (await talk.facts()).customers_with(number) if number else []
    if len(found) == 1 and found[0].language in talk.runtime.tables.hotline.languages:
        return found[0].language
    return talk.lang
