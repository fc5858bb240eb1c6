"""The call facts a worker keeps (`ivr.worker.call_facts`): one small read per call while
nothing changed, read again after a change, and gone on with while Redis does not answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ivr.customers.model import Contract, Customer
from ivr.store import customers, incidents
from ivr.worker.call_facts import CONFIRM_SECONDS, UNANSWERED_PAUSE_SECONDS, KeptCallFacts

ZURICH = ZoneInfo("Europe/Zurich")
NOVEMBER = datetime(2026, 11, 28, 10, 15, tzinfo=ZURICH)
DECEMBER = datetime(2026, 12, 1, 0, 5, tzinfo=ZURICH)
ACME = Customer(
    id="acme", name="Acme", language="de", numbers=("+41441234567",), contract=Contract("pro")
)


def sent(trip: bytes | list[bytes]) -> bytes:
    return trip if isinstance(trip, bytes) else b"".join(trip)


async def save(redis: Redis, customer: Customer) -> None:
    await customers.save_customers(
        redis, [(customer, None)], pin_key=b"k", known_tiers={"pro", "premium"}
    )


@pytest_asyncio.fixture
async def frozen_connections() -> list[asyncio.StreamWriter]:
    """The connections `frozen_redis` took."""
    return []


@pytest_asyncio.fixture
async def frozen_redis(frozen_connections) -> AsyncIterator[Redis]:
    """A Redis that takes connections and never answers, as one stopped with SIGSTOP."""
    held = frozen_connections

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Redis(port=port, socket_timeout=5, retry=Retry(NoBackoff(), 0))
    yield client
    await client.aclose()
    for writer in held:
        writer.close()
    server.close()


async def test_unchanged_facts_cost_a_call_one_small_read(redis_client, redis_round_trips):
    await save(redis_client, ACME)
    kept = KeptCallFacts()
    first = await kept.current(redis_client, NOVEMBER)
    redis_round_trips.clear()

    again = await kept.current(redis_client, NOVEMBER)

    assert again is first
    assert [b"call-facts:version" in sent(trip) for trip in redis_round_trips] == [True]


async def test_a_change_is_seen_by_the_next_call(redis_client):
    kept = KeptCallFacts()
    assert (await kept.current(redis_client, NOVEMBER)).customers_with("+41441234567") == []

    await save(redis_client, ACME)
    assert [
        c.id for c in (await kept.current(redis_client, NOVEMBER)).customers_with("+41441234567")
    ] == ["acme"]
    await customers.use_unit(redis_client, "acme", 2026, 11)
    assert (await kept.current(redis_client, NOVEMBER)).units_used("acme") == 1
    await incidents.declare(redis_client, "DNS down", by="lea", now=NOVEMBER)
    assert (await kept.current(redis_client, NOVEMBER)).incident is not None


async def test_calls_at_once_after_a_change_share_one_read(redis_client, redis_round_trips):
    kept = KeptCallFacts()
    await kept.current(redis_client, NOVEMBER)
    await save(redis_client, ACME)
    redis_round_trips.clear()

    seen = await asyncio.gather(*(kept.current(redis_client, NOVEMBER) for _ in range(20)))

    assert all(facts.customers_with("+41441234567") for facts in seen)
    reads = [trip for trip in redis_round_trips if b"winet:customers:by-number" in sent(trip)]
    assert len(reads) == 1, "the directory is read once for all the calls"


async def test_a_new_month_reads_its_units(redis_client):
    await save(redis_client, ACME)
    await customers.use_unit(redis_client, "acme", 2026, 11)
    kept = KeptCallFacts()
    assert (await kept.current(redis_client, NOVEMBER)).units_used("acme") == 1

    december = await kept.current(redis_client, DECEMBER)

    assert december.of_month(2026, 12) and december.units_used("acme") == 0


async def test_while_redis_does_not_answer_calls_go_on_with_the_facts_read_before(
    redis_client, frozen_redis
):
    await save(redis_client, ACME)
    kept = KeptCallFacts()
    before = await kept.current(redis_client, NOVEMBER)

    started = time.monotonic()
    first = await kept.current(frozen_redis, NOVEMBER)
    first_waited = time.monotonic() - started
    started = time.monotonic()
    following = [await kept.current(frozen_redis, NOVEMBER) for _ in range(10)]
    following_waited = time.monotonic() - started

    assert first is before and all(facts is before for facts in following)
    assert CONFIRM_SECONDS <= first_waited < CONFIRM_SECONDS + 0.5
    assert following_waited < 0.1, "the next calls do not ask a Redis that just did not answer"


async def test_without_facts_read_before_a_silent_redis_is_an_error(redis_client):
    dead = Redis(port=1, retry=Retry(NoBackoff(), 0))
    with pytest.raises(RedisError):
        await KeptCallFacts().current(dead, NOVEMBER)
    await dead.aclose()


async def test_calls_at_once_share_one_check_of_a_silent_redis(
    redis_client, frozen_redis, frozen_connections, caplog
):
    kept = KeptCallFacts()
    before = await kept.current(redis_client, NOVEMBER)

    started = time.monotonic()
    seen = await asyncio.gather(*(kept.current(frozen_redis, NOVEMBER) for _ in range(10)))
    waited = time.monotonic() - started

    assert all(facts is before for facts in seen)
    assert waited < CONFIRM_SECONDS + 0.3
    assert len(frozen_connections) == 1, "one check for all the calls, not one each"
    warnings = [r for r in caplog.records if "did not confirm" in r.getMessage()]
    assert len(warnings) == 1, "the outage is logged once"

    await asyncio.sleep(UNANSWERED_PAUSE_SECONDS)
    await kept.current(redis_client, NOVEMBER)
    assert "confirms the call facts again" in caplog.text
