"""decide(): coverage, destinations, rota, first-reaction deadlines, contracts; table-driven."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from ivr.routing import Contract, decide, desk_priority, explain, parse_tables
from tests.unit.routing.conftest import ZURICH, edited


def local(text: str) -> datetime:
    """'2026-11-30 06:59' (or with seconds) as local time in Zurich."""
    return datetime.fromisoformat(text).replace(tzinfo=ZURICH)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Mon 30 Nov 2026 to Sun 6 Dec 2026 is an ordinary week (no holiday).
# (tier, local instant, covered, window when covered / next opening when not)
BOUNDARIES = [
    ("premium", "2026-11-30 00:00", True, "00:00–24:00"),
    ("premium", "2026-12-06 23:59:59", True, "00:00–24:00"),
    ("premium", "2026-12-05 12:00", True, "00:00–24:00"),
    ("pro-plus", "2026-11-30 06:59", False, "2026-11-30 07:00"),
    ("pro-plus", "2026-11-30 07:00", True, "07:00–19:00"),
    ("pro-plus", "2026-11-30 18:59", True, "07:00–19:00"),
    ("pro-plus", "2026-11-30 19:00", False, "2026-12-01 07:00"),
    ("pro-plus", "2026-12-05 06:59", False, "2026-12-05 07:00"),
    ("pro-plus", "2026-12-05 07:00", True, "07:00–19:00"),
    ("pro-plus", "2026-12-05 18:59", True, "07:00–19:00"),
    ("pro-plus", "2026-12-05 19:00", False, "2026-12-07 07:00"),
    ("pro-plus", "2026-12-06 12:00", False, "2026-12-07 07:00"),
    ("pro", "2026-11-30 06:59", False, "2026-11-30 07:00"),
    ("pro", "2026-11-30 07:00", True, "07:00–19:00"),
    ("pro", "2026-11-30 18:59:59.999999", True, "07:00–19:00"),
    ("pro", "2026-11-30 19:00", False, "2026-12-01 07:00"),
    ("pro", "2026-12-04 18:59", True, "07:00–19:00"),
    ("pro", "2026-12-04 19:00", False, "2026-12-07 07:00"),
    ("pro", "2026-12-05 10:00", False, "2026-12-07 07:00"),
    ("pro", "2026-12-06 10:00", False, "2026-12-07 07:00"),
    ("basic-plus", "2026-12-01 07:59", False, "2026-12-01 08:00"),
    ("basic-plus", "2026-12-01 08:00", True, "08:00–12:00"),
    ("basic-plus", "2026-12-01 11:59", True, "08:00–12:00"),
    ("basic-plus", "2026-12-01 12:00", False, "2026-12-01 14:00"),
    ("basic-plus", "2026-12-01 13:59", False, "2026-12-01 14:00"),
    ("basic-plus", "2026-12-01 14:00", True, "14:00–18:00"),
    ("basic-plus", "2026-12-01 17:59", True, "14:00–18:00"),
    ("basic-plus", "2026-12-01 18:00", False, "2026-12-02 08:00"),
    ("basic-plus", "2026-12-05 10:00", False, "2026-12-07 08:00"),
    ("basic", "2026-12-02 08:59", False, "2026-12-02 09:00"),
    ("basic", "2026-12-02 09:00", True, "09:00–12:00"),
    ("basic", "2026-12-02 11:59", True, "09:00–12:00"),
    ("basic", "2026-12-02 12:00", False, "2026-12-02 14:00"),
    ("basic", "2026-12-02 13:59", False, "2026-12-02 14:00"),
    ("basic", "2026-12-02 14:00", True, "14:00–17:00"),
    ("basic", "2026-12-02 16:59", True, "14:00–17:00"),
    ("basic", "2026-12-02 17:00", False, "2026-12-03 09:00"),
    ("basic", "2026-12-06 10:00", False, "2026-12-07 09:00"),
]


@pytest.mark.parametrize(("tier", "when", "covered", "expected"), BOUNDARIES)
def test_every_tier_at_every_boundary(tables, tier, when, covered, expected):
    decision = decide(tables, Contract(tier), local(when))
    assert decision.covered is covered
    assert decision.destination == ("technician" if covered else "desk")
    assert decision.notice is (not covered)
    if covered:
        assert decision.window.label == expected
        assert decision.window.start <= decision.at < decision.window.end
        assert decision.next_opening is None
        assert decision.notice_terms is None
    else:
        assert decision.window is None
        assert decision.next_opening == local(expected)
        assert decision.notice_terms == tables.tiers[tier].notice


# (tier, call, due) in local time; None: no due time
DEADLINES = [
    ("premium", "2026-12-05 23:30", "2026-12-06 00:30"),
    ("premium", "2026-12-25 10:00", "2026-12-25 11:00"),  # holidays do not close premium
    ("pro-plus", "2026-11-30 10:00", "2026-11-30 12:00"),
    ("pro-plus", "2026-12-04 18:30", "2026-12-05 08:30"),  # over a night into Saturday
    ("pro-plus", "2026-12-05 18:30", "2026-12-07 08:30"),  # over Sunday
    ("pro-plus", "2026-12-06 03:00", "2026-12-07 09:00"),
    ("pro", "2026-11-27 16:00", "2026-11-30 10:00"),  # the issue's example: Fri 16:00
    ("pro", "2026-11-28 10:15", "2026-11-30 13:00"),  # Saturday: from the next opening
    ("pro", "2026-11-30 13:00", "2026-11-30 19:00"),  # due at the closing itself
    ("pro", "2026-11-30 16:00", "2026-12-01 10:00"),  # over a night
    ("pro", "2026-11-30 03:00", "2026-11-30 13:00"),
    ("pro", "2026-04-02 16:00", "2026-04-07 10:00"),  # Good Friday, weekend, Easter Monday
    ("pro", "2026-12-23 15:00", "2026-12-24 09:00"),  # the 24th is a working day
    ("basic-plus", "2026-11-30 10:00", "2026-12-01 18:00"),
    ("basic-plus", "2026-11-30 07:00", "2026-12-01 18:00"),  # before opening: still the next day
    ("basic-plus", "2026-12-04 10:00", "2026-12-07 18:00"),  # Friday: Monday
    ("basic-plus", "2026-12-05 10:00", "2026-12-07 18:00"),  # Saturday: Monday
    ("basic-plus", "2026-04-02 10:00", "2026-04-07 18:00"),  # over Easter
    ("basic-plus", "2026-12-23 10:00", "2026-12-24 18:00"),
    ("basic-plus", "2026-12-24 10:00", "2026-12-28 18:00"),  # over Christmas and the weekend
    ("basic", "2026-11-30 10:00", None),
    ("basic", "2026-12-05 10:00", None),
]


@pytest.mark.parametrize(("tier", "when", "due"), DEADLINES)
def test_first_reaction_deadlines(tables, tier, when, due):
    decision = decide(tables, Contract(tier), local(when))
    assert decision.first_reaction_due == (None if due is None else local(due))
    if due is not None:
        assert decision.first_reaction_due.tzinfo is ZURICH


# 2026: summer time starts Sun 29 Mar (02:00 -> 03:00) and ends Sun 25 Oct (03:00 -> 02:00).
DST_WINDOWS = [
    # (tier, instant in UTC, covered): 07:00 local is 06:00 UTC in winter, 05:00 UTC in summer
    ("pro", "2026-03-27 05:59", False),
    ("pro", "2026-03-27 06:00", True),
    ("pro", "2026-03-30 04:59", False),
    ("pro", "2026-03-30 05:00", True),
    ("pro", "2026-03-30 16:59", True),
    ("pro", "2026-03-30 17:00", False),
    ("pro", "2026-10-23 04:59", False),
    ("pro", "2026-10-23 05:00", True),
    ("pro", "2026-10-26 05:59", False),
    ("pro", "2026-10-26 06:00", True),
    ("pro", "2026-10-26 17:59", True),
    ("pro", "2026-10-26 18:00", False),
    ("premium", "2026-03-29 01:30", True),
    ("premium", "2026-10-25 00:30", True),
]


@pytest.mark.parametrize(("tier", "instant", "covered"), DST_WINDOWS)
def test_windows_stay_on_local_wall_clock_across_dst(tables, tier, instant, covered):
    assert decide(tables, Contract(tier), utc(instant)).covered is covered


def test_next_opening_after_spring_forward_is_local_seven(tables):
    decision = decide(tables, Contract("pro"), local("2026-03-28 12:00"))
    assert decision.next_opening == utc("2026-03-30 05:00")
    assert decision.next_opening.isoformat() == "2026-03-30T07:00:00+02:00"


def test_covered_hours_deadline_across_spring_forward(tables):
    decision = decide(tables, Contract("pro"), local("2026-03-27 16:00"))
    assert decision.first_reaction_due.isoformat() == "2026-03-30T10:00:00+02:00"


def test_covered_hours_deadline_across_fall_back(tables):
    decision = decide(tables, Contract("pro-plus"), local("2026-10-24 18:30"))
    assert decision.first_reaction_due.isoformat() == "2026-10-26T08:30:00+01:00"


def test_premium_hour_is_real_time_over_the_skipped_hour(tables):
    decision = decide(tables, Contract("premium"), utc("2026-03-29 00:30"))  # 01:30 CET
    assert decision.first_reaction_due.isoformat() == "2026-03-29T03:30:00+02:00"


def test_premium_hour_is_real_time_over_the_repeated_hour(tables):
    first_half_past_two = utc("2026-10-25 00:30")  # 02:30 CEST, the first of two
    decision = decide(tables, Contract("premium"), first_half_past_two)
    # one real hour later: 02:30 CET. (An aware datetime in a repeated hour never equals one in
    # another zone, PEP 495, so compare in UTC.)
    assert decision.first_reaction_due.astimezone(UTC) == utc("2026-10-25 01:30")
    assert decision.first_reaction_due.isoformat() == "2026-10-25T02:30:00+01:00"


def test_premium_window_on_the_long_day_lasts_25_hours(tables):
    decision = decide(tables, Contract("premium"), local("2026-10-25 12:00"))
    start, end = (moment.astimezone(UTC) for moment in (decision.window.start, decision.window.end))
    assert end - start == timedelta(hours=25)


# (tier, local instant, holiday, covered)
HOLIDAYS = [
    ("pro", "2026-04-03 10:00", "Good Friday", False),
    ("pro", "2026-04-06 10:00", "Easter Monday", False),
    ("pro", "2026-05-14 10:00", "Ascension Day", False),
    ("pro-plus", "2026-08-01 10:00", "National Day", False),
    ("basic", "2026-12-24 10:00", None, True),  # no closure ships: the contract's hours hold
    ("pro", "2026-12-24 10:00", None, True),
    ("basic-plus", "2026-12-25 10:00", "Christmas Day", False),
    ("premium", "2026-12-25 10:00", "Christmas Day", True),
    ("premium", "2026-12-24 03:00", None, True),
    ("pro", "2026-12-23 10:00", None, True),
]


@pytest.mark.parametrize(("tier", "when", "holiday", "covered"), HOLIDAYS)
def test_holidays_close_every_tier_but_premium(tables, tier, when, holiday, covered):
    decision = decide(tables, Contract(tier), local(when))
    assert (decision.holiday, decision.covered) == (holiday, covered)
    if holiday:
        effect = "does not close" if covered else "closes"
        assert f"{holiday} {effect} {tier}" in decision.reasons


def test_next_opening_skips_holidays(tables):
    decision = decide(tables, Contract("pro"), local("2026-04-03 10:00"))
    assert decision.next_opening == local("2026-04-07 07:00")


# (local instant, standby, ladder of technicians) — weeks from Mon 5 Jan 2026: anna, marco, lea
ROTA = [
    ("2026-11-23 07:59", "anna", ["anna", "marco", "lea"]),
    ("2026-11-23 08:00", "marco", ["marco", "anna", "lea"]),
    ("2026-11-30 07:59", "marco", ["marco", "anna", "lea"]),
    ("2026-11-30 08:00", "lea", ["lea", "anna", "marco"]),
    ("2026-03-30 07:59", "lea", ["lea", "anna", "marco"]),  # handover the day after DST begins
    ("2026-03-30 08:00", "anna", ["anna", "marco", "lea"]),
    ("2026-10-26 07:59", "lea", ["lea", "anna", "marco"]),  # the day after DST ends
    ("2026-10-26 08:00", "anna", ["anna", "marco", "lea"]),
    ("2025-12-29 08:00", "lea", ["lea", "anna", "marco"]),  # before the first rotation week
    # override: anna covers for marco from Mon 14 Dec 08:00 until Thu 17 Dec 08:00
    ("2026-12-14 07:59", "anna", ["anna", "marco", "lea"]),
    ("2026-12-14 08:00", "anna", ["anna", "lea"]),
    ("2026-12-16 12:00", "anna", ["anna", "lea"]),
    ("2026-12-17 07:59", "anna", ["anna", "lea"]),
    ("2026-12-17 08:00", "marco", ["marco", "anna", "lea"]),
]


@pytest.mark.parametrize(("when", "standby", "technicians"), ROTA)
def test_rota_handovers_and_overrides(tables, when, standby, technicians):
    decision = decide(tables, Contract("premium"), local(when))
    assert decision.standby.id == standby
    assert [leg.id for leg in decision.ladder] == [*technicians, "desk"]
    assert [leg.kind for leg in decision.ladder] == ["technician"] * len(technicians) + ["desk"]
    assert {leg.ring_timeout for leg in decision.ladder} == {20}
    assert decision.standby.dial == f"PJSIP/tech-{standby}"


def test_override_reason_names_who_is_covered(tables):
    decision = decide(tables, Contract("pro"), local("2026-12-15 10:00"))
    assert "standby anna, covering for marco" in decision.reasons


def test_override_stand_in_is_also_the_standby_the_desk_sees(tables):
    decision = decide(tables, Contract("pro"), local("2026-12-15 20:00"))
    assert (decision.destination, decision.standby.id) == ("desk", "anna")
    assert [leg.id for leg in decision.ladder] == ["desk"]
    assert decision.ladder[0].dial == "Local/xy-desk@desk-queue/n"


def test_handover_on_another_day_and_time(bundle):
    moved = edited(
        bundle, "rota.toml", 'weekday = "mon", time = "08:00"', 'weekday = "fri", time = "17:30"'
    )
    moved = edited(moved, "rota.toml", "first_week = 2026-01-05", "first_week = 2026-01-09")
    tables = parse_tables(moved)
    before = decide(tables, Contract("pro"), local("2026-01-09 17:29"))
    after = decide(tables, Contract("pro"), local("2026-01-09 17:30"))
    week_later = decide(tables, Contract("pro"), local("2026-01-16 17:30"))
    assert (before.standby.id, after.standby.id, week_later.standby.id) == ("lea", "anna", "marco")


# (contract, local instant, status, tier applied)
CONTRACTS = [
    (Contract("pro"), "2026-11-30 10:00", "valid", "pro"),
    (Contract("pro", valid_to=date(2026, 11, 30)), "2026-11-30 23:59", "valid", "pro"),
    (Contract("pro", valid_to=date(2026, 11, 29)), "2026-11-30 10:00", "expired", "basic"),
    (Contract("pro", valid_from=date(2026, 11, 30)), "2026-11-30 00:00", "valid", "pro"),
    (Contract("pro", valid_from=date(2026, 12, 1)), "2026-11-30 10:00", "not-yet-valid", "basic"),
    (Contract("gold"), "2026-11-30 10:00", "unknown-tier", "basic"),
]


@pytest.mark.parametrize(("contract", "when", "status", "tier"), CONTRACTS)
def test_contracts_not_valid_then_get_the_fallback_tier(tables, contract, when, status, tier):
    decision = decide(tables, contract, local(when))
    assert (decision.contract_status, decision.tier) == (status, tier)
    assert decision.tier_name == tables.tiers[tier].name
    if status != "valid":
        assert decision.reasons[0].endswith("fallback tier basic")


def test_expired_contract_reason_and_routing(tables):
    contract = Contract("premium", valid_to=date(2026, 1, 31))
    decision = decide(tables, contract, local("2026-11-28 10:15"))  # Saturday: basic is closed
    assert decision.reasons[0] == "contract expired on 2026-01-31: fallback tier basic"
    assert (decision.covered, decision.destination, decision.notice) == (False, "desk", True)
    assert explain(decision).startswith(
        "the contract has expired, so the fallback tier basic applies; basic covers"
    )


def test_unidentified_caller_goes_to_the_desk_flagged(tables):
    decision = decide(tables, None, local("2026-11-30 10:00"))
    assert decision.identified is False
    assert decision.contract_status == "unidentified"
    assert (decision.tier, decision.covered, decision.notice) == (None, False, False)
    assert decision.destination == "desk"
    assert [leg.id for leg in decision.ladder] == ["desk"]
    assert decision.standby.id == "lea"
    assert decision.first_reaction_due is None
    assert explain(decision) == (
        "the caller is not identified; Mon 30 Nov 2026 10:00 Europe/Zurich; the call goes to "
        "the xy AG desk (standby technician Lea Favre), flagged unidentified; no cost notice"
    )


def test_unidentified_policy_can_send_callers_to_the_technicians(bundle):
    tables = parse_tables(
        edited(bundle, "hotline.toml", 'destination = "desk"', 'destination = "technician"')
    )
    decision = decide(tables, None, local("2026-11-30 10:00"))
    assert (decision.identified, decision.destination) == (False, "technician")
    assert [leg.id for leg in decision.ladder] == ["lea", "anna", "marco", "desk"]


def test_naive_instant_is_refused(tables):
    with pytest.raises(ValueError, match="time zone or offset"):
        decide(tables, Contract("pro"), datetime(2026, 11, 30, 10, 0))


def test_instant_in_any_zone_is_decided_in_the_tables_zone(tables):
    decision = decide(tables, Contract("pro"), utc("2026-11-30 06:00"))  # 07:00 in Zurich
    assert decision.covered
    assert decision.at.isoformat() == "2026-11-30T07:00:00+01:00"


def test_json_has_the_design_keys(tables):
    decision = decide(tables, Contract("pro"), local("2026-11-28 10:15"))
    data = json.loads(json.dumps(decision.to_json()))
    assert {
        key: data[key]
        for key in (
            "tier",
            "covered",
            "destination",
            "notice",
            "first_reaction_due",
            "tables_version",
        )
    } == {
        "tier": "pro",
        "covered": False,
        "destination": "desk",
        "notice": True,
        "first_reaction_due": "2026-11-30T13:00:00+01:00",
        "tables_version": tables.version,
    }
    assert data["next_opening"] == "2026-11-30T07:00:00+01:00"
    assert data["notice_terms"]["callout_fee_chf"] == 150.0
    assert data["ladder"] == [
        {
            "kind": "desk",
            "id": "desk",
            "name": "xy AG desk",
            "dial": "Local/xy-desk@desk-queue/n",
            "ring_timeout": 20,
        }
    ]
    assert data["standby"]["id"] == "marco"


def test_json_of_a_best_effort_call_has_a_null_due_time(tables):
    data = decide(tables, Contract("basic"), local("2026-11-30 10:00")).to_json()
    assert data["first_reaction_due"] is None
    assert data["window"] == {
        "start": "2026-11-30T09:00:00+01:00",
        "end": "2026-11-30T12:00:00+01:00",
        "label": "09:00–12:00",
    }


def test_explanation_reads_like_the_issue_example(tables):
    decision = decide(tables, Contract("pro"), local("2026-11-28 10:15"))
    assert explain(decision) == (
        "pro covers Mon–Fri 07:00–19:00 Europe/Zurich; Sat 28 Nov 2026 10:15 is outside; "
        "next opening Mon 30 Nov 07:00; the cost notice applies; the call goes to the xy AG desk "
        "(standby technician Marco Bernasconi); first reaction due Mon 30 Nov 13:00"
    )


def test_explanation_inside_a_window(tables):
    decision = decide(tables, Contract("basic-plus"), local("2026-12-31 15:00"))
    assert explain(decision) == (
        "basic-plus covers Mon–Fri 08:00–12:00, 14:00–18:00 Europe/Zurich; Thu 31 Dec 2026 15:00 "
        "is inside (window 14:00–18:00); no cost notice; the call goes to the standby technician "
        "Anna Keller, then Marco Bernasconi, Lea Favre, then the xy AG desk; "
        "first reaction due Mon 4 Jan 2027 18:00"
    )


def test_explanation_on_holidays(tables):
    closed = explain(decide(tables, Contract("pro"), local("2026-12-25 10:00")))
    assert (
        "Fri 25 Dec 2026 10:00 is outside: Christmas Day closes pro; next opening Mon 28 Dec 07:00"
        in closed
    )
    open_ = explain(decide(tables, Contract("premium"), local("2026-12-25 10:00")))
    assert "is inside (window 00:00–24:00; Christmas Day does not close premium)" in open_
    assert open_.endswith("first reaction due Fri 25 Dec 11:00")


def test_explanation_of_best_effort(tables):
    text = explain(decide(tables, Contract("basic"), local("2026-11-30 10:00")))
    assert text.endswith("first reaction best effort, no due time")


@pytest.fixture(scope="module")
def night_tables():
    """Two extra tiers whose Sunday windows have an edge inside the hour DST skips or repeats."""
    from tests.unit.routing.conftest import default_bundle

    bundle = default_bundle()
    extra_tiers = "".join(
        f'\n[[tier]]\nid = "{tier_id}"\nname = "{tier_id}"\nprice_chf = 1\n'
        f'first_reaction = {{ rule = "covered-hours", hours = 1 }}\ncovered.sun = ["{window}"]\n'
        for tier_id, window in (("early", "01:00-02:30"), ("late", "02:30-05:00"))
    )
    extra_terms = "".join(
        f"\n[{tier_id}]\ncallout_fee_chf = 1\nhourly_rate_chf = 1\n"
        "billing_increment_minutes = 15\nfree_service_units_per_month = 0\n"
        for tier_id in ("early", "late")
    )
    bundle["tiers.toml"] += extra_tiers
    bundle["notice.toml"] += extra_terms
    return parse_tables(bundle)


# Zurich 2026: on 29 Mar the clock jumps from 02:00 CET to 03:00 CEST at 01:00 UTC; on 25 Oct
# it goes back from 03:00 CEST to 02:00 CET at 01:00 UTC, so 02:00–02:59 happens twice.
# A window edge is the first instant the clock shows that time or later.
NIGHT = [
    # (tier, instant in UTC, covered)
    ("late", "2026-03-29 00:45", False),  # 01:45 CET: before the skipped 02:30
    ("late", "2026-03-29 01:00", True),  # 03:00 CEST: the clock has passed 02:30
    ("early", "2026-03-29 00:59", True),  # 01:59 CET
    ("early", "2026-03-29 01:00", False),  # 03:00 CEST: past the skipped 02:30 closing
    ("late", "2026-10-25 00:29", False),  # 02:29 CEST
    ("late", "2026-10-25 00:30", True),  # 02:30 CEST, the first 02:30
    ("late", "2026-10-25 01:10", True),  # 02:10 CET: the window opened at the first 02:30
    ("early", "2026-10-25 00:29", True),  # 02:29 CEST
    ("early", "2026-10-25 00:30", False),  # the first 02:30 closes it
    ("early", "2026-10-25 01:10", False),  # 02:10 CET, after that closing
]


@pytest.mark.parametrize(("tier", "instant", "covered"), NIGHT)
def test_window_edges_in_skipped_and_repeated_hours(night_tables, tier, instant, covered):
    assert decide(night_tables, Contract(tier), utc(instant)).covered is covered


def test_opening_at_a_skipped_time_is_the_clock_change(night_tables):
    decision = decide(night_tables, Contract("late"), utc("2026-03-29 00:45"))
    assert decision.next_opening.isoformat() == "2026-03-29T03:00:00+02:00"
    assert decision.first_reaction_due.isoformat() == "2026-03-29T04:00:00+02:00"


def test_desk_priority_follows_the_tiers_and_puts_identified_callers_first(tables):
    order = [desk_priority(tables, tier) for tier in tables.tiers]
    assert list(tables.tiers) == ["premium", "pro-plus", "pro", "basic-plus", "basic"]
    assert order == sorted(order, reverse=True) and len(set(order)) == 5
    assert min(order) > desk_priority(tables, None) == 0
    assert desk_priority(tables, "gold") == 0
