"""`ivr customers ...` and `ivr calls ...` against the test Redis."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import redis

from ivr.cli import main
from ivr.commands.customers import known_tiers
from ivr.config import REPO_DIR, Settings
from ivr.customers.demo import DEMO_CUSTOMERS_CSV
from ivr.store import calls, connect
from ivr.store.customers import find_by_pin

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def env(redis_server, tmp_path, monkeypatch):
    monkeypatch.setenv("IVR_REDIS_URL", redis_server.url)
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("IVR_TABLES_DIR", str(REPO_DIR / "routing"))
    monkeypatch.setenv("IVR_ALLOW_FAKE_CLOCK", "1")
    monkeypatch.setenv("IVR_NOW", "2026-11-28T10:00:00+01:00")
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushdb()
    return tmp_path


def with_store(work):
    async def run():
        client = connect(Settings.from_env())
        try:
            return await work(client)
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_import_show_and_list_the_demo_customers(env, capsys):
    assert main(["customers", "import", str(DEMO_CUSTOMERS_CSV)]) == 0
    assert "imported 6 customer(s)" in capsys.readouterr().out

    assert main(["customers", "show", "klinik-seefeld"]) == 0
    shown = capsys.readouterr().out
    assert "klinik-seefeld: Klinik Seefeld AG" in shown
    assert "+41 44 123 45 67, +41 79 123 45 67" in shown
    assert "4 per month, 0 used in 2026-11" in shown
    assert "481516" not in shown

    assert main(["customers", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 6 and all(c["has_pin"] for c in listed)

    assert main(["customers", "list", "--search", "044 555 12 34"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["baeckerei-frisch", "zurich-translations"]


def test_a_bad_file_is_refused_whole_with_its_report(env, capsys):
    bad = env / "bad.csv"
    bad.write_text(
        "id,name,language,numbers,tier\n"
        "good,Good AG,de,044 123 45 67,pro\n"
        "bad,Bad AG,xx,044 123 45 67,gold\n"
    )
    assert main(["customers", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "2 problem(s), nothing imported" in err
    assert "line 3, column language: unknown language 'xx'" in err
    assert "line 3, column tier: unknown tier 'gold'" in err
    assert main(["customers", "list"]) == 0
    assert capsys.readouterr().out == "no customers\n"


def test_existing_customers_need_update(env, capsys):
    assert main(["customers", "import", str(DEMO_CUSTOMERS_CSV)]) == 0
    assert main(["customers", "import", str(DEMO_CUSTOMERS_CSV)]) == 1
    assert "column id: customer 'klinik-seefeld' already exists" in capsys.readouterr().err
    assert main(["customers", "import", "--update", str(DEMO_CUSTOMERS_CSV)]) == 0
    assert "updated: " in capsys.readouterr().out


def test_reset_pin_shows_the_new_pin_once(env, capsys):
    assert main(["customers", "import", str(DEMO_CUSTOMERS_CSV)]) == 0
    capsys.readouterr()
    assert main(["customers", "reset-pin", "studio-lugano"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("new PIN for studio-lugano: ")
    pin = out.split(": ")[1].split()[0]
    pin_key = Settings.from_env().pin_key
    found = with_store(lambda client: find_by_pin(client, pin, pin_key=pin_key))
    assert found.id == "studio-lugano"
    assert main(["customers", "reset-pin", "nobody"]) == 1


def test_unknown_customer_and_missing_file(env, capsys):
    assert main(["customers", "show", "nobody"]) == 1
    assert "no customer 'nobody'" in capsys.readouterr().err
    assert main(["customers", "import", str(env / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_calls_list_and_show(env, capsys):
    async def record(client):
        await calls.start_call(client, "1732.1", "+41441234567", T0)
        await calls.add_event(
            client, "1732.1", "identified", T0 + timedelta(seconds=2), how="caller-id"
        )
        await calls.add_event(
            client, "1732.1", "decision", T0 + timedelta(seconds=2), why="premium covers 7x24"
        )
        await calls.update_call(
            client, "1732.1", customer_id="klinik-seefeld", tier="premium", covered=True
        )
        await calls.finish_call(
            client, "1732.1", T0 + timedelta(seconds=40), "technician", "caller", 16
        )
        await calls.start_call(client, "1732.2", None, T0 + timedelta(minutes=5))

    with_store(record)
    assert main(["calls", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["2026-11-28", "10:05:00", "1732.2"]
    assert "withheld" in lines[0] and "in progress" in lines[0]
    assert "+41 44 123 45 67" in lines[1] and "covered" in lines[1] and lines[1].endswith("40 s")

    assert main(["calls", "list", "--since", "2026-11-28T10:01", "--json"]) == 0
    assert [c["call_id"] for c in json.loads(capsys.readouterr().out)] == ["1732.2"]

    assert main(["calls", "show", "1732.1"]) == 0
    shown = capsys.readouterr().out
    assert "  customer_id       klinik-seefeld" in shown
    assert "2026-11-28 10:00:02      +2.0 s  identified  how=caller-id" in shown
    assert 'decision    why="premium covers 7x24"' in shown
    assert "+40.0 s  ended       outcome=technician hangup_side=caller hangup_cause=16" in shown

    assert main(["calls", "show", "1732.1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in data["events"]] == ["started", "identified", "decision", "ended"]
    assert main(["calls", "show", "nope"]) == 1


def test_a_bad_since_is_refused(env, capsys):
    with pytest.raises(SystemExit):
        main(["calls", "list", "--since", "yesterday"])
    assert "not an ISO 8601 instant" in capsys.readouterr().err


def test_unreachable_redis_is_reported(env, capsys, monkeypatch):
    monkeypatch.setenv("IVR_REDIS_URL", "redis://127.0.0.1:1/0")
    assert main(["calls", "list"]) == 2
    assert "Redis at redis://127.0.0.1:1/0 does not answer" in capsys.readouterr().err


def test_known_tiers_come_from_the_routing_tables():
    assert known_tiers(Settings.from_env({"IVR_TABLES_DIR": str(REPO_DIR / "routing")})) == {
        "premium",
        "pro-plus",
        "pro",
        "basic-plus",
        "basic",
    }


def test_import_refuses_when_the_tables_are_broken(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IVR_TABLES_DIR", str(tmp_path))
    assert main(["customers", "import", str(DEMO_CUSTOMERS_CSV)]) == 2
    assert "routing tables are invalid" in capsys.readouterr().err
