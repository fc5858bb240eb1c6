"""The major incident in the console: what is going on and which requests are attached, and
declaring and ending it (admins, and the chief technician's technician account); attaching a
request to it; the banner on the desk view; the month's first-reaction (SLA) report."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from ivr.requests.sla import parse_month, sla_report
from ivr.store import incidents
from ivr.store import requests as request_store
from ivr.store.incidents import Incident, IncidentRefused
from ivr.store.users import Session
from ivr.web.active_tables import tables_for
from ivr.web.console import console_of
from ivr.web.formatting import day_time
from ivr.web.html import Markup, element, join, render
from ivr.web.pages import csrf_input, done, page, refused
from ivr.web.security import allow, session_of


@allow("admin", "technician", "desk")
async def incident_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    session = session_of(request)
    incident = await incidents.active(console.redis)
    active = await request_store.active_requests(console.redis)
    attached = [r for r in active if incident is not None and r.incident == incident.id]
    may_act = await _may_declare(request, session)
    body = render(
        "incident",
        banner=await incident_banner(request),
        requests=join(
            element("li", element("a", f"#{r.id} {r.summary}", href=f"/requests/{r.id}"))
            for r in attached
        )
        or element("li", "None."),
        form=_form(incident, session) if may_act else "",
    )
    return page(request, "Major incident", body)


@allow("admin", "technician")
async def declare(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    if not await _may_declare(request, session):
        return refused(request, 403, "Only an admin or the chief technician declares an incident.")
    console = console_of(request)
    summary = str((await request.post()).get("summary", ""))
    try:
        incident = await incidents.declare(
            console.redis, summary, by=session.user, now=console.clock()
        )
    except IncidentRefused as error:
        return refused(request, 409, str(error))
    return done(request, {"incident": incident.id}, "/incident?msg=incident-declared")


@allow("admin", "technician")
async def end(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    if not await _may_declare(request, session):
        return refused(request, 403, "Only an admin or the chief technician ends an incident.")
    console = console_of(request)
    try:
        incident = await incidents.end(console.redis, by=session.user, now=console.clock())
    except IncidentRefused as error:
        return refused(request, 409, str(error))
    return done(request, {"incident": incident.id}, "/incident?msg=incident-ended")


@allow("admin", "technician")
async def attach(request: web.Request) -> web.StreamResponse:
    """Attach a request to the major incident going on."""
    console = console_of(request)
    incident = await incidents.active(console.redis)
    if incident is None:
        return refused(request, 409, "There is no major incident to attach the request to.")
    request_id = int(request.match_info["request_id"])
    try:
        await request_store.attach_incident(
            console.redis,
            request_id,
            incident.id,
            by=session_of(request).user,
            now=console.clock(),
        )
    except request_store.UnknownRequest as error:
        raise web.HTTPNotFound(text=str(error)) from None
    location = f"/requests/{request_id}?msg=attached"
    return done(request, {"request_id": request_id, "incident": incident.id}, location)


async def incident_banner(request: web.Request) -> Markup | str:
    """The banner shown while a major incident goes on; empty otherwise."""
    incident = await incidents.active(console_of(request).redis)
    if incident is None:
        return ""
    declared = day_time(incident.declared_at.astimezone(console_of(request).tables.zone))
    return element(
        "p",
        f"Major incident #{incident.id} since {declared}: {incident.summary}. "
        "Callers hear an announcement after the greeting.",
        class_="incident-banner",
    )


@allow("admin")
async def sla_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    now = console.now()
    month_text = request.query.get("month") or f"{now.year:04d}-{now.month:02d}"
    try:
        year, month = parse_month(month_text)
    except ValueError as error:
        return refused(request, 422, str(error))
    report = sla_report(
        await request_store.all_requests(console.redis), year, month, now.tzinfo, now
    )
    percent = "—" if report.met_percent is None else f"{report.met_percent:g} %"
    body = render(
        "sla",
        month=report.month,
        requests=report.requests,
        met=report.met,
        missed=report.missed,
        pending=report.pending,
        percent=percent,
        medians=_rows(
            (tier, f"{minutes:g}") for tier, minutes in report.median_minutes_to_contact.items()
        ),
        breaches=_rows(
            (
                element("a", f"#{b.request_id}", href=f"/requests/{b.request_id}"),
                b.customer,
                b.reason,
            )
            for b in report.breaches
        ),
        interventions=_rows(
            (customer, done.count, done.minutes) for customer, done in report.interventions.items()
        ),
    )
    return page(request, f"First reactions {report.month}", body)


async def _may_declare(request: web.Request, session: Session) -> bool:
    if session.role == "admin":
        return True
    _, tables = await tables_for(request)
    return session.role == "technician" and session.technician == tables.chief.id


def _form(incident: Incident | None, session: Session) -> Markup:
    csrf = csrf_input(session.csrf_token)
    if incident is not None:
        button = element("button", "End the major incident", type="submit")
        return element("form", join([csrf, button]), method="post", action="/incident/end")
    fields = [
        csrf,
        element(
            "label",
            join(["Summary ", element("input", name="summary", maxlength="500", required=True)]),
        ),
        element("button", "Declare a major incident", type="submit"),
    ]
    return element("form", join(fields), method="post", action="/incident/declare")


def _rows(rows: Iterable[Iterable[object]]) -> Markup:
    return join(
        element("tr", join(element("td", cell) for cell in row)) for row in rows
    ) or element("tr", element("td", "None."))


ROUTES = [
    web.get("/incident", incident_page),
    web.post("/incident/declare", declare),
    web.post("/incident/end", end),
    web.post(r"/requests/{request_id:\d+}/incident", attach),
    web.get("/admin/reports/sla", sla_page),
]
