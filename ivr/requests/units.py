"""Free service units: an intervention recorded for a customer whose call came outside the
covered window uses up one free unit of the month of that call (`ivr.store.customers`), so
the next cost-consequence notice says what is really left, and, with none left, that the
intervention is billed."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from redis.asyncio import Redis

from ivr.requests.model import Request
from ivr.store import customers
from ivr.store import requests as request_store


async def act_on_request(
    redis: Redis, request_id: int, action: str, *, now: datetime, zone: tzinfo, **details: Any
) -> Request:
    """`ivr.store.requests.act`, and a free unit used when it records an intervention outside
    the covered window (`zone`: the tables', for the month)."""
    changed = await request_store.act(redis, request_id, action, now=now, **details)
    if action == "resolve" and uses_free_unit(changed):
        await _use_free_unit(redis, changed, zone, now)
        return await request_store.get_request(redis, request_id) or changed  # with its event
    return changed


def uses_free_unit(request: Request) -> bool:
    """An intervention for a known customer whose call was not covered."""
    return (
        request.intervention is not None
        and request.customer_id is not None
        and request.covered is False
    )


async def _use_free_unit(redis: Redis, request: Request, zone: tzinfo, now: datetime) -> None:
    assert request.customer_id is not None
    month = request.created_at.astimezone(zone)
    try:
        used = await customers.use_unit(redis, request.customer_id, month.year, month.month)
    except customers.UnknownCustomer:
        return  # the customer was deleted since: nothing to count against
    await request_store.add_event(
        redis,
        request.id,
        "free_unit",
        now,
        customer=request.customer_id,
        month=f"{month.year:04d}-{month.month:02d}",
        used_this_month=used,
    )
