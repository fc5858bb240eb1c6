"""A fresh installation gets the demo data once (or never, when declined); restarts keep what
the admins changed. The demo closure dates are opt-in and marked as demo."""

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from ivr.config import REPO_DIR, Settings
from ivr.routing import Contract, decide, load_tables, parse_tables
from ivr.stack import setup
from ivr.store import customers as store
from ivr.store import installation
from ivr.store.customers import reset_pin


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"IVR_STATE_DIR": str(tmp_path)})


TABLES = load_tables(REPO_DIR / "routing")


async def test_demo_customers_load_on_the_first_set_up_only(redis_client, settings):
    first = await setup._demo_customers(redis_client, settings, TABLES, demo=True)
    assert first == "demo customers: 6 created, 0 updated"
    customer = await store.get_customer(redis_client, "studio-lugano")
    changed = replace(customer, name="Studio Lugano (renamed)")
    await store.save_customer(
        redis_client, changed, pin_key=settings.pin_key, known_tiers=set(TABLES.tiers)
    )
    new_pin = await reset_pin(redis_client, "studio-lugano", pin_key=settings.pin_key)

    again = await setup._demo_customers(redis_client, settings, TABLES, demo=True)

    assert again.startswith("demo customers: left as they are (first set-up: loaded ")
    kept = await store.get_customer(redis_client, "studio-lugano")
    assert kept.name == "Studio Lugano (renamed)"
    number = kept.numbers[0]
    found = await store.find_by_pin(redis_client, number, new_pin, pin_key=settings.pin_key)
    assert found.id == "studio-lugano"
    old = await store.find_by_pin(redis_client, number, "919191", pin_key=settings.pin_key)
    assert old is None


async def test_an_installation_set_up_without_demo_data_never_gets_it(redis_client, settings):
    first = await setup._demo_customers(redis_client, settings, TABLES, demo=False)
    later = await setup._demo_customers(redis_client, settings, TABLES, demo=True)
    assert first == "demo customers: none (this installation was set up without demo data)"
    assert "first set-up: declined" in later
    assert await store.list_customers(redis_client) == []
    assert (await installation.demo_data_choice(redis_client)).startswith("declined ")


def test_the_shipped_tables_give_the_contracts_hours_on_the_24th_of_december():
    day = TABLES.calendar.name_on(date(2026, 12, 24))
    pro = decide(TABLES, Contract("pro"), _zurich("2026-12-24T10:00"))
    assert day is None and pro.covered


def test_the_demo_closure_is_opt_in_and_marked_as_demo():
    demo = parse_tables(setup.with_demo_closures(TABLES.files))
    label = demo.calendar.name_on(date(2026, 12, 24))
    pro = decide(demo, Contract("pro"), _zurich("2026-12-24T10:00"))
    assert label is not None and "DEMO" in label
    assert not pro.covered
    assert "DEMO ONLY" in demo.files["holidays.toml"]


def _zurich(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TABLES.zone)
