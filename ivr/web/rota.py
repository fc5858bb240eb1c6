"""Who is on standby when: the rota calendar, computed with the routing core.

Standby changes only at a handover of the weekly rotation or at the start or end of an
override, so each day is cut at those instants and the core's `decide` names the technician
of each piece.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from ivr.routing import Leg, Tables, decide

CALENDAR_DAYS = 14


@dataclass(frozen=True)
class Duty:
    start: datetime  # local
    end: datetime  # local, exclusive
    technician: Leg
    covering_for: Leg | None  # whom the rotation had scheduled, when an override stands in


@dataclass(frozen=True)
class RotaDay:
    day: date
    holiday: str | None
    duties: tuple[Duty, ...]


def on_standby(tables: Tables, moment: datetime) -> tuple[Leg, Leg | None]:
    """The technician on standby at `moment`, and whom they cover for (None: their own week)."""
    standby = decide(tables, None, moment).standby
    local = moment.astimezone(tables.zone).replace(tzinfo=None)
    scheduled = tables.technicians[tables.rota.scheduled(local)]
    return standby, None if scheduled.id == standby.id else scheduled


def ring_order(tables: Tables, moment: datetime) -> tuple[Leg, ...]:
    """Whom a covered call rings at `moment`, in order: the standby technician, the escalation
    ladder (stand-ins applied), then the desk. Asked of the core as if unidentified callers
    went to the technicians, which gives exactly that ladder."""
    to_technicians = replace(tables.hotline, unidentified_destination="technician")
    return decide(replace(tables, hotline=to_technicians), None, moment).ladder


def rota_calendar(tables: Tables, now: datetime, days: int = CALENDAR_DAYS) -> list[RotaDay]:
    """Today and the following days, each with its standby duties in order."""
    first = now.astimezone(tables.zone).date()
    return [_day(tables, first + timedelta(days=offset)) for offset in range(days)]


def _day(tables: Tables, day: date) -> RotaDay:
    start = _midnight(tables, day)
    end = _midnight(tables, day + timedelta(days=1))
    cuts = sorted({start, *(c for c in _changes(tables, day) if start < c < end)})
    duties: list[Duty] = []
    for piece_start, piece_end in zip(cuts, [*cuts[1:], end], strict=True):
        technician, covering_for = on_standby(tables, piece_start)
        previous = duties[-1] if duties else None
        if previous and (previous.technician, previous.covering_for) == (technician, covering_for):
            duties[-1] = Duty(previous.start, piece_end, technician, covering_for)
        else:
            duties.append(Duty(piece_start, piece_end, technician, covering_for))
    return RotaDay(day, tables.calendar.name_on(day), tuple(duties))


def _changes(tables: Tables, day: date) -> list[datetime]:
    """Instants on or around `day` at which the standby technician may change."""
    rota = tables.rota
    changes = [o.start.astimezone(tables.zone) for o in rota.overrides]
    changes += [o.end.astimezone(tables.zone) for o in rota.overrides]
    if day.weekday() == rota.handover_weekday:
        changes.append(_midnight(tables, day) + timedelta(minutes=rota.handover_minute))
    return changes


def _midnight(tables: Tables, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tables.zone)
