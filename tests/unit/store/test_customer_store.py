import asyncio

import pytest

from ivr.customers.model import Contract, Customer
from ivr.store import customers as store
from ivr.store.customers import CustomerConflict, UnknownCustomer

PIN_KEY = b"test-pin-key"
TIERS = {"premium", "pro-plus", "pro", "basic-plus", "basic"}


def customer(cid, *numbers, tier="pro", pin_required=False, name=None):
    return Customer(
        id=cid,
        name=name or cid.title(),
        language="de",
        numbers=numbers,
        contract=Contract(tier=tier),
        pin_required=pin_required,
    )


async def save(redis, c, pin=None):
    return await store.save_customer(redis, c, pin=pin, pin_key=PIN_KEY, known_tiers=TIERS)


async def test_saved_customer_is_found_by_id_number_and_pin(redis_client):
    acme = customer("acme", "+41441234567", "+41791234567")
    assert await save(redis_client, acme, pin="123456") is True
    assert await store.get_customer(redis_client, "acme") == Customer(
        **{**acme.__dict__, "has_pin": True}
    )
    assert [c.id for c in await store.find_by_number(redis_client, "+41791234567")] == ["acme"]
    found = await store.find_by_pin(redis_client, "+41791234567", "123456", pin_key=PIN_KEY)
    assert found.id == "acme"
    assert await store.find_by_pin(redis_client, "+41791234567", "654321", pin_key=PIN_KEY) is None
    assert await store.find_by_pin(redis_client, "+41791234567", "12", pin_key=PIN_KEY) is None
    assert await store.find_by_pin(redis_client, "+41449999999", "123456", pin_key=PIN_KEY) is None


async def test_pin_is_stored_only_as_a_keyed_hash(redis_client):
    await save(redis_client, customer("acme", "+41441234567"), pin="908172")
    dump = []
    for name in await redis_client.keys("*"):
        kind = await redis_client.type(name)
        if kind == "hash":
            dump.append(str(await redis_client.hgetall(name)))
    assert len(dump) == 2 and not any("908172" in text for text in dump)
    assert store.pin_hash("908172", PIN_KEY) in str(dump)
    assert store.pin_hash("908172", b"other key") != store.pin_hash("908172", PIN_KEY)


async def test_a_shared_number_finds_every_customer(redis_client):
    await save(redis_client, customer("keller-arch", "+41445551234"))
    await save(redis_client, customer("keller-treuhand", "+41445551234", "+41449876543"))
    shared = await store.find_by_number(redis_client, "+41445551234")
    assert sorted(c.id for c in shared) == ["keller-arch", "keller-treuhand"]
    assert await store.find_by_number(redis_client, "+41220000000") == []


async def test_update_moves_the_indexes(redis_client):
    await save(redis_client, customer("acme", "+41441234567", "+41791234567"), pin="123456")
    assert await save(redis_client, customer("acme", "+41449876543", tier="basic")) is False
    assert await store.find_by_number(redis_client, "+41441234567") == []
    assert await redis_client.hexists(store.BY_NUMBER, "+41441234567") == 0
    moved = await store.find_by_number(redis_client, "+41449876543")
    assert [(c.id, c.contract.tier, c.has_pin) for c in moved] == [("acme", "basic", True)]
    # the PIN is kept when the update gives none, and goes with the customer's numbers
    assert (
        await store.find_by_pin(redis_client, "+41449876543", "123456", pin_key=PIN_KEY)
    ).id == "acme"
    assert await store.find_by_pin(redis_client, "+41441234567", "123456", pin_key=PIN_KEY) is None


async def test_delete_removes_record_and_indexes_but_keeps_sharers(redis_client):
    await save(redis_client, customer("a", "+41445551234"), pin="111111")
    await save(redis_client, customer("b", "+41445551234"))
    await store.use_unit(redis_client, "a", 2026, 11)
    assert await store.delete_customer(redis_client, "a") is True
    assert await store.get_customer(redis_client, "a") is None
    assert await store.find_by_pin(redis_client, "+41445551234", "111111", pin_key=PIN_KEY) is None
    assert [c.id for c in await store.find_by_number(redis_client, "+41445551234")] == ["b"]
    assert await store.units_used(redis_client, "a", 2026, 11) == 0
    assert await store.delete_customer(redis_client, "a") is False


async def test_pins_need_not_be_unique_so_a_save_reveals_nobody_elses(redis_client):
    await save(redis_client, customer("a", "+41441234567"), pin="111111")
    assert await save(redis_client, customer("b", "+41449876543"), pin="111111") is True
    for number, owner in (("+41441234567", "a"), ("+41449876543", "b")):
        assert (
            await store.find_by_pin(redis_client, number, "111111", pin_key=PIN_KEY)
        ).id == owner


async def test_customers_sharing_a_number_are_told_apart_by_their_pins(redis_client):
    await save(redis_client, customer("a", "+41445551234"), pin="111111")
    await save(redis_client, customer("b", "+41445551234"), pin="222222")
    await save(redis_client, customer("c", "+41445551234"), pin="222222")
    shared = "+41445551234"
    assert (await store.find_by_pin(redis_client, shared, "111111", pin_key=PIN_KEY)).id == "a"
    # two sharers with one PIN: the PIN does not say which, so it identifies neither
    assert await store.find_by_pin(redis_client, shared, "222222", pin_key=PIN_KEY) is None


async def test_a_batch_is_refused_as_a_whole_with_every_conflict(redis_client):
    await save(redis_client, customer("a", "+41441234567"), pin="111111")
    batch = [
        (customer("new", "+41449876543"), "222222"),
        (customer("b", "+41445551234", tier="gold"), None),
        (customer("d", "+41445551234", pin_required=True), None),
        (customer("a", "+41441234567"), None),
        (customer("e", "+41445551234"), "12"),
    ]
    with pytest.raises(CustomerConflict) as caught:
        await store.save_customers(
            redis_client, batch, pin_key=PIN_KEY, known_tiers=TIERS, allow_update=False
        )
    assert sorted((c.customer_id, c.field) for c in caught.value.conflicts) == [
        ("a", "id"),
        ("b", "tier"),
        ("d", "pin"),
        ("e", "pin"),
    ]
    assert [c.id for c in await store.list_customers(redis_client)] == ["a"]
    assert await store.find_by_number(redis_client, "+41449876543") == []


async def test_customers_may_swap_pins_in_one_save(redis_client):
    await save(redis_client, customer("a", "+41441234567"), pin="111111")
    await save(redis_client, customer("b", "+41449876543"), pin="222222")
    await store.save_customers(
        redis_client,
        [(customer("a", "+41441234567"), "222222"), (customer("b", "+41449876543"), "111111")],
        pin_key=PIN_KEY,
        known_tiers=TIERS,
    )
    assert (
        await store.find_by_pin(redis_client, "+41441234567", "222222", pin_key=PIN_KEY)
    ).id == "a"
    assert (
        await store.find_by_pin(redis_client, "+41449876543", "111111", pin_key=PIN_KEY)
    ).id == "b"


async def test_set_and_reset_pin(redis_client):
    await save(redis_client, customer("a", "+41441234567"), pin="111111")
    await save(redis_client, customer("b", "+41449876543"))
    with pytest.raises(ValueError, match="exactly 6 digits"):
        await store.set_pin(redis_client, "b", "1111", pin_key=PIN_KEY)
    with pytest.raises(UnknownCustomer):
        await store.set_pin(redis_client, "nobody", "333333", pin_key=PIN_KEY)
    new_pin = await store.reset_pin(redis_client, "a", pin_key=PIN_KEY)
    assert len(new_pin) == 6 and new_pin.isdigit()
    if new_pin != "111111":
        assert (
            await store.find_by_pin(redis_client, "+41441234567", "111111", pin_key=PIN_KEY) is None
        )
    assert (
        await store.find_by_pin(redis_client, "+41441234567", new_pin, pin_key=PIN_KEY)
    ).id == "a"


async def test_list_and_search(redis_client):
    await save(redis_client, customer("zeta", "+41449876543", name="Zeta Bank"))
    await save(redis_client, customer("alpha", "+41441234567", name="Hotel Alpenblick"))
    assert [c.id for c in await store.list_customers(redis_client)] == ["alpha", "zeta"]
    assert [c.id for c in await store.search_customers(redis_client, "ALPEN")] == ["alpha"]
    assert [c.id for c in await store.search_customers(redis_client, "zet")] == ["zeta"]
    assert [c.id for c in await store.search_customers(redis_client, "044 987 65 43")] == ["zeta"]
    assert [c.id for c in await store.search_customers(redis_client, "98765")] == ["zeta"]
    assert await store.search_customers(redis_client, "nothing") == []


async def test_free_units_are_counted_per_month(redis_client):
    await save(redis_client, customer("a", "+41441234567"))
    assert await store.units_used(redis_client, "a", 2026, 11) == 0
    assert await store.use_unit(redis_client, "a", 2026, 11) == 1
    assert await store.use_unit(redis_client, "a", 2026, 11) == 2
    assert await store.use_unit(redis_client, "a", 2026, 12) == 1
    assert await store.units_used(redis_client, "a", 2026, 11) == 2
    with pytest.raises(UnknownCustomer):
        await store.use_unit(redis_client, "nobody", 2026, 11)
    with pytest.raises(ValueError):
        await store.units_used(redis_client, "a", 2026, 13)


async def test_concurrent_saves_keep_a_shared_number_index_whole(redis_client):
    await asyncio.gather(
        *(save(redis_client, customer(f"c{i}", "+41445551234")) for i in range(20))
    )
    shared = await store.find_by_number(redis_client, "+41445551234")
    assert sorted(c.id for c in shared) == sorted(f"c{i}" for i in range(20))


async def test_caller_id_and_pin_lookups_take_two_round_trips(redis_client, redis_round_trips):
    await save(redis_client, customer("a", "+41445551234"), pin="111111")
    await save(redis_client, customer("b", "+41445551234"))
    redis_round_trips.clear()
    assert len(await store.find_by_number(redis_client, "+41445551234")) == 2
    assert len(redis_round_trips) == 2
    redis_round_trips.clear()
    assert (
        await store.find_by_pin(redis_client, "+41445551234", "111111", pin_key=PIN_KEY)
    ).id == "a"
    assert len(redis_round_trips) == 2
