"""A covered customer whom no technician took is still owed a first reaction: once the ladder
is exhausted (the call goes on to the desk), a request is opened for the technicians, who are
then told of it by phone and e-mail like of any other (`ivr.worker.notifier`)."""

from __future__ import annotations

import logging

from ivr.conversation import Conversation
from ivr.requests.create import open_request
from ivr.store.requests import RequestAlreadyOpen

log = logging.getLogger(__name__)

SUMMARY = "Covered call: no technician took it (ladder exhausted); the caller went to the desk."


async def open_owed_request(talk: Conversation) -> None:
    """Open the request for an identified customer's call; never fails the call."""
    if talk.customer is None:
        return
    await talk.record.written()  # the request is made from the call's record
    try:
        request = await open_request(
            talk.runtime.redis,
            talk.runtime.tables,
            summary=SUMMARY,
            source="ladder_exhausted",
            created_by="hotline",
            now=talk.runtime.now(),
            call_id=talk.record.call_id,
        )
    except RequestAlreadyOpen:
        return
    except Exception:
        log.exception("call %s: could not open the request it is owed", talk.record.call_id)
        return
    await talk.record.request_opened(request.id, request.holder)
