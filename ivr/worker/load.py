"""How loaded this worker is, measured: the lag of its event loop.

Every `INTERVAL` seconds a probe asks to wake up; how late it wakes is the delay every caller
of this worker suffers between a key or a prompt's end and our answer. The gauge keeps a
moving average; past `limit` seconds the worker is overloaded and admits no new call into the
IVR (they go straight to the desk) until the lag is down again. It decides from delay, not
from errors: by the time errors show, callers have already waited in silence.
"""

from __future__ import annotations

import asyncio
import time

INTERVAL = 0.1
SMOOTHING = 0.3  # weight of the newest sample in the moving average
DEFAULT_LIMIT = 0.5  # seconds of lag; IVR_OVERLOAD_LAG_MS sets another


class LoadGauge:
    def __init__(self, limit: float = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.lag = 0.0
        self.shed = 0  # calls sent on to the desk because of the load

    @property
    def overloaded(self) -> bool:
        return self.lag > self.limit

    def note(self, sample: float) -> None:
        self.lag = SMOOTHING * sample + (1 - SMOOTHING) * self.lag

    async def run(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(INTERVAL)
            self.note(max(0.0, time.monotonic() - asked - INTERVAL))
