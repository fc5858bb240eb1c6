"""A caller who waited in the desk queue asked to be called back: the call ends with a request
on the desk's list, and the caller hears when to expect the call (the first reaction their
contract promises, or as soon as possible)."""

from __future__ import annotations

import math
from datetime import datetime

from ivr.conversation import Conversation, Prompt
from ivr.prompts.installed import media_uri
from ivr.prompts.speech import Spoken, say_number
from ivr.requests.create import open_request
from ivr.store.requests import RequestAlreadyOpen, get_request

PROBLEM = "Call back: the caller waited in the desk queue and asked to be called back."
MINUTES_UP_TO = 120  # a due time closer than this is said in minutes, later ones in hours
MASCULINE_UNITS = {("it", "queue/callback_minutes")}  # "minuti"; the other units are feminine


async def take_callback(talk: Conversation) -> None:
    runtime = talk.runtime
    customer = talk.customer
    now = runtime.now()
    await talk.record.written()  # the request is made from the call's record
    try:
        request = await open_request(
            runtime.redis,
            runtime.tables,
            summary=PROBLEM,
            source="callback_offer",
            created_by="caller",
            now=now,
            customer_id=customer.id if customer else None,
            call_id=talk.record.call_id,
            callback_number=talk.caller.number if talk.caller else None,
        )
    except RequestAlreadyOpen as already:  # the call's owed request (ladder exhausted)
        request = await get_request(runtime.redis, already.request_id)
    due = request.first_reaction_due
    talk.outcome = "callback_requested"
    await talk.record.callback_requested(request.id, due)
    await talk.play(confirmation(talk, due, now))
    await talk.hang_up()


def confirmation(talk: Conversation, due: datetime | None, now: datetime) -> Prompt:
    """ "Your call-back request has been passed to the service desk. You will be called back
    within three hours." (or "... as soon as possible."), in the caller's language."""
    lang = talk.lang
    ids = ["queue/callback_confirmed"]
    spoken: list[str | Spoken] = ["queue/callback_confirmed"]
    if due is None or due <= now:
        ids.append("queue/callback_soon")
        spoken.append("queue/callback_soon")
    else:
        minutes = math.ceil((due - now).total_seconds() / 60)
        if minutes <= MINUTES_UP_TO:
            count, unit = minutes, "queue/callback_minutes"
        else:
            count, unit = math.ceil(minutes / 60), "queue/callback_hours"
        gender = "m" if (lang, unit) in MASCULINE_UNITS or lang == "en" else "f"
        number = say_number(count, lang, gender)
        ids += ["queue/callback_within", *number.prompts, unit]
        spoken += ["queue/callback_within", number, unit]
    catalogue = talk.runtime.catalogue
    text = " ".join(
        part.text if isinstance(part, Spoken) else catalogue.text(part, lang) for part in spoken
    )
    return Prompt(tuple(map(media_uri, ids)), lang, text)
