"""Call records in the admin console: the latest calls, searchable, and each call's timeline."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.calls.summary import SUMMARY_ORDER
from ivr.store.calls import get_call, list_calls
from ivr.web.console import console_of
from ivr.web.formatting import caller, instant, stamp
from ivr.web.html import Markup, element, join, render, url_part
from ivr.web.pages import page
from ivr.web.security import allow

LISTED = 500
# Summary fields searched by the list's search box.
SEARCHED = (
    "call_id",
    "caller_number",
    "caller_name",
    "customer_id",
    "customer_name",
    "tier",
    "tier_name",
    "destination",
    "outcome",
    "desk_outcome",
)


@allow("admin")
async def calls_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    query = request.query.get("q", "").strip()
    summaries = await list_calls(console.redis, limit=LISTED)
    if query:
        summaries = [s for s in summaries if matches(s, query)]
    zone = console.tables.zone
    count = f"{len(summaries)} call{'s' if len(summaries) != 1 else ''}"
    body = render(
        "calls",
        query=query,
        count=count + (f" matching “{query}”" if query else f" (the latest {LISTED} at most)"),
        rows=join(_call_row(summary, zone) for summary in summaries),
    )
    return page(request, "Calls", body)


@allow("admin")
async def call_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    call_id = request.match_info["call_id"]
    record = await get_call(console.redis, call_id)
    if record is None:
        raise web.HTTPNotFound(text=f"no record of call {call_id!r}")
    zone = console.tables.zone
    summary = record.summary
    names = [n for n in SUMMARY_ORDER if n in summary]
    names += sorted(set(summary) - set(SUMMARY_ORDER))
    started = instant(summary.get("started_at"), zone)
    body = render(
        "call",
        summary=join(
            element("tr", join([element("th", n), element("td", _value(n, summary[n], zone))]))
            for n in names
        ),
        timeline=join(_event_row(event, started, zone) for event in record.events),
    )
    return page(request, f"Call {call_id}", body)


def matches(summary: dict[str, Any], query: str) -> bool:
    """The query in any searched field (any case), or its digits in the caller's number."""
    text = query.casefold()
    digits = "".join(ch for ch in query if ch.isdigit())
    for name in SEARCHED:
        value = summary.get(name)
        if isinstance(value, str) and text in value.casefold():
            return True
    number = summary.get("caller_number") or ""
    return len(digits) >= 3 and digits in "".join(ch for ch in number if ch.isdigit())


def _call_row(summary: dict[str, Any], zone: ZoneInfo) -> Markup:
    call_id = summary["call_id"]
    covered = {True: "yes", False: "no"}.get(summary.get("covered"), "")
    duration = summary.get("duration_seconds")
    customer = summary.get("customer_id") or ""
    if summary.get("customer_name"):
        customer = f"{summary['customer_name']} ({customer})"
    cells = [
        stamp(instant(summary.get("started_at"), zone)),
        element("a", call_id, href=f"/admin/calls/{url_part(call_id)}"),
        caller(summary.get("caller_number")),
        summary.get("caller_name") or "",
        customer,
        summary.get("tier") or "",
        covered,
        summary.get("destination") or "",
        summary.get("outcome") or "in progress",
        f"{duration:.0f} s" if duration is not None else "",
    ]
    return element("tr", join(element("td", cell) for cell in cells))


def _event_row(event: dict[str, Any], started: datetime | None, zone: ZoneInfo) -> Markup:
    at = instant(event.get("at"), zone)
    after = f"{(at - started).total_seconds():+.1f} s" if at and started else ""
    details = {k: v for k, v in event.items() if k not in ("kind", "at")}
    cells = [
        element("td", stamp(at)),
        element("td", after, class_="num"),
        element("td", event.get("kind", "")),
        element("td", element("code", _details(details))),
    ]
    return element("tr", join(cells))


def _details(details: dict[str, Any]) -> str:
    return "  ".join(f"{name}={_text(value)}" for name, value in details.items())


def _value(name: str, value: Any, zone: ZoneInfo) -> str:
    if name == "caller_number":
        return caller(value)
    if name.endswith(("_at", "_due")) and isinstance(value, str):
        return stamp(instant(value, zone))
    return _text(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


ROUTES = [
    web.get("/admin/calls", calls_page),
    web.get("/admin/calls/{call_id}", call_page),
]
