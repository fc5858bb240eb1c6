"""Outside the covered window: the cost-consequence notice, and the caller's consent.

The notice is composed from the tables at call time (tier, covered hours, what an
intervention now costs, free units left). Key 1 continues to the desk, key 2 withdraws.
The notice is repeated as the tables say; silence after the last one counts as consent,
since the desk explains the costs again before anything is ordered.
"""

from __future__ import annotations

from decimal import Decimal

from ivr.conversation import Conversation, Prompt
from ivr.prompts.notice import NoticeFacts, compose_notice

CONTINUE, WITHDRAW = "1", "2"
ANSWER_SECONDS = 6.0  # after the notice, for the key


async def caller_continues(talk: Conversation) -> bool:
    """Play the notice until the caller chooses; True to go on to the desk."""
    notice = compose_notice(await notice_facts(talk), talk.lang, talk.runtime.catalogue)
    await talk.record.notice(notice.text)
    said = Prompt(notice.media, talk.lang, notice.text)
    rounds = talk.runtime.tables.hotline.notice_repeats_before_consent + 1
    for _ in range(rounds):
        key = await talk.choose([said], CONTINUE + WITHDRAW, wait=ANSWER_SECONDS)
        if key in (CONTINUE, WITHDRAW):
            return await _consent(talk, "accepted" if key == CONTINUE else "withdrawn", key)
        if key:
            await talk.say("invalid_choice")
    return await _consent(talk, "silence", None)


async def notice_facts(talk: Conversation) -> NoticeFacts:
    decision = talk.decision
    tier = talk.runtime.tables.tiers[decision.tier]
    terms = decision.notice_terms
    customer = talk.customer
    own = customer.contract.free_units_per_month
    per_month = terms.free_service_units_per_month if own is None else own
    used = (await talk.facts()).units_used(customer.id)
    return NoticeFacts(
        tier_id=tier.id,
        tier_name=tier.name,
        covered=tier.covered_spans(),
        callout_fee_chf=Decimal(str(terms.callout_fee_chf)),
        hourly_rate_chf=Decimal(str(terms.hourly_rate_chf)),
        billing_increment_min=terms.billing_increment_minutes,
        free_units_per_month=per_month,
        free_units_left=max(per_month - used, 0),
        holidays_excluded=tier.holidays_close,
    )


async def _consent(talk: Conversation, answer: str, key: str | None) -> bool:
    at = talk.runtime.now()
    talk.consent = answer if key is None else f"{answer}; at={at.isoformat(timespec='seconds')}"
    await talk.record.consented(answer, key, at)
    return answer != "withdrawn"
