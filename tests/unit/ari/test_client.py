"""The ARI client's protocol behaviour against a fake server: errors, reconnects, ordering."""

from __future__ import annotations

import asyncio
import base64
import itertools

import pytest
from aiohttp import web

from ivr.ari.client import (
    RESYNC_EVENT,
    AriClient,
    AriError,
    AriUnavailable,
    BadRequest,
    Conflict,
    NotFound,
    ServerError,
)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, BadRequest), (404, NotFound), (409, Conflict), (500, ServerError), (503, ServerError)],
)
async def test_error_statuses_raise_their_own_type(fake, client, status, kind):
    fake.replies[("POST", "/channels/c1/answer")] = (status, {"message": "Channel not found"})
    with pytest.raises(kind) as caught:
        await client.request("POST", "/channels/c1/answer")
    error = caught.value
    assert (error.status, error.method, error.path) == (status, "POST", "/channels/c1/answer")
    assert error.message == "Channel not found"
    assert "/channels/c1/answer" in str(error) and str(status) in str(error)


async def test_other_client_errors_are_plain_ari_errors(fake, client):
    fake.replies[("POST", "/bridges/b1/addChannel")] = (422, {"message": "Channel not in Stasis"})
    with pytest.raises(AriError) as caught:
        await client.request("POST", "/bridges/b1/addChannel")
    assert type(caught.value) is AriError
    assert caught.value.status == 422


async def test_a_listing_asked_for_while_one_is_under_way_shares_its_request(fake, client):
    fake.replies[("GET", "/bridges")] = (200, [{"id": "b1", "channels": ["c1", "c2"]}])
    together = await asyncio.gather(*(client.listing("/bridges") for _ in range(5)))
    assert together == [[{"id": "b1", "channels": ["c1", "c2"]}]] * 5
    assert len(fake.requested("GET", "/bridges")) == 1
    await client.listing("/bridges")
    assert len(fake.requested("GET", "/bridges")) == 2, "one asked for later asks Asterisk again"


async def test_a_shared_listing_that_fails_fails_for_everyone_who_asked(fake, client):
    fake.replies[("GET", "/bridges")] = (500, {"message": "busy"})
    outcomes = await asyncio.gather(
        *(client.listing("/bridges") for _ in range(3)), return_exceptions=True
    )
    assert [type(outcome) for outcome in outcomes] == [ServerError] * 3
    assert len(fake.requested("GET", "/bridges")) == 1


async def test_connection_refused_is_ari_unavailable(refused_url):
    client = AriClient(refused_url, "user", "secret", "test-app")
    try:
        with pytest.raises(AriUnavailable) as caught:
            await client.request("GET", "/channels")
        assert caught.value.status is None
        assert "unreachable" in str(caught.value)
    finally:
        await client.close()


async def test_connect_gives_up_with_the_reason_when_asterisk_is_not_there(refused_url):
    client = AriClient(refused_url, "user", "secret", "test-app", backoff=(0.05, 0.1))
    try:
        with pytest.raises(AriUnavailable, match=r"no event websocket after 0\.3 s"):
            await client.connect(within=0.3)
    finally:
        await client.close()


async def test_requests_carry_basic_auth_and_clean_parameters(fake, client):
    await client.request(
        "POST", "/channels", params={"endpoint": "PJSIP/x", "early": True, "callerId": None}
    )
    expected = "Basic " + base64.b64encode(b"user:secret").decode()
    assert fake.authorization == [expected]
    assert fake.requests[0].query == {"endpoint": "PJSIP/x", "early": "true"}


async def test_json_answers_are_decoded_and_empty_ones_are_none(fake, client):
    fake.channels = [fake.channel("c1")]
    channels = await client.request("GET", "/channels")
    assert [c["id"] for c in channels] == ["c1"]
    assert await client.request("DELETE", "/channels/c1") is None


async def test_events_reach_the_listeners_of_their_channel(fake, client, until):
    await client.connect()
    seen: list[tuple[str, str]] = []
    client.watch("c1", lambda e: seen.append(("c1", e["type"])))
    client.watch("c2", lambda e: seen.append(("c2", e["type"])))
    await fake.push(
        fake.event("ChannelDtmfReceived", "c1", digit="1"),
        {"type": "PlaybackStarted", "playback": {"id": "p", "target_uri": "channel:c2"}},
        {"type": "Dial", "peer": fake.channel("c1"), "dialstatus": "RINGING"},
        fake.event("ChannelDtmfReceived", "unwatched", digit="2"),
    )
    await until(lambda: len(seen) == 3)
    await asyncio.sleep(0.02)
    assert [kind for channel, kind in seen if channel == "c1"] == ["ChannelDtmfReceived", "Dial"]
    assert [kind for channel, kind in seen if channel == "c2"] == ["PlaybackStarted"]
    assert len(seen) == 3


async def test_a_blocked_channel_never_delays_another_and_order_holds(fake, client, until):
    await client.connect()
    release = asyncio.Event()
    slow_seen: list[str] = []
    fast_seen: list[str] = []

    async def slow(event):
        slow_seen.append(event["digit"])
        await release.wait()

    client.watch("slow", slow)
    client.watch("fast", lambda e: fast_seen.append(e["digit"]))
    await fake.push(fake.event("ChannelDtmfReceived", "slow", digit="1"))
    for digit in "12345":
        await fake.push(fake.event("ChannelDtmfReceived", "fast", digit=digit))
    await fake.push(fake.event("ChannelDtmfReceived", "slow", digit="2"))
    await until(lambda: len(fast_seen) == 5)
    assert fast_seen == list("12345")
    assert slow_seen == ["1"]  # still blocked in its first event
    release.set()
    await until(lambda: len(slow_seen) == 2)
    assert slow_seen == ["1", "2"]


async def test_a_failing_listener_does_not_stop_later_events(fake, client, until):
    await client.connect()
    seen: list[str] = []

    def fragile(event):
        seen.append(event["digit"])
        if event["digit"] == "1":
            raise RuntimeError("listener bug")

    client.watch("c1", fragile)
    await fake.push(*(fake.event("ChannelDtmfReceived", "c1", digit=d) for d in "12"))
    await until(lambda: len(seen) == 2)
    assert seen == ["1", "2"]


async def test_stasis_start_goes_to_the_application_before_channel_listeners(fake, client, until):
    await client.connect()
    order: list[str] = []

    def on_stasis_start(event):
        order.append("app")
        client.watch(event["channel"]["id"], lambda e: order.append(e["type"]))

    client.on_stasis_start = on_stasis_start
    await fake.push(
        fake.event("StasisStart", "new", args=[]),
        fake.event("ChannelDtmfReceived", "new", digit="5"),
    )
    await until(lambda: len(order) == 3)
    assert order == ["app", "StasisStart", "ChannelDtmfReceived"]


async def test_reconnects_after_a_drop_with_capped_exponential_backoff(fake, client, until):
    await client.connect()
    seen: list[str] = []
    client.watch("c1", lambda e: seen.append(e["digit"]))
    fake.refuse_events = 4
    await fake.drop()
    await fake.wait_sockets(2)
    attempts = fake.event_attempts[1:]
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert len(gaps) == 4
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095 and gaps[2] >= 0.19  # doubling from 0.05 s
    assert 0.19 <= gaps[3] < 0.35  # capped at 0.2 s
    await client.wait_connected(within=1.0)
    await fake.push(fake.event("ChannelDtmfReceived", "c1", digit="7"))
    await until(lambda: seen == ["7"])


async def test_a_silent_server_is_detected_by_the_heartbeat(fake):
    client = AriClient(fake.base_url, "user", "secret", "test-app", heartbeat=0.2)
    fake.silent_events = 1  # the first websocket never answers pings
    try:
        await client.connect()
        started = asyncio.get_running_loop().time()
        await fake.wait_sockets(2, within=3.0)
        assert asyncio.get_running_loop().time() - started < 1.5
    finally:
        await client.close()


async def test_resync_after_reconnect(fake, client, until):
    await client.connect()
    await fake.wait_request("GET", "/channels")  # the resync of the first connect
    gone: list[dict] = []
    kept: list[dict] = []
    orphans: list[dict] = []
    client.watch("gone", gone.append)
    client.watch("kept", kept.append)
    client.on_orphan = orphans.append
    fake.channels = [
        fake.channel("kept"),
        fake.channel("orphan"),
        fake.channel("elsewhere", app="another-app"),
        fake.channel("in-dialplan", app=None),
    ]
    await fake.drop()
    await fake.wait_sockets(2)
    await until(lambda: gone and kept and orphans)
    assert gone[0]["type"] == "ChannelDestroyed" and gone[0]["synthetic"] is True
    assert kept[0]["type"] == RESYNC_EVENT and kept[0]["channel"]["state"] == "Up"
    assert [channel["id"] for channel in orphans] == ["orphan"]


async def test_a_channel_entering_stasis_as_we_connect_is_no_orphan(fake, until):
    client = AriClient(fake.base_url, "user", "secret", "test-app", orphan_settle=0.3)
    client.on_stasis_start = lambda e: client.watch(e["channel"]["id"], lambda _e: None)
    orphans: list[dict] = []
    client.on_orphan = orphans.append
    fake.channels = [fake.channel("just-arrived"), fake.channel("left-behind")]
    try:
        await client.connect()
        await fake.wait_request("GET", "/channels")  # listed before its StasisStart came
        await fake.push(fake.event("StasisStart", "just-arrived", args=[]))
        await until(lambda: orphans, within=2.0)
        await asyncio.sleep(0.1)
        assert [channel["id"] for channel in orphans] == ["left-behind"]
    finally:
        await client.close()


async def test_close_leaves_no_task_and_closes_the_websocket(fake, client, until, client_tasks):
    await client.connect()
    release = asyncio.Event()

    async def blocked(_event):
        await release.wait()

    client.watch("c1", blocked)
    await fake.push(fake.event("ChannelDtmfReceived", "c1", digit="1"))
    await asyncio.sleep(0.05)
    assert len(client_tasks()) >= 2  # the websocket reader and the blocked channel
    await client.close()
    assert client_tasks() == []
    await until(lambda: fake.sockets[-1].closed)
    with pytest.raises(RuntimeError, match="closed"):
        await client.request("GET", "/channels")


async def test_unwatching_the_last_listener_retires_the_channel(fake, client, until):
    await client.connect()
    seen: list[str] = []

    def listener(event):
        seen.append(event["digit"])

    client.watch("c1", listener)
    await fake.push(fake.event("ChannelDtmfReceived", "c1", digit="1"))
    await until(lambda: seen == ["1"])
    client.unwatch("c1", listener)
    await asyncio.sleep(0.02)
    assert client._channels == {}
    await fake.push(fake.event("ChannelDtmfReceived", "c1", digit="2"))
    await asyncio.sleep(0.05)
    assert seen == ["1"]


async def test_requests_past_the_connection_limit_wait_for_a_free_connection():
    peers: set[object] = set()
    answered = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal answered
        peers.add(request.transport.get_extra_info("peername"))
        await asyncio.sleep(0.05)
        answered += 1
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/ari/asterisk/info", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = AriClient(f"http://127.0.0.1:{port}/ari", "user", "secret", "test-app", connections=2)
    try:
        await asyncio.gather(*(client.request("GET", "/asterisk/info") for _ in range(8)))
    finally:
        await client.close()
        await runner.cleanup()
    assert answered == 8 and len(peers) <= 2


async def test_every_request_reports_how_long_asterisk_took(fake, client, refused_url):
    took: list[float] = []
    client.on_response_time = took.append
    fake.replies[("POST", "/channels/c1/answer")] = (404, {"message": "Channel not found"})
    await client.request("GET", "/channels")
    with pytest.raises(NotFound):
        await client.request("POST", "/channels/c1/answer")
    assert len(took) == 2 and all(0 <= seconds < 1 for seconds in took)

    unreachable = AriClient(refused_url, "user", "secret", "test-app")
    unreachable.on_response_time = took.append
    try:
        with pytest.raises(AriUnavailable):
            await unreachable.request("GET", "/channels")
    finally:
        await unreachable.close()
    assert len(took) == 3, "a request that got no answer is reported too"
