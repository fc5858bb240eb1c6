"""How loaded this worker is, measured: the delay a caller would suffer now.

Two delays, each a moving average:

- the lag of the worker's event loop: every `INTERVAL` seconds a probe asks to wake up, and how
  late it wakes is the delay between a key or a prompt's end and our answer;
- Asterisk's response time: how long each ARI request took (the client reports every one). A
  machine that Asterisk saturates answers slowly long before a request times out.

Past `limit` seconds of either, the worker is overloaded and admits no new call into the IVR
(they go straight to the desk) until the delay is down again. It decides from delay, not from
errors: by the time errors show, callers have already waited in silence.
"""

from __future__ import annotations

import asyncio
import time

INTERVAL = 0.1
SMOOTHING = 0.3  # weight of the newest probe in the loop lag's moving average
# weight of the newest request in Asterisk's: there are many a second, and one slow one
# (e.g. behind a burst of others) is no overload
RESPONSE_SMOOTHING = 0.1
DEFAULT_LIMIT = 0.5  # seconds of delay; IVR_OVERLOAD_LAG_MS sets another


class LoadGauge:
    def __init__(self, limit: float = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.lag = 0.0
        self.asterisk_delay = 0.0
        self.shed = 0  # calls sent on to the desk because of the load

    @property
    def delay(self) -> float:
        return max(self.lag, self.asterisk_delay)

    @property
    def overloaded(self) -> bool:
        return self.delay > self.limit

    def note(self, sample: float) -> None:
        self.lag = SMOOTHING * sample + (1 - SMOOTHING) * self.lag

    def note_response(self, seconds: float) -> None:
        """One ARI request took this long (answered or not)."""
        self.asterisk_delay = (
            RESPONSE_SMOOTHING * seconds + (1 - RESPONSE_SMOOTHING) * self.asterisk_delay
        )

    async def run(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(INTERVAL)
            self.note(max(0.0, time.monotonic() - asked - INTERVAL))
