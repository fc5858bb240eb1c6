from datetime import UTC, datetime, timedelta

from ivr.store.pins import pin_attempts_blocked, record_failed_pin_call

NUMBER = "+41441234567"
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


async def fail(redis, number, at):
    await record_failed_pin_call(redis, number, now=at)


async def test_five_failed_calls_within_an_hour_block_the_number(redis_client):
    for minute in range(4):
        await fail(redis_client, NUMBER, T0 + timedelta(minutes=minute))
    assert not await pin_attempts_blocked(redis_client, NUMBER, T0 + timedelta(minutes=5))
    await fail(redis_client, NUMBER, T0 + timedelta(minutes=10))
    assert await pin_attempts_blocked(redis_client, NUMBER, T0 + timedelta(minutes=11))
    assert not await pin_attempts_blocked(redis_client, "+41449876543", T0)


async def test_the_block_slides_with_the_hour(redis_client):
    for minute in (0, 1, 2, 3, 4):
        await fail(redis_client, NUMBER, T0 + timedelta(minutes=minute))
    assert await pin_attempts_blocked(redis_client, NUMBER, T0 + timedelta(minutes=59))
    # the first failure is an hour old: four remain in the window
    assert not await pin_attempts_blocked(redis_client, NUMBER, T0 + timedelta(minutes=60))


async def test_failures_spread_over_more_than_an_hour_do_not_block(redis_client):
    for minute in (0, 20, 40, 61, 70):
        await fail(redis_client, NUMBER, T0 + timedelta(minutes=minute))
    assert not await pin_attempts_blocked(redis_client, NUMBER, T0 + timedelta(minutes=71))
    await fail(redis_client, NUMBER, T0 + timedelta(minutes=75))
    assert await pin_attempts_blocked(redis_client, NUMBER, T0 + timedelta(minutes=76))


async def test_failures_at_one_instant_all_count(redis_client):
    for _ in range(5):
        await fail(redis_client, NUMBER, T0)
    assert await pin_attempts_blocked(redis_client, NUMBER, T0)


async def test_the_record_expires_and_stays_trimmed(redis_client):
    for minute in (0, 45, 90):
        await fail(redis_client, NUMBER, T0 + timedelta(minutes=minute))
    key = "winet:pin-failures:" + NUMBER
    assert await redis_client.zcard(key) == 2
    assert 3590 < await redis_client.ttl(key) <= 3600
