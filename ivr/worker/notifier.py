"""The notifier: in every worker (`ivr serve`), beside the Stasis application, it does the
requests' timed work (`ivr.requests.jobs`) as it falls due on the service clock.

A new request is notified at once: the standby technician's phone rings with the request's
facts, and they get an e-mail. Nobody takes it (no answer, busy, 3, no key): the next
technician of the on-call order is rung, then, after the last one, the round starts again after
`ROUND_PAUSE` (`ROUNDS` rounds). A technician who does not acknowledge the request within the
escalation policy's time (routing/escalation.toml) is passed over for the next one even while
their phone still rings. With the first contact still missing shortly before the due time, the
chief technician is rung and mailed; at the due time the request is marked breached and the
chief and the admins are told. Every call and e-mail is kept in the request's history with its
result. Several workers share the timers: each piece of work is claimed by one of them
(`ivr.store.timers`); work claimed by a worker that dies is taken over when its lease ends.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from redis.exceptions import RedisError

from ivr.ari.call import Call, CallerHungUp, DialFailed
from ivr.conversation import Caller, Conversation
from ivr.flows.request_call import call_back_customer, offer_request
from ivr.requests import jobs
from ivr.requests.call_log import RequestCallLog
from ivr.requests.mail import escalation_mail, request_mail, send_mail
from ivr.requests.model import Request
from ivr.routing import Leg, technicians_on_call
from ivr.store import requests as request_store
from ivr.store import timers
from ivr.worker.runtime import Runtime

log = logging.getLogger(__name__)

# Place a call to an endpoint (dial string, ring seconds, caller ID); the answered Call.
PlaceCall = Callable[[str, float, str], Awaitable[Call]]

POLL_SECONDS = 0.5
LEASE = timedelta(minutes=5)  # longer than any notification call takes before its result
ROUNDS = 3
ROUND_PAUSE = timedelta(minutes=5)


class Notifier:
    def __init__(self, runtime: Runtime, place_call: PlaceCall, *, poll: float = POLL_SECONDS):
        self.runtime = runtime
        self._place_call = place_call
        self._poll = poll
        self._loop: asyncio.Task[None] | None = None
        self._work: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="notifier")

    async def stop(self) -> None:
        """Stop claiming; work under way is cancelled (its timers are taken up again when
        their lease ends)."""
        tasks = [task for task in (self._loop, *self._work) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run_due(self) -> int:
        """Claim the timers due now and start their work; how many."""
        claims = await timers.claim_due(self.runtime.redis, self.runtime.now(), lease=LEASE)
        for claim in claims:
            task = asyncio.create_task(self._do(claim), name=f"timer-{claim.timer.id}")
            self._work.add(task)
            task.add_done_callback(self._work.discard)
        return len(claims)

    async def idle(self) -> None:
        """Wait until the work started so far is done (for tests)."""
        while self._work:
            await asyncio.gather(*self._work, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.run_due()
            except (RedisError, OSError) as error:
                log.warning("cannot read the timers (%s); trying again", error)
            await asyncio.sleep(self._poll)

    async def _do(self, claim: timers.Claim) -> None:
        timer = claim.timer
        data = timer.data
        try:
            if timer.kind == jobs.CALLBACK:
                # A click-to-call may outlast the lease (a long talk with the customer): it is
                # done at most once; a lost one is simply clicked again.
                if await timers.complete(self.runtime.redis, claim):
                    await self.call_back(data["request_id"], data["technician"])
                return
            if timer.kind == request_store.NOTIFY:
                await self.notify(data["request_id"], data["round"], data["position"])
            elif timer.kind == jobs.ACK:
                await self.unacknowledged(data["request_id"], data["round"], data["position"])
            elif timer.kind == jobs.CHIEF:
                await self.warn_chief(data["request_id"])
            elif timer.kind == jobs.BREACH:
                await self.breach(data["request_id"])
            else:
                log.error("timer %s: unknown kind %r, dropped", timer.id, timer.kind)
        except Exception:
            log.exception("timer %s failed; dropped", timer.id)
        await timers.complete(self.runtime.redis, claim)

    async def notify(self, request_id: int, round_: int, position: int) -> None:
        """Tell the technician at `position` of the on-call order, unless someone took it."""
        redis, now = self.runtime.redis, self.runtime.now()
        request = await request_store.get_request(redis, request_id)
        if request is None or request.state != "open":
            return
        if await request_store.notify_step(redis, request_id) != (round_, position):
            return  # moved on meanwhile (the acknowledgement's deadline passed)
        policy = self.runtime.tables.escalation
        order = technicians_on_call(self.runtime.tables, now)
        technician = order[position % len(order)]
        await request_store.set_holder(redis, request_id, technician.id)
        await jobs.expect_ack(redis, request_id, round_, position, now + policy.ack_within)
        mail = asyncio.create_task(self._mail(request, technician))
        result = await self._call(technician, request, offer_request)
        await self._notified(request_id, technician.id, "phone", result)
        await mail
        after = await request_store.get_request(redis, request_id)
        if after is None or after.state != "open":
            return
        await self._move_on(request_id, round_, position, f"{technician.id}: {result}")

    async def unacknowledged(self, request_id: int, round_: int, position: int) -> None:
        """The technician notified at `position` did not acknowledge in time: the next one."""
        request = await request_store.get_request(self.runtime.redis, request_id)
        if request is None or request.state != "open":
            return
        minutes = _minutes(self.runtime.tables.escalation.ack_within)
        reason = f"{request.holder}: not acknowledged within {minutes} minutes"
        await self._move_on(request_id, round_, position, reason)

    async def warn_chief(self, request_id: int) -> None:
        """The first contact is still missing shortly before the due time: the chief."""
        redis = self.runtime.redis
        request = await request_store.get_request(redis, request_id)
        if request is None or not request.active or request.first_contact_at is not None:
            return
        chief = self.runtime.tables.chief
        minutes = _minutes(self.runtime.tables.escalation.chief_before_due)
        reason = f"no first contact {minutes} minutes before the due time"
        await request_store.add_event(
            redis,
            request_id,
            "escalation",
            self.runtime.now(),
            level="chief",
            to=chief.id,
            reason=reason,
        )
        await self._tell_chief(request, reason, ())

    async def breach(self, request_id: int) -> None:
        """The due time passed without a first contact: the request is marked breached, and
        the chief technician and the admins are told."""
        redis = self.runtime.redis
        request = await request_store.get_request(redis, request_id)
        if request is None or not request.active or request.first_contact_at is not None:
            return
        if request.state == "open":
            why = "nobody acknowledged it"
        else:
            why = f"{request.holder} acknowledged it but did not contact the customer"
        reason = f"no first contact by the due time: {why}"
        admins = self.runtime.tables.escalation.admins_email
        chief = self.runtime.tables.chief
        to = chief.id + (" and the admins" if admins else "")
        await request_store.mark_breached(redis, request_id, self.runtime.now(), reason, to)
        await self._tell_chief(request, "first reaction breached, " + reason, admins)

    async def call_back(self, request_id: int, technician: str) -> None:
        """Click-to-call: ring the technician, then the customer, and bridge them."""
        request = await request_store.get_request(self.runtime.redis, request_id)
        leg = self.runtime.tables.technicians.get(technician)
        if request is None or leg is None or not request.callback_number:
            return
        result = await self._call(leg, request, call_back_customer)
        await request_store.add_event(
            self.runtime.redis,
            request_id,
            "callback",
            self.runtime.now(),
            to=technician,
            result=result,
        )

    async def _move_on(self, request_id: int, round_: int, position: int, reason: str) -> None:
        """On to the next technician of the on-call order, or the next round after a pause;
        once, whether the call's result or the acknowledgement's deadline comes first."""
        redis, now = self.runtime.redis, self.runtime.now()
        order = technicians_on_call(self.runtime.tables, now)
        due = None
        if position + 1 < len(order):
            step, level, to = (round_, position + 1), "technician", order[position + 1].id
        elif round_ + 1 < ROUNDS:
            step, level, to = (round_ + 1, 0), "ladder_exhausted", None
            due, reason = now + ROUND_PAUSE, reason + "; again in 5 minutes"
        else:
            step, level, to = (ROUNDS, 0), "ladder_exhausted", None
            reason += "; no more rounds"
        if not await request_store.advance_step(redis, request_id, (round_, position), step):
            return
        await request_store.add_event(
            redis, request_id, "escalation", now, level=level, to=to, reason=reason
        )
        if step[0] < ROUNDS:
            await jobs.notify_next(redis, request_id, *step, due)

    async def _tell_chief(self, request: Request, headline: str, admins: tuple[str, ...]) -> None:
        """Ring the chief technician about `request` (they may take it like a technician) and
        mail them, and the `admins`."""
        chief = self.runtime.tables.chief
        recipients = [f"{chief.name} <{chief.email}>"] if chief.email else []
        runtime = self.runtime
        message = escalation_mail(
            request,
            [*recipients, *admins],
            headline,
            runtime.tables.tier_names.get(request.tier or ""),
            runtime.tables.zone,
            runtime.settings,
        )
        told = chief.id + (" and the admins" if admins else "")
        mail = asyncio.create_task(self._send(request, message, told))
        result = await self._call(chief, request, offer_request)
        await self._notified(request.id, chief.id, "phone", result)
        await mail

    async def _call(
        self,
        technician: Leg,
        request: Request,
        flow: Callable[[Conversation, Request, str], Awaitable[str]],
    ) -> str:
        settings = self.runtime.settings
        caller_id = f'"Winet hotline" <{settings.support_number}>'
        try:
            call = await self._place_call(technician.dial, technician.ring_timeout, caller_id)
        except DialFailed as failure:
            return failure.reason
        talk = self._conversation(call, request)
        try:
            return await flow(talk, request, technician.id)
        except CallerHungUp:
            return "hung_up"
        finally:
            await call.close()

    def _conversation(self, call: Call, request: Request) -> Conversation:
        """The technician's call: the hotline is its caller (its number goes to the customer)."""
        runtime = self.runtime
        record: Any = RequestCallLog(runtime.redis, request.id, call.channel_id, runtime.now)
        talk = Conversation(call, runtime, record, runtime.tables.hotline.default_language)
        talk.caller = Caller(runtime.settings.support_number, None, "no")
        return talk

    async def _mail(self, request: Request, technician: Leg) -> None:
        if technician.email is None:
            return
        runtime = self.runtime
        tier_name = runtime.tables.tier_names.get(request.tier or "")
        message = request_mail(
            request, technician, tier_name, runtime.tables.zone, runtime.settings
        )
        await self._send(request, message, technician.id)

    async def _send(self, request: Request, message: EmailMessage, to: str) -> None:
        """Send the mail and keep its result in the request's history."""
        try:
            await send_mail(self.runtime.settings, message)
            result = "sent"
        except (OSError, smtplib.SMTPException) as error:
            log.warning("request %s: e-mail to %s failed: %s", request.id, message["To"], error)
            result = f"failed: {error}"
        await self._notified(request.id, to, "email", result)

    async def _notified(self, request_id: int, to: str, channel: str, result: str) -> None:
        await request_store.add_event(
            self.runtime.redis,
            request_id,
            "notification",
            self.runtime.now(),
            to=to,
            channel=channel,
            result=result,
        )


def _minutes(duration: timedelta) -> str:
    return f"{duration.total_seconds() / 60:g}"
