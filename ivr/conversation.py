"""One caller's conversation with the hotline: the verbs every call flow awaits.

A flow says prompts, asks for digits, offers a choice of keys, puts the caller on hold, dials
a leg of the routing ladder and bridges it, or leaves for the dialplan. Each verb records
what it did in the call's record; the ARI plumbing below (`ivr.ari.call.Call`) knows nothing
of customers. The caller's hang-up surfaces as `CallerHungUp` from any verb.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ivr.ari.call import Bridge, Call, CallerHungUp, DialFailed
from ivr.calls.record import CallRecorder
from ivr.customers.model import Customer
from ivr.prompts.installed import media_uri
from ivr.routing import Decision, Leg
from ivr.store.call_facts import CallFacts
from ivr.worker.runtime import Runtime

MEDIA_PREFIX = media_uri("")  # "sound:winet/": what the record leaves out of each prompt id
# The desk queue in the dialplan (dialplan/extensions.conf): the context the caller's channel
# waits in, the variable that carries the call's context there, and the label where a caller
# who did not take the call-back offer goes back to their place in the queue.
DESK_CONTEXT = "desk-queue"
DESK_CONTEXT_VARIABLE = "WINET_DESK"
DESK_CONTEXT_HEADERS = (
    "X-Winet-Customer",
    "X-Winet-Tier",
    "X-Winet-Covered",
    "X-Winet-Identified",
    "X-Winet-Consent",
    "X-Winet-Call",
)
DESK_REJOIN = "rejoin"
DIALPLAN_UNSAFE = re.compile(r"[^A-Za-z0-9 +:;.=@_-]")


@dataclass(frozen=True)
class Caller:
    """Who is calling: their number (E.164, None when withheld) and, once known, the customer."""

    number: str | None
    customer: Customer | None
    identified_by: str  # "caller_id", "pin" or "no"


@dataclass(frozen=True)
class Prompt:
    """Media to play in one language; `text` is what a composed prompt says, for the record."""

    media: tuple[str, ...]
    lang: str
    text: str | None = None


@dataclass
class Conversation:
    call: Call
    runtime: Runtime
    record: CallRecorder
    lang: str
    caller: Caller | None = None
    decision: Decision | None = None
    consent: str = "not asked"
    # technicians who passed the call on before its worker died (a call taken over)
    ladder_passed: frozenset[str] = frozenset()
    language_chosen: bool = False  # by the caller in the language menu
    outcome: str = "abandoned"  # technician, desk, withdrawn, desk_unreachable, abandoned
    hangup_side: str | None = None  # caller, technician, desk, hotline
    _facts: CallFacts | None = None

    async def facts(self) -> CallFacts:
        """The customers, free units and incident, as one snapshot for the whole call."""
        if self._facts is None:
            self._facts = await self.runtime.call_facts()
        return self._facts

    @property
    def customer(self) -> Customer | None:
        return self.caller.customer if self.caller else None

    def prompt(self, *prompt_ids: str, lang: str | None = None) -> Prompt:
        """Catalogue prompts in the caller's language (or `lang`)."""
        return Prompt(tuple(map(media_uri, prompt_ids)), lang or self.lang)

    async def answer(self) -> None:
        await self.call.answer()

    async def say(self, *prompt_ids: str) -> None:
        """Play catalogue prompts in the caller's language."""
        await self.play(self.prompt(*prompt_ids))

    async def play(self, prompt: Prompt) -> None:
        await self._heard(prompt)
        await self.call.play(*prompt.media, lang=prompt.lang)

    async def ask(
        self,
        prompt_id: str,
        *,
        max_digits: int,
        first_digit_timeout: float,
        inter_digit_timeout: float,
        terminator: str = "#",
    ) -> str:
        """Play a prompt and collect keys; a key pressed during the prompt counts."""
        prompt = self.prompt(prompt_id)
        await self._heard(prompt)
        return await self.call.collect_digits(
            max_digits=max_digits,
            first_digit_timeout=first_digit_timeout,
            inter_digit_timeout=inter_digit_timeout,
            terminator=terminator,
            prompt=prompt.media,
            lang=prompt.lang,
        )

    async def choose(
        self, prompts: Sequence[Prompt], keys: str, *, wait: float, party: Call | None = None
    ) -> str | None:
        """Offer a choice of one key: play the prompts in turn (one of `keys` stops them),
        then wait `wait` seconds for a key. The key pressed (any key once the prompts are
        over, so that a flow can say it was not a choice), or None.

        `party` asks another leg of the call (a technician's whisper) instead of the caller;
        the caller hanging up meanwhile still raises CallerHungUp, that leg hanging up is
        no choice.
        """
        if party is None:
            return await self._choose(self.call, prompts, keys, wait, record=True)
        try:
            return await self.call.unless_hung_up(
                self._choose(party, prompts, keys, wait, record=False)
            )
        except CallerHungUp as hung_up:
            if hung_up.channel_id != party.channel_id:
                raise
            return None

    async def hold(self) -> None:
        """Music on hold until the next prompt or bridge."""
        await self.call.hold()

    async def dial(self, leg: Leg) -> Call | None:
        """Ring one leg of the ladder with the call's context; the answered leg, or None."""
        await self.record.leg(leg.kind, leg.id, "ringing", dial=leg.dial)
        try:
            return await self.call.dial(
                leg.dial,
                timeout=leg.ring_timeout,
                caller_id=self._caller_id(),
                headers=self.context_headers(),
            )
        except DialFailed as failure:
            await self.record.leg(leg.kind, leg.id, failure.reason)
            return None

    async def bridge(self, other: Call, leg: Leg) -> bool:
        """Connect the caller with an answered leg until one of them hangs up; False, at once,
        when the leg was gone before they were connected (the caller then goes on)."""
        bridge = await self.call.bridge(other)
        if not bridge.connected and other.ended and not self.call.ended:
            await self.record.leg(leg.kind, leg.id, "gone_before_bridge")
            await bridge.destroy()
            return False
        self.outcome = leg.kind
        await self.record.bridged(leg.kind, leg.id)
        ended = await bridge.wait_hangup()
        self.hangup_side = "caller" if ended is self.call else leg.kind
        return True

    async def follow_bridge(self, bridge: Bridge) -> None:
        """A caller a worker that died left talking with a technician: until one hangs up."""
        self.outcome = "technician"
        if not await self.record.bridge_recorded():
            technician = self._technician_on(bridge.calls[1])
            await self.record.bridged(technician.kind, technician.id)
        ended = await bridge.wait_hangup()
        self.hangup_side = "caller" if ended is self.call else "technician"

    async def wait_in_desk_queue(
        self,
        desk: Leg,
        queue: str,
        priority: int,
        *,
        offer_after: int,
        offer: Prompt,
        key: str,
        wait: float,
    ) -> bool:
        """The caller waits in the desk's `queue` on their own channel (app_queue, in the
        dialplan: music, position, expected wait) with the call's context for the agents'
        phones, until an agent answers (recorded) and one side hangs up.

        After `offer_after` seconds without an agent the queue hands the caller back: they hear
        `offer` once, and True when they pressed `key` (within `wait` s after it): they are then
        out of the queue, still on the line. Else they go back to their place in it.
        """
        await self.record.queued(priority)
        await self.record.leg(desk.kind, desk.id, "ringing", dial=desk.dial)
        context = self._desk_context(priority, offer_after)
        await self.call.set_variable(DESK_CONTEXT_VARIABLE, context)
        if self.customer:  # the agents' phones show whose call it is
            await self.call.set_variable("CALLERID(name)", self.customer.name)
        await self.call.visit_dialplan(DESK_CONTEXT, queue)
        await self.record.bridged(desk.kind, desk.id)
        return await self._at_desk(desk, queue, offer, key, wait)

    async def follow_in_desk_queue(
        self, desk: Leg, queue: str, agent: str | None, *, answer_recorded: bool
    ) -> None:
        """Follow on a caller whom a worker that died left in the desk queue, until the call
        ends: `agent` answered them already (`answer_recorded`: the record says so), or one
        will. Without the call-back offer: if the queue hands them back for it, they go back
        to their place."""
        await self.call.follow_in_dialplan()
        if agent:
            await self._talk_at_desk(desk, agent, recorded=answer_recorded)
        else:
            await self._at_desk(desk, queue, None, "", 0.0)

    async def _at_desk(
        self, desk: Leg, queue: str, offer: Prompt | None, key: str, wait: float
    ) -> bool:
        answered = asyncio.ensure_future(self.call.answered_in_dialplan())
        back = asyncio.ensure_future(self.call.back_from_dialplan())
        try:
            await asyncio.wait({answered, back}, return_when=asyncio.FIRST_COMPLETED)
            if not answered.done():
                back.result()  # the queue handed the caller back (or they hung up: raises)
                if offer is not None:
                    await self.record.callback_offered()
                    if await self._choose(self.call, [offer], key, wait, record=True) == key:
                        return True
                await self.call.visit_dialplan(DESK_CONTEXT, queue, label=DESK_REJOIN)
            await self._talk_at_desk(desk, await answered)
            return False
        finally:
            for task in (answered, back):
                task.cancel()

    async def _talk_at_desk(self, desk: Leg, agent: str, *, recorded: bool = False) -> None:
        """An agent answered (`recorded`: the record says so already): until one side hangs up."""
        self.outcome = desk.kind
        if not recorded:
            await self.record.desk_answered(agent)
        await self.call.wait_ended()
        self.hangup_side = "caller" if self.call.hung_up_by_far_end else desk.kind

    async def take_over(self) -> None:
        """A call a worker that died left behind: stop what it left playing, so that the
        channel does what we ask next at once."""
        await self.call.stop_playbacks_left()

    async def hang_up(self) -> None:
        self.hangup_side = "hotline"
        await self.call.hangup()

    async def leave_for_dialplan(self, context: str, extension: str, priority: int = 1) -> None:
        """Hand the channel to the dialplan for good, with the call's context for the desk
        queue (WINET_DESK) and no call-back offer."""
        await self.call.set_variable(DESK_CONTEXT_VARIABLE, self._desk_context())
        await self.call.continue_in_dialplan(context, extension, priority)

    def _technician_on(self, leg: Call) -> Leg:
        """The technician (or chief) of the tables whose phone the leg is."""
        tables = self.runtime.tables
        for technician in (*tables.technicians.values(), tables.chief):
            if technician.dial == leg.dial_string:
                return technician
        return Leg("technician", leg.dial_string, leg.dial_string, leg.dial_string, 0)

    def _desk_context(self, priority: int | None = None, offer_after: int | None = None) -> str:
        """WINET_DESK, which the dialplan's desk-queue context splits at the commas: the
        X-Winet-* values, the queue priority, the caller's language and, when the caller is to
        be offered a call back, after how many seconds and by which application."""
        headers = self.context_headers()
        values = [headers[name] for name in DESK_CONTEXT_HEADERS]
        offered_by = self.call.application if offer_after else None
        values += [priority, self.lang, offer_after, offered_by]
        return ",".join(_dialplan_safe(value) for value in values)

    def context_headers(self) -> dict[str, str]:
        """The X-Winet-* headers the desk (and technician) phones show for this call."""
        customer = self.customer
        decision = self.decision
        return {
            "X-Winet-Customer": customer.id if customer else "unknown",
            "X-Winet-Tier": (decision.tier if decision and decision.tier else "unknown"),
            "X-Winet-Covered": _yes_no(decision.covered) if decision else "unknown",
            "X-Winet-Identified": self.caller.identified_by if self.caller else "no",
            "X-Winet-Consent": self.consent,
            "X-Winet-Call": self.record.call_id,
        }

    async def _choose(
        self, party: Call, prompts: Sequence[Prompt], keys: str, wait: float, *, record: bool
    ) -> str | None:
        for prompt in prompts:
            if record:
                await self._heard(prompt)
            key = await party.play(*prompt.media, lang=prompt.lang, interrupt_keys=keys)
            if key:
                return key
        key = await party.collect_digits(
            max_digits=1, first_digit_timeout=wait, inter_digit_timeout=wait, terminator=""
        )
        return key or None

    async def _heard(self, prompt: Prompt) -> None:
        ids = [uri.removeprefix(MEDIA_PREFIX) for uri in prompt.media]
        await self.record.prompt(ids, prompt.lang, prompt.text)
        await self.call.stop_hold()

    def _caller_id(self) -> str:
        number = (self.caller.number if self.caller else None) or "anonymous"
        if self.customer:
            name = self.customer.name.replace('"', "")
            return f'"{name}" <{number}>'
        return number


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _dialplan_safe(value: object) -> str:
    """A value for WINET_DESK: None is empty, and what the dialplan would read as a separator,
    a quote or an expression becomes '_'."""
    return "" if value is None else DIALPLAN_UNSAFE.sub("_", str(value))
