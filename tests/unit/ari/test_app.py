"""The Stasis app runner against the fake ARI server: dispatch, orphans, clean stop."""

from __future__ import annotations

import asyncio

from ivr.ari.app import StasisApp
from ivr.ari.call import Bridge, Call


async def test_each_incoming_call_goes_to_the_handler_in_its_own_task(fake, client, until):
    release = asyncio.Event()
    calls: list[Call] = []

    async def handler(call: Call) -> None:
        calls.append(call)
        await release.wait()

    app = StasisApp(client, handler)
    await app.start()
    await fake.push(fake.event("StasisStart", "c1", args=[]))
    await fake.push(fake.event("StasisStart", "c2", args=[]))
    await until(lambda: len(calls) == 2)  # the first handler blocking does not hold up c2
    assert [c.channel_id for c in calls] == ["c1", "c2"]
    assert (calls[0].caller_number, calls[0].dialed_extension) == ("+41441234567", "0800100200")
    assert app.active_calls == 2
    release.set()
    await until(lambda: app.active_calls == 0)
    assert fake.requested("DELETE", "/channels/c1") and fake.requested("DELETE", "/channels/c2")
    await app.stop()


async def test_our_own_legs_are_not_new_calls(fake, client, until):
    calls: list[Call] = []

    async def handler(call: Call) -> None:
        calls.append(call)

    app = StasisApp(client, handler)
    await app.start()
    await fake.push(fake.event("StasisStart", "leg-1", args=["leg"]))
    await fake.push(fake.event("StasisStart", "c1", args=[]))
    await until(lambda: calls)
    await asyncio.sleep(0.05)
    assert [c.channel_id for c in calls] == ["c1"]
    await app.stop()


async def test_a_failing_handler_still_ends_the_call(fake, client):
    async def handler(call: Call) -> None:
        raise RuntimeError("flow bug")

    app = StasisApp(client, handler)
    await app.start()
    await fake.push(fake.event("StasisStart", "c1", args=[]))
    await fake.wait_request("DELETE", "/channels/c1")
    await app.stop()


async def test_orphans_go_to_on_orphan_and_orphaned_legs_are_hung_up(fake, client, until):
    orphans: list[Call] = []

    async def on_orphan(call: Call) -> None:
        orphans.append(call)

    async def handler(call: Call) -> None:
        raise AssertionError("an orphan is not a new call")

    fake.channels = [
        fake.channel("caller"),
        fake.channel("leg", args="leg"),
        fake.channel("elsewhere", app="other-app"),
    ]
    app = StasisApp(client, handler, on_orphan=on_orphan)
    await app.start()
    await until(lambda: orphans)
    await fake.wait_request("DELETE", "/channels/leg")
    assert [c.channel_id for c in orphans] == ["caller"]
    assert not fake.requested("DELETE", "/channels/elsewhere")
    await app.stop()


async def test_a_leg_still_bridged_with_its_caller_is_left_to_the_callers_orphan_handler(
    fake, client, until
):
    adopted: list[Bridge | None] = []

    async def on_orphan(call: Call) -> None:
        adopted.append(await call.adopt_bridge())

    async def handler(call: Call) -> None:
        raise AssertionError("an orphan is not a new call")

    fake.channels = [fake.channel("caller"), fake.channel("leg", args="leg")]
    fake.replies[("GET", "/bridges")] = (200, [{"id": "b1", "channels": ["caller", "leg"]}])
    technician = fake.channel("leg", args="leg", name="PJSIP/tech-anna-0000002a")
    fake.replies[("GET", "/channels/leg")] = (200, technician)
    app = StasisApp(client, handler, on_orphan=on_orphan)
    await app.start()
    await until(lambda: adopted)

    bridge = adopted[0]
    assert bridge is not None and bridge.bridge_id == "b1"
    assert [call.channel_id for call in bridge.calls] == ["caller", "leg"]
    assert bridge.calls[1].dial_string == "PJSIP/tech-anna", "whose phone the leg is"
    await fake.wait_request("DELETE", "/channels/caller")  # the handler is done: the call ends
    deletes = [r.path for r in fake.requests if r.method == "DELETE"]
    # the leg is hung up once, by the caller's Call when it ends, not when it was found
    assert deletes == ["/bridges/b1", "/channels/leg", "/channels/caller"]
    assert len(fake.requested("GET", "/bridges")) == 1, "both orphans read one listing"
    await app.stop()


async def test_a_channel_back_from_the_dialplan_goes_on_with_its_call(fake, client, until):
    """The call that sent it follows it on; one that comes back to a worker that never sent it
    (the one that did died) is an orphan, not a new caller."""
    handled: list[tuple[str, ...]] = []
    orphans: list[Call] = []
    visited = asyncio.Event()

    async def handler(call: Call) -> None:
        fake.script = lambda r: [fake.event("StasisEnd", "c1")] if "continue" in r.path else []
        await call.visit_dialplan("desk-queue", "xy-desk")
        visited.set()
        handled.append(await call.back_from_dialplan())

    async def on_orphan(call: Call) -> None:
        orphans.append(call)

    app = StasisApp(client, handler, on_orphan=on_orphan)
    await app.start()
    await fake.push(fake.event("StasisStart", "c1", args=[]))
    await asyncio.wait_for(visited.wait(), 1.0)
    await fake.push(fake.event("StasisStart", "c1", args=["desk-offer"]))
    await fake.push(fake.event("StasisStart", "c2", args=["desk-offer"]))
    await until(lambda: handled and orphans)
    assert handled == [("desk-offer",)]
    assert [(c.channel_id, c.args) for c in orphans] == [("c2", ("desk-offer",))]
    await app.stop()


async def test_stop_cancels_running_calls_hangs_them_up_and_leaves_no_task(
    fake, client, until, client_tasks
):
    cancelled = asyncio.Event()

    async def handler(call: Call) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    app = StasisApp(client, handler)
    await app.start()
    await fake.push(fake.event("StasisStart", "c1", args=[]))
    await until(lambda: app.active_calls == 1)
    await app.stop()
    assert cancelled.is_set()
    assert fake.requested("DELETE", "/channels/c1")
    assert client_tasks() == []


async def test_stop_lets_calls_finish_within_the_drain_time(fake, client, until):
    finished = asyncio.Event()

    async def handler(call: Call) -> None:
        await asyncio.sleep(0.1)
        finished.set()

    app = StasisApp(client, handler)
    await app.start()
    await fake.push(fake.event("StasisStart", "c1", args=[]))
    await until(lambda: app.active_calls == 1)
    await app.stop(drain_timeout=2.0)
    assert finished.is_set()
