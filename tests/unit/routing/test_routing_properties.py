"""Property-based tests of decide(): any instant 2020–2035, any valid tables."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.routing import Contract, Decision, Tables, decide, explain, parse_tables
from ivr.routing.model import CANTONS, WEEKDAYS, clock_text

# Zones with DST at 02:00/03:00, at midnight (Santiago), by 30 minutes (Lord Howe), and none.
ZONES = ["Europe/Zurich", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "UTC"]
TECHNICIANS = ["ta", "tb", "tc", "td"]
RULES = ["real-hours", "covered-hours", "next-business-day", "best-effort"]
# Edges near the usual clock changes turn up often; any minute of the day can.
MINUTES = st.one_of(
    st.integers(0, 1440), st.sampled_from([0, 60, 90, 120, 150, 180, 420, 720, 1140, 1410, 1440])
)

instants = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2035, 12, 31, 23, 59, 59),
    timezones=st.sampled_from(
        [
            UTC,
            ZoneInfo("Europe/Zurich"),
            ZoneInfo("America/Santiago"),
            timezone(timedelta(hours=-7)),
        ]
    ),
)


def clock_changes(zone_name: str) -> list[datetime]:
    """The instants (UTC) at which the zone's clocks change, 2020–2035."""
    zone = ZoneInfo(zone_name)
    changes = []
    day = datetime(2020, 1, 1, tzinfo=UTC)
    while day.year < 2036:
        following = day + timedelta(days=1)
        offset = day.astimezone(zone).utcoffset()
        if following.astimezone(zone).utcoffset() != offset:
            low, high = int(day.timestamp()), int(following.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            changes.append(datetime.fromtimestamp(high, UTC))
        day = following
    return changes


CLOCK_CHANGES = {name: clock_changes(name) for name in ZONES}


def instants_for(zone_name: str) -> st.SearchStrategy[datetime]:
    """Any instant, or one within three hours of a clock change in the zone."""
    near_changes = st.builds(
        lambda change, shift: change + shift,
        st.sampled_from(CLOCK_CHANGES[zone_name] or [datetime(2026, 3, 29, 1, tzinfo=UTC)]),
        st.timedeltas(-timedelta(hours=3), timedelta(hours=3)),
    )
    return instants | near_changes


@st.composite
def day_windows(draw: st.DrawFn) -> list[str]:
    edges = sorted(draw(st.sets(MINUTES, max_size=6)))
    edges = edges[: len(edges) // 2 * 2]
    return [
        f"{clock_text(a)}-{clock_text(b)}" for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]


@st.composite
def tier_text(draw: st.DrawFn, tier_id: str) -> str:
    week = {day: draw(day_windows()) for day in WEEKDAYS}
    if not any(week.values()):
        week["wed"] = ["09:00-17:00"]
    rule = draw(st.sampled_from(RULES))
    hours = draw(st.floats(0.25, 200)) if rule in ("real-hours", "covered-hours") else None
    reaction = f'rule = "{rule}"' + (f", hours = {hours}" if hours is not None else "")
    lines = [
        "[[tier]]",
        f'id = "{tier_id}"',
        f'name = "Tier {tier_id}"',
        f"price_chf = {draw(st.integers(0, 1000))}",
        f"first_reaction = {{ {reaction} }}",
        f"holidays_close = {str(draw(st.booleans())).lower()}",
        *(f"covered.{day} = {json.dumps(windows)}" for day, windows in week.items()),
    ]
    return "\n".join(lines) + "\n"


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, str]:
    tier_ids = [f"t{n}" for n in range(draw(st.integers(1, 4)))]
    order = draw(st.lists(st.sampled_from(TECHNICIANS), min_size=1, max_size=5))
    weekday = draw(st.integers(0, 6))
    handover = clock_text(draw(st.integers(0, 1439)))
    first_week = date(2026, 1, 5) + timedelta(days=weekday + 7 * draw(st.integers(-300, 300)))
    rota = [
        *(
            f'[[technician]]\nid = "{t}"\nname = "Tech {t}"\ndial = "PJSIP/{t}"\n'
            for t in TECHNICIANS
        ),
        f"[rotation]\norder = {json.dumps(order)}\n"
        f'handover = {{ weekday = "{WEEKDAYS[weekday]}", time = "{handover}" }}\n'
        f"first_week = {first_week.isoformat()}\n",
        '[chief]\nid = "chief"\nname = "The chief"\ndial = "PJSIP/chief"\n',
    ]
    if draw(st.booleans()):
        who, whom = draw(st.permutations(TECHNICIANS))[:2]
        start = draw(st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 1))).replace(
            microsecond=0
        )
        end = start + draw(st.timedeltas(timedelta(hours=1), timedelta(days=30)))
        rota.append(
            f'[[override]]\ntechnician = "{who}"\ncovers_for = "{whom}"\n'
            f"from = {start.isoformat()}\nto = {end.isoformat()}\n"
        )
    closures = draw(st.sets(st.dates(date(2020, 1, 1), date(2035, 12, 31)), max_size=4))
    notice = "".join(
        f'["{t}"]\ncallout_fee_chf = 10\nhourly_rate_chf = 20.5\n'
        f"billing_increment_minutes = 15\nfree_service_units_per_month = 1\n"
        for t in tier_ids
    )
    escalation = draw(st.permutations(TECHNICIANS))[: draw(st.integers(0, 4))]
    return {
        "hotline.toml": (
            f'zone = "{draw(st.sampled_from(ZONES))}"\ndefault_language = "de"\n'
            'languages = ["de", "en"]\nlanguage_menu = true\n'
            "[pin]\nlength = 6\nattempts = 3\nfirst_digit_timeout = 8\ninter_digit_timeout = 4\n"
            "[notice]\nrepeats_before_consent = 1\n"
            f'[unidentified]\ndestination = "{draw(st.sampled_from(["desk", "technician"]))}"\n'
            f'[contract]\nfallback_tier = "{draw(st.sampled_from(tier_ids))}"\n'
        ),
        "tiers.toml": "\n".join(draw(tier_text(t)) for t in tier_ids),
        "holidays.toml": f'canton = "{draw(st.sampled_from(CANTONS))}"\n'
        + "".join(f'[[closure]]\ndate = {d.isoformat()}\nlabel = "closed"\n' for d in closures),
        "rota.toml": "\n".join(rota),
        "destinations.toml": (
            f"ring_timeout = {draw(st.integers(2, 120))}\nescalation = {json.dumps(escalation)}\n"
            '[desk]\nname = "the desk"\ndial = "Local/desk@desk-queue/n"\n'
        ),
        "notice.toml": notice,
        "escalation.toml": "ack_within_minutes = 5\nchief_before_due_minutes = 30\n",
    }


def check_invariants(tables: Tables, contract: Contract | None, instant: datetime) -> Decision:
    decision = decide(tables, contract, instant)
    moment = instant.astimezone(UTC)
    assert decision.at.astimezone(UTC) == moment
    assert decision.ladder[-1].kind == "desk"
    assert decision.standby.kind == "technician"
    if decision.covered:
        assert decision.destination == "technician"
        assert decision.ladder[0] == decision.standby
        ids = [leg.id for leg in decision.ladder[:-1]]
        assert len(ids) == len(set(ids))
        assert decision.window.start.astimezone(UTC) <= moment < decision.window.end.astimezone(UTC)
        assert decision.notice is False and decision.next_opening is None
    elif decision.identified:
        assert (decision.destination, decision.notice) == ("desk", True)
        assert decision.notice_terms is not None
        if decision.next_opening is not None:
            assert decision.next_opening.astimezone(UTC) > moment
    if decision.identified and not _repeated(decision.at):
        assert decision.covered == _wall_clock_in_window(tables, decision)
    due = decision.first_reaction_due
    if due is not None:
        assert due.astimezone(UTC) >= moment
    if decision.identified:
        reaction = tables.tiers[decision.tier].first_reaction
        if reaction.rule == "real-hours":
            assert due.astimezone(UTC) - moment == reaction.duration
        if reaction.rule == "next-business-day":
            assert due.date() > decision.at.date()
        if reaction.rule == "best-effort":
            assert due is None
    assert decision.reasons
    json.dumps(decision.to_json())
    assert explain(decision)
    return decision


def _repeated(local: datetime) -> bool:
    """Whether the local time is one of the two readings of a repeated hour."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _wall_clock_in_window(tables: Tables, decision: Decision) -> bool:
    """Coverage by the wall clock: the local time in one of the day's windows, no holiday."""
    local = decision.at
    tier = tables.tiers[decision.tier]
    if tier.holidays_close and decision.holiday is not None:
        return False
    minute = local.hour * 60 + local.minute
    return any(w.start <= minute < w.end for w in tier.week[local.weekday()])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundle=bundles(), data=st.data())
def test_decide_holds_its_invariants_for_any_valid_tables(bundle, data):
    tables = parse_tables(bundle)
    for instant in data.draw(st.lists(instants_for(tables.zone.key), min_size=1, max_size=8)):
        tier_id = data.draw(st.sampled_from(list(tables.tiers)))
        valid_to = data.draw(st.none() | st.dates(date(2020, 1, 1), date(2035, 12, 31)))
        for contract in (None, Contract(tier_id), Contract(tier_id, valid_to=valid_to)):
            check_invariants(tables, contract, instant)
        opening = decide(tables, Contract(tier_id), instant).next_opening
        if opening is not None:
            assert decide(tables, Contract(tier_id), opening).covered


@settings(max_examples=1000, deadline=None)
@given(
    instant=instants_for("Europe/Zurich"),
    tier=st.sampled_from(["premium", "pro-plus", "pro", "basic-plus", "basic"]),
)
def test_decide_holds_its_invariants_on_the_default_tables(tables, instant, tier):
    decision = check_invariants(tables, Contract(tier), instant)
    assert decision.covered or decision.next_opening is not None
    if decision.next_opening is not None:
        assert decide(tables, Contract(tier), decision.next_opening).covered
    if decision.holiday and tier != "premium":
        assert not decision.covered
    check_invariants(tables, None, instant)
