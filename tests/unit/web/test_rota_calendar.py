"""The rota calendar: standby per day, cut at handovers and overrides."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ivr.web.rota import on_standby, ring_order, rota_calendar
from tests.unit.web.records import default_tables

ZURICH = ZoneInfo("Europe/Zurich")


def duties(day):
    return [
        (d.start.strftime("%H:%M"), d.technician.id, d.covering_for and d.covering_for.id)
        for d in day.duties
    ]


def test_fourteen_days_from_today_with_the_monday_handover():
    days = rota_calendar(default_tables(), datetime(2026, 11, 28, 21, 14, tzinfo=UTC))
    assert [day.day for day in days][:3] == [
        date(2026, 11, 28),
        date(2026, 11, 29),
        date(2026, 11, 30),
    ]
    assert len(days) == 14
    assert duties(days[0]) == [("00:00", "marco", None)]
    assert duties(days[2]) == [("00:00", "marco", None), ("08:00", "lea", None)]  # Monday
    assert duties(days[9]) == [("00:00", "lea", None), ("08:00", "anna", None)]


def test_an_override_stands_in_with_its_hours():
    days = {
        day.day: day
        for day in rota_calendar(default_tables(), datetime(2026, 12, 13, 12, tzinfo=UTC))
    }
    # anna covers for marco from Mon 14 Dec 08:00 to Thu 17 Dec 08:00 (routing/rota.toml)
    assert duties(days[date(2026, 12, 14)]) == [("00:00", "anna", None), ("08:00", "anna", "marco")]
    assert duties(days[date(2026, 12, 16)]) == [("00:00", "anna", "marco")]
    assert duties(days[date(2026, 12, 17)]) == [
        ("00:00", "anna", "marco"),
        ("08:00", "marco", None),
    ]


def test_holidays_and_closures_are_named():
    days = {
        day.day: day
        for day in rota_calendar(default_tables(), datetime(2026, 12, 20, 12, tzinfo=UTC))
    }
    assert days[date(2026, 12, 24)].holiday is None  # no closure ships
    assert days[date(2026, 12, 25)].holiday == "Christmas Day"
    assert days[date(2026, 12, 23)].holiday is None


def test_who_is_on_standby_now():
    technician, covering_for = on_standby(
        default_tables(), datetime(2026, 12, 15, 10, tzinfo=ZURICH)
    )
    assert (technician.name, covering_for.name) == ("Anna Keller", "Marco Bernasconi")
    technician, covering_for = on_standby(
        default_tables(), datetime(2026, 11, 28, 22, tzinfo=ZURICH)
    )
    assert (technician.name, covering_for) == ("Marco Bernasconi", None)


def test_the_ring_order_of_a_covered_call():
    tables = default_tables()
    saturday = ring_order(tables, datetime(2026, 11, 28, 22, tzinfo=ZURICH))
    assert [leg.id for leg in saturday] == ["marco", "anna", "lea", "desk"]
    during_override = ring_order(tables, datetime(2026, 12, 15, 10, tzinfo=ZURICH))
    assert [leg.id for leg in during_override] == ["anna", "lea", "desk"]
