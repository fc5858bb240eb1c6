"""Requests reach the standby technician on the real stack (issue 11): Asterisk rings the
technicians' SIP phones, the e-mail goes to a real SMTP server (aiosmtpd), the customer's phone
stands on 127.0.0.2:5090 behind the `trunk` endpoint.

Requests are opened with the real CLI (`ivr requests create`) and by a covered call whose
ladder is exhausted; the real `ivr serve` notifies them (clock at Saturday 28 Nov 10:15,
Marco Bernasconi on standby).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import expect

from ivr.clock import parse_instant
from ivr.config import REPO_DIR
from ivr.routing import load_tables, technicians_on_call
from ivr.store import requests as request_store
from tests.e2e.conftest import (
    SATURDAY_MORNING,
    SMTP_PORT,
    prompt_seconds,
    publish_change,
    run_ivr,
    wait_for_record,
)
from tests.e2e.test_web_console import (
    PASSWORDS,
    ConsoleServer,
    headless_chromium,
    open_tab,
    screenshot_path,
)
from tests.fixtures.smtp import SmtpServer, running_smtp_server
from tests.harness.phones import Phones
from tests.harness.worker import Worker

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker", "clean_asterisk")]

PREMIUM = "+41441234567"  # klinik-seefeld, premium: its number is called back
PRO = "+41912345678"  # studio-lugano, pro: not covered on Saturday, goes to the desk
RINGS_WITHIN = 3.0  # seconds from a new request to the standby technician's phone ringing
TECHNICIAN_PASSWORD = "a technician's long password"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def on_call() -> list[str]:
    """The technicians' phones in the on-call order at the tests' instant."""
    tables = load_tables(REPO_DIR / "routing")
    at = parse_instant(SATURDAY_MORNING, tables.zone)
    return [leg.dial.removeprefix("PJSIP/") for leg in technicians_on_call(tables, at)]


@pytest.fixture
def mail() -> Iterator[SmtpServer]:
    with running_smtp_server(SMTP_PORT) as server:
        yield server


@pytest_asyncio.fixture
async def pstn(phones: Phones) -> AsyncIterator[Phones]:
    """The customer's phone on the public network (127.0.0.2:5090, behind the trunk)."""
    yield phones


async def ivr_requests(settings, *args: str) -> str:
    """Run `ivr requests ...` against the test database; its output."""
    return await run_ivr(settings, "requests", *args)


async def request_when(redis, request_id: int, ready, within: float = 30.0):
    """The request once `ready(request)` holds."""
    deadline = time.monotonic() + within
    while True:
        request = await request_store.get_request(redis, request_id)
        if request is not None and ready(request):
            return request
        if time.monotonic() > deadline:
            raise AssertionError(f"request #{request_id} is still {request}")
        await asyncio.sleep(0.2)


async def test_a_request_made_with_the_cli_rings_the_standby_who_takes_it_with_1(
    phones, redis, stack_settings, mail
):
    standby = on_call()[0]
    await phones.configure(standby, answer_after=0.5, dtmf=[(2.5, "1")], record=True)

    number = int(
        await ivr_requests(
            stack_settings, "create", "--customer", "klinik-seefeld", "--summary", "PBX down"
        )
    )
    created = time.time()

    incoming = await phones.wait_for(standby, "incoming", timeout=10)
    assert incoming.time - created <= RINGS_WITHIN
    assert "Winet hotline" in incoming["from_display"]
    request = await request_when(redis, number, lambda r: r.state == "acknowledged")
    assert request.holder == standby.removeprefix("tech-")
    ended = await phones.wait_for(standby, "disconnected", timeout=20)
    assert ended["answered"] and ended["connected_seconds"] > 2, "the technician heard the request"
    [message] = await mail.wait_for(1)
    assert f"request #{number}" in message["Subject"] and "Klinik Seefeld AG" in message["Subject"]
    assert "PBX down" in message.get_content()
    request = await request_when(redis, number, lambda r: len(r.notifications) == 2)
    assert {(n["channel"], n["result"]) for n in request.notifications} == {
        ("phone", "accepted"),
        ("email", "sent"),
    }
    shown = await ivr_requests(stack_settings, "show", str(number), "--json")
    assert '"state": "acknowledged"' in shown


async def test_nobody_answers_then_the_next_technician_is_rung(
    worker, phones, redis, stack_settings
):
    await publish_change(
        redis, worker, "destinations.toml", "ring_timeout = 20", "ring_timeout = 4"
    )
    first, second = on_call()[:2]
    await phones.configure(first, answer_after=None)
    await phones.configure(second, answer_after=0.5, dtmf=[(2.5, "1")])

    number = int(
        await ivr_requests(
            stack_settings, "create", "--customer", "klinik-seefeld", "--summary", "no dial tone"
        )
    )

    await phones.wait_for(first, "incoming", timeout=RINGS_WITHIN + 2)
    await phones.wait_for(second, "incoming", timeout=15)
    request = await request_when(redis, number, lambda r: r.state == "acknowledged")
    assert request.holder == second.removeprefix("tech-")
    phone_results = [
        (n["to"], n["result"]) for n in request.notifications if n["channel"] == "phone"
    ]
    assert phone_results[0] == (first.removeprefix("tech-"), "no_answer")
    assert request.escalations[0]["to"] == second.removeprefix("tech-")


async def test_2_calls_the_customer_back_and_bridges_them(phones, pstn, redis, stack_settings):
    standby = on_call()[0]
    await phones.configure(standby, answer_after=0.5, dtmf=[(2.5, "2")])
    await pstn.configure("pstn", answer_after=1, hangup_after=4)

    number = int(
        await ivr_requests(
            stack_settings, "create", "--customer", "klinik-seefeld", "--summary", "call me"
        )
    )

    incoming = await pstn.wait_for("pstn", "incoming", timeout=30)
    assert PREMIUM in incoming["request_uri"]
    await pstn.wait_for("pstn", "media", timeout=10)
    ended = await pstn.wait_for("pstn", "disconnected", timeout=15)
    assert ended["answered"] and ended["connected_seconds"] >= 3
    request = await request_when(redis, number, lambda r: r.state == "contacted")
    assert request.first_contact_at is not None
    assert request.acknowledged_at <= request.first_contact_at
    assert [e["kind"] for e in request.history if e["kind"] in ("call_leg", "bridged")][
        -1
    ] == "bridged"
    technician_end = await phones.wait_for(standby, "disconnected", timeout=15)
    assert technician_end["by"] == "remote", "the customer hung up, the bridge ended"


async def test_a_covered_call_nobody_took_opens_a_request_and_rings_the_standby(
    worker, phones, sipp, redis, stack_settings
):
    await publish_change(
        redis, worker, "destinations.toml", "ring_timeout = 20", "ring_timeout = 4"
    )
    ladder = on_call()
    for tech in ladder:
        await phones.configure(tech, answer_after=None)
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=2)

    call = await sipp(PREMIUM, timeout=90)

    assert call.answered
    desk_end = await phones.wait_for("xy-desk", "disconnected", timeout=30)
    record = await wait_for_record(redis, within=30)
    assert record.summary["outcome"] == "desk"
    number = record.summary["callback_request"]
    notified = await phones.wait_for(ladder[0], "incoming", count=2, timeout=10)
    assert notified.time - desk_end.time <= RINGS_WITHIN
    request = await request_store.get_request(redis, number)
    assert (request.source, request.call_id) == ("ladder_exhausted", record.call_id)


def rang_and_acknowledged(request) -> bool:
    phoned = any(n["channel"] == "phone" for n in request.notifications)
    return request.state == "acknowledged" and phoned


async def test_a_request_made_while_the_worker_is_down_is_notified_once_it_is_back(
    worker, phones, redis, stack_settings, mail, tmp_path
):
    standby = on_call()[0]
    await phones.configure(standby, answer_after=0.5, dtmf=[(2.5, "1")])
    second = Worker(
        dataclasses.replace(stack_settings, ari_app="winet-hotline-e2e-2"),
        SATURDAY_MORNING,
        tmp_path,
        IVR_ARI_APP="winet-hotline-e2e-2",
        IVR_SMTP_PORT=str(SMTP_PORT),
    )
    worker.stop()
    try:
        numbers = [
            int(
                await ivr_requests(
                    stack_settings, "create", "--customer", "klinik-seefeld", "--summary", f"#{i}"
                )
            )
            for i in range(2)
        ]
        await asyncio.sleep(1)
        assert phones.events(standby, "incoming") == [], "nobody notifies while no worker runs"
        await asyncio.gather(asyncio.to_thread(worker.start), asyncio.to_thread(second.start))
        for number in numbers:
            # the phone's notification is kept once the technician's call has ended
            await request_when(redis, number, rang_and_acknowledged, within=40)
        await asyncio.sleep(3)  # time for a second notification, if one were to come
    finally:
        second.stop()
        if worker.process is None:
            worker.start()
    assert len(phones.events(standby, "incoming")) == 2, "each request rang once"
    assert len(mail.messages) == 2, "each request was mailed once"
    for number in numbers:
        request = await request_store.get_request(redis, number)
        assert [n["channel"] for n in request.notifications].count("phone") == 1


async def test_the_technician_takes_it_on_the_phone_and_calls_back_from_the_console(
    phones, pstn, redis, stack_settings, tmp_path
):
    standby = on_call()[0]
    technician = standby.removeprefix("tech-")
    await phones.configure(standby, answer_after=0.5, dtmf=[(2.5, "1")])
    await pstn.configure("pstn", answer_after=1, hangup_after=4)
    server = ConsoleServer(
        stack_settings.redis_url,
        tmp_path,
        {"IVR_ALLOW_FAKE_CLOCK": "1", "IVR_NOW": SATURDAY_MORNING, "IVR_LOG_LEVEL": "INFO"},
    )
    await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "ivr",
            "users",
            "add",
            technician,
            "--role",
            "technician",
            "--technician",
            technician,
            "--password-stdin",
        ],
        input=TECHNICIAN_PASSWORD + "\n",
        text=True,
        env=server.environment(),
        cwd=REPO_DIR,
        check=True,
        capture_output=True,
    )
    number = int(
        await ivr_requests(
            stack_settings, "create", "--customer", "klinik-seefeld", "--summary", "no dial tone"
        )
    )
    await request_when(redis, number, lambda r: r.state == "acknowledged")
    await phones.configure(standby, answer_after=0.5)  # the callback: just answer
    server.start()
    try:
        async with headless_chromium() as browser:
            tab = await open_tab(browser)
            page = tab.page
            await page.goto(server.url + "/login")
            await page.fill("input[name=user]", technician)
            await page.fill("input[name=password]", TECHNICIAN_PASSWORD)
            await page.click("button:has-text('Log in')")
            await page.wait_for_load_state()
            await expect(page.locator("table.my-requests")).to_contain_text("no dial tone")
            await page.click(f"table.my-requests a:has-text('#{number}')")
            await page.click("button:has-text('Call the customer back')")
            await expect(page.locator("p.message")).to_contain_text("Your phone rings now")
            await phones.wait_for(standby, "incoming", count=2, timeout=10)
            customer = await pstn.wait_for("pstn", "incoming", timeout=30)
            assert PREMIUM in customer["request_uri"]
            await pstn.wait_for("pstn", "disconnected", timeout=20)
            request = await request_when(redis, number, lambda r: r.state == "contacted")
            assert request.first_contact_at is not None
            await page.reload()
            await page.select_option("select[name=intervention]", "remote")
            await page.fill("input[name=minutes]", "20")
            await page.fill("input[name=note]", "line card reset remotely")
            await page.click("button:has-text('Record the intervention and resolve')")
            await expect(page.locator(".request-state")).to_have_text("resolved")
            await page.screenshot(path=screenshot_path("technician-request.png"), full_page=True)
            assert tab.errors == []
    finally:
        server.stop()
    request = await request_store.get_request(redis, number)
    assert (request.intervention, request.intervention_minutes) == ("remote", 20)
    assert [e["result"] for e in request.history if e["kind"] == "callback"] == ["connected"]


async def test_the_desk_forwards_a_call_and_the_standby_is_rung(
    phones, sipp, redis, stack_settings, tmp_path
):
    standby = on_call()[0]
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=2)
    await phones.configure(standby, answer_after=0.5, dtmf=[(2.5, "1")])
    during_notice = prompt_seconds(stack_settings, "de", "greeting") + 3.0
    call = await sipp(PRO, [(during_notice, "1")])
    assert call.answered
    record = await wait_for_record(redis, caller=PRO)
    assert record.summary["outcome"] == "desk"
    server = ConsoleServer(
        stack_settings.redis_url,
        tmp_path,
        {"IVR_ALLOW_FAKE_CLOCK": "1", "IVR_NOW": SATURDAY_MORNING, "IVR_LOG_LEVEL": "INFO"},
    )
    await asyncio.to_thread(server.add_user, "dan", "desk")
    server.start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await log_in(session, server.url, "dan")
            desk = await (await session.get(server.url + "/desk")).text()
            token = CSRF_META.search(desk).group(1)
            response = await session.post(
                f"{server.url}/desk/calls/{record.call_id}/forward",
                data={"csrf_token": token, "problem": "phones dead after the notice"},
                headers={"Accept": "application/json"},
            )
            assert response.status == 200, await response.text()
            number = (await response.json())["request_id"]
            forwarded = time.time()
    finally:
        server.stop()
    incoming = await phones.wait_for(standby, "incoming", timeout=10)
    assert incoming.time - forwarded <= RINGS_WITHIN
    request = await request_when(redis, number, lambda r: r.state == "acknowledged")
    assert (request.source, request.call_id, request.tier) == ("desk", record.call_id, "pro")
    assert request.summary == "phones dead after the notice"


async def log_in(session: aiohttp.ClientSession, base: str, user: str) -> None:
    form = await (await session.get(base + "/login")).text()
    token = CSRF_FIELD.search(form).group(1)
    response = await session.post(
        base + "/login",
        data={"csrf_token": token, "user": user, "password": PASSWORDS[user]},
        allow_redirects=False,
    )
    assert response.status == 303
