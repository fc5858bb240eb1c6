"""Finding the callers a dead worker of our application left in the desk queue (fake ARI)."""

from __future__ import annotations

from ivr.worker.waiting_callers import left_waiting
from tests.unit.ari.conftest import APP


def in_queue(fake, channel_id: str) -> dict:
    channel = fake.channel(channel_id, app=None)
    channel["dialplan"].update(context="desk-queue", exten="xy-desk", app_name="Queue")
    return channel


def back_for_the_offer(fake) -> dict:
    """In the queue's context, but in Stasis again: an orphan there if nobody has it."""
    channel = in_queue(fake, "back-for-the-offer")
    channel["dialplan"].update(app_name="Stasis", app_data=f"{APP},desk-offer")
    return channel


async def test_only_unfollowed_callers_our_application_sent_to_the_queue(fake, client):
    await client.connect()
    fake.channels = [
        in_queue(fake, "ours"),
        in_queue(fake, "another-workers"),
        in_queue(fake, "fail-open"),  # the dialplan alone sent it: no WINET_APP
        in_queue(fake, "followed"),
        fake.channel("in-the-ivr"),
        back_for_the_offer(fake),
    ]
    fake.replies[("GET", "/channels/ours/variable")] = (200, {"value": APP})
    fake.replies[("GET", "/channels/another-workers/variable")] = (200, {"value": "other"})
    fake.replies[("GET", "/channels/fail-open/variable")] = (200, {"value": ""})
    fake.replies[("GET", "/channels/followed/variable")] = (200, {"value": APP})
    fake.replies[("GET", "/channels/back-for-the-offer/variable")] = (200, {"value": APP})
    client.watch("followed", lambda event: None)

    found = await left_waiting(client)

    assert [channel["id"] for channel in found] == ["ours"]
    asked = {r.path for r in fake.requests if r.path.endswith("/variable")}
    assert asked == {
        f"/channels/{name}/variable" for name in ("ours", "another-workers", "fail-open")
    }
    assert all(r.query["variable"] == "WINET_APP" for r in fake.requests if "variable" in r.path)


async def test_a_caller_gone_while_looked_at_is_not_found(fake, client):
    await client.connect()
    fake.channels = [in_queue(fake, "gone")]
    fake.replies[("GET", "/channels/gone/variable")] = (404, {"message": "Channel not found"})

    assert await left_waiting(client) == []
