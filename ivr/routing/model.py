"""The routing tables as immutable values, with what `decide` needs precomputed at load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
WEEK = timedelta(days=7)

# The 26 cantons' codes (the `holidays` package also lists a city, which is not a canton).
# Built at import: the package's first use imports all its countries (~35 ms), which would
# otherwise land on the first table load.
CANTONS = tuple(code for code in holidays.country_holidays("CH").subdivisions if len(code) == 2)

# Swiss public holidays are precomputed for these years; other years are computed on first use.
HOLIDAY_YEARS = range(2019, 2041)


def clock_text(minute: int) -> str:
    """Minutes after midnight as HH:MM; 1440 is 24:00."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


class Window(NamedTuple):
    """A covered window of one weekday, in minutes after local midnight."""

    start: int  # inclusive
    end: int  # exclusive, at most 1440 (24:00)

    @property
    def label(self) -> str:
        return f"{clock_text(self.start)}–{clock_text(self.end)}"


REACTION_RULES = ("real-hours", "covered-hours", "next-business-day", "best-effort")
HOUR_RULES = ("real-hours", "covered-hours")


@dataclass(frozen=True)
class FirstReaction:
    """The first-reaction promise of a tier; `hours` is set for the two hour rules only."""

    rule: str
    hours: float | None = None

    @property
    def duration(self) -> timedelta | None:
        return None if self.hours is None else timedelta(hours=self.hours)

    @property
    def promise(self) -> str:
        if self.hours is None:
            return self.rule.replace("-", " ")
        hours = f"{self.hours:g}"
        return f"within {hours} hour" + ("" if hours == "1" else "s")


@dataclass(frozen=True)
class NoticeTerms:
    """What the cost-consequence notice states for a tier outside its covered time."""

    callout_fee_chf: float
    hourly_rate_chf: float
    billing_increment_minutes: int
    free_service_units_per_month: int

    def to_json(self) -> dict[str, float | int]:
        return {
            "callout_fee_chf": self.callout_fee_chf,
            "hourly_rate_chf": self.hourly_rate_chf,
            "billing_increment_minutes": self.billing_increment_minutes,
            "free_service_units_per_month": self.free_service_units_per_month,
        }


@dataclass(frozen=True)
class Tier:
    id: str
    name: str
    price_chf: float
    first_reaction: FirstReaction
    holidays_close: bool
    week: tuple[tuple[Window, ...], ...]  # index 0 is Monday; windows sorted, none touching
    notice: NoticeTerms

    def covered_spans(self) -> tuple[tuple[str, str, str, str], ...]:
        """(first weekday, last weekday, "HH:MM", "HH:MM") per window, consecutive days with
        equal hours grouped: premium is (("mon", "sun", "00:00", "24:00"),)."""
        return tuple(
            (WEEKDAYS[first], WEEKDAYS[last], clock_text(window.start), clock_text(window.end))
            for first, last, windows in self._day_groups
            for window in windows
        )

    @cached_property
    def covers(self) -> str:
        """The covered time as a person reads it: "Mon–Fri 08:00–12:00, 14:00–18:00"."""
        groups = []
        for first, last, windows in self._day_groups:
            days = WEEKDAYS[first].title()
            if last != first:
                days += "–" + WEEKDAYS[last].title()
            groups.append(days + " " + ", ".join(window.label for window in windows))
        return " and ".join(groups)

    @cached_property
    def _day_groups(self) -> tuple[tuple[int, int, tuple[Window, ...]], ...]:
        groups: list[tuple[int, int, tuple[Window, ...]]] = []
        for weekday, windows in enumerate(self.week):
            if not windows:
                continue
            if groups and groups[-1][1] == weekday - 1 and groups[-1][2] == windows:
                groups[-1] = (groups[-1][0], weekday, windows)
            else:
                groups.append((weekday, weekday, windows))
        return tuple(groups)


@dataclass(frozen=True)
class Leg:
    """One party the call may ring: a technician or the desk."""

    kind: str  # "technician", "chief" or "desk"
    id: str
    name: str
    dial: str  # Asterisk dial string, e.g. PJSIP/tech-anna
    ring_timeout: int  # seconds
    email: str | None = None  # where a technician is told of new requests

    def to_json(self) -> dict[str, str | int]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "dial": self.dial,
            "ring_timeout": self.ring_timeout,
        }


@dataclass(frozen=True)
class Override:
    """`technician` stands in for `covers_for` in [start, end): on standby and in the ladder."""

    technician: str
    covers_for: str
    start: datetime  # aware, UTC
    end: datetime


@dataclass(frozen=True)
class Rota:
    order: tuple[str, ...]  # technician ids, one week each
    handover_weekday: int  # 0 is Monday
    handover_minute: int
    first_week: date  # order[0] takes over at this date's handover
    overrides: tuple[Override, ...]

    @cached_property
    def anchor(self) -> datetime:
        """The local wall-clock instant (naive) of the first handover."""
        return datetime.combine(self.first_week, datetime.min.time()) + timedelta(
            minutes=self.handover_minute
        )

    def scheduled(self, local_wall: datetime) -> str:
        """Who the weekly rotation puts on standby at a naive local wall-clock time."""
        weeks = (local_wall - self.anchor) // WEEK
        return self.order[weeks % len(self.order)]


@dataclass(frozen=True)
class Destinations:
    desk: Leg
    escalation: tuple[str, ...]  # technician ids tried after the standby one
    ring_timeout: int
    accept_timeout: float = 8  # seconds a technician has after the whisper to press 1
    callback_offer_after: int = 90  # seconds in the desk queue before a call back is offered

    @property
    def desk_queue(self) -> str:
        """The app_queue queue the desk's dial string names: Local/<queue>@desk-queue/n."""
        return self.desk.dial.removeprefix("Local/").partition("@")[0]


@dataclass(frozen=True)
class EscalationPolicy:
    """When a request goes further (routing/escalation.toml): to the next technician of the
    on-call order, to the chief technician (3rd level), to the chief and the admins."""

    ack_within: timedelta  # a technician rung about a request has this long to acknowledge it
    chief_before_due: timedelta  # no first contact this long before the due time: the chief
    admins_email: tuple[str, ...]  # told with the chief when a first reaction is breached


@dataclass(frozen=True)
class Hotline:
    zone: ZoneInfo
    default_language: str
    languages: tuple[str, ...]
    language_menu: bool
    pin_length: int
    pin_attempts: int
    pin_first_digit_timeout: float  # seconds
    pin_inter_digit_timeout: float  # seconds
    notice_repeats_before_consent: int
    unidentified_destination: str  # "desk" or "technician"
    fallback_tier: str


class HolidayCalendar:
    """Public holidays of one canton plus the admin's closure dates.

    Years in HOLIDAY_YEARS are looked up in one precomputed dict; other years are computed once
    on first use (cached per canton and year), so any date works.
    """

    __slots__ = ("_names", "canton", "closures")

    def __init__(self, canton: str, closures: Mapping[date, str]) -> None:
        self.canton = canton
        self.closures = dict(closures)
        self._names: dict[date, str] = {}
        for year in HOLIDAY_YEARS:
            self._names.update(swiss_holidays(canton, year))
        for day, label in self.closures.items():
            if day.year in HOLIDAY_YEARS:
                self._names.setdefault(day, label)

    def name_on(self, day: date) -> str | None:
        """The holiday or closure on that local date, or None."""
        name = self._names.get(day)
        if name is None and day.year not in HOLIDAY_YEARS:
            return swiss_holidays(self.canton, day.year).get(day) or self.closures.get(day)
        return name


@lru_cache(maxsize=1024)
def swiss_holidays(canton: str, year: int) -> Mapping[date, str]:
    return dict(holidays.country_holidays("CH", subdiv=canton, years=year, language="en_US"))


@dataclass(frozen=True, eq=False)
class Tables:
    version: str  # short content hash of the bundle the tables came from
    hotline: Hotline
    tiers: Mapping[str, Tier]  # in table order
    calendar: HolidayCalendar
    technicians: Mapping[str, Leg]  # in table order
    rota: Rota
    destinations: Destinations
    chief: Leg  # the chief technician (3rd level), kind "chief"
    escalation: EscalationPolicy
    files: Mapping[str, str] = field(repr=False)  # the bundle: file name -> TOML text

    @property
    def zone(self) -> ZoneInfo:
        return self.hotline.zone

    @property
    def tier_names(self) -> dict[str, str]:
        """Tier id -> display name, e.g. "pro" -> "winCall pro, 5x12h"."""
        return {tier.id: tier.name for tier in self.tiers.values()}
