"""The sweep of lost records asks which open calls' channels Asterisk still has: by its
endpoints' channel lists, and only the ids on no endpoint one by one."""

from __future__ import annotations

from ivr.config import Settings
from ivr.worker.channels_alive import channels_alive


def _endpoint(resource: str, *channel_ids: str) -> dict:
    return {"technology": "PJSIP", "resource": resource, "channel_ids": list(channel_ids)}


async def test_channels_on_endpoints_are_alive_without_asking_for_each(fake, client, tmp_path):
    fake.replies[("GET", "/endpoints")] = (
        200,
        [_endpoint("trunk", "1.1", "1.2"), _endpoint("tech-anna", "t1")],
    )
    fake.replies[("GET", "/channels/local-1")] = (200, fake.channel("local-1"))
    fake.replies[("GET", "/channels/gone.9")] = (404, {"message": "Channel not found"})

    alive = await channels_alive(
        client, Settings.from_env({"IVR_STATE_DIR": str(tmp_path)}), {"1.1", "local-1", "gone.9"}
    )

    assert alive == {"1.1", "local-1"}
    looked_up = sorted(r.path for r in fake.requests if r.path.startswith("/channels"))
    assert looked_up == ["/channels/gone.9", "/channels/local-1"], "never the whole list"
