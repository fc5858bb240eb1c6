"""The call facts (`ivr.store.call_facts`): one snapshot of what a call reads, and a version that
every change of it replaces in the same transaction, and nothing else does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ivr.customers.model import Contract, Customer
from ivr.store import call_facts, customers, incidents
from ivr.store.customers import CustomerConflict, UnknownCustomer
from ivr.store.incidents import IncidentRefused

PIN_KEY = b"test-pin-key"
TIERS = {"premium", "pro"}
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def customer(cid: str, *numbers: str, tier: str = "pro") -> Customer:
    return Customer(
        id=cid, name=cid.title(), language="de", numbers=numbers, contract=Contract(tier=tier)
    )


async def save(redis, *entries: Customer) -> None:
    await customers.save_customers(
        redis, [(c, None) for c in entries], pin_key=PIN_KEY, known_tiers=TIERS
    )


async def test_the_facts_are_what_the_single_lookups_answer(redis_client):
    await save(
        redis_client,
        customer("keller-arch", "+41445551234"),
        customer("keller-treuhand", "+41445551234", "+41449876543", tier="premium"),
    )
    await customers.use_unit(redis_client, "keller-arch", 2026, 11)
    await customers.use_unit(redis_client, "keller-arch", 2026, 10)
    declared = await incidents.declare(redis_client, "SIP trunk down", by="lea", now=T0)

    facts = await call_facts.read_call_facts(redis_client, 2026, 11)

    for number in ("+41445551234", "+41449876543", "+41220000000"):
        assert facts.customers_with(number) == await customers.find_by_number(redis_client, number)
    assert [c.id for c in facts.customers_with("+41445551234")] == [
        "keller-arch",
        "keller-treuhand",
    ]
    assert facts.units_used("keller-arch") == 1, "November's unit only"
    assert facts.units_used("keller-treuhand") == 0
    assert facts.incident == declared
    assert facts.version == await call_facts.version(redis_client)


async def test_every_change_of_a_call_fact_gives_a_new_version(redis_client):
    seen = [await call_facts.version(redis_client)]

    async def changed() -> None:
        now = await call_facts.version(redis_client)
        assert now not in seen
        seen.append(now)

    await save(redis_client, customer("acme", "+41441234567"))
    await changed()
    await save(redis_client, customer("acme", "+41441234568"))
    await changed()
    await customers.set_pin(redis_client, "acme", "123456", pin_key=PIN_KEY)
    await changed()
    await customers.use_unit(redis_client, "acme", 2026, 11)
    await changed()
    await incidents.declare(redis_client, "DNS down", by="lea", now=T0)
    await changed()
    await incidents.end(redis_client, by="lea", now=T0)
    await changed()
    assert await customers.delete_customer(redis_client, "acme")
    await changed()


async def test_a_refused_change_leaves_the_version(redis_client):
    await save(redis_client, customer("acme", "+41441234567"))
    before = await call_facts.version(redis_client)

    with pytest.raises(CustomerConflict):
        await save(redis_client, customer("acme", "+41441234567", tier="no-such-tier"))
    with pytest.raises(UnknownCustomer):
        await customers.use_unit(redis_client, "nobody", 2026, 11)
    with pytest.raises(IncidentRefused):
        await incidents.end(redis_client, by="lea", now=T0)
    await incidents.declare(redis_client, "DNS down", by="lea", now=T0)
    declared = await call_facts.version(redis_client)
    with pytest.raises(IncidentRefused):
        await incidents.declare(redis_client, "again", by="lea", now=T0)
    assert not await customers.delete_customer(redis_client, "nobody")

    assert declared != before
    assert await call_facts.version(redis_client) == declared


async def test_reading_the_facts_takes_the_same_round_trips_for_thousands_of_customers(
    redis_client, redis_round_trips
):
    many = [customer(f"kunde-{n}", f"+4144{n:07d}") for n in range(3000)]
    await save(redis_client, *many)
    await customers.use_unit(redis_client, "kunde-2999", 2026, 11)
    redis_round_trips.clear()

    facts = await call_facts.read_call_facts(redis_client, 2026, 11)

    assert len(redis_round_trips) <= 5, "version, directory, units, incident (and a script load)"
    assert [c.id for c in facts.customers_with("+41440002999")] == ["kunde-2999"]
    assert facts.units == {"kunde-2999": 1}
