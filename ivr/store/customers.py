"""Customers in Redis, with the indexes the call flow looks them up by.

Keys:
- `winet:customers`            hash  customer id -> JSON (the customer and its PIN hash)
- `winet:customers:by-number`  hash  E.164 number -> "id1,id2" (a number may be shared)
- `winet:customer-units:<id>`  hash  "YYYY-MM" -> free service units used that month
Every change of these also replaces `winet:call-facts:version` (ivr.store.call_facts).

A caller-ID lookup is two round trips (index, then records). Every change that touches the
index runs in one WATCH/MULTI/EXEC transaction, so it never disagrees with the records. PINs
are kept only as HMAC-SHA256 keyed with the server secret (`Settings.pin_key`), and a PIN
identifies nobody alone: it is checked against the customers of one phone number (the
caller's, or the one the caller typed). So PINs need not be unique, and nothing tells an
admin or an import which PINs other customers have.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from ivr.customers.model import (
    PIN_LENGTH,
    Customer,
    check_known_tier,
    check_pin,
    customer_from_dict,
    customer_to_dict,
)
from ivr.customers.numbers import InvalidNumber, normalise_number
from ivr.store import (
    CALL_FACTS_VERSION,
    call_facts_changed,
    key,
    new_call_facts_version,
)

CUSTOMERS = key("customers")
BY_NUMBER = key("customers", "by-number")

_ID_SEPARATOR = ","

_USE_UNIT = """
-- KEYS: customers, the customer's units, call facts version; ARGV: id, month, new version
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return false end
redis.call('SET', KEYS[3], ARGV[3])
return redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
"""


# The units keys are named from the customer ids inside the script, so it needs the single
# Redis the hotline runs (not a cluster).
_UNITS_OF_MONTH = """
-- KEYS: customers; ARGV: units key prefix, month
local used = {}
for _, id in ipairs(redis.call('HKEYS', KEYS[1])) do
  local count = redis.call('HGET', ARGV[1] .. id, ARGV[2])
  if count then
    used[#used + 1] = id
    used[#used + 1] = count
  end
end
return used
"""


class UnknownCustomer(LookupError):
    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        super().__init__(f"no customer {customer_id!r}")


@dataclass(frozen=True)
class Conflict:
    """Why one customer of a save was refused; `field` names the input field."""

    customer_id: str
    field: str
    reason: str


class CustomerConflict(Exception):
    """A save was refused as a whole; nothing was written."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        super().__init__("; ".join(f"{c.customer_id}: {c.field}: {c.reason}" for c in conflicts))


@dataclass(frozen=True)
class SaveResult:
    created: list[str]
    updated: list[str]


@dataclass(frozen=True)
class _Change:
    """Replace the record with `customer` (None: keep it) and set `pin` (None: keep it)."""

    customer_id: str
    customer: Customer | None
    pin: str | None


def pin_hash(pin: str, pin_key: bytes) -> str:
    return hmac.new(pin_key, pin.encode(), hashlib.sha256).hexdigest()


async def save_customer(
    redis: Redis,
    customer: Customer,
    *,
    pin: str | None = None,
    pin_key: bytes,
    known_tiers: Set[str],
) -> bool:
    """Create or update one customer; `pin` None keeps the current PIN. True when created."""
    result = await save_customers(
        redis, [(customer, pin)], pin_key=pin_key, known_tiers=known_tiers
    )
    return bool(result.created)


async def save_customers(
    redis: Redis,
    entries: Sequence[tuple[Customer, str | None]],
    *,
    pin_key: bytes,
    known_tiers: Set[str],
    allow_update: bool = True,
) -> SaveResult:
    """Create or update customers, all or none, in one transaction.

    Each entry is (customer, pin); pin None keeps the customer's PIN. Refused with
    CustomerConflict (listing every conflict) for an unknown tier, an id given twice, an
    existing id when `allow_update` is false, a PIN that is not six digits, and a customer
    that must give a PIN but has none.
    """
    changes = [_Change(customer.id, customer, pin) for customer, pin in entries]
    return await _apply(redis, changes, pin_key, known_tiers, allow_update=allow_update)


async def set_pin(redis: Redis, customer_id: str, pin: str, *, pin_key: bytes) -> None:
    """Give the customer a new PIN; UnknownCustomer when there is no such customer."""
    check_pin(pin)
    await _apply(redis, [_Change(customer_id, None, pin)], pin_key, None, allow_update=True)


async def reset_pin(redis: Redis, customer_id: str, *, pin_key: bytes) -> str:
    """Give the customer a new random PIN and return it: the only time it is readable."""
    pin = f"{secrets.randbelow(10**PIN_LENGTH):0{PIN_LENGTH}d}"
    await set_pin(redis, customer_id, pin, pin_key=pin_key)
    return pin


async def get_customer(redis: Redis, customer_id: str) -> Customer | None:
    return _decode(await redis.hget(CUSTOMERS, customer_id))


async def list_customers(redis: Redis) -> list[Customer]:
    """All customers, by id."""
    records = await redis.hvals(CUSTOMERS)
    return sorted((_decode_present(record) for record in records), key=lambda c: c.id)


async def search_customers(redis: Redis, query: str) -> list[Customer]:
    """Customers whose id or name contains `query` (any case), or who have that number
    (in any notation) or a number containing those digits."""
    text = query.strip().casefold()
    try:
        number = normalise_number(query)
    except InvalidNumber:
        number = None
    digits = "".join(ch for ch in text if ch.isdigit())
    by_digits = len(digits) >= 3 and not any(ch.isalpha() for ch in text)
    return [
        customer
        for customer in await list_customers(redis)
        if text in customer.id
        or text in customer.name.casefold()
        or number in customer.numbers
        or (by_digits and any(digits in n for n in customer.numbers))
    ]


async def find_by_number(redis: Redis, number: str) -> list[Customer]:
    """The customers with this E.164 number: none, one, or several sharing it."""
    ids = await redis.hget(BY_NUMBER, number)
    if not ids:
        return []
    records = await redis.hmget(CUSTOMERS, ids.split(_ID_SEPARATOR))
    return [_decode_present(record) for record in records if record is not None]


@dataclass(frozen=True)
class Directory:
    """Every customer and the number index, as stored. A customer is decoded when looked up: a
    call needs one or two of tens of thousands."""

    records: Mapping[str, str]  # customer id -> stored JSON
    index: Mapping[str, str]  # E.164 number -> "id1,id2"
    _decoded: dict[str, Customer] = field(default_factory=dict, compare=False, repr=False)

    def find_by_number(self, number: str) -> list[Customer]:
        """What `find_by_number` answered when the directory was read."""
        ids = self.index.get(number)
        if not ids:
            return []
        return [self._customer(cid) for cid in ids.split(_ID_SEPARATOR) if cid in self.records]

    def _customer(self, customer_id: str) -> Customer:
        if customer_id not in self._decoded:
            self._decoded[customer_id] = _decode_present(self.records[customer_id])
        return self._decoded[customer_id]


async def read_directory(redis: Redis) -> Directory:
    """The whole directory, in one round trip."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(CUSTOMERS)
        pipe.hgetall(BY_NUMBER)
        records, index = await pipe.execute()
    return Directory(records, index)


async def units_used_in(redis: Redis, year: int, month: int) -> dict[str, int]:
    """The free units every customer used in that month, for those who used any. Redis walks
    the customers in one script: one round trip, whatever their number."""
    used = await redis.register_script(_UNITS_OF_MONTH)(
        keys=[CUSTOMERS], args=[_units_key(""), _month_field(year, month)]
    )
    return {used[i]: int(used[i + 1]) for i in range(0, len(used), 2)}


async def find_by_pin(redis: Redis, number: str, pin: str, *, pin_key: bytes) -> Customer | None:
    """The one customer with this E.164 number whose PIN this is; None for none (or, when
    customers sharing the number have the same PIN, for several)."""
    try:
        check_pin(pin)
    except ValueError:
        return None
    ids = await redis.hget(BY_NUMBER, number)
    if not ids:
        return None
    digest = pin_hash(pin, pin_key)
    records = await redis.hmget(CUSTOMERS, ids.split(_ID_SEPARATOR))
    matches = [
        record
        for record in records
        if record is not None
        and hmac.compare_digest(json.loads(record).get("pin_hash") or "", digest)
    ]
    return _decode_present(matches[0]) if len(matches) == 1 else None


async def delete_customer(redis: Redis, customer_id: str) -> bool:
    """Remove the customer, its index entries and its unit counts. False when unknown."""

    async def delete(pipe: Pipeline) -> bool:
        record = await pipe.hget(CUSTOMERS, customer_id)
        if record is None:
            return False
        old = json.loads(record)
        holders = await _number_holders(pipe, old["numbers"])
        for ids in holders.values():
            ids.remove(customer_id)
        pipe.multi()
        pipe.hdel(CUSTOMERS, customer_id)
        _write_number_index(pipe, holders)
        pipe.delete(_units_key(customer_id))
        call_facts_changed(pipe)
        return True

    return await redis.transaction(delete, CUSTOMERS, BY_NUMBER, value_from_callable=True)


async def units_used(redis: Redis, customer_id: str, year: int, month: int) -> int:
    """Free service units the customer used in that month."""
    return int(await redis.hget(_units_key(customer_id), _month_field(year, month)) or 0)


async def use_unit(redis: Redis, customer_id: str, year: int, month: int) -> int:
    """Count one intervention against the customer's month; returns the units used since."""
    used = await redis.register_script(_USE_UNIT)(
        keys=[CUSTOMERS, _units_key(customer_id), CALL_FACTS_VERSION],
        args=[customer_id, _month_field(year, month), new_call_facts_version()],
    )
    if used is None:
        raise UnknownCustomer(customer_id)
    return int(used)


async def _apply(
    redis: Redis,
    changes: list[_Change],
    pin_key: bytes,
    known_tiers: Set[str] | None,
    *,
    allow_update: bool,
) -> SaveResult:
    """Write the changes in one transaction; `known_tiers` None when no record is replaced."""

    async def apply(pipe: Pipeline) -> SaveResult:
        ids = [change.customer_id for change in changes]
        old_records = dict(zip(ids, await pipe.hmget(CUSTOMERS, ids), strict=True))
        old = {cid: json.loads(record) for cid, record in old_records.items() if record}
        new_hashes = {c.customer_id: pin_hash(c.pin, pin_key) for c in changes if c.pin}
        conflicts = _conflicts(changes, old, new_hashes, known_tiers, allow_update)
        if conflicts:
            raise CustomerConflict(conflicts)
        records = {
            change.customer_id: _new_record(change, old.get(change.customer_id), new_hashes)
            for change in changes
        }
        holders = await _number_holders(
            pipe, [n for r in [*old.values(), *records.values()] for n in r["numbers"]]
        )
        for customer_id, record in records.items():
            _move_numbers(
                holders, customer_id, old.get(customer_id, {}).get("numbers", []), record["numbers"]
            )
        pipe.multi()
        pipe.hset(CUSTOMERS, mapping={cid: json.dumps(r) for cid, r in records.items()})
        _write_number_index(pipe, holders)
        call_facts_changed(pipe)
        created = [cid for cid in ids if cid not in old]
        return SaveResult(created=created, updated=[cid for cid in ids if cid in old])

    return await redis.transaction(apply, CUSTOMERS, BY_NUMBER, value_from_callable=True)


def _conflicts(
    changes: list[_Change],
    old: dict[str, dict[str, Any]],
    new_hashes: dict[str, str],
    known_tiers: Set[str] | None,
    allow_update: bool,
) -> list[Conflict]:
    conflicts = []
    seen_ids: set[str] = set()
    for change in changes:
        cid = change.customer_id
        if cid in seen_ids:
            conflicts.append(Conflict(cid, "id", f"customer {cid!r} is given twice"))
        seen_ids.add(cid)
        if change.customer is None and cid not in old:
            raise UnknownCustomer(cid)
        if change.customer is not None and cid in old and not allow_update:
            conflicts.append(Conflict(cid, "id", f"customer {cid!r} already exists"))
        if change.customer is not None and known_tiers is not None:
            try:
                check_known_tier(change.customer.contract.tier, known_tiers)
            except ValueError as error:
                conflicts.append(Conflict(cid, "tier", str(error)))
        if change.pin is not None:
            try:
                check_pin(change.pin)
            except ValueError as error:
                conflicts.append(Conflict(cid, "pin", str(error)))
        if cid not in new_hashes and change.customer is not None and change.customer.pin_required:
            if not old.get(cid, {}).get("pin_hash"):
                conflicts.append(
                    Conflict(cid, "pin", "pin_required is set but the customer has no PIN")
                )
    return conflicts


def _new_record(
    change: _Change, old: dict[str, Any] | None, new_hashes: dict[str, str]
) -> dict[str, Any]:
    if change.customer is None:
        assert old is not None  # _conflicts refused a PIN change for an unknown customer
        record = dict(old)
    else:
        record = customer_to_dict(change.customer)
        del record["has_pin"]
        record["pin_hash"] = old.get("pin_hash") if old else None
    if change.customer_id in new_hashes:
        record["pin_hash"] = new_hashes[change.customer_id]
    return record


async def _number_holders(pipe: Pipeline, numbers: Iterable[str]) -> dict[str, list[str]]:
    unique = list(dict.fromkeys(numbers))
    if not unique:
        return {}
    values = await pipe.hmget(BY_NUMBER, unique)
    return {
        number: value.split(_ID_SEPARATOR) if value else []
        for number, value in zip(unique, values, strict=True)
    }


def _move_numbers(
    holders: dict[str, list[str]], customer_id: str, old: list[str], new: list[str]
) -> None:
    for number in old:
        if number not in new:
            holders[number].remove(customer_id)
    for number in new:
        if customer_id not in holders[number]:
            holders[number].append(customer_id)


def _write_number_index(pipe: Pipeline, holders: dict[str, list[str]]) -> None:
    emptied = [number for number, ids in holders.items() if not ids]
    kept = {number: _ID_SEPARATOR.join(ids) for number, ids in holders.items() if ids}
    if emptied:
        pipe.hdel(BY_NUMBER, *emptied)
    if kept:
        pipe.hset(BY_NUMBER, mapping=kept)


def _decode(record: str | None) -> Customer | None:
    return None if record is None else _decode_present(record)


def _decode_present(record: str) -> Customer:
    data = json.loads(record)
    data["has_pin"] = bool(data.pop("pin_hash", None))
    return customer_from_dict(data)


def _units_key(customer_id: str) -> str:
    return key("customer-units", customer_id)


def _month_field(year: int, month: int) -> str:
    return date(year, month, 1).strftime("%Y-%m")
