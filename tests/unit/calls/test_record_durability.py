"""A call record survives a Redis outage and a dead worker: failed writes are kept in order and
written when Redis is back; a record whose channel is gone is closed with the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ivr.calls.backlog import RecordBacklog
from ivr.calls.record import CallRecorder
from ivr.calls.writer import RecordWriter
from ivr.store import calls
from ivr.worker.lost_records import LostRecordSweeper

START = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)


class SwitchableRedis:
    """The real client, or a dead one while Redis is 'down' (nothing listens on port 1)."""

    def __init__(self, real: Redis) -> None:
        self.real = real
        self.dead = Redis(port=1, retry=Retry(NoBackoff(), 0))
        self.down = False

    def __getattr__(self, name):
        return getattr(self.dead if self.down else self.real, name)


async def test_writes_during_an_outage_are_written_in_order_when_redis_is_back(redis_client, clock):
    redis = SwitchableRedis(redis_client)
    backlog = RecordBacklog(redis)
    record = CallRecorder(redis, "c1", clock, RecordWriter(redis, backlog, window=None))
    await record.started("+41441234567", "", "de")
    redis.down = True
    await record.pin_needed("number unknown")
    await record.identified("no", None, None, "de")
    await record.ended("desk", "caller", 16)
    assert len(backlog) == 3 and backlog.holds("c1")  # identified: summary and event in one
    assert await backlog.replay() == 0, "Redis is still down: nothing written, nothing lost"

    redis.down = False
    assert await backlog.replay() == 3

    stored = await calls.get_call(redis_client, "c1")
    assert [e["kind"] for e in stored.events] == ["started", "pin_needed", "identified", "ended"]
    assert stored.summary["outcome"] == "desk" and stored.summary["identified"] == "no"
    assert not backlog.holds("c1") and await calls.open_calls(redis_client) == {}


async def test_a_later_write_waits_behind_the_kept_ones_even_when_redis_is_back(
    redis_client, clock
):
    redis = SwitchableRedis(redis_client)
    backlog = RecordBacklog(redis)
    record = CallRecorder(redis, "c2", clock, RecordWriter(redis, backlog, window=None))
    redis.down = True
    await record.started("+41441234567", "", "de")
    redis.down = False
    await record.ended("abandoned", "caller", 16)  # must not reach Redis before the start

    assert await calls.get_call(redis_client, "c2") is None
    await backlog.replay()
    stored = await calls.get_call(redis_client, "c2")
    assert [e["kind"] for e in stored.events] == ["started", "ended"]


async def test_open_calls_are_listed_until_finished(redis_client):
    await calls.start_call(redis_client, "a", "+41", START)
    await calls.start_call(redis_client, "b", "+41", START)
    await calls.finish_call(redis_client, "a", START, "desk", "caller", 16)

    assert set(await calls.open_calls(redis_client)) == {"b"}


async def test_a_lost_call_is_closed_once_and_never_over_a_real_ending(redis_client):
    await calls.start_call(redis_client, "lost", "+41", START)
    await calls.start_call(redis_client, "done", "+41", START)
    await calls.finish_call(redis_client, "done", START, "technician", "caller", 16)

    assert await calls.close_lost_call(redis_client, "lost", START, "gone")
    assert not await calls.close_lost_call(redis_client, "lost", START, "gone")
    assert not await calls.close_lost_call(redis_client, "done", START, "gone")

    lost = await calls.get_call(redis_client, "lost")
    assert (lost.summary["outcome"], lost.summary["hangup_cause"]) == ("lost", "gone")
    assert [e["kind"] for e in lost.events].count("ended") == 1
    done = await calls.get_call(redis_client, "done")
    assert done.summary["outcome"] == "technician"


async def test_the_sweeper_closes_records_whose_channel_stays_gone(redis_client, runtime_stub):
    for call_id in ("alive", "gone", "finishing"):
        await calls.start_call(redis_client, call_id, "+41", START)
    channels = {"alive"}

    async def channels_alive(ids: set[str]) -> set[str]:
        return ids & channels

    sweeper = LostRecordSweeper(runtime_stub(redis_client), channels_alive)
    assert await sweeper.sweep() == [], "a channel missing once may be a call just ending"
    await calls.finish_call(redis_client, "finishing", START, "desk", "caller", 16)

    assert await sweeper.sweep() == ["gone"]
    assert set(await calls.open_calls(redis_client)) == {"alive"}
    assert (await calls.get_call(redis_client, "finishing")).summary["outcome"] == "desk"


@pytest.fixture
def runtime_stub():
    class Stub:
        def __init__(self, redis: Redis) -> None:
            self.redis = redis

        def now(self) -> datetime:
            return START

    return Stub


async def test_a_lost_call_a_desk_agent_had_answered_reached_the_desk(redis_client):
    """Its worker died and the call ended before another followed it on: the record still
    says the agent answered, so the call reached the desk; only its end went unseen."""
    await calls.start_call(redis_client, "talked", "+41", START)
    await calls.update_call(redis_client, "talked", desk_status="connected", desk_agent_line="x")

    assert await calls.close_lost_call(redis_client, "talked", START, "gone")

    summary = (await calls.get_call(redis_client, "talked")).summary
    assert (summary["outcome"], summary["hangup_cause"]) == ("desk", "gone")
