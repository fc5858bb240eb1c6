"""`ivr requests ...` against a real Redis: create prints the number, the life of a request,
`--json` with the field names of DESIGN.md, and clear refusals."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio

from ivr.cli import main
from ivr.customers.demo import load_demo_customers

TIERS = {"premium", "pro-plus", "pro", "basic-plus", "basic"}


@pytest.fixture
def cli(redis_server, monkeypatch, capsys):
    monkeypatch.setenv("IVR_REDIS_URL", redis_server.url)
    monkeypatch.setenv("IVR_ALLOW_FAKE_CLOCK", "1")
    monkeypatch.setenv("IVR_NOW", "2026-11-28T22:05:00+01:00")

    async def fresh() -> None:
        client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
        await client.flushdb()
        await load_demo_customers(client, pin_key=b"k", known_tiers=TIERS)
        await client.aclose()

    asyncio.run(fresh())

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["requests", *args])
        captured = capsys.readouterr()
        return code, captured.out.strip(), captured.err.strip()

    return run


def test_create_prints_the_number_and_show_json_has_the_agreed_fields(cli):
    code, out, _ = cli("create", "--customer", "klinik-seefeld", "--summary", "PBX down")
    assert (code, out) == (0, "1")
    _, out, _ = cli("show", "1", "--json")
    shown = json.loads(out)
    for name in (
        "id",
        "customer_id",
        "tier",
        "call_id",
        "summary",
        "created_at",
        "first_reaction_due",
        "state",
        "holder",
        "acknowledged_at",
        "first_contact_at",
        "resolved_at",
        "breached",
        "notifications",
        "escalations",
    ):
        assert name in shown, name
    assert (shown["id"], shown["customer_id"], shown["tier"]) == (1, "klinik-seefeld", "premium")
    assert shown["created_at"].startswith("2026-11-28T22:05:00")
    assert shown["first_reaction_due"].startswith("2026-11-28T23:05:00")
    assert shown["first_reaction_due"].endswith("+01:00")
    assert (shown["state"], shown["breached"]) == ("open", False)


def test_the_life_of_a_request_on_the_command_line(cli):
    cli("create", "--customer", "klinik-seefeld", "--summary", "PBX down")
    assert cli("ack", "1", "--technician", "anna")[1] == "request #1 is acknowledged"
    assert cli("contact", "1")[1] == "request #1 is contacted"
    code, out, _ = cli(
        "resolve", "1", "--intervention", "remote", "--minutes", "20", "--note", "reset", "--json"
    )
    assert code == 0
    resolved = json.loads(out)
    assert (resolved["state"], resolved["holder"], resolved["intervention"]) == (
        "resolved",
        "anna",
        "remote",
    )
    assert cli("list")[1] == "no requests"
    assert cli("list", "--closed")[1].startswith("#1  resolved")


def test_refusals_name_what_is_wrong(cli):
    assert cli("create", "--customer", "nobody", "--summary", "x")[2] == (
        "ivr: there is no customer 'nobody'"
    )
    assert cli("ack", "9")[2] == "ivr: there is no request #9"
    cli("create", "--customer", "klinik-seefeld", "--summary", "PBX down")
    cli("ack", "1")
    code, _, err = cli("ack", "1")
    assert code == 1 and "is acknowledged by marco: cannot ack it" in err
