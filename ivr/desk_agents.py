"""The xy AG desk agents: who may log in to the desk queue, who is logged in, logging in and out.

One source of truth: the desk queue's members in Asterisk (app_queue, kept across restarts by
`persistentmembers`). The console and `ivr desk` change them through `log_in` / `log_out`
here (ARI runs the dialplan's desk-agent-login / -logout); an agent's desk phone changes them
with the feature codes *451 / *452 through the same dialplan (dialplan/extensions.conf). No
copy of the state is kept in Redis, so no path can disagree with what Asterisk dials. With
several Asterisk nodes every node has its desk queue: the console and `ivr desk` change all of
them, and read node 1's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ivr.ari import desk_queue
from ivr.ari.client import AriClient
from ivr.asterisk_config import desk_agent_endpoints
from ivr.config import Settings, nodes_of

LOGIN_CODE = "*451"
LOGOUT_CODE = "*452"

_T = TypeVar("_T")


class NotADeskAgent(ValueError):
    """The endpoint is not a desk agent's phone (asterisk-config/pjsip.conf, desk-phone)."""


@dataclass(frozen=True)
class Agent:
    endpoint: str
    logged_in: bool


async def agents(settings: Settings) -> list[Agent]:
    """Every desk agent's phone, and whether it is in the desk queue now."""
    members = await _with_client(nodes_of(settings)[0], desk_queue.logged_in)
    return [Agent(endpoint, endpoint in members) for endpoint in desk_agent_endpoints()]


async def log_in(settings: Settings, endpoint: str) -> list[str]:
    """Add the agent's phone to the desk queue; the queue's members afterwards."""
    checked = desk_agent(endpoint)
    return await _on_every_node(settings, lambda client: desk_queue.log_in(client, checked))


async def log_out(settings: Settings, endpoint: str) -> list[str]:
    """Take the agent's phone out of the desk queue; the queue's members afterwards."""
    checked = desk_agent(endpoint)
    return await _on_every_node(settings, lambda client: desk_queue.log_out(client, checked))


def desk_agent(endpoint: str) -> str:
    """`endpoint` if it is a desk agent's phone, else NotADeskAgent naming the ones there are."""
    known = desk_agent_endpoints()
    if endpoint not in known:
        raise NotADeskAgent(
            f"{endpoint!r} is not a desk agent's phone; the desk agents are " + ", ".join(known)
        )
    return endpoint


async def _on_every_node(settings: Settings, work: Callable[[AriClient], Awaitable[_T]]) -> _T:
    """`work` done on every Asterisk node, one after the other; node 1's result."""
    results = [await _with_client(node, work) for node in nodes_of(settings)]
    return results[0]


async def _with_client(settings: Settings, work: Callable[[AriClient], Awaitable[_T]]) -> _T:
    client = AriClient(settings.ari_url, settings.ari_user, settings.ari_password, settings.ari_app)
    try:
        return await work(client)
    finally:
        await client.close()
