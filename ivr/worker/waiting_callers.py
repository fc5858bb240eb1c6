"""Callers that a worker that died left waiting in the desk queue: its successor follows them on.

A caller in the desk queue waits on their own channel in the dialplan (context desk-queue), and
the worker that sent them there follows the call to its end (who answered, who hung up) to
finish its record. When that worker dies the caller waits on, unharmed. The worker that takes
its Stasis application over (the supervisor starts it again under the same name) finds them when
it connects: channels in the desk queue whose WINET_APP names its application and that nobody
follows.
"""

from __future__ import annotations

from typing import Any

from ivr.ari.client import AriClient, NotFound
from ivr.conversation import DESK_CONTEXT

APPLICATION_VARIABLE = "WINET_APP"  # set from WINET_DESK by the dialplan's desk-queue context


async def left_waiting(client: AriClient) -> list[dict[str, Any]]:
    """The channels in the desk queue that our application sent there and nobody follows."""
    found = []
    for channel in await client.request("GET", "/channels"):
        dialplan = channel.get("dialplan") or {}
        # one back in an application for the call-back offer is an orphan there, not ours here
        in_queue = dialplan.get("context") == DESK_CONTEXT and dialplan.get("app_name") != "Stasis"
        if not in_queue or client.is_watched(channel["id"]):
            continue
        try:
            answer = await client.request(
                "GET",
                f"/channels/{channel['id']}/variable",
                params={"variable": APPLICATION_VARIABLE},
            )
        except NotFound:  # gone meanwhile
            continue
        if (answer or {}).get("value") == client.app:
            found.append(channel)
    return found
