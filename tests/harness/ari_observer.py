"""A second ARI connection that sees every event in Asterisk (`subscribeAll`), for tests that
check what the worker made Asterisk do (playbacks and their language, bridges) without
touching the worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from ivr.ari.client import basic_auth_header
from ivr.config import Settings

OBSERVER_APP = "winet-test-observer"


class AriObserver:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def playbacks(self, channel_id: str | None = None) -> list[tuple[str, str]]:
        """(media URI, language) of each PlaybackStarted, in order (of one channel, if given)."""
        return [
            (event["playback"]["media_uri"], event["playback"]["language"])
            for event in self.events
            if event["type"] == "PlaybackStarted"
            and (channel_id is None or event["playback"]["target_uri"] == f"channel:{channel_id}")
        ]


@contextlib.asynccontextmanager
async def observe_ari(settings: Settings) -> AsyncIterator[AriObserver]:
    observer = AriObserver()
    url = settings.ari_url.replace("http", "ws", 1)
    url += f"/events?app={OBSERVER_APP}&subscribeAll=true"
    headers = {"Authorization": basic_auth_header(settings.ari_user, settings.ari_password)}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.ws_connect(url, heartbeat=5) as ws:
            reader = asyncio.create_task(_read(ws, observer))
            try:
                yield observer
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)


async def _read(ws: aiohttp.ClientWebSocketResponse, observer: AriObserver) -> None:
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            observer.events.append(json.loads(message.data))
