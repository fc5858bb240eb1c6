import asyncio
from datetime import UTC, datetime

import pytest

from ivr.store import tables
from ivr.store.tables import UnknownTablesVersion

AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
V1 = {"tiers.toml": "[tiers.basic]\nname = 'basic'\n", "rota.toml": "# rota\n"}
V2 = {"tiers.toml": "[tiers.basic]\nname = 'basic 2'\n", "rota.toml": "# rota 2\n"}


async def test_nothing_is_active_before_the_first_publish(redis_client):
    assert await tables.active_tables(redis_client) is None
    assert await tables.tables_history(redis_client) == []
    assert await tables.get_tables_version(redis_client, 1) is None


async def test_publish_numbers_versions_and_activates_the_latest(redis_client):
    assert await tables.publish_tables(redis_client, V1, "ada", "first", at=AT) == 1
    assert await tables.publish_tables(redis_client, V2, "bob", "second", at=AT) == 2
    assert await tables.active_tables(redis_client) == (2, V2)
    version, bundle = await tables.get_tables_version(redis_client, 1)
    assert bundle == V1
    assert version == tables.TablesVersion(
        version_id=1,
        files=("rota.toml", "tiers.toml"),
        author="ada",
        created_at=AT,
        comment="first",
        restored_from=None,
    )


async def test_rollback_is_a_new_version_copying_the_old_bundle(redis_client):
    await tables.publish_tables(redis_client, V1, "ada", "first", at=AT)
    await tables.publish_tables(redis_client, V2, "bob", "second", at=AT)
    assert await tables.activate_tables_version(redis_client, 1, "carol", at=AT) == 3
    assert await tables.active_tables(redis_client) == (3, V1)
    history = await tables.tables_history(redis_client)
    assert [(v.version_id, v.author, v.restored_from) for v in history] == [
        (3, "carol", 1),
        (2, "bob", None),
        (1, "ada", None),
    ]
    assert history[0].comment == "activated version 1"
    assert [v.version_id for v in await tables.tables_history(redis_client, limit=2)] == [3, 2]


async def test_activating_an_unknown_version_changes_nothing(redis_client):
    await tables.publish_tables(redis_client, V1, "ada", "first", at=AT)
    with pytest.raises(UnknownTablesVersion):
        await tables.activate_tables_version(redis_client, 7, "carol")
    assert await tables.active_tables(redis_client) == (1, V1)
    assert len(await tables.tables_history(redis_client)) == 1


async def test_a_bundle_must_map_names_to_text(redis_client):
    with pytest.raises(TypeError):
        await tables.publish_tables(redis_client, {"tiers.toml": b"bytes"}, "ada", "bad")
    assert await tables.active_tables(redis_client) is None


async def test_watchers_hear_each_change_once(redis_client):
    async with (
        tables.watch_tables(redis_client) as first,
        tables.watch_tables(redis_client) as second,
    ):
        await tables.publish_tables(redis_client, V1, "ada", "first")
        await tables.activate_tables_version(redis_client, 1, "carol")
        for watcher in (first, second):
            assert [await asyncio.wait_for(anext(watcher), 2) for _ in range(2)] == [1, 2]
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(watcher), 0.2)


async def test_concurrent_publishes_get_distinct_numbers(redis_client):
    ids = await asyncio.gather(
        *(tables.publish_tables(redis_client, V1, "ada", f"n{i}") for i in range(10))
    )
    assert sorted(ids) == list(range(1, 11))
    assert (await tables.active_tables(redis_client))[0] == 10


async def test_leaving_the_watch_unsubscribes(redis_client):
    async with tables.watch_tables(redis_client):
        assert await redis_client.pubsub_numsub(tables.CHANNEL) == [(tables.CHANNEL, 1)]
    assert await redis_client.pubsub_numsub(tables.CHANNEL) == [(tables.CHANNEL, 0)]


async def test_a_plain_async_for_subscribes_on_first_use(redis_client):
    watcher = tables.watch_tables(redis_client)
    first = asyncio.create_task(anext(watcher))
    for _ in range(200):  # the task subscribes at its own pace
        if await redis_client.pubsub_numsub(tables.CHANNEL) == [(tables.CHANNEL, 1)]:
            break
        await asyncio.sleep(0.01)
    await tables.publish_tables(redis_client, V1, "ada", "first")
    assert await asyncio.wait_for(first, 2) == 1
    await watcher.aclose()
