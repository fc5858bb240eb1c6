"""Our own ARI client on aiohttp, the call object over it, and the Stasis application runner."""

from ivr.ari.app import StasisApp
from ivr.ari.call import Bridge, Call, CallerHungUp, DialFailed, PlaybackReport
from ivr.ari.client import (
    AriClient,
    AriError,
    AriUnavailable,
    BadRequest,
    Conflict,
    NotFound,
    ServerError,
)

__all__ = [
    "AriClient",
    "AriError",
    "AriUnavailable",
    "BadRequest",
    "Bridge",
    "Call",
    "CallerHungUp",
    "Conflict",
    "DialFailed",
    "NotFound",
    "PlaybackReport",
    "ServerError",
    "StasisApp",
]
