"""What every call reads, as one snapshot: the customers by phone number, the free service units
each used in a month, and the major incident going on.

Keys:
- `winet:call-facts:version`  a random token, replaced in the same transaction as every change
                              of customers, their units or the incident (ivr.store.customers,
                              ivr.store.incidents)

A worker keeps the snapshot in memory (`ivr.worker.call_facts`) and compares its version with
this one once per call: one small read instead of four, and facts to go on with while Redis
does not answer. The version is read before the facts, so a change made while they are read
only makes the snapshot look older than it is: the next call reads them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from redis.asyncio import Redis

from ivr.customers.model import Customer
from ivr.store import CALL_FACTS_VERSION, customers, incidents
from ivr.store.customers import Directory
from ivr.store.incidents import Incident


@dataclass(frozen=True)
class CallFacts:
    version: str | None  # None: nothing was ever changed (or the database was emptied)
    year: int
    month: int  # of the units used
    directory: Directory
    units: Mapping[str, int]  # customer id -> free units used that month (absent: none)
    incident: Incident | None

    def customers_with(self, number: str) -> list[Customer]:
        """What `customers.find_by_number` answered when the facts were read."""
        return self.directory.find_by_number(number)

    def units_used(self, customer_id: str) -> int:
        return self.units.get(customer_id, 0)

    def of_month(self, year: int, month: int) -> bool:
        return (self.year, self.month) == (year, month)


async def version(redis: Redis) -> str | None:
    return await redis.get(CALL_FACTS_VERSION)


async def read_call_facts(redis: Redis, year: int, month: int) -> CallFacts:
    """The facts now, with the units of that month."""
    current = await version(redis)
    return CallFacts(
        version=current,
        year=year,
        month=month,
        directory=await customers.read_directory(redis),
        units=await customers.units_used_in(redis, year, month),
        incident=await incidents.active(redis),
    )
