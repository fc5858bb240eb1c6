"""The desk view: the live list, the outcome of a call, forwarding to the technician on standby."""

import asyncio
import json
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.store import calls, requests
from ivr.web import board as board_module
from ivr.web.console import CONSOLE
from tests.unit.web.conftest import NOW
from tests.unit.web.records import SCRIPT_NAME, record_covered_call, record_notice_call

ZURICH = ZoneInfo("Europe/Zurich")


async def eventually(check, within=3.0):
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.05)


async def desk_page_with(browser, text):
    async def check():
        page = await browser.page("/desk")
        return page if text in page else None

    page = await eventually(check)
    assert page, f"{text!r} never appeared on the desk page"
    return page


async def read_event(response, within):
    """The next server-sent event as (name, data)."""
    name, data = None, None
    while True:
        line = (await asyncio.wait_for(response.content.readline(), within)).decode()
        if line == "\n" and name:
            return name, json.loads(data)
        if line.startswith("event: "):
            name = line[7:].strip()
        elif line.startswith("data: "):
            data = line[6:]


async def test_the_desk_lists_desk_calls_only(console, desk):
    await record_notice_call(console.redis, "desk-call", NOW)
    await record_covered_call(console.redis, "tech-call", NOW)
    page = await desk_page_with(desk, 'id="call-desk-call"')
    assert 'id="call-tech-call"' not in page
    assert "winCall pro, 5x12h (pro)" in page
    assert "accepted, key 1, at 22:14:30" in page
    assert "forward it to the technician on standby (Marco Bernasconi)" in page
    assert "Mon 30 Nov 13:00" in page


async def test_a_script_tag_caller_name_is_text(console, desk):
    await record_notice_call(console.redis, "c1", NOW, caller_name=SCRIPT_NAME)
    page = await desk_page_with(desk, 'id="call-c1"')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert SCRIPT_NAME not in page


async def test_live_events_bring_a_new_desk_call_within_a_second(console, desk):
    await record_notice_call(console.redis, "earlier", NOW - timedelta(minutes=5))
    await desk_page_with(desk, 'id="call-earlier"')  # read once: nobody follows yet
    response = await desk.client.get("/desk/events")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    name, data = await read_event(response, 2)
    assert name == "snapshot" and 'id="call-earlier"' in data["html"]
    written = time.monotonic()
    await record_notice_call(console.redis, "new", NOW, caller_name=SCRIPT_NAME)
    while True:  # the board that starts following sends the whole list again first
        name, data = await read_event(response, 1)
        if name == "call" and data["id"] == "new" and "accepted, key 1" in data["html"]:
            break
    assert time.monotonic() - written < 1.0
    assert "&lt;script&gt;" in data["html"] and SCRIPT_NAME not in data["html"]
    assert f'value="{desk.csrf}"' in data["html"]  # the forms carry this session's token
    response.close()


async def test_recording_the_outcome(console, desk):
    await record_notice_call(console.redis, "c1", NOW)
    response = await desk.post(
        "/desk/calls/c1/outcome", {"outcome": "solved", "note": "router reset"}
    )
    assert response.status == 303 and response.headers["Location"] == "/desk"
    record = await calls.get_call(console.redis, "c1")
    assert record.summary["desk_outcome"] == "solved"
    assert record.summary["desk_note"] == "router reset"
    assert record.summary["desk_agent"] == "dan"
    assert record.events[-1]["kind"] == "desk_outcome"
    page = await desk_page_with(desk, "Solved on the phone: router reset (by dan)")
    assert 'id="call-c1"' in page


async def test_an_outcome_from_a_script_gets_json(console, desk):
    await record_notice_call(console.redis, "c1", NOW)
    response = await desk.post(
        "/desk/calls/c1/outcome",
        {"outcome": "other", "note": ""},
        headers={"Accept": "application/json"},
    )
    assert response.status == 200
    assert await response.json() == {"ok": True, "call_id": "c1", "outcome": "other"}


async def test_a_wrong_outcome_is_refused_and_nothing_is_written(console, desk):
    await record_notice_call(console.redis, "c1", NOW)
    for form in ({"outcome": "whatever"}, {"outcome": "solved", "note": "x" * 501}):
        response = await desk.post("/desk/calls/c1/outcome", form)
        assert response.status == 422
    assert "desk_outcome" not in (await calls.get_call(console.redis, "c1")).summary
    assert (await desk.post("/desk/calls/nope/outcome", {"outcome": "solved"})).status == 404
    await record_covered_call(console.redis, "tech", NOW)
    response = await desk.post("/desk/calls/tech/outcome", {"outcome": "solved"})
    assert response.status == 409
    assert "was not routed to the desk" in await response.text()


async def test_forwarding_to_the_technician_on_standby(console, desk, admin):
    await record_notice_call(console.redis, "c1", NOW)
    response = await desk.post("/desk/calls/c1/forward", {"problem": "no dial tone since 21:00"})
    assert response.status == 303
    [request] = await requests.active_requests(console.redis)
    assert (request.call_id, request.customer_id, request.holder) == ("c1", "acme", "marco")
    assert request.first_reaction_due == datetime(2026, 11, 30, 13, 0, tzinfo=ZURICH)
    assert (request.summary, request.created_by, request.source) == (
        "no dial tone since 21:00",
        "dan",
        "desk",
    )
    record = await calls.get_call(console.redis, "c1")
    assert record.summary["callback_request"] == request.id
    assert record.events[-1]["kind"] == "callback_requested"

    again = await desk.post("/desk/calls/c1/forward", {"problem": "again"})
    assert again.status == 409 and "already has the active request" in await again.text()

    listing = await admin.page("/admin/requests")
    assert "no dial tone since 21:00" in listing and "Marco Bernasconi" in listing
    assert "Mon 30 Nov 13:00" in listing
    cancelled = await admin.post(f"/requests/{request.id}/cancel", {"note": "solved by phone"})
    assert cancelled.status == 303
    assert await requests.active_requests(console.redis) == []
    listing = await admin.page("/admin/requests?msg=closed")
    assert "Request closed." in listing and "solved by phone" in listing
    assert (await admin.post(f"/requests/{request.id}/cancel", {})).status == 409


async def test_forwarding_needs_the_problem(console, desk):
    await record_notice_call(console.redis, "c1", NOW)
    for problem in ("", "   ", "x" * 2001):
        response = await desk.post("/desk/calls/c1/forward", {"problem": problem})
        assert response.status == 422
    assert await requests.active_requests(console.redis) == []


async def test_a_withdrawn_caller_cannot_be_forwarded_from_the_page(console, desk):
    await record_notice_call(console.redis, "c1", NOW, consent="withdrawn")
    page = await desk_page_with(desk, 'id="call-c1"')
    assert 'action="/desk/calls/c1/forward"' not in page
    assert 'action="/desk/calls/c1/outcome"' in page


async def test_the_board_follows_the_calls_only_while_a_desk_view_is_open(
    console, desk, monkeypatch
):
    monkeypatch.setattr(board_module, "IDLE_SECONDS", 0.05)
    board = console.app[CONSOLE].board
    await record_notice_call(console.redis, "c1", NOW)
    await desk_page_with(desk, 'id="call-c1"')
    assert not board.following, "a page load reads once; nobody follows"

    response = await desk.client.get("/desk/events")
    await read_event(response, 2)
    assert board.following
    response.close()
    for _ in range(50):
        if not board.following:
            break
        await asyncio.sleep(0.02)
    assert not board.following, "the last view left: the board stopped following"
