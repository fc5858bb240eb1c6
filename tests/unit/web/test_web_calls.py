"""Call records in the admin console: the list, its search, each call's timeline."""

import re
from datetime import timedelta

from tests.unit.web.conftest import NOW
from tests.unit.web.records import SCRIPT_NAME, record_covered_call, record_notice_call


def listed(page):
    return re.findall(r'<a href="/admin/calls/([^"]+)">', page)


async def test_the_latest_calls_first(console, admin):
    await record_notice_call(console.redis, "older", NOW - timedelta(hours=1))
    await record_covered_call(console.redis, "newer", NOW)
    page = await admin.page("/admin/calls")
    assert listed(page) == ["newer", "older"]
    assert "2 calls (the latest 500 at most)" in page


async def test_searching_calls(console, admin):
    await record_notice_call(console.redis, "c-acme", NOW, customer=("acme", "ACME Holding AG"))
    await record_covered_call(console.redis, "c-bank", NOW)
    for query, expected in [
        ("acme", ["c-acme"]),
        ("holding", ["c-acme"]),
        ("premium", ["c-bank"]),
        ("765", ["c-bank"]),  # digits of the caller's number, +41447654321
        ("desk", ["c-acme"]),
        ("nothing", []),
    ]:
        assert listed(await admin.page(f"/admin/calls?q={query}")) == expected, query


async def test_a_calls_timeline(console, admin):
    await record_notice_call(console.redis, "c1", NOW)
    page = await admin.page("/admin/calls/c1")
    kinds = re.findall(r'<td class="num">[^<]*</td><td>(\w+)</td>', page)
    assert kinds == ["started", "identified", "decision", "consent"]
    assert "+30.0 s" in page
    assert "2026-11-28 22:14:00" in page  # local time in Zurich
    assert (await admin.get("/admin/calls/nope")).status == 404


async def test_caller_names_are_text_in_the_list_and_the_timeline(console, admin):
    await record_notice_call(console.redis, "c1", NOW, caller_name=SCRIPT_NAME)
    for path in ("/admin/calls", "/admin/calls/c1"):
        page = await admin.page(path)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert SCRIPT_NAME not in page, path
