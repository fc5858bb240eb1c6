from ivr.config import Settings
from ivr.customers.csv_import import RowError, import_customers, parse_customers_csv
from ivr.customers.demo import DEMO_CUSTOMERS_CSV, load_demo_customers
from ivr.store import customers as store

TIERS = {"premium", "pro-plus", "pro", "basic-plus", "basic"}
PIN_KEY = b"test-pin-key"
HEADER = "id,name,language,numbers,pin,pin_required,tier,valid_from,valid_to,free_units_per_month\n"


def where(errors):
    return [(e.line, e.column) for e in errors]


def test_good_rows_become_customers_with_their_lines():
    text = (
        "\ufeff" + HEADER + "acme,ACME AG,de,044 123 45 67,123456,no,pro,,,1\n"
        "\n"
        '"beta","Beta, Gamma & Co",fr,"+41 22 345 67 89|0041227001122",,yes,basic,,,\n'
    )
    parsed = parse_customers_csv(text, TIERS)
    assert parsed.errors == []
    assert [(r.line, r.customer.id, r.pin) for r in parsed.rows] == [
        (2, "acme", "123456"),
        (4, "beta", None),
    ]
    assert parsed.rows[1].customer.name == "Beta, Gamma & Co"
    assert parsed.rows[1].customer.numbers == ("+41223456789", "+41227001122")


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out():
    parsed = parse_customers_csv("Tier,ID,Name,Numbers,Language\npro,a,A,044 123 45 67,it\n", TIERS)
    assert parsed.errors == []
    assert parsed.rows[0].customer.language == "it"


def test_every_bad_row_is_reported_with_line_column_and_reason():
    text = HEADER + (
        "acme,ACME AG,de,044 123 45 67,123456,no,gold,,,1\n"
        "beta,Beta,es,044 123 45 67,12345,no,pro,2026-02-30,,\n"
        "gamma,Gamma,de,12,,no,pro,2026-06-01,2026-05-01,x\n"
        "acme,ACME again,de,044 123 45 67,654321,no,pro,,,\n"
        "delta,Delta,de,044 123 45 67,654321,no,pro,,,\n"
        "short,row\n"
    )
    errors = parse_customers_csv(text, TIERS).errors
    assert where(errors) == [
        (2, "tier"),
        (3, "language"),
        (3, "pin"),
        (3, "valid_from"),
        (4, "numbers"),
        (4, "free_units_per_month"),
        (4, "valid_to"),
        (5, "id"),
        (7, None),
    ]
    assert "unknown tier 'gold'" in errors[0].reason
    assert errors[7].reason == "duplicate id, first on line 2"
    assert str(errors[8]) == "line 7: 2 values, but the header has 10 columns"


def test_header_problems_are_reported_on_line_one():
    errors = parse_customers_csv("id,name,colour,name,tier\n", TIERS).errors
    assert where(errors) == [(1, "colour"), (1, "name"), (1, "language"), (1, "numbers")]
    assert [e.reason for e in errors][1:] == [
        "the column is given twice",
        "missing column",
        "missing column",
    ]
    assert parse_customers_csv("", TIERS).errors == [
        RowError(1, None, "the file is empty: no header row")
    ]


async def test_import_is_all_or_nothing_against_the_stored_customers(redis_client):
    await store.save_customer(
        redis_client,
        parse_customers_csv(HEADER + "old,Old,de,031 456 78 90,111111,,pro,,,", TIERS)
        .rows[0]
        .customer,
        pin="111111",
        pin_key=PIN_KEY,
        known_tiers=TIERS,
    )
    rows = parse_customers_csv(
        HEADER
        + "new,New,de,044 123 45 67,222222,,pro,,,\n"
        + "thief,Thief,de,044 987 65 43,111111,,pro,,,\n"
        + "old,Old,de,031 456 78 90,,,basic,,,\n",
        TIERS,
    ).rows
    report = await import_customers(redis_client, rows, pin_key=PIN_KEY, known_tiers=TIERS)
    # another customer's PIN is no conflict: the import tells nothing about others' PINs
    assert where(report.errors) == [(4, "id")]
    assert report.errors[0].reason == "customer 'old' already exists"
    assert [c.id for c in await store.list_customers(redis_client)] == ["old"]

    report = await import_customers(
        redis_client, rows, pin_key=PIN_KEY, known_tiers=TIERS, update_existing=True
    )
    assert (report.created, report.updated, report.errors) == (["new", "thief"], ["old"], [])
    assert (await store.get_customer(redis_client, "old")).contract.tier == "basic"


async def test_demo_customers_load_and_reload(redis_client):
    first = await load_demo_customers(redis_client, pin_key=PIN_KEY, known_tiers=TIERS)
    again = await load_demo_customers(redis_client, pin_key=PIN_KEY, known_tiers=TIERS)
    assert len(first.created) == 6 and first.updated == []
    assert again.created == [] and sorted(again.updated) == sorted(first.created)
    customers = await store.list_customers(redis_client)
    assert {c.contract.tier for c in customers} == TIERS
    assert {c.language for c in customers} == {"de", "fr", "it", "en"}
    assert [c.id for c in customers if c.pin_required] == ["privatbank-rhone"]
    shared = await store.find_by_number(redis_client, "+41445551234")
    assert sorted(c.id for c in shared) == ["baeckerei-frisch", "zurich-translations"]
    found = await store.find_by_pin(redis_client, "+41441234567", "481516", pin_key=PIN_KEY)
    assert found.id == "klinik-seefeld"


def test_demo_file_sits_in_the_default_tables_folder():
    assert DEMO_CUSTOMERS_CSV.parent == Settings.from_env({}).tables_dir
