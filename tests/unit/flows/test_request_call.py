"""A request reaching the technicians (`ivr.worker.notifier`, `ivr.flows.request_call`) as
scripted calls, with a real Redis and a real SMTP server (aiosmtpd): who is rung, what they
hear, what each key does, what the request keeps. The same paths run on the real stack in
tests/e2e/test_requests.py."""

from __future__ import annotations

import dataclasses

import pytest

from ivr.ari.call import DialFailed
from ivr.requests import jobs
from ivr.requests.create import open_request
from ivr.routing import technicians_on_call
from ivr.store import requests as request_store
from ivr.store import timers
from ivr.worker.notifier import ROUND_PAUSE, Notifier
from ivr.worker.runtime import Runtime
from tests.unit.flows.scripted import ACCEPTS, GONE_AT_ONCE, Press, Script, ScriptedCall

CUSTOMER_LINE = "PJSIP/+41441234567@trunk"  # klinik-seefeld's number, through the trunk


class Phones:
    """Places the notifier's calls as scripted calls: each technician's phone has a script,
    one not scripted does not answer."""

    def __init__(self, runtime: Runtime, scripts: dict[str, Script]) -> None:
        self.runtime = runtime
        self.scripts = scripts
        self.rung: list[str] = []
        self.calls: list[ScriptedCall] = []

    async def place(self, endpoint: str, ring: float, caller_id: str) -> ScriptedCall:
        self.rung.append(endpoint)
        script = self.scripts.get(endpoint)
        if script is None:
            self.runtime.clock.advance(ring)
            raise DialFailed("no_answer", endpoint)
        call = ScriptedCall(script, self.runtime.clock)
        self.calls.append(call)
        return call


@pytest.fixture
def order(runtime):
    """The technicians' phones in the on-call order (Saturday 28 Nov: Marco on standby)."""
    return [leg.dial for leg in technicians_on_call(runtime.tables, runtime.now())]


def tech(dial: str) -> str:
    return dial.removeprefix("PJSIP/tech-")


@pytest.fixture
def mailing_runtime(runtime, smtp_server):
    runtime.settings = dataclasses.replace(runtime.settings, smtp_port=smtp_server.port)
    return runtime


async def new_request(runtime, summary="PBX down since 22:00"):
    return await open_request(
        runtime.redis,
        runtime.tables,
        summary=summary,
        source="cli",
        created_by="test",
        now=runtime.now(),
        customer_id="klinik-seefeld",
    )


async def notify(runtime, phones: Phones) -> request_store.Request:
    notifier = Notifier(runtime, phones.place)
    while await notifier.run_due():
        await notifier.idle()
    return await request_store.get_request(runtime.redis, 1)


async def notification_timers(runtime) -> list[tuple[timers.Timer, float]]:
    """The timers pending but the escalation deadlines (`jobs.ACK`, `CHIEF`, `BREACH`)."""
    deadlines = (jobs.ACK, jobs.CHIEF, jobs.BREACH)
    return [
        entry for entry in await timers.pending(runtime.redis) if entry[0].kind not in deadlines
    ]


async def test_the_standby_technician_hears_the_request_and_takes_it_with_1(
    mailing_runtime, order, smtp_server
):
    runtime = mailing_runtime
    phones = Phones(runtime, {order[0]: Script(presses=[Press("request/choices", "1")])})
    created = await new_request(runtime)
    request = await notify(runtime, phones)
    assert phones.rung == [order[0]]
    heard = phones.calls[0].prompts_heard
    assert heard[0] == "request/intro" and heard[1].startswith("phrase/")
    assert heard[2:] == ["request/choices", "request/accepted"]
    assert (request.state, request.holder) == ("acknowledged", tech(order[0]))
    assert request.acknowledged_at is not None and request.first_contact_at is None
    results = {(n["channel"], n["result"]) for n in request.notifications}
    assert results == {("phone", "accepted"), ("email", "sent")}
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == "Marco Bernasconi <marco.bernasconi@winet.example>"
    assert f"request #{created.id}: Klinik Seefeld AG" in mail["Subject"]
    body = mail.get_content()
    assert "PBX down since 22:00" in body and "+41441234567" in body
    assert "winCall premium" in body
    assert await notification_timers(runtime) == []


async def test_nobody_answers_then_the_next_technician_is_rung(runtime, order):
    phones = Phones(runtime, {order[1]: Script(presses=[Press("request/choices", "1")])})
    await new_request(runtime)
    request = await notify(runtime, phones)
    assert phones.rung == order[:2]
    assert request.holder == tech(order[1])
    assert [(n["to"], n["result"]) for n in request.notifications if n["channel"] == "phone"] == [
        (tech(order[0]), "no_answer"),
        (tech(order[1]), "accepted"),
    ]
    assert request.escalations[0]["level"] == "technician"
    assert request.escalations[0]["to"] == tech(order[1])


async def test_3_passes_it_on_and_after_the_last_one_the_round_starts_again_later(runtime, order):
    passing = {dial: Script(presses=[Press("request/choices", "3")]) for dial in order}
    phones = Phones(runtime, passing)
    await new_request(runtime)
    request = await notify(runtime, phones)
    assert phones.rung == order
    assert request.state == "open"
    assert request.escalations[-1]["level"] == "ladder_exhausted"
    [(timer, due)] = await notification_timers(runtime)
    assert timer.data == {"request_id": 1, "round": 1, "position": 0}
    assert due == pytest.approx((runtime.now() + ROUND_PAUSE).timestamp(), abs=60)


async def test_2_takes_it_and_bridges_the_customer_which_is_the_first_contact(runtime, order):
    script = Script(presses=[Press("request/choices", "2")], legs={CUSTOMER_LINE: ACCEPTS})
    phones = Phones(runtime, {order[0]: script})
    await new_request(runtime)
    request = await notify(runtime, phones)
    call = phones.calls[0]
    assert call.dialled[0][0] == CUSTOMER_LINE
    assert call.bridged_with == [CUSTOMER_LINE]
    assert request.state == "contacted"
    assert request.first_contact_at is not None
    assert request.first_contact_at >= request.acknowledged_at
    assert [e["kind"] for e in request.history if e["kind"] in ("call_leg", "bridged")] == [
        "call_leg",
        "bridged",
    ]


async def test_the_customer_not_answering_leaves_the_request_acknowledged(runtime, order):
    phones = Phones(runtime, {order[0]: Script(presses=[Press("request/choices", "2")])})
    await new_request(runtime)
    request = await notify(runtime, phones)
    assert phones.calls[0].prompts_heard[-1] == "request/customer_unreachable"
    assert (request.state, request.first_contact_at) == ("acknowledged", None)


async def test_a_customer_gone_as_they_answer_is_unreachable_for_the_technician(runtime, order):
    script = Script(presses=[Press("request/choices", "2")], legs={CUSTOMER_LINE: GONE_AT_ONCE})
    phones = Phones(runtime, {order[0]: script})
    await new_request(runtime)
    await notify(runtime, phones)
    assert phones.calls[0].bridged_with == [CUSTOMER_LINE]
    assert phones.calls[0].prompts_heard[-1] == "request/customer_unreachable"


async def test_a_request_taken_meanwhile_is_not_rung_again(runtime, order):
    await new_request(runtime)
    await request_store.act(runtime.redis, 1, "ack", by="lea", technician="lea", now=runtime.now())
    phones = Phones(runtime, {})
    request = await notify(runtime, phones)
    assert phones.rung == [] and request.holder == "lea"
    pending = sorted(timer.id for timer, _ in await timers.pending(runtime.redis))
    assert pending == ["breach:1", "chief:1"], "only its first reaction is still watched"


async def test_an_smtp_server_that_is_down_is_recorded_and_the_phone_still_rings(runtime, order):
    runtime.settings = dataclasses.replace(runtime.settings, smtp_port=1)
    phones = Phones(runtime, {order[0]: Script(presses=[Press("request/choices", "1")])})
    await new_request(runtime)
    request = await notify(runtime, phones)
    [mail] = [n for n in request.notifications if n["channel"] == "email"]
    assert mail["result"].startswith("failed:")
    assert request.state == "acknowledged"


async def test_two_notifiers_never_notify_twice(mailing_runtime, order, smtp_server):
    runtime = mailing_runtime
    phones = Phones(runtime, {order[0]: Script(presses=[Press("request/choices", "1")])})
    await new_request(runtime)
    first, second = Notifier(runtime, phones.place), Notifier(runtime, phones.place)
    claimed = [await first.run_due(), await second.run_due()]
    await first.idle()
    assert claimed == [1, 0]
    assert phones.rung == [order[0]]
    assert len(await smtp_server.wait_for(1)) == 1


async def test_click_to_call_rings_the_technician_then_the_customer(runtime, order):
    await new_request(runtime)
    holder = tech(order[0])
    await request_store.act(
        runtime.redis, 1, "ack", by=holder, technician=holder, now=runtime.now()
    )
    await jobs.call_back(runtime.redis, 1, holder)  # the notification is skipped: it is taken
    phones = Phones(runtime, {order[0]: Script(legs={CUSTOMER_LINE: ACCEPTS})})
    request = await notify(runtime, phones)
    assert phones.rung == [order[0]]
    assert phones.calls[0].prompts_heard[0] == "request/callback"
    assert phones.calls[0].bridged_with == [CUSTOMER_LINE]
    assert request.state == "contacted"
    assert (
        request.history[-1]["kind"] == "callback" and request.history[-1]["result"] == "connected"
    )
