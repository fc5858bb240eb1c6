"""The first-reaction report (`ivr.requests.sla`): met or missed per request, met %, median
minutes to the first contact per tier, breaches with their reasons, interventions per customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ivr.requests.model import Request
from ivr.requests.sla import (
    MET,
    MISSED,
    NOT_PROMISED,
    PENDING,
    first_reaction,
    parse_month,
    sla_report,
)

ZURICH = ZoneInfo("Europe/Zurich")
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def request(n: int, *, contact: float | None = None, due: float | None = 60, **fields) -> Request:
    """Request `n` created at T0 (+n minutes), due `due` minutes later, first contact after
    `contact` minutes."""
    created = T0 + timedelta(minutes=n)
    values = {
        "id": n,
        "summary": "PBX down",
        "source": "cli",
        "created_by": "test",
        "created_at": created,
        "state": "contacted" if contact is not None else "open",
        "customer_id": "klinik-seefeld",
        "customer_name": "Klinik Seefeld AG",
        "tier": "premium",
        "first_reaction_due": None if due is None else created + timedelta(minutes=due),
        "first_contact_at": None if contact is None else created + timedelta(minutes=contact),
    }
    return Request(**{**values, **fields})


def test_met_missed_pending_and_not_promised():
    assert first_reaction(request(1, contact=30), NOW) == MET
    assert first_reaction(request(2, contact=90), NOW) == MISSED
    assert first_reaction(request(3), NOW) == MISSED, "still missing after the due time"
    assert first_reaction(request(4), T0) == PENDING
    assert first_reaction(request(5, due=None), NOW) == NOT_PROMISED
    assert first_reaction(request(6, state="cancelled"), T0 + timedelta(minutes=10)) == NOT_PROMISED
    marked = request(7, breached_at=T0, breach_reason="nobody acknowledged it")
    assert first_reaction(marked, T0) == MISSED


def test_the_report_of_a_month():
    requests = [
        request(1, contact=10),
        request(2, contact=30),
        request(3, contact=90, tier="pro", customer_id="studio-lugano"),
        request(4, breached_at=T0, breach_reason="no first contact by the due time: nobody"),
        request(5, contact=20, intervention="on_site", intervention_minutes=60),
        request(6, contact=5, intervention="remote", intervention_minutes=15),
        request(7, created_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC)),  # 1 Nov in Zurich
        request(8, created_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC)),  # December there
    ]
    report = sla_report(requests, 2026, 11, ZURICH, NOW)
    assert (report.requests, report.met, report.missed, report.pending) == (7, 4, 3, 0)
    assert report.met_percent == pytest.approx(57.1)
    assert report.median_minutes_to_contact == {"premium": 15.0, "pro": 90.0}
    assert [(b.request_id, b.reason) for b in report.breaches] == [
        (3, "first contact 30 minutes after the due time"),
        (4, "no first contact by the due time: nobody"),
        (7, "no first contact by the due time"),
    ]
    assert report.interventions["klinik-seefeld"].count == 2
    assert report.interventions["klinik-seefeld"].minutes == 75
    data = report.to_json()
    assert data["month"] == "2026-11" and data["breaches"][0]["due"].startswith("2026-11-10")


def test_an_empty_month_has_no_percentage():
    report = sla_report([], 2026, 2, ZURICH, NOW)
    assert (report.requests, report.met_percent, report.breaches) == (0, None, ())


@pytest.mark.parametrize("text", ["2026-13", "November", "2026-1-1", ""])
def test_a_bad_month_is_named(text):
    with pytest.raises(ValueError, match="is not a month such as 2026-11"):
        parse_month(text)
