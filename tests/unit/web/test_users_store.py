"""The web users store: users, sessions, and the log-in failure counts."""

from datetime import UTC, datetime, timedelta

import pytest

from ivr.store import users

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def test_users_are_created_listed_and_removed(redis_client):
    assert await users.save_user(redis_client, "ada", "admin", "hash-a", now=T0) is True
    assert await users.save_user(redis_client, "dan", "desk", "hash-d", now=T0) is True
    assert [(u.name, u.role) for u in await users.list_users(redis_client)] == [
        ("ada", "admin"),
        ("dan", "desk"),
    ]
    assert (await users.get_user(redis_client, "ada")).password_hash == "hash-a"
    await users.remove_user(redis_client, "dan")
    assert await users.get_user(redis_client, "dan") is None
    with pytest.raises(users.UnknownUser, match="no user 'dan'"):
        await users.remove_user(redis_client, "dan")


async def test_an_unknown_role_is_refused(redis_client):
    with pytest.raises(ValueError, match="unknown role 'root'"):
        await users.save_user(redis_client, "eve", "root", "hash", now=T0)
    assert await users.list_users(redis_client) == []


async def test_replacing_a_user_ends_its_sessions(redis_client):
    await users.save_user(redis_client, "ada", "admin", "old", now=T0)
    token, _ = await users.create_session(
        redis_client, await users.get_user(redis_client, "ada"), now=T0
    )
    assert await users.save_user(redis_client, "ada", "desk", "new", now=T0) is False
    assert await users.get_session(redis_client, token, now=T0) is None
    assert (await users.get_user(redis_client, "ada")).role == "desk"


async def test_a_session_is_found_by_its_token_only(redis_client):
    await users.save_user(redis_client, "ada", "admin", "hash", now=T0)
    token, session = await users.create_session(
        redis_client, await users.get_user(redis_client, "ada"), now=T0
    )
    found = await users.get_session(redis_client, token, now=T0 + timedelta(hours=1))
    assert found == session
    assert found.role == "admin" and len(found.csrf_token) >= 32
    assert await users.get_session(redis_client, token + "x", now=T0) is None
    stored = [key async for key in redis_client.scan_iter("winet:web:session:*")]
    assert len(stored) == 1 and token not in stored[0]  # only a hash of the token is kept


async def test_a_session_ends_at_its_lifetime_and_on_log_out(redis_client):
    await users.save_user(redis_client, "ada", "admin", "hash", now=T0)
    ada = await users.get_user(redis_client, "ada")
    old, _ = await users.create_session(redis_client, ada, now=T0)
    assert await users.get_session(redis_client, old, now=T0 + users.SESSION_LIFETIME) is None
    token, _ = await users.create_session(redis_client, ada, now=T0)
    await users.end_session(redis_client, token, "ada")
    assert await users.get_session(redis_client, token, now=T0) is None


async def test_removing_a_user_ends_every_session(redis_client):
    await users.save_user(redis_client, "ada", "admin", "hash", now=T0)
    ada = await users.get_user(redis_client, "ada")
    tokens = [(await users.create_session(redis_client, ada, now=T0))[0] for _ in range(3)]
    await users.remove_user(redis_client, "ada")
    for token in tokens:
        assert await users.get_session(redis_client, token, now=T0) is None


async def test_a_user_name_from_one_address_is_blocked_after_five_failures(redis_client):
    for minute in range(users.MAX_FAILURES_PER_PAIR):
        assert await users.login_retry_after(redis_client, "ada", "10.0.0.1", T0) is None
        await users.record_login_failure(
            redis_client, "ada", "10.0.0.1", T0 + timedelta(minutes=minute)
        )
    now = T0 + timedelta(minutes=5)
    wait = await users.login_retry_after(redis_client, "ada", "10.0.0.1", now)
    assert wait == timedelta(minutes=10)  # when the first failure leaves the window
    assert await users.login_retry_after(redis_client, "ada", "10.9.9.9", now) is None
    assert await users.login_retry_after(redis_client, "bob", "10.0.0.1", now) is None
    later = T0 + users.LOGIN_WINDOW + timedelta(seconds=1)
    assert await users.login_retry_after(redis_client, "ada", "10.0.0.1", later) is None


async def test_failures_from_everywhere_hold_back_only_unknown_browsers(redis_client):
    for number in range(users.MAX_FAILURES_PER_USER):
        await users.record_login_failure(redis_client, "ada", f"10.0.1.{number}", T0)
    assert await users.login_retry_after(redis_client, "ada", "10.9.9.9", T0) is not None
    assert (
        await users.login_retry_after(redis_client, "ada", "10.9.9.9", T0, known_device=True)
        is None
    )


async def test_the_address_is_blocked_after_twenty_failures(redis_client):
    for number in range(users.MAX_FAILURES_PER_ADDRESS):
        await users.record_login_failure(redis_client, f"user{number}", "10.0.0.1", T0)
    assert await users.login_retry_after(redis_client, "fresh", "10.0.0.1", T0) is not None
    assert await users.login_retry_after(redis_client, "fresh", "10.0.0.2", T0) is None


async def test_clearing_restarts_the_pairs_count_only(redis_client):
    for _ in range(users.MAX_FAILURES_PER_PAIR):
        await users.record_login_failure(redis_client, "ada", "10.0.0.1", T0)
    await users.clear_login_failures(redis_client, "ada", "10.0.0.1")
    assert await users.login_retry_after(redis_client, "ada", "10.0.0.1", T0) is None
    for kind in ("address:10.0.0.1", "user:ada"):
        count = await redis_client.zcard(f"winet:web:login-failures:{kind}")
        assert count == users.MAX_FAILURES_PER_PAIR


async def test_a_remembered_device_is_known_for_its_user_until_it_expires(redis_client):
    token = await users.remember_device(redis_client, "ada", T0)
    assert await users.is_known_device(redis_client, "ada", token, T0)
    assert not await users.is_known_device(redis_client, "bob", token, T0)
    assert not await users.is_known_device(redis_client, "ada", "forged", T0)
    assert not await users.is_known_device(redis_client, "ada", None, T0)
    expired = T0 + users.DEVICE_LIFETIME + timedelta(seconds=1)
    assert not await users.is_known_device(redis_client, "ada", token, expired)
