"""The escalation policy (routing/escalation.toml) and the chief technician (rota.toml
`[chief]`): read into the tables, every problem named by file and key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ivr.routing import Problem, TablesError, parse_tables


def problems(bundle: dict[str, str]) -> list[Problem]:
    with pytest.raises(TablesError) as raised:
        parse_tables(bundle)
    return list(raised.value.problems)


def test_the_policy_and_the_chief_are_read(tables):
    policy = tables.escalation
    assert policy.ack_within == timedelta(minutes=10)
    assert policy.chief_before_due == timedelta(minutes=20)
    assert policy.admins_email == ("hotline-admins@winet.example",)
    chief = tables.chief
    assert (chief.kind, chief.id, chief.dial, chief.email) == (
        "chief",
        "lea",
        "PJSIP/tech-lea",
        "lea.favre@winet.example",
    )
    assert chief.ring_timeout == tables.destinations.ring_timeout


def test_fractions_of_a_minute_are_allowed(bundle, edit):
    tables = parse_tables(
        edit(bundle, "escalation.toml", "ack_within_minutes = 10", "ack_within_minutes = 0.05")
    )
    assert tables.escalation.ack_within == timedelta(seconds=3)


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ("ack_within_minutes = 10", "ack_within_minutes = 0", "ack_within_minutes", "more than 0"),
        ("ack_within_minutes = 10", 'ack_within_minutes = "10"', "ack_within_minutes", "a number"),
        (
            "chief_before_due_minutes = 20",
            "chief_before_due_minutes = -1",
            "chief_before_due_minutes",
            "at least 0",
        ),
        ('["hotline-admins@winet.example"]', '["admins"]', "admins_email[0]", "not an e-mail"),
        (
            '["hotline-admins@winet.example"]',
            '["a@winet.example", "a@winet.example"]',
            "admins_email[1]",
            "duplicate address",
        ),
        ("ack_within_minutes = 10", "ack_within = 10", "ack_within", "unknown key"),
    ],
)
def test_a_wrong_policy_is_named(bundle, edit, old, new, key, reason):
    found = problems(edit(bundle, "escalation.toml", old, new))
    assert any(p.file == "escalation.toml" and p.key == key and reason in p.reason for p in found)


def test_a_missing_policy_file_is_named(bundle):
    del bundle["escalation.toml"]
    assert Problem("escalation.toml", "-", "missing") in problems(bundle)


def test_the_chief_is_required_and_checked(bundle):
    rota, chief = bundle["rota.toml"].split("\n[chief]")
    assert Problem("rota.toml", "chief", "missing; must be a table") in problems(
        {**bundle, "rota.toml": rota}
    )
    wrong = chief.replace('dial = "PJSIP/tech-lea"', 'dial = "SIP/lea&PJSIP/x"').replace(
        'email = "lea.favre@winet.example"', 'email = "lea"'
    )
    found = problems({**bundle, "rota.toml": rota + "\n[chief]" + wrong})
    assert {p.key for p in found} == {"chief.dial", "chief.email"}
