"""The service's notion of "now", and parsing of instants given by people.

The real clock is the default. Tests and demos may set it with `IVR_NOW`, but only when
`IVR_ALLOW_FAKE_CLOCK=1` says so explicitly: a forgotten `IVR_NOW` in production would
route every call as if it were that instant. A set clock starts at `IVR_NOW` when the
service starts and runs on from there, so call records keep real durations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.config import ConfigError

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def parse_instant(text: str, zone: ZoneInfo) -> datetime:
    """ISO 8601 with an offset (`...+01:00`, `...Z`); without one, local time in `zone`."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 instant such as 2026-11-28T10:00:00+01:00"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=zone)
    return instant


def clock_from_env(env: Mapping[str, str], zone: ZoneInfo) -> Clock:
    """The clock the service runs on: the system clock, or a fixed instant when allowed."""
    fixed = env.get("IVR_NOW")
    if not fixed:
        return system_clock
    if env.get("IVR_ALLOW_FAKE_CLOCK") != "1":
        raise ConfigError(
            "IVR_NOW is set but IVR_ALLOW_FAKE_CLOCK=1 is not: refusing to run on a fake clock"
        )
    try:
        start = parse_instant(fixed, zone)
    except ValueError as error:
        raise ConfigError(f"IVR_NOW: {error}") from None
    start = start.astimezone(UTC)  # run on in real time, not in wall-clock time across DST
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)
