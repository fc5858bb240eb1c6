"""Desk agents logging in and out of the desk queue, over ARI.

ARI has no resource for app_queue, so a Local channel runs the dialplan that does it
(dialplan/extensions.conf: desk-agent-login / desk-agent-logout, AddQueueMember and
RemoveQueueMember), and the dialplan keeps the queue's member list in the global variable
DESK_MEMBERS (refreshed by desk-agents-list), which ARI reads.
"""

from __future__ import annotations

import asyncio
import re
import secrets

from ivr.ari.client import AriClient

ENDPOINT = re.compile(r"[a-z][a-z0-9-]{0,62}")
MEMBERS_VARIABLE = "DESK_MEMBERS"
SETTLE_SECONDS = 3.0  # for the dialplan to run
_POLL_SECONDS = 0.1


class UnknownAgent(ValueError):
    """Not an endpoint name an agent's phone can have."""


async def logged_in(client: AriClient) -> list[str]:
    """The endpoints of the agents in the desk queue now (static members included)."""
    token = secrets.token_hex(6)
    await _run(client, "desk-agents-list", f"refresh-{token}")
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while True:
        written_by, members = _parsed(await _members_text(client))
        if written_by == token or asyncio.get_running_loop().time() > deadline:
            return members
        await asyncio.sleep(_POLL_SECONDS)


async def log_in(client: AriClient, endpoint: str) -> list[str]:
    """Add the agent's phone to the desk queue; the members afterwards."""
    return await _change(client, "desk-agent-login", endpoint, present=True)


async def log_out(client: AriClient, endpoint: str) -> list[str]:
    """Take the agent's phone out of the desk queue; the members afterwards."""
    return await _change(client, "desk-agent-logout", endpoint, present=False)


async def _change(client: AriClient, context: str, endpoint: str, *, present: bool) -> list[str]:
    if not ENDPOINT.fullmatch(endpoint):
        raise UnknownAgent(f"{endpoint!r} is not an agent's endpoint name such as xy-desk-2")
    await _run(client, context, endpoint)
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while True:
        _, members = _parsed(await _members_text(client))
        if (endpoint in members) == present or asyncio.get_running_loop().time() > deadline:
            return members
        await asyncio.sleep(_POLL_SECONDS)


async def _run(client: AriClient, context: str, extension: str) -> None:
    """A Local channel whose second half runs `extension@context` and hangs up."""
    await client.request(
        "POST",
        "/channels",
        params={
            "endpoint": f"Local/{extension}@{context}",
            "context": "desk-agents-list",
            "extension": "done",
            "priority": 1,
            "timeout": 5,
        },
    )


async def _members_text(client: AriClient) -> str:
    answer = await client.request(
        "GET", "/asterisk/variable", params={"variable": MEMBERS_VARIABLE}
    )
    return (answer or {}).get("value", "")


def _parsed(text: str) -> tuple[str, list[str]]:
    """ "3f2a|PJSIP/xy-desk,PJSIP/xy-desk-2" -> ("3f2a", ["xy-desk", "xy-desk-2"])."""
    token, _, members = text.rpartition("|")
    return token, [item.split("/", 1)[-1] for item in members.split(",") if item.strip()]
