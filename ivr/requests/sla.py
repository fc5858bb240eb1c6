"""The first-reaction report of a month: was each request's first reaction kept? Pure: the
requests in, the report out (`ivr report sla`, the console's SLA page).

A request counts in the month it was created (local time). Its first reaction is
- met: the first contact came by the due time,
- missed: it came later, or is still missing after the due time (a breached request),
- pending: no first contact yet, the due time still ahead,
- not promised: no due time (best effort), or closed before its due time without a contact.
Met % is met out of met and missed.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from ivr.requests.model import Request

MET, MISSED, PENDING, NOT_PROMISED = "met", "missed", "pending", "not promised"


@dataclass(frozen=True)
class Breach:
    request_id: int
    customer: str
    tier: str | None
    due: datetime
    first_contact_at: datetime | None
    reason: str


@dataclass(frozen=True)
class Interventions:
    count: int
    minutes: int


@dataclass(frozen=True)
class SlaReport:
    month: str  # YYYY-MM
    requests: int
    met: int
    missed: int
    pending: int
    median_minutes_to_contact: dict[str, float]  # per tier, of the requests with a contact
    breaches: tuple[Breach, ...]
    interventions: dict[str, Interventions]  # per customer

    @property
    def met_percent(self) -> float | None:
        decided = self.met + self.missed
        return None if decided == 0 else round(100 * self.met / decided, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "requests": self.requests,
            "met": self.met,
            "missed": self.missed,
            "pending": self.pending,
            "met_percent": self.met_percent,
            "median_minutes_to_contact": self.median_minutes_to_contact,
            "breaches": [
                {
                    "request_id": breach.request_id,
                    "customer": breach.customer,
                    "tier": breach.tier,
                    "due": breach.due.isoformat(),
                    "first_contact_at": breach.first_contact_at.isoformat()
                    if breach.first_contact_at
                    else None,
                    "reason": breach.reason,
                }
                for breach in self.breaches
            ],
            "interventions": {
                customer: {"count": done.count, "minutes": done.minutes}
                for customer, done in self.interventions.items()
            },
        }


def parse_month(text: str) -> tuple[int, int]:
    """ "2026-11" -> (2026, 11); ValueError naming the text otherwise."""
    try:
        moment = datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise ValueError(f"{text!r} is not a month such as 2026-11 (YYYY-MM)") from None
    return moment.year, moment.month


def first_reaction(request: Request, now: datetime) -> str:
    """met, missed, pending or not promised (see the module's description)."""
    due = request.first_reaction_due
    if due is None:
        return NOT_PROMISED
    if request.breached(now):
        return MISSED
    if request.first_contact_at is not None:
        return MET
    return PENDING if request.active else NOT_PROMISED


def sla_report(
    requests: Iterable[Request], year: int, month: int, zone: tzinfo, now: datetime
) -> SlaReport:
    """The report of the requests created in that month (local time in `zone`)."""
    counted = [r for r in requests if _month_of(r.created_at, zone) == (year, month)]
    outcomes = [first_reaction(request, now) for request in counted]
    return SlaReport(
        month=f"{year:04d}-{month:02d}",
        requests=len(counted),
        met=outcomes.count(MET),
        missed=outcomes.count(MISSED),
        pending=outcomes.count(PENDING),
        median_minutes_to_contact=_medians(counted),
        breaches=tuple(
            _breach(request)
            for request, outcome in zip(counted, outcomes, strict=True)
            if outcome == MISSED
        ),
        interventions=_interventions(counted),
    )


def _month_of(moment: datetime, zone: tzinfo) -> tuple[int, int]:
    local = moment.astimezone(zone)
    return local.year, local.month


def _medians(requests: list[Request]) -> dict[str, float]:
    waits: dict[str, list[float]] = defaultdict(list)
    for request in requests:
        if request.first_contact_at is not None:
            waited = request.first_contact_at - request.created_at
            waits[request.tier or "unknown"].append(_minutes(waited))
    return {tier: round(statistics.median(values), 1) for tier, values in sorted(waits.items())}


def _breach(request: Request) -> Breach:
    assert request.first_reaction_due is not None
    reason = request.breach_reason
    if reason is None and request.first_contact_at is not None:
        late = _minutes(request.first_contact_at - request.first_reaction_due)
        reason = f"first contact {late:g} minutes after the due time"
    return Breach(
        request_id=request.id,
        customer=request.customer_name or request.customer_id or "not identified",
        tier=request.tier,
        due=request.first_reaction_due,
        first_contact_at=request.first_contact_at,
        reason=reason or "no first contact by the due time",
    )


def _interventions(requests: list[Request]) -> dict[str, Interventions]:
    done: dict[str, Interventions] = {}
    for request in requests:
        if request.intervention is None:
            continue
        customer = request.customer_id or "not identified"
        before = done.get(customer, Interventions(0, 0))
        done[customer] = Interventions(
            before.count + 1, before.minutes + (request.intervention_minutes or 0)
        )
    return dict(sorted(done.items()))


def _minutes(duration: timedelta) -> float:
    return round(duration.total_seconds() / 60, 1)
