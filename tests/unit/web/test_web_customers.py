"""Customers in the admin console: create, edit, search, reset a PIN, import a CSV file."""

import re

from aiohttp import FormData

from ivr.store.customers import find_by_pin, get_customer, list_customers

NEW = {
    "id": "acme",
    "name": "ACME Holding AG",
    "language": "fr",
    "numbers": "044 123 45 67\n+41 31 555 66 77",
    "tier": "pro",
    "valid_from": "2026-01-01",
    "valid_to": "",
    "free_units_per_month": "2",
    "pin": "493817",
}
CSV_HEADER = "id,name,language,numbers,pin,tier,free_units_per_month\n"


def csv_upload(text, update=False):
    form = FormData()
    form.add_field("file", text.encode(), filename="customers.csv", content_type="text/csv")
    if update:
        form.add_field("update", "yes")
    return form


async def post_csv(admin, text, update=False):
    form = csv_upload(text, update)
    return await admin.client.post(
        "/admin/customers/import",
        data=form,
        headers={"Accept": "text/html", "X-CSRF-Token": admin.csrf},
        allow_redirects=False,
    )


async def test_creating_a_customer(console, admin):
    response = await admin.post("/admin/customers/new", NEW)
    assert response.status == 303
    assert response.headers["Location"] == "/admin/customers/acme?msg=created"
    customer = await get_customer(console.redis, "acme")
    assert customer.numbers == ("+41441234567", "+41315556677")
    assert (customer.language, customer.contract.tier, customer.has_pin) == ("fr", "pro", True)
    found = await find_by_pin(
        console.redis, "+41441234567", "493817", pin_key=console.settings.pin_key
    )
    assert found.id == "acme"
    page = await admin.page(response.headers["Location"])
    assert "Customer created." in page and "A PIN is set." in page


async def test_a_form_with_mistakes_names_each_field_and_saves_nothing(console, admin):
    bad = {**NEW, "id": "ACME!", "numbers": "12", "tier": "gold", "valid_to": "2025-01-01"}
    response = await admin.post("/admin/customers/new", bad)
    assert response.status == 422
    page = await response.text()
    errors = re.findall(r'<span class="field-error">([^<]*)</span>', page)
    assert any("is not an id" in e for e in errors)
    assert any("bad phone number" in e for e in errors)
    assert any("unknown tier" in e for e in errors)
    assert 'value="ACME!"' in page  # what was typed stays in the form
    assert await list_customers(console.redis) == []


async def test_an_existing_id_is_not_created_twice(console, admin):
    assert (await admin.post("/admin/customers/new", NEW)).status == 303
    response = await admin.post("/admin/customers/new", {**NEW, "name": "Other", "pin": ""})
    assert response.status == 422
    assert "already exists" in await response.text()
    assert (await get_customer(console.redis, "acme")).name == "ACME Holding AG"


async def test_editing_numbers_language_contract_and_free_units(console, admin):
    await admin.post("/admin/customers/new", NEW)
    edited = {
        **NEW,
        "id": "ignored",
        "numbers": "+41 44 999 88 77",
        "language": "it",
        "tier": "premium",
        "valid_to": "2027-12-31",
        "free_units_per_month": "5",
        "pin": "000000",
    }
    response = await admin.post("/admin/customers/acme", edited)
    assert response.status == 303
    customer = await get_customer(console.redis, "acme")
    assert customer.id == "acme" and customer.numbers == ("+41449998877",)
    assert (customer.language, customer.contract.tier) == ("it", "premium")
    assert (customer.contract.valid_to.isoformat(), customer.contract.free_units_per_month) == (
        "2027-12-31",
        5,
    )
    # the PIN is changed only by a reset, never by the edit form
    pin_key = console.settings.pin_key
    assert await find_by_pin(console.redis, "+41449998877", "493817", pin_key=pin_key)
    assert await find_by_pin(console.redis, "+41449998877", "000000", pin_key=pin_key) is None


async def test_requiring_a_pin_needs_a_pin(console, admin):
    await admin.post("/admin/customers/new", {**NEW, "pin": ""})
    response = await admin.post("/admin/customers/acme", {**NEW, "pin_required": "yes"})
    assert response.status == 422
    assert "pin_required is set but the customer has no PIN" in await response.text()
    assert not (await get_customer(console.redis, "acme")).pin_required


async def test_searching(console, admin):
    await admin.post("/admin/customers/new", NEW)
    await admin.post(
        "/admin/customers/new",
        {**NEW, "id": "bank", "name": "Bank", "numbers": "0445550000", "pin": ""},
    )
    for query, expected in [("holding", ["acme"]), ("044 555 00 00", ["bank"]), ("zzz", [])]:
        page = await admin.page(f"/admin/customers?q={query}")
        shown = re.findall(r'<a href="/admin/customers/([a-z0-9-]+)">', page)
        assert shown == expected, query


async def test_a_reset_pin_is_shown_once_and_works(console, admin):
    await admin.post("/admin/customers/new", NEW)
    response = await admin.post("/admin/customers/acme/reset-pin", {})
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    pin = re.search(r'<p class="pin" id="new-pin">(\d{6})</p>', await response.text()).group(1)
    pin_key = console.settings.pin_key
    assert (await find_by_pin(console.redis, "+41441234567", pin, pin_key=pin_key)).id == "acme"
    if pin != "493817":
        assert await find_by_pin(console.redis, "+41441234567", "493817", pin_key=pin_key) is None
    assert pin not in await admin.page("/admin/customers/acme")
    assert (await admin.post("/admin/customers/nobody/reset-pin", {})).status == 404


async def test_a_csv_import_creates_every_row(console, admin):
    text = (
        CSV_HEADER
        + "acme,ACME,de,044 123 45 67,493817,pro,2\nbank,Bank,fr,0445550000;0445550001,,basic,0\n"
    )
    response = await post_csv(admin, text)
    assert response.status == 200
    page = await response.text()
    assert "Imported 2 customers" in page and "Created: acme, bank" in page
    assert [c.id for c in await list_customers(console.redis)] == ["acme", "bank"]


async def test_a_csv_with_a_bad_row_imports_nothing_and_reports_each_row(console, admin):
    text = CSV_HEADER + "acme,ACME,de,044 123 45 67,,pro,2\nbank,Bank,xx,0445550000,12,gold,0\n"
    response = await post_csv(admin, text)
    assert response.status == 422
    page = await response.text()
    assert "nothing was imported" in page
    rows = re.findall(r"<tr><td>(\d+)</td><td>([a-z_]*)</td><td>([^<]*)</td></tr>", page)
    assert {(line, column) for line, column, _ in rows} == {
        ("3", "language"),
        ("3", "pin"),
        ("3", "tier"),
    }
    assert await list_customers(console.redis) == []


async def test_a_csv_import_updates_only_when_asked(console, admin):
    await post_csv(admin, CSV_HEADER + "acme,ACME,de,044 123 45 67,,pro,2\n")
    text = CSV_HEADER + "acme,ACME Renamed,de,044 123 45 67,,pro,2\n"
    refused = await post_csv(admin, text)
    assert refused.status == 422 and "already exists" in await refused.text()
    updated = await post_csv(admin, text, update=True)
    assert updated.status == 200 and "Updated: acme" in await updated.text()
    assert (await get_customer(console.redis, "acme")).name == "ACME Renamed"


async def test_a_file_that_is_not_utf8_is_refused(console, admin):
    response = await post_csv(admin, "")
    assert response.status == 422  # empty: no header row
    form = FormData()
    form.add_field("file", b"id,name\n\xff\xfe", filename="x.csv")
    response = await admin.client.post(
        "/admin/customers/import",
        data=form,
        headers={"X-CSRF-Token": admin.csrf},
        allow_redirects=False,
    )
    assert response.status == 422
    assert "not UTF-8" in await response.text()


async def test_customer_names_are_escaped(console, admin):
    await admin.post("/admin/customers/new", {**NEW, "name": "<script>alert(1)</script>"})
    page = await admin.page("/admin/customers")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


CONTACTS = "Anna Muster: 044 123 45 67, 079 123 45 67: yes\nBeat Kunz: +41 31 555 66 77: no"


async def test_contacts_are_edited_in_the_console_and_shown_to_the_desk_read_only(
    console, admin, desk
):
    response = await admin.post("/admin/customers/new", {**NEW, "contacts": CONTACTS})
    assert response.status == 303
    customer = await get_customer(console.redis, "acme")
    assert [(c.name, c.numbers, c.may_order) for c in customer.contacts] == [
        ("Anna Muster", ("+41441234567", "+41791234567"), True),
        ("Beat Kunz", ("+41315556677",), False),
    ]
    form = await admin.page("/admin/customers/acme")
    assert "Anna Muster: +41441234567, +41791234567: yes" in form

    by_name = await desk.page("/desk/customers?q=acme")
    by_number = await desk.page("/desk/customers?q=031 555 66 77")
    for page in (by_name, by_number):
        assert "ACME Holding AG" in page and "Anna Muster" in page
        assert re.search(r"<td>Beat Kunz</td><td>\+41 31 555 66 77</td><td>no</td>", page)
    after_search = by_name.split('action="/desk/customers"', 1)[1].split("</form>", 1)[1]
    assert "<form" not in after_search, "read only: no form but the search"
    refused = await desk.post("/admin/customers/acme", {**NEW, "contacts": ""})
    assert refused.status in (401, 403)


async def test_a_wrong_contact_is_named_and_nothing_is_saved(console, admin):
    response = await admin.post("/admin/customers/new", {**NEW, "contacts": "Anna: 12: yes"})
    assert response.status == 422
    assert "contact 1 (Anna): bad phone number" in await response.text()
    assert await get_customer(console.redis, "acme") is None


async def test_contacts_come_in_with_the_csv_import(console, admin):
    text = (
        "id,name,language,numbers,pin,tier,contacts\n"
        "acme,ACME,de,044 123 45 67,493817,pro,"
        '"Anna: 044 123 45 67: yes | Beat: 031 555 66 77: no"\n'
    )
    response = await post_csv(admin, text)
    assert response.status == 200
    customer = await get_customer(console.redis, "acme")
    assert [(c.name, c.may_order) for c in customer.contacts] == [("Anna", True), ("Beat", False)]
