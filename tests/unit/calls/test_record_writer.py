"""The worker's record writer: a flow never waits for Redis, the changes of many calls go in one
round trip, a call's end waits until its record is written, and an outage loses nothing."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ivr.calls.backlog import RecordBacklog
from ivr.calls.record import CallRecorder
from ivr.calls.writer import RecordWriter
from ivr.store import calls

WINDOW = 0.2


async def test_changes_wait_for_the_window_and_the_end_waits_for_the_record(redis_client, clock):
    writer = RecordWriter(redis_client, RecordBacklog(redis_client), window=WINDOW)
    record = CallRecorder(redis_client, "w1", clock, writer)

    await record.started("+41441234567", "", "de")
    await record.pin_needed("number unknown")
    assert await calls.get_call(redis_client, "w1") is None, "the flow went on before Redis"

    await record.ended("desk", "caller", 16)
    stored = await calls.get_call(redis_client, "w1")
    assert [e["kind"] for e in stored.events] == ["started", "pin_needed", "ended"]
    assert writer.round_trips == 1


async def test_the_changes_of_many_calls_go_in_one_round_trip_in_order(redis_client, clock):
    writer = RecordWriter(redis_client, RecordBacklog(redis_client), window=WINDOW)
    records = [CallRecorder(redis_client, f"m{n}", clock, writer) for n in range(20)]

    for record in records:
        await record.started("+41441234567", "", "de")
        await record.identified("caller_id", "acme", "ACME", "fr")
    await asyncio.gather(*(record.ended("technician", "caller", 16) for record in records))

    assert writer.round_trips == 1
    for record in records:
        stored = await calls.get_call(redis_client, record.call_id)
        assert [e["kind"] for e in stored.events] == ["started", "identified", "ended"]
        assert stored.summary["language"] == "fr"
    assert await calls.open_calls(redis_client) == {}


async def test_a_batch_redis_refuses_waits_in_the_backlog_with_the_later_changes(
    redis_client, clock
):
    dead = Redis(port=1, retry=Retry(NoBackoff(), 0))
    backlog = RecordBacklog(redis_client)
    writer = RecordWriter(dead, backlog, window=WINDOW)
    record = CallRecorder(dead, "down", clock, writer)

    await record.started("+41441234567", "", "de")
    await record.ended("abandoned", "caller", 16)  # returns: kept, not lost, not waiting
    assert len(backlog) == 2 and backlog.holds("down")

    assert await backlog.replay() == 2
    stored = await calls.get_call(redis_client, "down")
    assert [e["kind"] for e in stored.events] == ["started", "ended"]
    await dead.aclose()


async def test_written_waits_for_the_call_before_its_record_is_read_back(redis_client, clock):
    writer = RecordWriter(redis_client, RecordBacklog(redis_client), window=WINDOW)
    record = CallRecorder(redis_client, "r1", clock, writer)
    await record.started("+41441234567", "", "de")
    await record.queued(3)

    await record.written()

    stored = await calls.get_call(redis_client, "r1")
    assert stored.summary["desk_priority"] == 3


async def test_drain_writes_what_waits_when_the_worker_stops(redis_client, clock):
    writer = RecordWriter(redis_client, RecordBacklog(redis_client), window=10.0)
    await CallRecorder(redis_client, "s1", clock, writer).started("+41441234567", "", "de")

    await asyncio.wait_for(writer.drain(), 1.0)

    assert await calls.call_exists(redis_client, "s1")
