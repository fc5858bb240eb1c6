"""The admin's overview (who is on standby now, what is open) and the rota calendar."""

from __future__ import annotations

from aiohttp import web

from ivr.routing import Leg, Tables
from ivr.routing.model import WEEKDAYS, clock_text
from ivr.store import pins
from ivr.store.requests import active_requests
from ivr.web.active_tables import tables_for
from ivr.web.console import Console, console_of
from ivr.web.formatting import DAY_NAMES, MONTH_NAMES, stamp
from ivr.web.html import Markup, element, join, render
from ivr.web.pages import page
from ivr.web.rota import Duty, RotaDay, on_standby, ring_order, rota_calendar
from ivr.web.security import allow


@allow("admin")
async def overview(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    current, tables = await tables_for(request)
    now = console.clock().astimezone(tables.zone)
    standby, covering_for = on_standby(tables, now)
    version = f"version {current.version}" if current.version else "not published yet"
    body = render(
        "overview",
        alert=await _pin_alert(console),
        now=f"{stamp(now)} {tables.zone.key}",
        standby=standby_text(standby, covering_for),
        ring_order=", then ".join(leg.name for leg in ring_order(tables, now)),
        desk=tables.destinations.desk.name,
        tables=element("a", version, href="/admin/tables"),
        open_requests=len(await active_requests(console.redis)),
        desk_calls=len(await console.board.current_cards()),
    )
    return page(request, "Overview", body)


@allow("admin")
async def rota(request: web.Request) -> web.StreamResponse:
    _, tables = await tables_for(request)
    now = console_of(request).clock()
    standby, covering_for = on_standby(tables, now)
    body = render(
        "rota",
        standby=standby_text(standby, covering_for),
        handover=_handover(tables),
        ring_order=", then ".join(leg.name for leg in ring_order(tables, now)),
        days=join(_day_row(day) for day in rota_calendar(tables, now)),
    )
    return page(request, "Rota", body)


async def _pin_alert(console: Console) -> Markup | str:
    """A burst of failed PIN calls: someone may be guessing customers' PINs."""
    failed = await pins.failed_pin_calls(console.redis, console.clock())
    if failed < pins.BURST_ALERT:
        return ""
    paused = failed >= pins.MAX_FAILED_PIN_CALLS_HOTLINE
    text = (
        f"{failed} calls failed the PIN check in the last hour: someone may be guessing "
        "customers' PINs. "
        + (
            "Identification by customer number and PIN is paused; those callers reach the desk."
            if paused
            else f"At {pins.MAX_FAILED_PIN_CALLS_HOTLINE}, identification by customer number "
            "and PIN pauses for the rest of the hour."
        )
    )
    return element("p", text, class_="error pin-alert")


def standby_text(technician: Leg, covering_for: Leg | None) -> str:
    if covering_for is None:
        return technician.name
    return f"{technician.name} (covering for {covering_for.name})"


def _handover(tables: Tables) -> str:
    weekday = WEEKDAYS[tables.rota.handover_weekday]
    day_name = next(name for name in DAY_NAMES if name.lower().startswith(weekday))
    return f"{day_name}s at {clock_text(tables.rota.handover_minute)}"


def _day_row(day: RotaDay) -> Markup:
    date_text = f"{DAY_NAMES[day.day.weekday()][:3]} {day.day.day} {MONTH_NAMES[day.day.month - 1]}"
    duties = join((_duty(duty, len(day.duties) > 1) for duty in day.duties), Markup("<br>"))
    return element(
        "tr",
        join(
            [
                element("td", date_text),
                element("td", day.holiday or ""),
                element("td", duties, class_="duties"),
            ]
        ),
        class_="holiday" if day.holiday else None,
    )


def _duty(duty: Duty, with_times: bool) -> Markup:
    name = element("strong", standby_text(duty.technician, duty.covering_for))
    if not with_times:
        return name
    end = "24:00" if duty.end.hour == 0 and duty.end.minute == 0 else f"{duty.end:%H:%M}"
    return join([f"{duty.start:%H:%M}–{end} ", name])
