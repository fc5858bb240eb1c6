"""One caller's conversation with the hotline: the call, what we know so far, and its record."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.ari.call import Call
from ivr.customers.model import Customer
from ivr.hotline import Hotline
from ivr.prompts.installed import media_uri
from ivr.record import CallLog
from ivr.routing import Decision

MEDIA_PREFIX = media_uri("")  # "sound:winet/": what the record leaves out of each prompt id


@dataclass(frozen=True)
class Caller:
    """Who is calling: their number (E.164, None when withheld) and, once known, the customer."""

    number: str | None
    customer: Customer | None
    identified_by: str  # "caller_id", "pin" or "no"


@dataclass
class Conversation:
    call: Call
    hotline: Hotline
    record: CallLog
    lang: str
    caller: Caller | None = None
    decision: Decision | None = None
    consent: str = "not asked"
    language_chosen: bool = False  # by the caller in the language menu
    outcome: str = "abandoned"  # technician, desk, withdrawn, desk_unreachable, abandoned
    hangup_side: str | None = None  # caller, technician, desk, hotline

    async def say(self, *prompt_ids: str) -> None:
        """Play catalogue prompts in the caller's language."""
        await self.play(tuple(map(media_uri, prompt_ids)))

    async def play(
        self, media: tuple[str, ...], *, text: str | None = None, interrupt_keys: str = ""
    ) -> str | None:
        """Play media in the caller's language and record it (with `text`, what a composed
        prompt said); the key that interrupted it, if any."""
        said = {"text": text} if text else {}
        ids = [uri.removeprefix(MEDIA_PREFIX) for uri in media]
        await self.record.event("prompt", ids=ids, lang=self.lang, **said)
        await self.call.stop_hold()
        return await self.call.play(*media, lang=self.lang, interrupt_keys=interrupt_keys)

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
        await self.record.event("prompt", ids=[prompt_id], lang=self.lang)
        return await self.call.collect_digits(
            max_digits=max_digits,
            first_digit_timeout=first_digit_timeout,
            inter_digit_timeout=inter_digit_timeout,
            terminator=terminator,
            prompt=(media_uri(prompt_id),),
            lang=self.lang,
        )

    def context_headers(self) -> dict[str, str]:
        """The X-Winet-* headers the desk (and technician) phones show for this call."""
        caller = self.caller
        customer = caller.customer if caller else None
        decision = self.decision
        return {
            "X-Winet-Customer": customer.id if customer else "unknown",
            "X-Winet-Tier": (decision.tier if decision and decision.tier else "unknown"),
            "X-Winet-Covered": _yes_no(decision.covered) if decision else "unknown",
            "X-Winet-Identified": caller.identified_by if caller else "no",
            "X-Winet-Consent": self.consent,
            "X-Winet-Call": self.record.call_id,
        }


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"
