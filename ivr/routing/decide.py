"""The routing decision: tables, a contract and an instant in, a Decision out. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from ivr.routing.model import Leg, NoticeTerms, Tables, Tier, Window

# How far ahead an opening or a due time is looked for; a tier covers some time every week, so
# only closures spanning more than this many days can exhaust it.
SEARCH_DAYS = 800
ONE_DAY = timedelta(days=1)
DESK_PRIORITY_STEP = 10  # between tiers: room for finer orders later

Interval = tuple[datetime, datetime, Window]  # start, end (UTC, end exclusive), its window


@dataclass(frozen=True)
class Contract:
    """The caller's contract; validity dates are inclusive local dates, None is open-ended."""

    tier: str
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True)
class Span:
    """A covered window on one day: its real start and end, and its hours as the tables say."""

    start: datetime
    end: datetime
    label: str  # "07:00–19:00"

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


@dataclass(frozen=True)
class Decision:
    at: datetime  # the instant decided for, in the tables' zone
    zone: str
    tables_version: str
    identified: bool
    contract_status: str  # valid, expired, not-yet-valid, unknown-tier, unidentified
    tier: str | None  # the tier applied: the contract's, the fallback tier, None if unidentified
    tier_name: str | None
    covers: str | None  # the tier's covered time, e.g. "Mon–Fri 07:00–19:00"
    covered: bool
    destination: str  # "technician" or "desk"
    standby: Leg  # set even when not covered: the desk may forward the call to them
    ladder: tuple[Leg, ...]  # the legs to ring, in order
    notice: bool
    notice_terms: NoticeTerms | None
    window: Span | None  # the covered window the instant is in
    next_opening: datetime | None  # when not covered
    holiday: str | None
    first_reaction: str | None  # the tier's promise, e.g. "within 6 hours"
    first_reaction_due: datetime | None
    reasons: tuple[str, ...]

    @property
    def desk(self) -> Leg:
        """The 24/7 desk: the last leg of every ladder."""
        return self.ladder[-1]

    def to_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "covered": self.covered,
            "destination": self.destination,
            "notice": self.notice,
            "first_reaction_due": _iso(self.first_reaction_due),
            "tables_version": self.tables_version,
            "at": self.at.isoformat(),
            "zone": self.zone,
            "identified": self.identified,
            "contract_status": self.contract_status,
            "tier_name": self.tier_name,
            "covers": self.covers,
            "window": self.window.to_json() if self.window else None,
            "next_opening": _iso(self.next_opening),
            "holiday": self.holiday,
            "notice_terms": self.notice_terms.to_json() if self.notice_terms else None,
            "first_reaction": self.first_reaction,
            "standby": self.standby.to_json(),
            "ladder": [leg.to_json() for leg in self.ladder],
            "reasons": list(self.reasons),
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def decide(tables: Tables, contract: Contract | None, instant: datetime) -> Decision:
    """Where a call at `instant` goes; `contract` None is a caller who was not identified."""
    if instant.utcoffset() is None:
        raise ValueError(f"the instant must carry a time zone or offset, not {instant}")
    zone = tables.hotline.zone
    local = instant.astimezone(zone)
    moment = instant.astimezone(UTC)
    holiday = tables.calendar.name_on(local.date())
    standby, technicians, rota_reason = _on_call(tables, local, moment)
    if contract is None:
        return _unidentified(tables, local, holiday, standby, technicians, rota_reason)

    tier, status, reasons = _applicable_tier(tables, contract, local.date())
    if holiday is not None:
        effect = "closes" if tier.holidays_close else "does not close"
        reasons.append(f"{holiday} {effect} {tier.id}")
    interval = _interval_at(tables, tier, local.date(), moment)
    covered = interval is not None
    span = next_opening = None
    if covered:
        start, end, window = interval
        span = Span(start.astimezone(zone), end.astimezone(zone), window.label)
        reasons.append(f"inside {tier.id} window {window.label}")
        ladder = (*technicians, tables.destinations.desk)
    else:
        next_opening = _next_opening(tables, tier, local, moment)
        reasons.append(f"outside {tier.id} covered time; cost notice applies; to the desk")
        ladder = (tables.destinations.desk,)
    reasons.append(rota_reason)
    due = _first_reaction_due(tables, tier, local, moment)
    return Decision(
        at=local,
        zone=zone.key,
        tables_version=tables.version,
        identified=True,
        contract_status=status,
        tier=tier.id,
        tier_name=tier.name,
        covers=tier.covers,
        covered=covered,
        destination="technician" if covered else "desk",
        standby=standby,
        ladder=ladder,
        notice=not covered,
        notice_terms=None if covered else tier.notice,
        window=span,
        next_opening=next_opening,
        holiday=holiday,
        first_reaction=tier.first_reaction.promise,
        first_reaction_due=due,
        reasons=tuple(reasons),
    )


def desk_priority(tables: Tables, tier: str | None) -> int:
    """The caller's priority in the desk queue (Asterisk's QUEUE_PRIO, higher first): tiers in
    the tables' order, the first (premium) highest; any identified caller above an unidentified
    one (None, or a tier the tables do not know), who gets 0."""
    tier_ids = list(tables.tiers)
    if tier not in tier_ids:
        return 0
    return (len(tier_ids) - tier_ids.index(tier)) * DESK_PRIORITY_STEP


def _unidentified(
    tables: Tables,
    local: datetime,
    holiday: str | None,
    standby: Leg,
    technicians: tuple[Leg, ...],
    rota_reason: str,
) -> Decision:
    to_technician = tables.hotline.unidentified_destination == "technician"
    desk = tables.destinations.desk
    return Decision(
        at=local,
        zone=tables.hotline.zone.key,
        tables_version=tables.version,
        identified=False,
        contract_status="unidentified",
        tier=None,
        tier_name=None,
        covers=None,
        covered=False,
        destination="technician" if to_technician else "desk",
        standby=standby,
        ladder=(*technicians, desk) if to_technician else (desk,),
        notice=False,
        notice_terms=None,
        window=None,
        next_opening=None,
        holiday=holiday,
        first_reaction=None,
        first_reaction_due=None,
        reasons=(
            "caller not identified: the unidentified-caller policy applies",
            rota_reason if to_technician else "to the desk, flagged unidentified",
        ),
    )


def _applicable_tier(tables: Tables, contract: Contract, day: date) -> tuple[Tier, str, list[str]]:
    """The tier the call is routed by, the contract's status and why."""
    fallback = tables.tiers[tables.hotline.fallback_tier]
    tier = tables.tiers.get(contract.tier)
    if tier is None:
        return (
            fallback,
            "unknown-tier",
            [_fallback_reason(f"tier {contract.tier!r} unknown", fallback)],
        )
    if contract.valid_to is not None and day > contract.valid_to:
        reason = f"contract expired on {contract.valid_to.isoformat()}"
        return fallback, "expired", [_fallback_reason(reason, fallback)]
    if contract.valid_from is not None and day < contract.valid_from:
        reason = f"contract valid from {contract.valid_from.isoformat()}"
        return fallback, "not-yet-valid", [_fallback_reason(reason, fallback)]
    return tier, "valid", [f"contract tier {tier.id}"]


def _fallback_reason(why: str, fallback: Tier) -> str:
    return f"{why}: fallback tier {fallback.id}"


def _interval_at(tables: Tables, tier: Tier, day: date, moment: datetime) -> Interval | None:
    for interval in _open_intervals(tables, tier, day):
        if interval[0] <= moment < interval[1]:
            return interval
    return None


def technicians_on_call(tables: Tables, instant: datetime) -> tuple[Leg, ...]:
    """The technicians to tell of something at `instant`, in order: the one on standby, then
    the escalation ladder (stand-ins applied)."""
    local = instant.astimezone(tables.hotline.zone)
    return _on_call(tables, local, instant.astimezone(UTC))[1]


def _on_call(tables: Tables, local: datetime, moment: datetime) -> tuple[Leg, tuple[Leg, ...], str]:
    """The standby technician, the technicians to ring in order (standby first) and why."""
    rota = tables.rota
    scheduled = rota.scheduled(local.replace(tzinfo=None))
    stand_in = {o.covers_for: o.technician for o in rota.overrides if o.start <= moment < o.end}
    standby_id = stand_in.get(scheduled, scheduled)
    order = [standby_id]
    for tech_id in tables.destinations.escalation:
        tech_id = stand_in.get(tech_id, tech_id)
        if tech_id not in order:
            order.append(tech_id)
    technicians = tuple(tables.technicians[tech_id] for tech_id in order)
    if standby_id == scheduled:
        reason = f"standby {standby_id} by the weekly rota"
    else:
        reason = f"standby {standby_id}, covering for {scheduled}"
    return technicians[0], technicians, reason


def _next_opening(tables: Tables, tier: Tier, local: datetime, moment: datetime) -> datetime | None:
    for start, _, _ in _covered_intervals(tables, tier, local.date()):
        if start > moment:
            return start.astimezone(tables.hotline.zone)
    return None


def _first_reaction_due(
    tables: Tables, tier: Tier, local: datetime, moment: datetime
) -> datetime | None:
    reaction = tier.first_reaction
    if reaction.rule == "real-hours":
        return (moment + reaction.duration).astimezone(tables.hotline.zone)
    if reaction.rule == "covered-hours":
        return _after_covered_time(tables, tier, local, moment, reaction.duration)
    if reaction.rule == "next-business-day":
        return _close_of_next_business_day(tables, tier, local.date())
    return None  # best effort


def _after_covered_time(
    tables: Tables, tier: Tier, local: datetime, moment: datetime, remaining: timedelta
) -> datetime | None:
    """The instant when `remaining` covered time has passed since `moment`."""
    for start, end, _ in _covered_intervals(tables, tier, local.date()):
        start = max(start, moment)
        if end <= start:
            continue
        if end - start >= remaining:
            return (start + remaining).astimezone(tables.hotline.zone)
        remaining -= end - start
    return None


def _close_of_next_business_day(tables: Tables, tier: Tier, day: date) -> datetime | None:
    """The close of the covered window of the first open day after `day`."""
    for offset in range(1, SEARCH_DAYS):
        other = day + offset * ONE_DAY
        intervals = _open_intervals(tables, tier, other)
        if intervals:
            return intervals[-1][1].astimezone(tables.hotline.zone)
    return None


def _covered_intervals(tables: Tables, tier: Tier, first_day: date) -> Iterator[Interval]:
    """The tier's covered intervals from `first_day` on, in order."""
    for offset in range(SEARCH_DAYS):
        yield from _open_intervals(tables, tier, first_day + offset * ONE_DAY)


def _open_intervals(tables: Tables, tier: Tier, day: date) -> tuple[Interval, ...]:
    windows = tier.week[day.weekday()]
    if not windows or (tier.holidays_close and tables.calendar.name_on(day) is not None):
        return ()
    return _intervals(tables.hotline.zone, day, windows)


@lru_cache(maxsize=16384)
def _intervals(zone: ZoneInfo, day: date, windows: tuple[Window, ...]) -> tuple[Interval, ...]:
    """One day's windows as real-time intervals. Each edge is the first instant the local clock
    shows that time: the clock change itself when the time is skipped, the first reading when
    it is repeated. A window that lies wholly in a skipped hour is empty and left out."""
    midnight = datetime(day.year, day.month, day.day)
    intervals = []
    for window in windows:
        start = _first_instant_showing(zone, midnight + timedelta(minutes=window.start))
        end = _first_instant_showing(zone, midnight + timedelta(minutes=window.end))
        if start < end:
            intervals.append((start, end, window))
    return tuple(intervals)


def _first_instant_showing(zone: ZoneInfo, wall: datetime) -> datetime:
    """The earliest instant (UTC) from which the local clock in `zone` shows `wall` or later."""
    first = wall.replace(tzinfo=zone).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    early, late = min(first, second), max(first, second)
    if _wall_clock(early, zone) >= wall:
        return early
    # `wall` is skipped: the clock shows an earlier time at `early`, a later one at `late`, and
    # jumps in between, on a whole second.
    low, high = int(early.timestamp()), int(late.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall_clock(datetime.fromtimestamp(middle, UTC), zone) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)
