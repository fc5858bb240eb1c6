import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ivr.store import calls
from ivr.store.calls import UnknownCall

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


async def record_a_covered_call(redis, call_id="c1", start=T0):
    await calls.start_call(redis, call_id, "+41441234567", start, language="de")
    await calls.add_event(
        redis, call_id, "identified", start + timedelta(seconds=1), how="caller-id"
    )
    await calls.update_call(redis, call_id, customer_id="acme", tier="premium", covered=True)
    await calls.add_event(
        redis,
        call_id,
        "leg",
        start + timedelta(seconds=9),
        endpoint="PJSIP/tech-anna",
        result="accepted",
    )
    await calls.finish_call(
        redis, call_id, start + timedelta(seconds=75), "technician", "caller", 16
    )


async def test_a_record_keeps_summary_and_timeline(redis_client):
    await record_a_covered_call(redis_client)
    record = await calls.get_call(redis_client, "c1")
    assert record.summary == {
        "call_id": "c1",
        "caller_number": "+41441234567",
        "started_at": "2026-11-28T09:00:00+00:00",
        "language": "de",
        "customer_id": "acme",
        "tier": "premium",
        "covered": True,
        "ended_at": "2026-11-28T09:01:15+00:00",
        "outcome": "technician",
        "hangup_side": "caller",
        "hangup_cause": 16,
        "duration_seconds": 75.0,
    }
    assert [e["kind"] for e in record.events] == ["started", "identified", "leg", "ended"]
    assert record.events[2] == {
        "kind": "leg",
        "at": "2026-11-28T09:00:09+00:00",
        "endpoint": "PJSIP/tech-anna",
        "result": "accepted",
    }
    assert record.events[3]["outcome"] == "technician"


async def test_writes_to_an_unstarted_call_are_refused(redis_client):
    with pytest.raises(UnknownCall):
        await calls.add_event(redis_client, "ghost", "prompt", T0, prompt="greeting")
    with pytest.raises(UnknownCall):
        await calls.update_call(redis_client, "ghost", outcome="desk")
    assert await redis_client.keys("*") == []
    assert await calls.get_call(redis_client, "ghost") is None


async def test_a_withheld_number_is_recorded_as_none(redis_client):
    await calls.start_call(redis_client, "c1", None, T0)
    assert (await calls.get_call(redis_client, "c1")).summary["caller_number"] is None


async def test_list_is_newest_first_and_honours_since_and_limit(redis_client):
    for index in range(5):
        await calls.start_call(redis_client, f"c{index}", None, at(index * 60))
    listed = await calls.list_calls(redis_client)
    assert [s["call_id"] for s in listed] == ["c4", "c3", "c2", "c1", "c0"]
    since = await calls.list_calls(redis_client, since=at(120))
    assert [s["call_id"] for s in since] == ["c4", "c3", "c2"]
    assert [s["call_id"] for s in await calls.list_calls(redis_client, limit=2)] == ["c4", "c3"]


async def test_records_expire_after_the_retention(redis_client):
    await calls.start_call(redis_client, "old", None, T0, retention=timedelta(days=1))
    await calls.start_call(redis_client, "c1", None, T0)
    assert 86_390 < await redis_client.ttl("winet:call:old") <= 86_400
    assert await redis_client.ttl("winet:call:c1:events") > 89 * 86_400
    # a call 91 days later trims the index of calls older than the default 90 days
    await calls.start_call(redis_client, "new", None, T0 + timedelta(days=91))
    assert await redis_client.zrange(calls.BY_START, 0, -1) == ["new"]


async def test_every_change_is_published_with_the_summary(redis_client):
    async with calls.subscribe_calls(redis_client) as changes:
        await record_a_covered_call(redis_client)
        received = [await asyncio.wait_for(anext(changes), 2) for _ in range(5)]
    assert [c.call_id for c in received] == ["c1"] * 5
    assert [c.event["kind"] if c.event else None for c in received] == [
        "started",
        "identified",
        None,
        "leg",
        "ended",
    ]
    assert received[2].summary["customer_id"] == "acme"
    assert received[4].summary["outcome"] == "technician"
    assert received[4].summary["duration_seconds"] == 75.0


async def test_with_nobody_following_a_write_publishes_nothing(redis_client):
    async def published() -> int:
        stats = await redis_client.info("commandstats")
        return stats.get("cmdstat_publish", {}).get("calls", 0)

    before = await published()
    await record_a_covered_call(redis_client)
    assert await published() == before
    async with calls.subscribe_calls(redis_client) as changes:
        await calls.update_call(redis_client, "c1", tier="basic")
        assert (await asyncio.wait_for(anext(changes), 2)).summary["tier"] == "basic"
    assert await published() == before + 1


async def test_each_write_is_one_round_trip(redis_client, redis_round_trips):
    await calls.start_call(redis_client, "c1", None, T0)
    redis_round_trips.clear()
    await calls.start_call(redis_client, "c2", None, T0)
    await calls.add_event(redis_client, "c2", "prompt", at(1), prompt="greeting")
    await calls.update_call(redis_client, "c2", tier="basic")
    await calls.finish_call(redis_client, "c2", at(2), "withdrawn", "caller", 16)
    assert len(redis_round_trips) == 4
    assert (await calls.get_call(redis_client, "c2")).summary["outcome"] == "withdrawn"


async def test_a_batch_applies_each_change_in_order_in_one_round_trip(
    redis_client, redis_round_trips
):
    """The record writer's batch: several calls' changes, one to a call never opened and a
    finish-if-open of a call already finished; each gets its own result, none stops the rest."""
    await record_a_covered_call(redis_client, "done")
    redis_round_trips.clear()
    batch = [
        calls.opened("c1", "+41441234567", T0, language="de"),
        calls.event_added("ghost", "prompt", at(1), prompt="greeting"),
        calls.fields_set("c1", tier="premium"),
        calls.finished("done", at(2), "lost", None, None, if_open=True),
        calls.event_added("c1", "prompt", at(3), prompt="greeting"),
    ]
    async with calls.subscribe_calls(redis_client) as changes:
        results = await calls.apply_all(redis_client, batch)
        published = [await asyncio.wait_for(anext(changes), 2) for _ in range(3)]

    assert sum(b"EVAL" in b"".join(trip) for trip in redis_round_trips) == 1
    assert results[0] is True and results[2] is True and results[4] is True
    assert isinstance(results[1], UnknownCall) and results[1].call_id == "ghost"
    assert results[3] is False, "finished already: left as it was"
    record = await calls.get_call(redis_client, "c1")
    assert [e["kind"] for e in record.events] == ["started", "prompt"]
    assert record.summary["tier"] == "premium"
    assert (await calls.get_call(redis_client, "done")).summary["outcome"] == "technician"
    assert await calls.get_call(redis_client, "ghost") is None
    assert [c.call_id for c in published] == ["c1", "c1", "c1"]
    assert published[2].summary["tier"] == "premium" and published[2].event["kind"] == "prompt"


async def test_values_that_are_not_json_are_refused(redis_client):
    await calls.start_call(redis_client, "c1", None, T0)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        await calls.add_event(redis_client, "c1", "error", T0, detail=object())


async def test_text_outside_ascii_survives_the_live_channel(redis_client):
    await calls.start_call(redis_client, "c1", None, T0)
    async with calls.subscribe_calls(redis_client) as changes:
        await calls.update_call(redis_client, "c1", customer_name="Banque du Léman / Genève")
        change = await asyncio.wait_for(anext(changes), 2)
    assert change.summary["customer_name"] == "Banque du Léman / Genève"
    assert (await calls.get_call(redis_client, "c1")).summary["customer_name"] == (
        "Banque du Léman / Genève"
    )
