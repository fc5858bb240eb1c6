"""The short language menu at the start, when the tables offer it (`language_menu`).

Each language offers itself in its own voice ("Für Deutsch drücken Sie die 1", "Pour le
français ...", with the keys of LANGUAGE_MENU_DIGITS). A chosen language holds for the rest of
the call, over the language stored for the customer; no choice keeps the hotline's default.
"""

from __future__ import annotations

from ivr.prompts.catalogue import LANGUAGE_MENU_DIGITS
from ivr.prompts.installed import media_uri
from ivr.steps.conversation import Conversation

ANSWER_SECONDS = 4.0  # after the last offer, for the key


async def choose_language(talk: Conversation) -> None:
    languages = talk.hotline.tables.hotline.languages
    by_key = {LANGUAGE_MENU_DIGITS[lang]: lang for lang in languages}
    keys = "".join(by_key)
    await talk.record.event("prompt", ids=["language_menu"], lang=",".join(languages))
    key = None
    for lang in languages:
        key = await talk.call.play(media_uri("language_menu"), lang=lang, interrupt_keys=keys)
        if key:
            break
    if key is None:
        key = await talk.call.collect_digits(
            max_digits=1,
            first_digit_timeout=ANSWER_SECONDS,
            inter_digit_timeout=ANSWER_SECONDS,
            terminator="",
        )
    if key in by_key:
        talk.lang = by_key[key]
        talk.language_chosen = True
        await talk.record.update(language=talk.lang)
    await talk.record.event("language", chosen=by_key.get(key), key=key or None)
