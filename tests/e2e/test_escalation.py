"""Escalation to the 3rd level, major incidents and the first-reaction report on the real
stack (issue 12): the real `ivr serve` rings the technicians' and the chief's SIP phones on
the durable timers, mails through a real SMTP server (aiosmtpd), and the real CLI declares
incidents and prints the report. Timeouts are shortened by publishing edited tables.

The worker's clock runs on from SATURDAY_MORNING since it started: the CLI runs at the
worker's current instant (`worker_now`), so due times and timers agree.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from ivr.clock import parse_instant
from ivr.config import REPO_DIR
from ivr.routing import load_tables
from tests.e2e.conftest import (
    SATURDAY_MORNING,
    SMTP_PORT,
    prompt_seconds,
    publish_change,
    run_ivr,
    wait_for_record,
)
from tests.e2e.test_requests import on_call, request_when
from tests.fixtures.smtp import SmtpServer, running_smtp_server
from tests.harness.worker import Worker

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker", "clean_asterisk")]

PRO = "+41912345678"  # studio-lugano, pro, speaks Italian: not covered on Saturday
CHIEF = "tech-lea"  # the chief technician's phone (routing/rota.toml [chief])


@pytest.fixture
def mail() -> Iterator[SmtpServer]:
    with running_smtp_server(SMTP_PORT) as server:
        yield server


def worker_now(worker: Worker) -> str:
    """The instant the worker's clock shows now."""
    zone = load_tables(REPO_DIR / "routing").zone
    start = parse_instant(SATURDAY_MORNING, zone)
    return (start + timedelta(seconds=time.time() - worker.started)).isoformat()


async def ivr(settings, now: str, *args: str) -> str:
    """Run `ivr ...` against the test database at `now`; its output."""
    return await run_ivr(settings, *args, now=now)


async def test_no_acknowledgement_in_time_rings_the_next_technician(
    worker, phones, redis, stack_settings
):
    await publish_change(
        redis, worker, "escalation.toml", "ack_within_minutes = 10", "ack_within_minutes = 0.1"
    )
    first, second = on_call()[:2]
    await phones.configure(first, answer_after=None)  # rings on for 20 s, never answered
    await phones.configure(second, answer_after=0.5, dtmf=[(1.5, "1")])  # well within 6 s

    number = int(
        await ivr(
            stack_settings,
            worker_now(worker),
            *("requests", "create", "--customer", "klinik-seefeld", "--summary", "no line"),
        )
    )

    rung_first = await phones.wait_for(first, "incoming", timeout=5)
    rung_second = await phones.wait_for(second, "incoming", timeout=15)
    assert 5 < rung_second.time - rung_first.time < 15, "the first phone was still ringing"
    request = await request_when(redis, number, lambda r: r.state == "acknowledged")
    assert request.holder == second.removeprefix("tech-")
    [moved_on] = [e for e in request.escalations if e["level"] == "technician"]
    assert moved_on["to"] == second.removeprefix("tech-")
    assert (
        moved_on["reason"] == f"{first.removeprefix('tech-')}: not acknowledged within 0.1 minutes"
    )
    await phones.wait_for(first, "disconnected", timeout=25)
    await asyncio.sleep(1)
    request = await request_when(redis, number, lambda r: r.state == "acknowledged")
    assert len(request.escalations) == 1, "the first phone's no answer moved nothing on again"


async def test_the_chief_is_rung_before_the_due_time_and_told_with_the_admins_at_the_breach(
    worker, phones, redis, stack_settings, mail
):
    await publish_change(
        redis, worker, "destinations.toml", "ring_timeout = 20", "ring_timeout = 4"
    )
    await publish_change(redis, worker, "destinations.toml", '["anna", "marco", "lea"]', '["anna"]')
    await publish_change(redis, worker, "tiers.toml", "hours = 1 }", "hours = 0.006 }")  # 21.6 s
    await publish_change(
        redis,
        worker,
        "escalation.toml",
        "chief_before_due_minutes = 20",
        "chief_before_due_minutes = 0.2",  # the chief 12 s before the due time
    )
    ladder = on_call()[:2]  # marco, anna: neither answers
    assert CHIEF not in ladder
    for phone in (*ladder, CHIEF):
        await phones.configure(phone, answer_after=None)

    number = int(
        await ivr(
            stack_settings,
            worker_now(worker),
            *("requests", "create", "--customer", "klinik-seefeld", "--summary", "PBX down"),
        )
    )

    await phones.wait_for(ladder[1], "incoming", timeout=10)
    await phones.wait_for(CHIEF, "incoming", timeout=20)
    request = await request_when(redis, number, lambda r: r.breached_at is not None, within=30)
    levels = [(e["level"], e["to"]) for e in request.escalations]
    assert ("chief", "lea") in levels
    assert levels[-1] == ("breach", "lea and the admins")
    assert request.breach_reason == "no first contact by the due time: nobody acknowledged it"
    await phones.wait_for(CHIEF, "incoming", count=2, timeout=10)
    messages = await mail.wait_for(4, within=20)
    [breach_mail] = [m for m in messages if "breached" in m["Subject"]]
    assert f"request #{number} escalated" in breach_mail["Subject"]
    assert "lea.favre@winet.example" in breach_mail["To"]
    assert "hotline-admins@winet.example" in breach_mail["To"]
    assert any("lea.favre" in m["To"] and "before the due time" in m["Subject"] for m in messages)

    shown = json.loads(
        await ivr(stack_settings, worker_now(worker), "requests", "show", str(number), "--json")
    )
    assert shown["breached"] is True
    report = json.loads(
        await ivr(
            stack_settings, worker_now(worker), "report", "sla", "--month", "2026-11", "--json"
        )
    )
    assert (report["requests"], report["missed"], report["met"]) == (1, 1, 0)
    assert [b["request_id"] for b in report["breaches"]] == [number]


async def test_a_declared_incident_is_announced_after_the_greeting_until_it_ends(
    worker, phones, sipp, redis, stack_settings
):
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=1)
    await ivr(stack_settings, worker_now(worker), "incident", "declare", "--summary", "DNS down")
    during_notice = (
        prompt_seconds(stack_settings, "de", "greeting")
        + prompt_seconds(stack_settings, "it", "incident")
        + 3.0
    )
    call = await sipp(PRO, [(during_notice, "2")])
    assert call.answered
    record = await wait_for_record(redis, caller=PRO)
    prompts = [(e["ids"], e["lang"]) for e in record.events if e["kind"] == "prompt"]
    assert prompts[:2] == [(["greeting"], "de"), (["incident"], "it")]

    ended = json.loads(await ivr(stack_settings, worker_now(worker), "incident", "end", "--json"))
    assert ended["ended_at"] is not None
    call = await sipp(PRO, [(prompt_seconds(stack_settings, "de", "greeting") + 3.0, "2")])
    assert call.answered
    record = await wait_for_record(redis, caller=PRO)
    prompts = [e["ids"] for e in record.events if e["kind"] == "prompt"]
    assert prompts[0] == ["greeting"]
    assert ["incident"] not in prompts


async def test_a_recorded_intervention_uses_a_free_unit_and_the_next_notice_says_so(
    worker, phones, sipp, redis, stack_settings
):
    async def notice_heard() -> str:
        call = await sipp(PRO, [(prompt_seconds(stack_settings, "de", "greeting") + 3.0, "2")])
        assert call.answered
        return (await wait_for_record(redis, caller=PRO)).summary["notice_text"]

    assert "ne ha ancora una a disposizione" in await notice_heard()  # pro: one unit a month

    now = worker_now(worker)
    number = await ivr(
        stack_settings, now, "requests", "create", "--customer", "studio-lugano", "--summary", "x"
    )
    await ivr(stack_settings, now, "requests", "ack", number, "--technician", "marco")
    resolved = await ivr(
        stack_settings, now, "requests", "resolve", number, "--intervention", "remote",
        "--minutes", "20", "--json",
    )  # fmt: skip
    assert "free_unit" in [event["kind"] for event in json.loads(resolved)["history"]]

    after = await notice_heard()
    assert "Questo mese non ne ha più a disposizione." in after
    assert "Un intervento Le sarà quindi fatturato." in after
