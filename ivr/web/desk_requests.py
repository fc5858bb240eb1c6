"""The desk view's open requests: every request not closed yet, in the same order as the live
desk calls (`desk_cards.priority_order`: tier priority, identified before unidentified, then
who has waited longest)."""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from ivr.requests.model import Request
from ivr.routing import Tables, desk_priority
from ivr.store import requests as request_store
from ivr.web.console import Console
from ivr.web.desk_cards import priority_order
from ivr.web.formatting import day_time
from ivr.web.html import Markup, element, join
from ivr.web.requests_pages import request_customer, request_link

_COLUMNS = 6


def requests_in_desk_order(found: Iterable[Request], tables: Tables | None) -> list[Request]:
    """`found` in the desk's order; without valid tables, by waiting time alone."""

    def priority(request: Request) -> int:
        return desk_priority(tables, request.tier) if tables else 0

    return sorted(found, key=lambda r: priority_order(priority(r), r.created_at))


async def open_request_rows(console: Console) -> Markup:
    tables = (await console.tables.get()).tables
    active = await request_store.active_requests(console.redis)
    names = tables.tier_names if tables else {}
    rows = [
        _row(found, names, console.tables.zone) for found in requests_in_desk_order(active, tables)
    ]
    return join(rows) or element("tr", element("td", "None.", colspan=str(_COLUMNS)))


def _row(found: Request, tier_names: dict[str, str], zone: ZoneInfo) -> Markup:
    cells = [
        request_link(found),
        tier_names.get(found.tier or "", found.tier or "unknown"),
        request_customer(found),
        found.state,
        day_time(found.created_at.astimezone(zone)),
        element("span", found.summary, class_="problem"),
    ]
    return element("tr", join(element("td", cell) for cell in cells), id=f"request-{found.id}")
