""" "What happens if": the routing core's decision for a customer, a number or a tier."""

import re

from ivr.customers.model import Contract, Customer
from ivr.store.customers import save_customer

TIERS = {"premium", "pro-plus", "pro", "basic-plus", "basic"}


async def add(console, customer_id, tier, numbers, pin_required=False, pin=None):
    customer = Customer(
        id=customer_id,
        name=customer_id.upper(),
        language="de",
        numbers=numbers,
        contract=Contract(tier),
        pin_required=pin_required,
    )
    await save_customer(
        console.redis, customer, pin=pin, pin_key=console.settings.pin_key, known_tiers=TIERS
    )


def destinations(page):
    return re.findall(r'<dd class="decision-destination">(\w+)</dd>', page)


async def test_a_customer_at_an_instant(console, admin):
    await add(console, "acme", "pro", ("+41441234567",))
    saturday = await admin.page("/admin/simulate?who=customer&customer=acme&at=2026-11-28T22:14")
    assert destinations(saturday) == ["desk"]
    assert "Hears the cost notice, then goes to the desk if they continue." in saturday
    assert (
        "pro covers Mon–Fri 07:00–19:00 Europe/Zurich; Sat 28 Nov 2026 22:14 is outside" in saturday
    )
    monday = await admin.page("/admin/simulate?who=customer&customer=acme&at=2026-11-30T10:00")
    assert destinations(monday) == ["technician"]
    assert "Rings the technician on standby, Lea Favre." in monday


async def test_the_instant_defaults_to_now(console, admin):
    page = await admin.page("/admin/simulate?who=tier&tier=pro")
    assert 'value="2026-11-28T22:14"' in page  # the console's clock, in Zurich
    assert destinations(page) == ["desk"]


async def test_a_number(console, admin):
    await add(console, "acme", "premium", ("+41441234567",))
    page = await admin.page("/admin/simulate?who=number&number=044+123+45+67&at=2026-11-28T22:14")
    assert "identifies the caller by caller ID" in page
    assert destinations(page) == ["technician"]
    unknown = await admin.page("/admin/simulate?who=number&number=0449999999&at=2026-11-28T22:14")
    assert "is no customer&#x27;s number" in unknown and destinations(unknown) == ["desk"]
    bad = await admin.page("/admin/simulate?who=number&number=12&at=2026-11-28T22:14")
    assert "Phone number: " in bad and destinations(bad) == []


async def test_a_shared_number_shows_each_customer(console, admin):
    await add(console, "a", "premium", ("+41441234567",), pin="111111")
    await add(console, "b", "basic", ("+41441234567",), pin="222222")
    page = await admin.page("/admin/simulate?who=number&number=+41441234567&at=2026-11-28T22:14")
    assert "they are asked for a PIN" in page
    assert destinations(page) == ["technician", "desk"]


async def test_mistakes_are_named(console, admin):
    for query, message in [
        ("who=customer&customer=nobody", "There is no customer &#x27;nobody&#x27;."),
        ("who=customer&customer=x&at=tomorrow", "Instant: &#x27;tomorrow&#x27; is not an ISO 8601"),
        ("who=tier&tier=", "Choose a tier."),
    ]:
        page = await admin.page(f"/admin/simulate?{query}")
        assert message in page, query
        assert destinations(page) == []


async def test_an_unidentified_caller(console, admin):
    page = await admin.page("/admin/simulate?who=unidentified&at=2026-11-28T22:14")
    assert destinations(page) == ["desk"]
    assert "the caller is not identified" in page
