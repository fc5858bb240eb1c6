"""Escalation of a request (`ivr.worker.notifier`, routing/escalation.toml) with scripted
phones, a real Redis and a real SMTP server: a technician who does not acknowledge in time is
passed over once; the chief is rung before the due time; at the due time the request is marked
breached and the chief and the admins are told."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from ivr.requests import jobs
from ivr.store import requests as request_store
from ivr.store import timers
from ivr.worker.notifier import Notifier
from tests.unit.flows.scripted import Press, Script
from tests.unit.flows.test_request_call import Phones, new_request, notify, order, tech  # noqa: F401

CHIEF_PHONE = "PJSIP/tech-lea"


@pytest.fixture
def mailing_runtime(runtime, smtp_server):
    runtime.settings = dataclasses.replace(runtime.settings, smtp_port=smtp_server.port)
    return runtime


async def test_the_first_notification_sets_the_deadlines_of_the_policy(runtime, order):  # noqa: F811
    created = await new_request(runtime)
    taking = {order[0]: Script(presses=[Press("request/choices", "1")])}
    await notify(runtime, Phones(runtime, taking))
    policy = runtime.tables.escalation
    due = {timer.id: score for timer, score in await timers.pending(runtime.redis)}
    assert due["chief:1"] == (created.first_reaction_due - policy.chief_before_due).timestamp()
    assert due["breach:1"] == created.first_reaction_due.timestamp()
    assert due["ack:1:0:0"] == pytest.approx(
        (created.created_at + policy.ack_within).timestamp(), abs=60
    )


async def test_not_acknowledged_in_time_moves_on_once(runtime, order):  # noqa: F811
    await new_request(runtime)
    await request_store.set_holder(runtime.redis, 1, tech(order[0]))
    phones = Phones(runtime, {order[1]: Script(presses=[Press("request/choices", "1")])})
    notifier = Notifier(runtime, phones.place)

    await notifier.unacknowledged(1, 0, 0)
    await notifier.unacknowledged(1, 0, 0)  # a second worker, or the first call's no answer
    while await notifier.run_due():
        await notifier.idle()

    request = await request_store.get_request(runtime.redis, 1)
    [moved] = request.escalations
    assert (moved["level"], moved["to"]) == ("technician", tech(order[1]))
    assert moved["reason"] == f"{tech(order[0])}: not acknowledged within 10 minutes"
    assert phones.rung == [order[1]], "the stale first notification rang nobody"
    assert (request.state, request.holder) == ("acknowledged", tech(order[1]))


async def test_the_chief_is_rung_and_mailed_while_the_first_contact_is_missing(
    mailing_runtime, smtp_server
):
    runtime = mailing_runtime
    await new_request(runtime)
    phones = Phones(runtime, {})
    await Notifier(runtime, phones.place).warn_chief(1)

    request = await request_store.get_request(runtime.redis, 1)
    assert phones.rung == [CHIEF_PHONE]
    [escalation] = request.escalations
    assert (escalation["level"], escalation["to"]) == ("chief", "lea")
    assert escalation["reason"] == "no first contact 20 minutes before the due time"
    assert {(n["to"], n["channel"], n["result"]) for n in request.notifications} == {
        ("lea", "phone", "no_answer"),
        ("lea", "email", "sent"),
    }
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == "Lea Favre <lea.favre@winet.example>"
    assert "escalated" in mail["Subject"] and "PBX down" in mail.get_content()


async def test_at_the_due_time_the_request_is_breached_and_chief_and_admins_told(
    mailing_runtime, smtp_server
):
    runtime = mailing_runtime
    created = await new_request(runtime)
    runtime.clock.advance((created.first_reaction_due - runtime.now()).total_seconds() + 1)
    await request_store.act(
        runtime.redis, 1, "ack", by="anna", technician="anna", now=runtime.now()
    )
    phones = Phones(runtime, {})
    await Notifier(runtime, phones.place).breach(1)

    request = await request_store.get_request(runtime.redis, 1)
    assert request.breached_at is not None and request.breached(runtime.now())
    assert request.breach_reason == (
        "no first contact by the due time: anna acknowledged it but did not contact the customer"
    )
    assert request.escalations[-1]["level"] == "breach"
    assert phones.rung == [CHIEF_PHONE]
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == "Lea Favre <lea.favre@winet.example>, hotline-admins@winet.example"
    assert "first reaction breached" in mail["Subject"]


async def test_a_request_contacted_in_time_is_neither_escalated_nor_breached(runtime):
    await new_request(runtime)
    await request_store.act(runtime.redis, 1, "contact", by="anna", now=runtime.now())
    phones = Phones(runtime, {})
    notifier = Notifier(runtime, phones.place)
    await notifier.warn_chief(1)
    await notifier.breach(1)
    request = await request_store.get_request(runtime.redis, 1)
    assert phones.rung == [] and request.escalations == []
    assert request.breached_at is None


async def test_deadline_timers_fire_on_the_service_clock(runtime):
    created = await new_request(runtime)
    await jobs.watch_first_reaction(runtime.redis, 1, created.first_reaction_due, timedelta(0))
    notifier = Notifier(runtime, Phones(runtime, {}).place)
    runtime.clock.advance((created.first_reaction_due - runtime.now()).total_seconds() - 5)
    await notifier.run_due()  # only the first notification is due
    await notifier.idle()
    assert (await request_store.get_request(runtime.redis, 1)).breached_at is None
    runtime.clock.advance(6)
    while await notifier.run_due():
        await notifier.idle()
    assert (await request_store.get_request(runtime.redis, 1)).breached_at is not None
