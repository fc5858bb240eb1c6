"""Which of some channel ids Asterisk still has, asked cheaply: the sweep of lost records asks
every few seconds, with the id of every open call.

`GET /channels` describes every channel in full: hundreds of kilobytes at a few hundred calls,
for Asterisk to build and the worker to parse. `GET /endpoints` names each SIP channel by its id
only. The few ids on no endpoint (a Local channel, or a channel that is really gone) are looked
up one by one. With several Asterisk nodes, a channel on any node is alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from ivr.ari.client import AriClient, NotFound
from ivr.config import Settings, nodes_of
from ivr.stack.asterisk import ari_get


async def channels_alive(client: AriClient, settings: Settings, ids: set[str]) -> set[str]:
    """Of `ids`, those this node's or another node's Asterisk still has."""
    listed = _on_endpoints(await client.request("GET", "/endpoints") or [])
    others = _other_nodes(settings)
    if others:
        listed |= await asyncio.to_thread(_listed_on_nodes, others)
    alive = ids & listed
    for channel_id in sorted(ids - listed):
        if await _exists_here(client, channel_id) or (
            others and await asyncio.to_thread(_exists_on_nodes, others, channel_id)
        ):
            alive.add(channel_id)
    return alive


def _on_endpoints(endpoints: Iterable[dict]) -> set[str]:
    return {channel_id for endpoint in endpoints for channel_id in endpoint.get("channel_ids", [])}


async def _exists_here(client: AriClient, channel_id: str) -> bool:
    try:
        await client.request("GET", f"/channels/{channel_id}")
    except NotFound:
        return False
    return True


def _other_nodes(settings: Settings) -> list[Settings]:
    return [node for node in nodes_of(settings) if node.node != settings.node]


def _listed_on_nodes(nodes: list[Settings]) -> set[str]:
    """A node that does not answer fails the sweep, which waits for it."""
    return set().union(*(_on_endpoints(ari_get(node, "/endpoints") or []) for node in nodes))


def _exists_on_nodes(nodes: list[Settings], channel_id: str) -> bool:
    return any(ari_get(node, f"/channels/{channel_id}") is not None for node in nodes)
