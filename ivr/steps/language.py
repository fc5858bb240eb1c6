"""The short language menu at the start, when the tables offer it (`language_menu`).

Each language offers itself in its own voice ("Für Deutsch drücken Sie die 1", "Pour le
français ...", with the keys of LANGUAGE_MENU_DIGITS). A chosen language holds for the rest of
the call, over the language stored for the customer; no choice keeps the hotline's default.
"""

from __future__ import annotations

from ivr.conversation import Conversation
from ivr.prompts.catalogue import LANGUAGE_MENU_DIGITS

ANSWER_SECONDS = 4.0  # after the last offer, for the key


async def choose_language(talk: Conversation) -> None:
    languages = talk.runtime.tables.hotline.languages
    by_key = {LANGUAGE_MENU_DIGITS[lang]: lang for lang in languages}
    offers = [talk.prompt("language_menu", lang=lang) for lang in languages]
    key = await talk.choose(offers, "".join(by_key), wait=ANSWER_SECONDS)
    chosen = by_key.get(key)
    if chosen:
        talk.lang = chosen
        talk.language_chosen = True
    await talk.record.language_chosen(chosen, key)
