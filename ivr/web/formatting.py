"""Times and numbers as the console shows them, in the tables' zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.customers.numbers import display_number

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def instant(value: str | datetime | None, zone: ZoneInfo) -> datetime | None:
    """An ISO 8601 text (as call records keep them) or a datetime, in `zone`."""
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone)


def day_time(moment: datetime | None) -> str:
    """Like "Mon 30 Nov 13:00"."""
    if moment is None:
        return ""
    return f"{DAY_NAMES[moment.weekday()][:3]} {moment.day} {MONTH_NAMES[moment.month - 1]} " + (
        f"{moment:%H:%M}"
    )


def weekday_time(moment: datetime) -> str:
    """Like "Saturday 22:14"."""
    return f"{DAY_NAMES[moment.weekday()]} {moment:%H:%M}"


def stamp(moment: datetime | None) -> str:
    """Like "2026-11-28 22:14:05"."""
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}"


def caller(number: str | None) -> str:
    return display_number(number) if number else "withheld"
