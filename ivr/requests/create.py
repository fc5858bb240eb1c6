"""Opening a request: from the desk's forward, by hand (console, CLI), when a covered call's
technician ladder is exhausted, or from a callback offer.

The first-reaction due time and the technician on standby come from the routing core at the
moment of the call the request came from (when known), else at the moment of creation.
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from ivr.requests import jobs
from ivr.requests.model import NewRequest, Request
from ivr.routing import Tables, decide
from ivr.store import calls, customers
from ivr.store import requests as request_store


class RequestRefused(ValueError):
    """The request cannot be created as asked; the message says why."""


async def open_request(
    redis: Redis,
    tables: Tables,
    *,
    summary: str,
    source: str,
    created_by: str,
    now: datetime,
    customer_id: str | None = None,
    call_id: str | None = None,
    callback_number: str | None = None,
) -> Request:
    """Create a request and schedule its notification and its escalation; RequestRefused
    (unknown customer or call, empty summary) or `ivr.store.requests.RequestAlreadyOpen`."""
    record = await calls.get_call(redis, call_id) if call_id else None
    if call_id and record is None:
        raise RequestRefused(f"there is no record of call {call_id!r}")
    call = record.summary if record else {}
    customer = await customers.get_customer(redis, customer_id) if customer_id else None
    if customer_id and customer is None:
        raise RequestRefused(f"there is no customer {customer_id!r}")
    if customer is None and call.get("customer_id"):  # identified on the call, maybe gone since
        customer = await customers.get_customer(redis, call["customer_id"])
    decision = decide(tables, customer.contract if customer else None, now)
    number = callback_number or call.get("caller_number") or None
    if number is None and customer is not None and customer.numbers:
        number = customer.numbers[0]
    try:
        new = NewRequest(
            summary=summary.strip(),
            source=source,
            created_by=created_by,
            customer_id=customer.id if customer else call.get("customer_id"),
            customer_name=customer.name if customer else call.get("customer_name"),
            tier=call.get("tier") or decision.tier,
            call_id=call_id,
            callback_number=number,
            first_reaction_due=_instant(call.get("first_reaction_due"))
            or decision.first_reaction_due,
            holder=decision.standby.id,
            covered=call["covered"] if "covered" in call else decision.covered,
        )
    except ValueError as error:
        raise RequestRefused(str(error)) from None
    request = await request_store.create_request(redis, new, now=now)
    if request.first_reaction_due is not None:  # from creation on, whoever acknowledges it
        await jobs.watch_first_reaction(
            redis, request.id, request.first_reaction_due, tables.escalation.chief_before_due
        )
    return request


def _instant(value: str | datetime | None) -> datetime | None:
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
