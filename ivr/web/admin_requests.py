"""Callback requests in the admin console: the open ones, the most urgent first, closed here."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.store.requests import (
    CallbackRequest,
    RequestNotOpen,
    close_request,
    closed_requests,
    open_requests,
)
from ivr.web.console import console_of
from ivr.web.formatting import caller, day_time, stamp
from ivr.web.html import Markup, element, join, render, url_part
from ivr.web.pages import csrf_input, page, redirect, refused
from ivr.web.security import allow, session_of

MAX_RESOLUTION = 500


@allow("admin")
async def requests_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    zone = console.tables.zone
    now = console.clock()
    csrf = session_of(request).csrf_token
    opened = await open_requests(console.redis)
    closed = await closed_requests(console.redis)
    nothing = element("tr", element("td", "None.", colspan="8"))
    body = render(
        "requests",
        open_rows=join(_open_row(r, zone, now, csrf) for r in opened) or nothing,
        closed_rows=join(_closed_row(r, zone) for r in closed) or nothing,
    )
    return page(request, "Callback requests", body)


@allow("admin")
async def close(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    text = request.match_info["request_id"]
    if not text.isdigit():
        raise web.HTTPNotFound(text=f"{text!r} is not a request number")
    resolution = str((await request.post()).get("resolution", "")).strip()
    if len(resolution) > MAX_RESOLUTION:
        return refused(request, 422, f"The resolution is longer than {MAX_RESOLUTION} characters.")
    try:
        await close_request(
            console.redis,
            int(text),
            closed_by=session_of(request).user,
            resolution=resolution,
            now=console.clock(),
        )
    except RequestNotOpen as error:
        return refused(request, 409, str(error))
    return redirect("/admin/requests?msg=closed")


def _open_row(callback: CallbackRequest, zone: ZoneInfo, now: datetime, csrf: str) -> Markup:
    due = callback.first_reaction_due
    overdue = due is not None and due <= now
    due_text = day_time(due.astimezone(zone)) if due else "no due time"
    cells = [
        element("td", f"#{callback.request_id}"),
        element("td", due_text + (" (overdue)" if overdue else "")),
        element("td", _customer(callback)),
        element("td", caller(callback.caller_number)),
        element("td", callback.technician_name),
        element("td", callback.problem, class_="problem"),
        element("td", _origin(callback, zone)),
        element(
            "td", render("close_request", request_id=callback.request_id, csrf=csrf_input(csrf))
        ),
    ]
    return element("tr", join(cells), class_="overdue" if overdue else None)


def _closed_row(callback: CallbackRequest, zone: ZoneInfo) -> Markup:
    closed = stamp(callback.closed_at.astimezone(zone)) if callback.closed_at else ""
    cells = [
        element("td", f"#{callback.request_id}"),
        element("td", f"{closed} by {callback.closed_by}"),
        element("td", _customer(callback)),
        element("td", callback.technician_name),
        element("td", callback.problem, class_="problem"),
        element("td", callback.resolution or ""),
    ]
    return element("tr", join(cells))


def _customer(callback: CallbackRequest) -> str:
    if callback.customer_id is None:
        return "not identified"
    return f"{callback.customer_name} ({callback.customer_id})"


def _origin(callback: CallbackRequest, zone: ZoneInfo) -> Markup:
    call = element("a", "call", href=f"/admin/calls/{url_part(callback.call_id)}")
    return join([call, f" by {callback.created_by}, {stamp(callback.created_at.astimezone(zone))}"])


ROUTES = [
    web.get("/admin/requests", requests_page),
    web.post("/admin/requests/{request_id}/close", close),
]
