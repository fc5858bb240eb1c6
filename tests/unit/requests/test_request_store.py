"""Requests in Redis: created with their first notification timer, changed compare-and-set,
listed by due time, closed once; timers claimed by exactly one worker."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ivr.requests.model import NewRequest, TransitionRefused
from ivr.store import requests, timers
from ivr.store.requests import RequestAlreadyOpen, UnknownRequest

T0 = datetime(2026, 11, 28, 22, 5, tzinfo=UTC)
LEASE = timedelta(minutes=3)


def new(call_id=None, due=None, **fields):
    values = {
        "summary": "no dial tone on the main line",
        "source": "desk",
        "created_by": "dan",
        "customer_id": "klinik-seefeld",
        "customer_name": "Klinik Seefeld AG",
        "tier": "premium",
        "call_id": call_id,
        "callback_number": "+41441234567",
        "first_reaction_due": due,
        "holder": "anna",
    }
    return NewRequest(**{**values, **fields})


async def test_a_request_keeps_its_facts_and_schedules_its_notification(redis_client):
    due = T0 + timedelta(hours=1)
    made = await requests.create_request(redis_client, new("c1", due), now=T0)
    assert (made.id, made.state, made.holder) == (1, "open", "anna")
    stored = await requests.get_request(redis_client, 1)
    assert stored == made
    assert stored.first_reaction_due == due and stored.created_at == T0
    assert stored.history[0]["kind"] == "created"
    [(timer, score)] = await timers.pending(redis_client)
    assert (timer.id, timer.kind, timer.data) == (
        "notify:1:0:0",
        "notify",
        {"request_id": 1, "round": 0, "position": 0},
    )
    assert score == timers.AT_ONCE


async def test_a_call_has_at_most_one_active_request(redis_client):
    await requests.create_request(redis_client, new("c1"), now=T0)
    with pytest.raises(RequestAlreadyOpen, match="already has the active request #1"):
        await requests.create_request(redis_client, new("c1"), now=T0)
    await requests.create_request(redis_client, new(None), now=T0)  # no call: no limit
    await requests.act(redis_client, 1, "cancel", by="ada", now=T0)
    again = await requests.create_request(redis_client, new("c1"), now=T0)
    assert again.id == 3


async def test_active_requests_come_most_urgent_first(redis_client):
    for call_id, hours in (("late", 9), ("none", None), ("soon", 1)):
        due = T0 + timedelta(hours=hours) if hours else None
        await requests.create_request(redis_client, new(call_id, due), now=T0)
    listed = [r.call_id for r in await requests.active_requests(redis_client)]
    assert listed == ["soon", "late", "none"]


async def test_the_life_of_a_request(redis_client):
    await requests.create_request(redis_client, new("c1"), now=T0)
    at = [T0 + timedelta(minutes=m) for m in (2, 9, 60)]
    acked = await requests.act(redis_client, 1, "ack", by="anna", now=at[0], technician="anna")
    assert (acked.state, acked.acknowledged_at, acked.holder) == ("acknowledged", at[0], "anna")
    contacted = await requests.act(redis_client, 1, "contact", by="anna", now=at[1])
    assert (contacted.state, contacted.first_contact_at) == ("contacted", at[1])
    resolved = await requests.act(
        redis_client,
        1,
        "resolve",
        by="anna",
        now=at[2],
        intervention="remote",
        minutes=25,
        note="port reset",
    )
    assert (resolved.state, resolved.resolved_at, resolved.resolution) == (
        "resolved",
        at[2],
        "port reset",
    )
    assert [e["action"] for e in resolved.history if e["kind"] == "state"] == [
        "ack",
        "contact",
        "resolve",
    ]
    assert await requests.active_requests(redis_client) == []
    assert [r.id for r in await requests.closed_requests(redis_client)] == [1]
    assert await redis_client.ttl("winet:request:1") > 0
    assert await redis_client.ttl("winet:request:1:history") > 0
    assert await redis_client.hget(requests.BY_CALL, "c1") is None


async def test_two_acknowledgements_at_once_have_one_winner(redis_client):
    await requests.create_request(redis_client, new("c1"), now=T0)
    results = await asyncio.gather(
        requests.act(redis_client, 1, "ack", by="anna", now=T0, technician="anna"),
        requests.act(redis_client, 1, "ack", by="marco", now=T0, technician="marco"),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, TransitionRefused)]
    assert len(refused) == 1 and "is acknowledged by" in str(refused[0])
    stored = await requests.get_request(redis_client, 1)
    assert len([e for e in stored.history if e["kind"] == "state"]) == 1


async def test_unknown_requests_are_named(redis_client):
    with pytest.raises(UnknownRequest, match="no request #9"):
        await requests.act(redis_client, 9, "ack", by="x", now=T0)


async def test_notifications_and_escalations_are_kept_in_the_history(redis_client):
    await requests.create_request(redis_client, new("c1"), now=T0)
    await requests.add_event(
        redis_client, 1, "notification", T0, to="anna", channel="phone", result="no_answer"
    )
    await requests.add_event(
        redis_client, 1, "escalation", T0, level="ladder", to="marco", reason="no answer"
    )
    stored = await requests.get_request(redis_client, 1)
    assert stored.notifications == [
        {"at": T0.isoformat(), "to": "anna", "channel": "phone", "result": "no_answer"}
    ]
    assert stored.escalations == [
        {"at": T0.isoformat(), "level": "ladder", "to": "marco", "reason": "no answer"}
    ]


async def test_a_timer_is_claimed_by_one_worker_and_completed_once(redis_client):
    await timers.schedule(redis_client, "notify:5:0:0", "notify", {"request_id": 5})
    assert not await timers.schedule(redis_client, "notify:5:0:0", "notify", {"request_id": 5})
    claims = await asyncio.gather(
        *(timers.claim_due(redis_client, T0, lease=LEASE) for _ in range(5))
    )
    won = [claim for batch in claims for claim in batch]
    assert len(won) == 1 and won[0].timer.data == {"request_id": 5}
    assert await timers.claim_due(redis_client, T0 + LEASE / 2, lease=LEASE) == []
    assert await timers.complete(redis_client, won[0])
    assert await timers.pending(redis_client) == []


async def test_a_lapsed_claim_goes_to_another_worker(redis_client):
    await timers.schedule(redis_client, "t", "notify", {}, due=T0)
    [first] = await timers.claim_due(redis_client, T0, lease=LEASE)
    [second] = await timers.claim_due(redis_client, T0 + LEASE, lease=LEASE)
    assert not await timers.complete(redis_client, first), "the lapsed claim no longer holds"
    assert await timers.complete(redis_client, second)


async def test_a_timer_is_not_claimed_before_it_is_due(redis_client):
    await timers.schedule(redis_client, "later", "escalate", {}, due=T0 + timedelta(minutes=15))
    assert await timers.claim_due(redis_client, T0, lease=LEASE) == []
    [claim] = await timers.claim_due(redis_client, T0 + timedelta(minutes=15), lease=LEASE)
    assert claim.timer.kind == "escalate"
