"""The major incident in the console: declared and ended by an admin or the chief technician
(not by another technician or the desk), the banner on the desk view, attaching a request, and
the month's first-reaction report."""

from __future__ import annotations

import pytest_asyncio

from ivr.store import incidents, requests, users
from ivr.web.accounts import hash_password
from tests.unit.web.conftest import NOW
from tests.unit.web.test_web_requests import customers, open_one  # noqa: F401 - fixture

PASSWORD = "a technician's long password"


async def technician(console, name: str):
    await users.save_user(
        console.redis, name, "technician", hash_password(PASSWORD), now=NOW, technician=name
    )
    browser = await console.client()
    assert (await browser.log_in(name, PASSWORD)).status == 303
    return browser


@pytest_asyncio.fixture
async def chief(console):
    """Lea Favre: the chief technician of routing/rota.toml."""
    return await technician(console, "lea")


async def test_the_chief_declares_an_incident_the_desk_sees_the_banner_and_it_ends(
    console, chief, desk
):
    assert "incident-banner" not in await desk.page("/desk")
    declared = await chief.post("/incident/declare", {"summary": "DNS resolution fails"})
    assert declared.status == 303
    incident = await incidents.active(console.redis)
    assert (incident.summary, incident.declared_by) == ("DNS resolution fails", "lea")
    assert "DNS resolution fails" in await desk.page("/desk")
    assert (await chief.post("/incident/declare", {"summary": "again"})).status == 409

    assert (await chief.post("/incident/end", {})).status == 303
    assert await incidents.active(console.redis) is None
    assert "incident-banner" not in await desk.page("/desk")


async def test_only_admins_and_the_chief_declare(console, admin, desk):
    marco = await technician(console, "marco")
    assert (await marco.post("/incident/declare", {"summary": "x"})).status == 403
    assert (await desk.post("/incident/declare", {"summary": "x"})).status == 403
    assert await incidents.active(console.redis) is None
    empty = await admin.post("/incident/declare", {"summary": "  "})
    assert empty.status == 409 and "summary is empty" in await empty.text()
    assert (await admin.post("/incident/declare", {"summary": "SIP trunk down"})).status == 303


async def test_a_request_is_attached_to_the_incident(console, admin, desk, customers):  # noqa: F811
    number = await open_one(desk)
    refused = await admin.post(f"/requests/{number}/incident", {})
    assert refused.status == 409 and "no major incident" in await refused.text()
    await admin.post("/incident/declare", {"summary": "SIP trunk down"})
    assert (await admin.post(f"/requests/{number}/incident", {})).status == 303
    request = await requests.get_request(console.redis, number)
    assert request.incident == 1 and request.history[-1]["kind"] == "incident"
    assert f"#{number} PBX down" in await admin.page("/incident")


async def test_the_sla_page_counts_the_months_requests(console, admin, desk, customers):  # noqa: F811
    await open_one(desk)
    page = await admin.page("/admin/reports/sla?month=2026-11")
    assert '<dd class="sla-requests">1</dd>' in page
    bad = await admin.get("/admin/reports/sla?month=November")
    assert bad.status == 422
