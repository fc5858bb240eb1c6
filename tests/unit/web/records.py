"""Call records as the call flow writes them (`ivr/flow.py`, `ivr/steps/`), for the console's tests.

The decision is the routing core's own, for the repository's tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from redis.asyncio import Redis

from ivr.config import REPO_DIR
from ivr.routing import Contract, Tables, decide, explain, load_tables
from ivr.store import calls

SCRIPT_NAME = "<script>alert(1)</script>"


@cache
def default_tables() -> Tables:
    return load_tables(REPO_DIR / "routing")


async def record_notice_call(
    redis: Redis,
    call_id: str,
    start: datetime,
    *,
    caller_number: str = "+41441234567",
    caller_name: str = "ACME Support Line",
    customer: tuple[str, str] | None = ("acme", "ACME Holding AG"),
    tier: str = "pro",
    consent: str | None = "accepted",
    identified: str = "caller_id",
) -> None:
    """A call outside the tier's covered time: identified, decided, the notice, the consent
    (None: still listening), handed to the desk."""
    await calls.start_call(redis, call_id, caller_number, start, caller_name=caller_name)
    customer_id, customer_name = customer if customer else (None, None)
    await calls.update_call(
        redis,
        call_id,
        identified=identified if customer else "no",
        customer_id=customer_id,
        customer_name=customer_name,
        language="de",
    )
    at = start + timedelta(seconds=5)
    decision = decide(default_tables(), Contract(tier) if customer else None, at)
    await calls.update_call(
        redis,
        call_id,
        tier=decision.tier,
        tier_name=decision.tier_name,
        covered=decision.covered,
        destination=decision.destination,
        first_reaction_due=decision.first_reaction_due,
        tables_version=decision.tables_version,
        explanation=explain(decision),
    )
    await calls.add_event(redis, call_id, "decision", at, decision=decision.to_json())
    if decision.notice:
        await calls.update_call(
            redis, call_id, notice_text="Ihr Vertrag deckt diese Zeit nicht ab."
        )
    if consent is not None:
        consent_at = start + timedelta(seconds=30)
        key = {"accepted": "1", "withdrawn": "2"}.get(consent)
        await calls.update_call(
            redis, call_id, consent=consent, consent_key=key, consent_at=consent_at
        )
        await calls.add_event(redis, call_id, "consent", consent_at, answer=consent, key=key)
        if consent != "withdrawn":
            await calls.update_call(redis, call_id, destination="desk", desk_status="ringing")


async def record_covered_call(redis: Redis, call_id: str, start: datetime) -> None:
    """A premium call inside its window that a technician took: not a desk call."""
    await calls.start_call(redis, call_id, "+41447654321", start, caller_name="Bank")
    decision = decide(default_tables(), Contract("premium"), start)
    await calls.update_call(
        redis,
        call_id,
        identified="caller_id",
        customer_id="bank",
        customer_name="Bank AG",
        tier=decision.tier,
        covered=True,
        destination="technician",
    )
    await calls.add_event(redis, call_id, "decision", start, decision=decision.to_json())
    await calls.add_event(
        redis, call_id, "leg", start, role="technician", id="marco", result="accepted"
    )
