"""Loading and validating the routing tables."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from ivr.routing import Problem, TablesError, load_tables, parse_tables, tables_version
from tests.unit.routing.conftest import DEFAULT_TABLES, default_bundle, edited

SEED_TIERS = [
    # id, name, price, promise, covered spans
    (
        "premium",
        "winCall premium 7x24h",
        600.0,
        "within 1 hour",
        [("mon", "sun", "00:00", "24:00")],
    ),
    (
        "pro-plus",
        "winCall pro +, 6x12h",
        228.0,
        "within 2 hours",
        [("mon", "sat", "07:00", "19:00")],
    ),
    ("pro", "winCall pro, 5x12h", 129.0, "within 6 hours", [("mon", "fri", "07:00", "19:00")]),
    (
        "basic-plus",
        "winCall basic +, 5x6h",
        49.0,
        "next business day",
        [("mon", "fri", "08:00", "12:00"), ("mon", "fri", "14:00", "18:00")],
    ),
    (
        "basic",
        "winCall basic, 5x6h",
        0.0,
        "best effort",
        [("mon", "fri", "09:00", "12:00"), ("mon", "fri", "14:00", "17:00")],
    ),
]


def test_default_tables_state_the_seed_exactly(tables):
    assert list(tables.tiers) == [row[0] for row in SEED_TIERS]
    for tier_id, name, price, promise, spans in SEED_TIERS:
        tier = tables.tiers[tier_id]
        assert (tier.name, tier.price_chf, tier.first_reaction.promise) == (name, price, promise)
        assert list(tier.covered_spans()) == spans
    assert tables.tiers["premium"].holidays_close is False
    assert all(tables.tiers[tier_id].holidays_close for tier_id, *_ in SEED_TIERS[1:])


def test_default_settings(tables):
    hotline = tables.hotline
    assert hotline.zone.key == "Europe/Zurich"
    assert (hotline.default_language, hotline.languages) == ("de", ("de", "fr", "it", "en"))
    assert hotline.language_menu is False
    assert (hotline.pin_length, hotline.pin_attempts) == (6, 3)
    assert hotline.notice_repeats_before_consent == 1
    assert hotline.unidentified_destination == "desk"
    assert tables.calendar.canton == "ZH"
    assert [leg.dial for leg in tables.technicians.values()] == [
        "PJSIP/tech-anna",
        "PJSIP/tech-marco",
        "PJSIP/tech-lea",
    ]
    assert tables.destinations.desk.dial == "Local/xy-desk@desk-queue/n"
    assert tables.destinations.ring_timeout == 20
    assert tables.destinations.accept_timeout == 8
    assert tables.destinations.callback_offer_after == 90
    assert tables.rota.order == ("anna", "marco", "lea")
    assert (tables.rota.handover_weekday, tables.rota.handover_minute) == (0, 8 * 60)


def test_covers_text_groups_days_and_windows(tables):
    assert tables.tiers["basic-plus"].covers == "Mon–Fri 08:00–12:00, 14:00–18:00"
    assert tables.tiers["pro-plus"].covers == "Mon–Sat 07:00–19:00"


def test_uneven_week_is_grouped_by_equal_hours(bundle):
    text = bundle["tiers.toml"].replace(
        'covered.sat = ["07:00-19:00"]',
        'covered.sat = ["08:00-12:00"]\ncovered.sun = ["08:00-12:00"]',
    )
    tier = parse_tables({**bundle, "tiers.toml": text}).tiers["pro-plus"]
    assert tier.covered_spans() == (
        ("mon", "fri", "07:00", "19:00"),
        ("sat", "sun", "08:00", "12:00"),
    )
    assert tier.covers == "Mon–Fri 07:00–19:00 and Sat–Sun 08:00–12:00"


def test_directory_and_bundle_give_the_same_tables(tables, bundle):
    from_bundle = parse_tables(bundle)
    assert from_bundle.version == tables.version == tables_version(bundle)
    assert from_bundle.tiers == tables.tiers
    assert dict(from_bundle.files) == bundle


def test_version_follows_content_not_order(bundle):
    reordered = dict(reversed(list(bundle.items())))
    assert tables_version(reordered) == tables_version(bundle)
    changed = edited(bundle, "destinations.toml", "ring_timeout = 20", "ring_timeout = 25")
    assert tables_version(changed) != tables_version(bundle)
    assert len(tables_version(bundle)) == 12


def test_tables_are_immutable(tables):
    with pytest.raises(TypeError):
        tables.tiers["gold"] = tables.tiers["pro"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        tables.tiers["pro"].price_chf = 1.0  # type: ignore[misc]


def test_touching_windows_are_one_window(bundle):
    text = bundle["tiers.toml"].replace(
        'covered.mon = ["08:00-12:00", "14:00-18:00"]',
        'covered.mon = ["12:00-14:00", "08:00-12:00", "14:00-18:00"]',
    )
    tier = parse_tables({**bundle, "tiers.toml": text}).tiers["basic-plus"]
    assert [(w.start, w.end) for w in tier.week[0]] == [(8 * 60, 18 * 60)]


def test_calendar_has_canton_holidays_closures_and_any_year(tables):
    calendar = tables.calendar
    assert calendar.name_on(date(2026, 4, 3)) == "Good Friday"
    assert calendar.name_on(date(2026, 8, 1)) == "National Day"
    assert calendar.name_on(date(2026, 12, 24)) is None  # the shipped tables close nothing extra
    assert calendar.name_on(date(2026, 12, 23)) is None
    assert calendar.name_on(date(2075, 12, 25)) == "Christmas Day"
    assert calendar.name_on(date(1990, 8, 1)) == "National Day"


def test_canton_decides_the_holidays(bundle):
    ticino = parse_tables(edited(bundle, "holidays.toml", 'canton = "ZH"', 'canton = "TI"'))
    zurich = parse_tables(bundle)
    assert ticino.calendar.name_on(date(2026, 1, 6)) == "Epiphany"
    assert zurich.calendar.name_on(date(2026, 1, 6)) is None


def test_load_tables_needs_a_directory(tmp_path):
    with pytest.raises(TablesError) as caught:
        load_tables(tmp_path / "nowhere")
    assert caught.value.problems[0].reason == "not a directory"


def test_load_tables_reports_files_it_cannot_read(tmp_path):
    for name, text in default_bundle().items():
        (tmp_path / name).write_text(text)
    (tmp_path / "rota.toml").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(TablesError) as caught:
        load_tables(tmp_path)
    assert [(p.file, p.key) for p in caught.value.problems] == [("rota.toml", "-")]
    assert "cannot be read" in caught.value.problems[0].reason


def test_problem_reads_file_key_reason():
    assert str(Problem("tiers.toml", "tier.pro.price_chf", "must be at least 0")) == (
        "tiers.toml: tier.pro.price_chf: must be at least 0"
    )


def test_every_problem_is_reported_at_once(bundle):
    broken = edited(bundle, "tiers.toml", "price_chf = 129.00", "price_chf = -1")
    broken = edited(broken, "hotline.toml", '"Europe/Zurich"', '"Mars/Olympus"')
    broken = edited(broken, "rota.toml", "first_week = 2026-01-05", "first_week = 2026-01-07")
    with pytest.raises(TablesError) as caught:
        parse_tables(broken)
    keys = {(p.file, p.key) for p in caught.value.problems}
    assert keys == {
        ("tiers.toml", "tier.pro.price_chf"),
        ("hotline.toml", "zone"),
        ("rota.toml", "rotation.first_week"),
    }
    assert str(caught.value).count("\n") == 2


OVERRIDE = """
[[override]]
technician = "{technician}"
covers_for = "{covers_for}"
from = {start}
to = {end}
"""


def with_override(bundle, technician, covers_for, start, end):
    extra = OVERRIDE.format(technician=technician, covers_for=covers_for, start=start, end=end)
    return {**bundle, "rota.toml": bundle["rota.toml"] + extra}


def without(bundle, file):
    return {name: text for name, text in bundle.items() if name != file}


B = default_bundle()
PRO_PLUS_MON = 'covered.mon = ["07:00-19:00"]'  # the first such line is pro-plus's

BROKEN = [
    # (case, bundle, file, key, part of the reason)
    (
        "unknown tier in notice terms",
        {**B, "notice.toml": B["notice.toml"] + "\n[gold]\ncallout_fee_chf = 1\n"},
        "notice.toml",
        "gold",
        "unknown tier",
    ),
    (
        "unknown fallback tier",
        edited(B, "hotline.toml", 'fallback_tier = "basic"', 'fallback_tier = "gold"'),
        "hotline.toml",
        "contract.fallback_tier",
        "unknown tier 'gold'",
    ),
    (
        "unknown technician in the rotation",
        edited(B, "rota.toml", 'order = ["anna", "marco", "lea"]', 'order = ["anna", "marko"]'),
        "rota.toml",
        "rotation.order[1]",
        "unknown technician 'marko'",
    ),
    (
        "unknown technician in the escalation ladder",
        edited(B, "destinations.toml", '"anna", "marco", "lea"', '"anna", "bob"'),
        "destinations.toml",
        "escalation[1]",
        "unknown technician 'bob'",
    ),
    (
        "unknown technician in an override",
        edited(B, "rota.toml", 'technician = "anna"\ncovers', 'technician = "zoe"\ncovers'),
        "rota.toml",
        "override[0].technician",
        "unknown technician 'zoe'",
    ),
    (
        "window ending before it starts",
        edited(B, "tiers.toml", PRO_PLUS_MON, 'covered.mon = ["19:00-07:00"]'),
        "tiers.toml",
        "tier.pro-plus.covered.mon[0]",
        "the end 07:00 is not after the start",
    ),
    (
        "window ending where it starts",
        edited(B, "tiers.toml", PRO_PLUS_MON, 'covered.mon = ["08:00-08:00"]'),
        "tiers.toml",
        "tier.pro-plus.covered.mon[0]",
        "is not after the start",
    ),
    (
        "overlapping windows on one day",
        edited(B, "tiers.toml", '"08:00-12:00", "14:00-18:00"', '"08:00-12:00", "11:00-18:00"'),
        "tiers.toml",
        "tier.basic-plus.covered.mon",
        "windows 08:00–12:00 and 11:00–18:00 overlap",
    ),
    (
        "time without a leading zero",
        edited(B, "tiers.toml", PRO_PLUS_MON, 'covered.mon = ["7:00-19:00"]'),
        "tiers.toml",
        "tier.pro-plus.covered.mon[0]",
        "'7:00' is not a time HH:MM",
    ),
    (
        "hour 25",
        edited(B, "tiers.toml", PRO_PLUS_MON, 'covered.mon = ["07:00-25:00"]'),
        "tiers.toml",
        "tier.pro-plus.covered.mon[0]",
        "'25:00' is not a time HH:MM from 00:00 to 24:00",
    ),
    (
        "minute 60",
        edited(B, "tiers.toml", PRO_PLUS_MON, 'covered.mon = ["07:60-19:00"]'),
        "tiers.toml",
        "tier.pro-plus.covered.mon[0]",
        "'07:60' is not a time",
    ),
    (
        "24:00 as an opening",
        edited(B, "tiers.toml", '"00:00-24:00"', '"24:00-24:00"'),
        "tiers.toml",
        "tier.premium.covered.mon[0]",
        "'24:00' is not a time HH:MM from 00:00 to 23:59",
    ),
    (
        "window that is not text",
        edited(B, "tiers.toml", PRO_PLUS_MON, "covered.mon = [700]"),
        "tiers.toml",
        "tier.pro-plus.covered.mon[0]",
        "700 is not a window",
    ),
    (
        "unknown weekday",
        edited(B, "tiers.toml", 'covered.sat = ["07:00-19:00"]', 'covered.sa = ["07:00-19:00"]'),
        "tiers.toml",
        "tier.pro-plus.covered.sa",
        "unknown key",
    ),
    (
        "negative price",
        edited(B, "tiers.toml", "price_chf = 129.00", "price_chf = -129.00"),
        "tiers.toml",
        "tier.pro.price_chf",
        "must be at least 0",
    ),
    (
        "negative call-out fee",
        edited(B, "notice.toml", "callout_fee_chf = 150.00", "callout_fee_chf = -150.00"),
        "notice.toml",
        "pro.callout_fee_chf",
        "must be at least 0",
    ),
    (
        "empty rotation: nobody on standby",
        edited(B, "rota.toml", 'order = ["anna", "marco", "lea"]', "order = []"),
        "rota.toml",
        "rotation.order",
        "nobody would be on standby",
    ),
    (
        "stand-in who is away herself: a gap",
        with_override(B, "lea", "anna", "2026-12-15T08:00:00", "2026-12-16T08:00:00"),
        "rota.toml",
        "override[0]",
        "'anna' is away then (override[1]), so nobody would stand in for 'marco'",
    ),
    (
        "two stand-ins for one technician at once",
        with_override(B, "lea", "marco", "2026-12-16T08:00:00", "2026-12-18T08:00:00"),
        "rota.toml",
        "override[1]",
        "overlaps override[0], which also covers for 'marco'",
    ),
    (
        "override ending before it starts",
        with_override(B, "lea", "anna", "2027-01-10T08:00:00", "2027-01-03T08:00:00"),
        "rota.toml",
        "override[1].to",
        "is not after from",
    ),
    (
        "technician covering for themselves",
        with_override(B, "lea", "lea", "2027-01-03T08:00:00", "2027-01-10T08:00:00"),
        "rota.toml",
        "override[1].covers_for",
        "cannot cover for themselves",
    ),
    (
        "unknown time zone",
        edited(B, "hotline.toml", '"Europe/Zurich"', '"Europe/Zürich"'),
        "hotline.toml",
        "zone",
        "unknown time zone 'Europe/Zürich'",
    ),
    (
        "unknown canton",
        edited(B, "holidays.toml", 'canton = "ZH"', 'canton = "XY"'),
        "holidays.toml",
        "canton",
        "unknown value 'XY'",
    ),
    (
        "a city is not a canton",
        edited(B, "holidays.toml", 'canton = "ZH"', 'canton = "Stadt Zurich"'),
        "holidays.toml",
        "canton",
        "unknown value 'Stadt Zurich'",
    ),
    (
        "duplicate tier id",
        edited(B, "tiers.toml", 'id = "basic"\n', 'id = "pro"\n'),
        "tiers.toml",
        "tier[4].id",
        "duplicate tier id 'pro'",
    ),
    (
        "duplicate technician id",
        edited(B, "rota.toml", 'id = "lea"', 'id = "anna"'),
        "rota.toml",
        "technician[2].id",
        "duplicate technician id 'anna'",
    ),
    (
        "duplicate technician in the ladder",
        edited(B, "destinations.toml", '"anna", "marco", "lea"', '"anna", "marco", "anna"'),
        "destinations.toml",
        "escalation[2]",
        "duplicate technician 'anna'",
    ),
    (
        "rotation starting on the wrong weekday",
        edited(B, "rota.toml", "first_week = 2026-01-05", "first_week = 2026-01-06"),
        "rota.toml",
        "rotation.first_week",
        "2026-01-06 is a tue, not the handover day mon",
    ),
    (
        "unknown handover weekday",
        edited(B, "rota.toml", 'weekday = "mon"', 'weekday = "monday"'),
        "rota.toml",
        "rotation.handover.weekday",
        "unknown value 'monday'",
    ),
    (
        "TOML syntax error",
        edited(B, "tiers.toml", 'id = "pro"', 'id = "pro'),
        "tiers.toml",
        "-",
        "not valid TOML",
    ),
    ("missing file", without(B, "notice.toml"), "notice.toml", "-", "missing"),
    (
        "unknown file",
        {**B, "extras.toml": 'x = "y"\n'},
        "extras.toml",
        "-",
        "unknown file",
    ),
    (
        "missing key",
        edited(B, "tiers.toml", 'name = "winCall basic, 5x6h"\n', ""),
        "tiers.toml",
        "tier.basic.name",
        "missing; must be non-empty text",
    ),
    (
        "unknown key",
        edited(B, "tiers.toml", "price_chf = 49.00", "price_chf = 49.00\ncolour = 'red'"),
        "tiers.toml",
        "tier.basic-plus.colour",
        "unknown key",
    ),
    (
        "price as text",
        edited(B, "tiers.toml", "price_chf = 49.00", 'price_chf = "49.00"'),
        "tiers.toml",
        "tier.basic-plus.price_chf",
        "must be a number, not '49.00'",
    ),
    (
        "accept timeout zero",
        edited(B, "destinations.toml", "accept_timeout = 8", "accept_timeout = 0"),
        "destinations.toml",
        "accept_timeout",
        "must be more than 0",
    ),
    (
        "accept timeout longer than a minute",
        edited(B, "destinations.toml", "accept_timeout = 8", "accept_timeout = 90"),
        "destinations.toml",
        "accept_timeout",
        "must be at most 60, not 90",
    ),
    (
        "callback offer as text",
        edited(B, "destinations.toml", "callback_offer_after = 90", 'callback_offer_after = "1m"'),
        "destinations.toml",
        "desk.callback_offer_after",
        "must be a whole number",
    ),
    (
        "ring timeout zero",
        edited(B, "destinations.toml", "ring_timeout = 20", "ring_timeout = 0"),
        "destinations.toml",
        "ring_timeout",
        "must be at least 2, not 0",
    ),
    (
        "desk dial string without technology",
        edited(B, "destinations.toml", '"Local/xy-desk@desk-queue/n"', '"xy-desk"'),
        "destinations.toml",
        "desk.dial",
        "is not the desk queue Local/<queue>@desk-queue/n",
    ),
    (
        "hour rule without hours",
        edited(
            B, "tiers.toml", '{ rule = "covered-hours", hours = 6 }', '{ rule = "covered-hours" }'
        ),
        "tiers.toml",
        "tier.pro.first_reaction.hours",
        "needs a number of hours",
    ),
    (
        "unknown first-reaction rule",
        edited(B, "tiers.toml", 'rule = "best-effort"', 'rule = "whenever"'),
        "tiers.toml",
        "tier.basic.first_reaction.rule",
        "unknown value 'whenever'",
    ),
    (
        "tier without notice terms",
        edited(B, "notice.toml", "[basic]\n", "[basic-extra]\n"),
        "notice.toml",
        "basic",
        "missing; every tier needs notice terms",
    ),
    (
        "default language not offered",
        edited(B, "hotline.toml", 'default_language = "de"', 'default_language = "rm"'),
        "hotline.toml",
        "default_language",
        "'rm' is not in languages",
    ),
    (
        "PIN too short",
        edited(B, "hotline.toml", "length = 6", "length = 3"),
        "hotline.toml",
        "pin.length",
        "must be from 4 to 12 digits",
    ),
    (
        "unknown unidentified-caller policy",
        edited(B, "hotline.toml", 'destination = "desk"', 'destination = "voicemail"'),
        "hotline.toml",
        "unidentified.destination",
        "unknown value 'voicemail'",
    ),
    (
        "closure date as text",
        {
            **B,
            "holidays.toml": B["holidays.toml"] + '[[closure]]\ndate = "2026-12-24"\nlabel = "x"\n',
        },
        "holidays.toml",
        "closure[0].date",
        "must be a date such as 2026-12-24",
    ),
    (
        "duplicate closure date",
        {
            **B,
            "holidays.toml": B["holidays.toml"]
            + '\n[[closure]]\ndate = 2026-12-24\nlabel = "x"\n' * 2,
        },
        "holidays.toml",
        "closure[1].date",
        "duplicate closure date 2026-12-24",
    ),
    (
        "override time as a bare date",
        edited(B, "rota.toml", "from = 2026-12-14T08:00:00", "from = 2026-12-14"),
        "rota.toml",
        "override[0].from",
        "must be a date and time",
    ),
]


@pytest.mark.parametrize(
    ("bundle", "file", "key", "reason"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_tables_are_rejected_naming_file_key_and_reason(bundle, file, key, reason):
    with pytest.raises(TablesError) as caught:
        parse_tables(bundle)
    found = [p for p in caught.value.problems if (p.file, p.key) == (file, key)]
    assert found, f"no problem at {file}: {key}; got {[str(p) for p in caught.value.problems]}"
    assert any(reason in p.reason for p in found), [str(p) for p in found]


def test_tier_must_cover_some_time(bundle):
    tiers = bundle["tiers.toml"]
    basic = tiers[tiers.index('id = "basic"\n') :]
    bare = basic.split("covered.mon")[0]
    with pytest.raises(TablesError) as caught:
        parse_tables({**bundle, "tiers.toml": tiers.replace(basic, bare)})
    assert [str(p) for p in caught.value.problems] == [
        "tiers.toml: tier.basic.covered: missing; must be a table"
    ]


def test_tier_with_empty_days_only_covers_nothing(bundle):
    tiers = bundle["tiers.toml"]
    for day in ("mon", "tue", "wed", "thu", "fri"):
        tiers = tiers.replace(
            f'covered.{day} = ["09:00-12:00", "14:00-17:00"]', f"covered.{day} = []"
        )
    with pytest.raises(TablesError) as caught:
        parse_tables({**bundle, "tiers.toml": tiers})
    assert [str(p) for p in caught.value.problems] == [
        "tiers.toml: tier.basic.covered: no window on any day; a tier must cover some time"
    ]


def test_one_broken_technician_does_not_make_its_references_unknown(bundle):
    broken = edited(bundle, "rota.toml", '"PJSIP/tech-lea"', '"tech lea"')
    with pytest.raises(TablesError) as caught:
        parse_tables(broken)
    assert [(p.file, p.key) for p in caught.value.problems] == [("rota.toml", "technician[2].dial")]


def test_default_directory_is_the_repository_routing_folder():
    from ivr.config import Settings

    assert Settings.from_env({}).tables_dir == DEFAULT_TABLES
