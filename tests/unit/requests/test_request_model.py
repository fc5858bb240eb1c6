"""The request's state machine: which action fits which state, and what it changes."""

from datetime import UTC, datetime, timedelta

import pytest

from ivr.requests.model import NewRequest, Request, TransitionRefused, transition

T0 = datetime(2026, 11, 28, 22, 5, tzinfo=UTC)


def request(state="open", **fields) -> Request:
    values = {
        "id": 7,
        "summary": "no dial tone",
        "source": "desk",
        "created_by": "dan",
        "created_at": T0,
        "state": state,
        "holder": "anna",
        "first_reaction_due": T0 + timedelta(hours=1),
    }
    return Request(**{**values, **fields})


def test_ack_takes_the_request_and_keeps_who():
    change = transition(request(), "ack", by="marco", now=T0, technician="marco")
    assert change.state == "acknowledged" and change.from_state == "open"
    assert change.fields == {"state": "acknowledged", "holder": "marco", "acknowledged_at": T0}
    assert change.event == {
        "at": T0,
        "kind": "state",
        "action": "ack",
        "state": "acknowledged",
        "by": "marco",
    }


def test_contact_records_the_first_reaction_and_acknowledges_if_needed():
    later = T0 + timedelta(minutes=5)
    direct = transition(request(), "contact", by="anna", now=later)
    assert direct.fields["acknowledged_at"] == later and direct.fields["first_contact_at"] == later
    acked = request("acknowledged", acknowledged_at=T0)
    assert transition(acked, "contact", by="anna", now=later).fields["acknowledged_at"] == T0


def test_resolve_keeps_the_intervention_and_the_note():
    change = transition(
        request("contacted"),
        "resolve",
        by="anna",
        now=T0,
        intervention="on_site",
        minutes=90,
        note="PSU replaced",
    )
    assert change.state == "resolved"
    assert change.fields["intervention"] == "on_site"
    assert change.fields["intervention_minutes"] == 90
    assert (change.fields["resolution"], change.fields["closed_by"]) == ("PSU replaced", "anna")


@pytest.mark.parametrize(
    ("state", "action", "message"),
    [
        ("acknowledged", "ack", "is acknowledged by anna: cannot ack it; it can still be: contact"),
        ("contacted", "contact", "is contacted by anna: cannot contact it"),
        ("resolved", "resolve", "is resolved by anna: cannot resolve it"),
        ("cancelled", "ack", "is cancelled"),
    ],
)
def test_an_action_out_of_order_is_refused_with_the_state(state, action, message):
    with pytest.raises(TransitionRefused, match=message):
        transition(request(state), action, by="x", now=T0)


def test_a_wrong_intervention_is_refused():
    with pytest.raises(TransitionRefused, match="unknown intervention 'phone'"):
        transition(request(), "resolve", by="x", now=T0, intervention="phone", minutes=3)
    with pytest.raises(TransitionRefused, match="how many minutes"):
        transition(request(), "resolve", by="x", now=T0, intervention="remote")
    with pytest.raises(TransitionRefused, match="minutes need an intervention"):
        transition(request(), "resolve", by="x", now=T0, minutes=3)


def test_breached_when_the_first_contact_is_late_or_missing_past_due():
    due = T0 + timedelta(hours=1)
    assert not request().breached(T0)
    assert request().breached(due + timedelta(seconds=1))
    assert not request("contacted", first_contact_at=due).breached(due + timedelta(hours=5))
    assert request("contacted", first_contact_at=due + timedelta(minutes=1)).breached(due)
    assert not request(first_reaction_due=None).breached(due + timedelta(days=9))


def test_a_new_request_needs_a_summary_and_a_known_source():
    with pytest.raises(ValueError, match="summary is empty"):
        NewRequest(summary="  ", source="cli", created_by="x")
    with pytest.raises(ValueError, match="unknown source 'fax'"):
        NewRequest(summary="help", source="fax", created_by="x")
