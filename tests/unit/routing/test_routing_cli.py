"""`ivr route explain` and `ivr tables check`."""

from __future__ import annotations

import json

import pytest

from ivr.cli import main
from ivr.customers.demo import DEMO_CUSTOMERS_CSV
from tests.unit.routing.conftest import DEFAULT_TABLES, default_bundle, edited

SATURDAY = "2026-11-28T10:15"


def write_tables(directory, bundle):
    directory.mkdir()
    for name, text in bundle.items():
        (directory / name).write_text(text)
    return directory


@pytest.fixture(autouse=True)
def no_fake_clock(monkeypatch):
    for name in ("IVR_NOW", "IVR_ALLOW_FAKE_CLOCK", "IVR_TABLES_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_explain_prints_the_paragraph(capsys):
    assert main(["route", "explain", "--tier", "pro", "--at", "2026-11-28T10:15"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "pro covers Mon–Fri 07:00–19:00 Europe/Zurich; Sat 28 Nov 2026 10:15 is outside; "
        "next opening Mon 30 Nov 07:00; the cost notice applies; the call goes to the xy AG desk"
    )
    assert out.endswith("first reaction due Mon 30 Nov 13:00\n")


def test_explain_json_with_an_offset(capsys):
    code = main(
        ["route", "explain", "--tier", "pro-plus", "--at", "2026-11-28T09:15:00Z", "--json"]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tier"] == "pro-plus"
    assert (data["covered"], data["destination"], data["notice"]) == (True, "technician", False)
    assert data["first_reaction_due"] == "2026-11-28T12:15:00+01:00"
    assert data["tables_version"] and data["at"] == "2026-11-28T10:15:00+01:00"


def test_explain_defaults_to_the_service_clock(capsys, monkeypatch):
    monkeypatch.setenv("IVR_ALLOW_FAKE_CLOCK", "1")
    monkeypatch.setenv("IVR_NOW", "2026-12-25T10:00:00+01:00")
    assert main(["route", "explain", "--tier", "pro", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["at"].startswith("2026-12-25T10:00")
    assert (data["holiday"], data["covered"]) == ("Christmas Day", False)


def test_explain_refuses_a_fake_clock_that_is_not_allowed(capsys, monkeypatch):
    monkeypatch.setenv("IVR_NOW", "2026-12-25T10:00:00+01:00")
    assert main(["route", "explain", "--tier", "pro"]) == 2
    assert "IVR_ALLOW_FAKE_CLOCK" in capsys.readouterr().err


def test_explain_by_customer_uses_the_contract_in_the_store(
    capsys, monkeypatch, redis_server, tmp_path
):
    monkeypatch.setenv("IVR_REDIS_URL", redis_server.url)
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path))
    assert main(["customers", "import", str(DEMO_CUSTOMERS_CSV), "--update"]) == 0
    capsys.readouterr()

    explain = ["route", "explain", "--customer", "studio-lugano", "--at", SATURDAY, "--json"]
    assert main(explain) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["tier"] == "pro"
    assert (decision["covered"], decision["destination"]) == (False, "desk")

    assert main(["route", "explain", "--customer", "nobody", "--at", SATURDAY]) == 2
    assert "no customer 'nobody'" in capsys.readouterr().err


def test_explain_needs_a_tier_or_a_customer(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["route", "explain", "--at", "2026-11-28T10:15"])
    assert exited.value.code == 2


def test_explain_names_an_unknown_tier(capsys):
    assert main(["route", "explain", "--tier", "gold", "--at", "2026-11-28T10:15"]) == 2
    assert "unknown tier 'gold'; known tiers: premium, pro-plus, pro, basic-plus, basic" in (
        capsys.readouterr().err
    )


def test_explain_names_a_bad_instant(capsys):
    assert main(["route", "explain", "--tier", "pro", "--at", "next monday"]) == 2
    assert "--at: 'next monday' is not an ISO 8601 instant" in capsys.readouterr().err


def test_explain_reads_the_tables_directory_of_the_installation(tmp_path, capsys, monkeypatch):
    bundle = edited(default_bundle(), "tiers.toml", "price_chf = 129.00", "price_chf = -1")
    monkeypatch.setenv("IVR_TABLES_DIR", str(write_tables(tmp_path / "tables", bundle)))
    assert main(["route", "explain", "--tier", "pro", "--at", "2026-11-28T10:15"]) == 1
    assert capsys.readouterr().err == "tiers.toml: tier.pro.price_chf: must be at least 0, not -1\n"


def test_explain_with_other_tables(tmp_path, capsys):
    bundle = edited(default_bundle(), "hotline.toml", '"Europe/Zurich"', '"America/New_York"')
    directory = write_tables(tmp_path / "tables", bundle)
    argv = [
        "route",
        "explain",
        "--tier",
        "pro",
        "--at",
        "2026-11-30T07:30",
        "--tables",
        str(directory),
    ]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["zone"], data["at"], data["covered"]) == (
        "America/New_York",
        "2026-11-30T07:30:00-05:00",
        True,
    )


def test_tables_check_accepts_the_default_tables(capsys):
    assert main(["tables", "check", str(DEFAULT_TABLES)]) == 0
    assert "valid, 5 tiers, version " in capsys.readouterr().out


def test_tables_check_prints_one_line_per_problem(tmp_path, capsys):
    bundle = edited(default_bundle(), "rota.toml", 'order = ["anna", "marco", "lea"]', "order = []")
    bundle = edited(bundle, "holidays.toml", 'canton = "ZH"', 'canton = "ZZ"')
    assert main(["tables", "check", str(write_tables(tmp_path / "tables", bundle))]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("holidays.toml: canton: unknown value 'ZZ'; expected AG, AI")
    assert lines[1] == "rota.toml: rotation.order: empty: nobody would be on standby"


def test_tables_check_of_a_missing_directory(tmp_path, capsys):
    assert main(["tables", "check", str(tmp_path / "none")]) == 1
    assert capsys.readouterr().out.endswith(": -: not a directory\n")
