"""Call records written by the worker's own recorder (`ivr.calls.record`), for the console's tests.

The decision is the routing core's own, for the repository's tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from redis.asyncio import Redis

from ivr.calls.record import CallRecorder
from ivr.config import REPO_DIR
from ivr.routing import Contract, Tables, decide, load_tables

SCRIPT_NAME = "<script>alert(1)</script>"


@cache
def default_tables() -> Tables:
    return load_tables(REPO_DIR / "routing")


def recorder(redis: Redis, call_id: str, at: datetime) -> CallRecorder:
    """The worker's own recorder, with its clock standing at `at`."""
    return CallRecorder(redis, call_id, lambda: at)


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
    await recorder(redis, call_id, start).started(caller_number, caller_name, "de")
    customer_id, customer_name = customer if customer else (None, None)
    at = start + timedelta(seconds=5)
    record = recorder(redis, call_id, at)
    await record.identified(identified if customer else "no", customer_id, customer_name, "de")
    decision = decide(default_tables(), Contract(tier) if customer else None, at)
    await record.decided(decision)
    if decision.notice:
        await record.notice("Ihr Vertrag deckt diese Zeit nicht ab.")
    if consent is not None:
        consent_at = start + timedelta(seconds=30)
        key = {"accepted": "1", "withdrawn": "2"}.get(consent)
        await recorder(redis, call_id, consent_at).consented(consent, key, consent_at)
        if consent != "withdrawn":
            await record.desk("ringing")


async def record_covered_call(redis: Redis, call_id: str, start: datetime) -> None:
    """A premium call inside its window that a technician took: not a desk call."""
    record = recorder(redis, call_id, start)
    await record.started("+41447654321", "Bank", "de")
    await record.identified("caller_id", "bank", "Bank AG", "de")
    await record.decided(decide(default_tables(), Contract("premium"), start))
    await record.leg("technician", "marco", "accepted")
