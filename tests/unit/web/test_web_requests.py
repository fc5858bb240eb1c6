"""Requests in the console: a technician's own requests, acknowledging, click-to-call, the
first contact, the intervention and the resolution; opening one by hand; who may do what."""

from __future__ import annotations

import pytest_asyncio

from ivr.customers.demo import load_demo_customers
from ivr.store import requests, timers, users
from ivr.web.accounts import hash_password
from tests.unit.web.conftest import NOW

PASSWORD = "marco's long password"


@pytest_asyncio.fixture
async def marco(console):
    """Marco Bernasconi, on standby on Saturday 28 Nov, logged in as a technician."""
    await users.save_user(
        console.redis, "marco", "technician", hash_password(PASSWORD), now=NOW, technician="marco"
    )
    browser = await console.client()
    assert (await browser.log_in("marco", PASSWORD)).status == 303
    return browser


@pytest_asyncio.fixture
async def customers(console):
    tiers = {"premium", "pro-plus", "pro", "basic-plus", "basic"}
    await load_demo_customers(console.redis, pin_key=b"k", known_tiers=tiers)


async def open_one(desk, summary="PBX down") -> int:
    response = await desk.post(
        "/requests/new",
        {"customer": "klinik-seefeld", "summary": summary},
        headers={"Accept": "application/json"},
    )
    assert response.status == 200, await response.text()
    return (await response.json())["request_id"]


async def test_a_desk_agent_opens_a_request_by_hand_and_its_notification_is_due(
    console, desk, customers
):
    number = await open_one(desk)
    request = await requests.get_request(console.redis, number)
    assert (request.source, request.created_by, request.holder) == ("console", "dan", "marco")
    assert request.callback_number == "+41441234567"
    pending = [timer.id for timer, _ in await timers.pending(console.redis)]
    assert pending[0] == f"notify:{number}:0:0"
    assert sorted(pending[1:]) == [f"breach:{number}", f"chief:{number}"], "escalation is due"
    refused = await desk.post("/requests/new", {"customer": "nobody", "summary": "x"})
    assert refused.status == 422 and "no customer" in await refused.text()


async def test_the_technician_sees_acknowledges_calls_back_and_resolves(
    console, desk, marco, customers
):
    number = await open_one(desk)
    page = await marco.page("/requests/mine")
    assert f'href="/requests/{number}"' in page and "PBX down" in page

    assert (await marco.post(f"/requests/{number}/ack", {})).status == 303
    page = await marco.page(f"/requests/{number}?msg=acknowledged")
    assert "the request is yours" in page and "Call the customer back" in page

    assert (await marco.post(f"/requests/{number}/callback", {})).status == 303
    callbacks = [t for t, _ in await timers.pending(console.redis) if t.kind == "callback"]
    assert [t.data for t in callbacks] == [{"request_id": number, "technician": "marco"}]

    assert (await marco.post(f"/requests/{number}/contact", {})).status == 303
    resolved = await marco.post(
        f"/requests/{number}/resolve",
        {"intervention": "on_site", "minutes": "75", "note": "PSU replaced"},
    )
    assert resolved.status == 303
    request = await requests.get_request(console.redis, number)
    assert request.state == "resolved"
    assert (request.intervention, request.intervention_minutes) == ("on_site", 75)
    assert request.resolution == "PSU replaced"
    page = await marco.page(f"/requests/{number}")
    assert "on site, 75 min" in page and "PSU replaced" in page


async def test_a_technician_may_not_act_on_anothers_request(console, desk, marco, customers):
    number = await open_one(desk)
    await requests.act(console.redis, number, "ack", by="lea", technician="lea", now=NOW)
    for action in ("contact", "callback", "resolve"):
        response = await marco.post(f"/requests/{number}/{action}", {"note": "x"})
        assert response.status == 403 and "held by lea" in await response.text()
    again = await marco.post(f"/requests/{number}/ack", {})
    assert again.status == 409 and "is acknowledged by lea" in await again.text()


async def test_resolving_needs_a_note_and_whole_minutes(console, desk, admin, customers):
    number = await open_one(desk)
    await admin.post(f"/requests/{number}/ack", {})
    for form, reason in (
        ({"note": ""}, "resolution note"),
        ({"note": "x", "intervention": "remote", "minutes": "ten"}, "whole number"),
        ({"note": "x", "intervention": "phone", "minutes": "3"}, "unknown intervention"),
    ):
        response = await admin.post(f"/requests/{number}/resolve", form)
        assert response.status in (409, 422) and reason in await response.text()
    assert (await requests.get_request(console.redis, number)).state == "acknowledged"


async def test_roles_keep_the_technician_out_of_the_admin_and_desk_pages(marco, desk):
    assert (await marco.get("/admin/requests")).status == 403
    assert (await marco.get("/desk")).status == 403
    assert (await desk.get("/requests/mine")).status == 403
