"""Requests in the console: the admins' list, a technician's own requests, one request with
its history and what the viewer may do with it (acknowledge, call the customer back, record
the first contact, record the intervention and resolve, cancel), and opening one by hand."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.requests import jobs
from ivr.requests.create import RequestRefused, open_request
from ivr.requests.model import INTERVENTIONS, MAX_NOTE, MAX_SUMMARY, Request, TransitionRefused
from ivr.requests.units import act_on_request
from ivr.store import requests as request_store
from ivr.store.users import Session
from ivr.web.active_tables import tables_for
from ivr.web.console import console_of
from ivr.web.formatting import caller, day_time, stamp
from ivr.web.html import Markup, element, join, options, render, url_part
from ivr.web.pages import csrf_input, done, page, refused
from ivr.web.security import allow, session_of

_COLUMNS = 7


@allow("admin")
async def requests_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    zone, now = console.tables.zone, console.clock()
    active = await request_store.active_requests(console.redis)
    closed = await request_store.closed_requests(console.redis)
    names = await _technician_names(request)
    body = render(
        "requests",
        active_rows=_rows(active, zone, now, names),
        closed_rows=join(_closed_row(r, zone, names) for r in closed) or _nothing(),
    )
    return page(request, "Requests", body)


@allow("technician")
async def my_requests(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    me = session_of(request).technician
    zone, now = console.tables.zone, console.clock()
    active = await request_store.active_requests(console.redis)
    mine = [r for r in active if r.holder == me and r.state != "open"]
    waiting = [r for r in active if r.state == "open"]
    names = await _technician_names(request)
    body = render(
        "requests_mine",
        mine=_rows(mine, zone, now, names),
        waiting=_rows(waiting, zone, now, names),
    )
    return page(request, "My requests", body)


@allow("admin", "technician", "desk")
async def request_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    found = await _request(request)
    session = session_of(request)
    zone = console.tables.zone
    body = render(
        "request",
        state=found.state + (" (first reaction late)" if found.breached(console.clock()) else ""),
        breach=found.breach_reason or "—",
        incident=f"major incident #{found.incident}" if found.incident else "none",
        holder=_holder(found, await _technician_names(request)) or "nobody yet",
        customer=request_customer(found),
        tier=await _tier(request, found),
        number=caller(found.callback_number) if found.callback_number else "unknown",
        due=_when(found.first_reaction_due, zone) or "none (best effort)",
        summary=found.summary,
        created=f"{_when(found.created_at, zone)} by {found.created_by} ({found.source})",
        acknowledged=_when(found.acknowledged_at, zone) or "not yet",
        contacted=_when(found.first_contact_at, zone) or "not yet",
        resolved=_when(found.resolved_at, zone) or "not yet",
        intervention=_intervention(found),
        call=_call_link(found, session),
        actions=_actions(found, session),
        history=join(_history_row(event, zone) for event in found.history),
    )
    return page(request, f"Request #{found.id}", body)


@allow("admin", "technician")
async def acknowledge(request: web.Request) -> web.StreamResponse:
    found = await _request(request)
    session = session_of(request)
    return await _act(request, found, "ack", "acknowledged", technician=_taker(session, found))


@allow("admin", "technician")
async def contact(request: web.Request) -> web.StreamResponse:
    found = await _request(request)
    session = session_of(request)
    if (denied := _not_holder(request, found)) is not None:
        return denied
    return await _act(request, found, "contact", "contacted", technician=_taker(session, found))


@allow("admin", "technician")
async def resolve(request: web.Request) -> web.StreamResponse:
    found = await _request(request)
    if (denied := _not_holder(request, found)) is not None:
        return denied
    form = await request.post()
    intervention = str(form.get("intervention", "")) or None
    minutes_text = str(form.get("minutes", "")).strip()
    if minutes_text and not minutes_text.isdigit():
        return refused(request, 422, f"Minutes must be a whole number, not {minutes_text!r}.")
    minutes = int(minutes_text) if minutes_text else None
    note = str(form.get("note", "")).strip()
    if not note:
        return refused(request, 422, "Write a resolution note: what was done.")
    return await _act(
        request, found, "resolve", "resolved", intervention=intervention, minutes=minutes, note=note
    )


@allow("admin")
async def cancel(request: web.Request) -> web.StreamResponse:
    found = await _request(request)
    note = str((await request.post()).get("note", "")).strip() or None
    return await _act(request, found, "cancel", "closed", note=note)


@allow("admin", "technician")
async def call_customer(request: web.Request) -> web.StreamResponse:
    """Click-to-call: Asterisk rings the technician's phone (an admin's click: the holder's),
    then the customer's."""
    found = await _request(request)
    if (denied := _not_holder(request, found)) is not None:
        return denied
    if not found.active or found.state == "open":
        return refused(request, 409, f"Request #{found.id} is {found.state}: acknowledge it first.")
    if not found.callback_number:
        return refused(request, 409, f"Request #{found.id} has no number to call back.")
    technician = session_of(request).technician or found.holder
    await jobs.call_back(console_of(request).redis, found.id, technician)
    return done(request, {"request_id": found.id}, f"/requests/{found.id}?msg=calling")


@allow("admin", "desk")
async def new_request_form(request: web.Request) -> web.StreamResponse:
    body = render(
        "request_new",
        csrf=csrf_input(session_of(request).csrf_token),
        customer=request.query.get("customer", ""),
        summary_max=MAX_SUMMARY,
    )
    return page(request, "New request", body)


@allow("admin", "desk")
async def create(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    _, tables = await tables_for(request)
    try:
        created = await open_request(
            console.redis,
            tables,
            summary=str(form.get("summary", "")),
            source="console",
            created_by=session_of(request).user,
            now=console.clock(),
            customer_id=str(form.get("customer", "")).strip() or None,
            call_id=str(form.get("call", "")).strip() or None,
            callback_number=str(form.get("number", "")).strip() or None,
        )
    except (RequestRefused, request_store.RequestAlreadyOpen) as error:
        return refused(request, 422, str(error))
    location = f"/requests/{created.id}?msg=request-created"
    return done(request, {"request_id": created.id}, location)


async def _act(
    request: web.Request, found: Request, action: str, message: str, **details: object
) -> web.StreamResponse:
    console = console_of(request)
    try:
        changed = await act_on_request(
            console.redis,
            found.id,
            action,
            by=session_of(request).user,
            now=console.clock(),
            zone=console.tables.zone,
            **details,  # type: ignore[arg-type]
        )
    except TransitionRefused as error:
        return refused(request, 409, str(error))
    location = f"/requests/{found.id}?msg={message}"
    return done(request, {"request_id": found.id, "state": changed.state}, location)


async def _request(request: web.Request) -> Request:
    text = request.match_info["request_id"]
    if not text.isdigit():
        raise web.HTTPNotFound(text=f"{text!r} is not a request number")
    found = await request_store.get_request(console_of(request).redis, int(text))
    if found is None:
        raise web.HTTPNotFound(text=f"there is no request #{text}")
    return found


def _taker(session: Session, found: Request) -> str | None:
    """Who holds the request after an ack: the technician acting, or (an admin) the holder."""
    return session.technician or found.holder


def _not_holder(request: web.Request, found: Request) -> web.Response | None:
    session = session_of(request)
    if session.role == "technician" and found.holder != session.technician:
        return refused(request, 403, f"Request #{found.id} is held by {found.holder}, not you.")
    return None


def _actions(found: Request, session: Session) -> Markup:
    if not found.active or session.role == "desk":
        return Markup("")
    csrf = csrf_input(session.csrf_token)
    mine = session.role == "admin" or found.holder == session.technician
    taken = found.state != "open"

    def button(action: str, label: str) -> Markup:
        return element(
            "form",
            join([csrf, element("button", label, type="submit")]),
            method="post",
            action=f"/requests/{found.id}/{action}",
            class_=f"inline request-{action}",
        )

    return render(
        "request_actions",
        ack="" if taken else button("ack", "Acknowledge"),
        callback=button("callback", "Call the customer back")
        if mine and taken and found.callback_number
        else "",
        contact=button("contact", "Record the first contact")
        if mine and found.state in ("open", "acknowledged")
        else "",
        resolve=render(
            "request_resolve",
            request_id=found.id,
            csrf=csrf,
            interventions=options(INTERVENTIONS.items(), None),
            note_max=MAX_NOTE,
        )
        if mine and taken
        else "",
        cancel=button("cancel", "Cancel the request") if session.role == "admin" else "",
        incident=button("incident", "Attach to the major incident") if not found.incident else "",
    )


async def _tier(request: web.Request, found: Request) -> str:
    tables = (await console_of(request).tables.get()).tables
    name = tables.tier_names.get(found.tier or "") if tables else None
    return f"{name} ({found.tier})" if name else (found.tier or "unknown")


async def _technician_names(request: web.Request) -> dict[str, str]:
    tables = (await console_of(request).tables.get()).tables
    return {leg.id: leg.name for leg in tables.technicians.values()} if tables else {}


def _holder(found: Request, names: dict[str, str]) -> str:
    return names.get(found.holder or "", found.holder or "")


def _rows(found: list[Request], zone: ZoneInfo, now: datetime, names: dict[str, str]) -> Markup:
    return join(_active_row(r, zone, now, names) for r in found) or _nothing()


def _active_row(found: Request, zone: ZoneInfo, now: datetime, names: dict[str, str]) -> Markup:
    late = found.breached(now)
    cells = [
        element("td", request_link(found)),
        element("td", (_when(found.first_reaction_due, zone) or "—") + (" (late)" if late else "")),
        element("td", found.state),
        element("td", _holder(found, names)),
        element("td", request_customer(found)),
        element("td", found.summary, class_="problem"),
        element("td", f"{_when(found.created_at, zone)} by {found.created_by}"),
    ]
    return element("tr", join(cells), class_="overdue" if late else None)


def _closed_row(found: Request, zone: ZoneInfo, names: dict[str, str]) -> Markup:
    cells = [
        element("td", request_link(found)),
        element("td", f"{stamp(found.resolved_at.astimezone(zone)) if found.resolved_at else ''}"),
        element("td", found.state),
        element("td", _holder(found, names)),
        element("td", request_customer(found)),
        element("td", found.summary, class_="problem"),
        element("td", found.resolution or ""),
    ]
    return element("tr", join(cells))


def _history_row(event: dict, zone: ZoneInfo) -> Markup:
    moment = datetime.fromisoformat(event["at"]).astimezone(zone)
    details = ", ".join(f"{k}: {v}" for k, v in event.items() if k not in ("at", "kind") and v)
    return element(
        "tr",
        join([element("td", stamp(moment)), element("td", event["kind"]), element("td", details)]),
    )


def _nothing() -> Markup:
    return element("tr", element("td", "None.", colspan=str(_COLUMNS)))


def request_link(found: Request) -> Markup:
    return element("a", f"#{found.id}", href=f"/requests/{found.id}")


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return day_time(moment.astimezone(zone)) if moment else ""


def request_customer(found: Request) -> str:
    if found.customer_id is None:
        return "not identified"
    return f"{found.customer_name} ({found.customer_id})"


def _intervention(found: Request) -> str:
    if found.intervention is None:
        return "none recorded"
    return f"{INTERVENTIONS[found.intervention]}, {found.intervention_minutes} min"


def _call_link(found: Request, session: Session) -> Markup | str:
    if not found.call_id:
        return "none"
    if session.role != "admin":
        return found.call_id
    return element("a", found.call_id, href=f"/admin/calls/{url_part(found.call_id)}")


ROUTES = [
    web.get("/admin/requests", requests_page),
    web.get("/requests/mine", my_requests),
    web.get("/requests/new", new_request_form),
    web.post("/requests/new", create),
    web.get(r"/requests/{request_id:\d+}", request_page),
    web.post(r"/requests/{request_id:\d+}/ack", acknowledge),
    web.post(r"/requests/{request_id:\d+}/contact", contact),
    web.post(r"/requests/{request_id:\d+}/resolve", resolve),
    web.post(r"/requests/{request_id:\d+}/cancel", cancel),
    web.post(r"/requests/{request_id:\d+}/callback", call_customer),
]
