"""Callback requests: at most one open per call, listed by due time, closed once."""

from datetime import UTC, datetime, timedelta

import pytest

from ivr.store import requests
from ivr.store.requests import RequestAlreadyOpen, RequestNotOpen

T0 = datetime(2026, 11, 28, 21, 14, tzinfo=UTC)


async def open_request(redis, call_id, due=None, **fields):
    values = {
        "call_id": call_id,
        "customer_id": "acme",
        "customer_name": "ACME Holding AG",
        "caller_number": "+41441234567",
        "problem": "no dial tone on the main line",
        "technician_id": "marco",
        "technician_name": "Marco Bernasconi",
        "first_reaction_due": due,
        "created_by": "dan",
        "now": T0,
    }
    return await requests.create_request(redis, **{**values, **fields})


async def test_a_request_keeps_what_the_desk_said(redis_client):
    due = T0 + timedelta(hours=40)
    made = await open_request(redis_client, "c1", due)
    assert made.request_id == 1 and made.status == "open"
    stored = await requests.get_request(redis_client, 1)
    assert stored == made
    assert stored.first_reaction_due == due and stored.created_at == T0


async def test_a_call_has_at_most_one_open_request(redis_client):
    await open_request(redis_client, "c1")
    with pytest.raises(RequestAlreadyOpen, match="already has the open callback request #1"):
        await open_request(redis_client, "c1")
    assert len(await requests.open_requests(redis_client)) == 1
    await requests.close_request(redis_client, 1, closed_by="ada", resolution="done", now=T0)
    again = await open_request(redis_client, "c1")
    assert again.request_id == 2


async def test_open_requests_come_most_urgent_first(redis_client):
    await open_request(redis_client, "late", T0 + timedelta(hours=9))
    await open_request(redis_client, "none", None)
    await open_request(redis_client, "soon", T0 + timedelta(hours=1))
    assert [r.call_id for r in await requests.open_requests(redis_client)] == [
        "soon",
        "late",
        "none",
    ]


async def test_closing_moves_a_request_to_the_closed_list(redis_client):
    await open_request(redis_client, "c1")
    await open_request(redis_client, "c2")
    closed_at = T0 + timedelta(hours=2)
    await requests.close_request(
        redis_client, 2, closed_by="ada", resolution="called back", now=closed_at
    )
    assert [r.call_id for r in await requests.open_requests(redis_client)] == ["c1"]
    [closed] = await requests.closed_requests(redis_client)
    assert (closed.request_id, closed.status, closed.closed_by) == (2, "closed", "ada")
    assert (closed.resolution, closed.closed_at) == ("called back", closed_at)
    assert await redis_client.ttl("winet:request:2") > 0
    assert await redis_client.ttl("winet:request:1") == -1


async def test_a_request_closes_only_once(redis_client):
    await open_request(redis_client, "c1")
    await requests.close_request(redis_client, 1, closed_by="ada", resolution="", now=T0)
    with pytest.raises(RequestNotOpen, match="#1 is not open"):
        await requests.close_request(redis_client, 1, closed_by="ada", resolution="", now=T0)
    with pytest.raises(RequestNotOpen, match="#9 is not open"):
        await requests.close_request(redis_client, 9, closed_by="ada", resolution="", now=T0)
