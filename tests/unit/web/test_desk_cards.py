"""What the desk agent reads of a call, from records written as the call flow writes them."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.routing import Contract, decide
from ivr.store import calls
from ivr.web.desk_cards import desk_card, desk_order, is_desk_call
from tests.unit.web.records import default_tables, record_covered_call, record_notice_call

ZURICH = ZoneInfo("Europe/Zurich")
SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 14, tzinfo=UTC)  # 22:14 in Zurich


async def card_of(redis, call_id):
    record = await calls.get_call(redis, call_id)
    return desk_card(record.summary, record.events, ZURICH)


async def test_the_brief_example_script(redis_client):
    await record_notice_call(redis_client, "c1", SATURDAY_NIGHT)
    card = await card_of(redis_client, "c1")
    assert card.script == (
        "The caller's contract (winCall pro, 5x12h) does not cover Saturday 22:14; the caller "
        "accepted the cost notice at 22:14. Check identification, note the problem, and forward "
        "it to the technician on standby (Marco Bernasconi), first reaction due Mon 30 Nov 13:00."
    )
    assert (card.tier, card.covered, card.identified) == ("pro", False, "by caller ID")
    assert (card.consent, card.consent_key) == ("accepted", "1")
    assert card.consent_at == datetime(2026, 11, 28, 22, 14, 30, tzinfo=ZURICH)
    assert card.standby.name == "Marco Bernasconi"
    assert card.first_reaction_due == datetime(2026, 11, 30, 13, 0, tzinfo=ZURICH)
    assert card.caller_number == "+41 44 123 45 67"
    assert card.forwardable


async def test_silence_counts_as_consent_but_the_costs_are_explained_again(redis_client):
    await record_notice_call(redis_client, "c1", SATURDAY_NIGHT, consent="silence")
    card = await card_of(redis_client, "c1")
    assert "did not answer at 22:14, which counts as consent: explain the costs again" in (
        card.script
    )


async def test_a_caller_still_hearing_the_notice(redis_client):
    await record_notice_call(redis_client, "c1", SATURDAY_NIGHT, consent=None)
    card = await card_of(redis_client, "c1")
    assert "the caller is hearing the cost notice now" in card.script
    assert card.consent is None and card.notice_heard


async def test_a_withdrawn_caller_needs_nothing(redis_client):
    await record_notice_call(redis_client, "c1", SATURDAY_NIGHT, consent="withdrawn")
    card = await card_of(redis_client, "c1")
    assert card.script == "The caller withdrew after the cost notice at 22:14: nothing to do."
    assert not card.forwardable


async def test_an_unidentified_caller(redis_client):
    await record_notice_call(redis_client, "c1", SATURDAY_NIGHT, customer=None, consent=None)
    record = await calls.get_call(redis_client, "c1")
    assert is_desk_call(record.summary)  # the tables send unidentified callers to the desk
    card = desk_card(record.summary, record.events, ZURICH)
    assert card.identified == "not identified"
    assert card.script.startswith("The caller could not be identified by number or PIN.")
    assert "Ask for the company and customer number" in card.script
    assert "(Marco Bernasconi)" in card.script


async def test_a_covered_call_no_technician_accepted(redis_client):
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 10:00: pro is covered
    await calls.start_call(redis_client, "c1", "+41441234567", start)
    decision = decide(default_tables(), Contract("pro"), start)
    await calls.update_call(
        redis_client,
        "c1",
        identified="pin",
        customer_id="acme",
        customer_name="ACME",
        tier="pro",
        tier_name=decision.tier_name,
        covered=True,
        destination="technician",
        first_reaction_due=decision.first_reaction_due,
    )
    await calls.add_event(redis_client, "c1", "decision", start, decision=decision.to_json())
    for tech, result in [("anna", "no_answer"), ("marco", "declined"), ("lea", "busy")]:
        later = start + timedelta(seconds=20)
        await calls.add_event(
            redis_client, "c1", "leg", later, role="technician", id=tech, result="ringing"
        )
        await calls.add_event(
            redis_client, "c1", "leg", later, role="technician", id=tech, result=result
        )
    await calls.update_call(redis_client, "c1", destination="desk", desk_status="ringing")
    card = await card_of(redis_client, "c1")
    assert [(t.name, t.result_text) for t in card.technicians] == [
        ("Anna Keller", "no answer"),
        ("Marco Bernasconi", "declined"),
        ("Lea Favre", "busy"),
    ]
    assert card.script.startswith(
        "The caller's contract (winCall pro, 5x12h) covers Monday 10:00, but no technician "
        "accepted (Anna Keller: no answer; Marco Bernasconi: declined; Lea Favre: busy)."
    )
    assert card.identified == "by PIN"
    assert card.status == "ringing at the desk"


async def test_an_expired_contract_is_named(redis_client):
    await record_notice_call(redis_client, "c1", SATURDAY_NIGHT)
    record = await calls.get_call(redis_client, "c1")
    decision_event = next(e for e in record.events if e["kind"] == "decision")
    decision_event["decision"]["contract_status"] = "expired"
    card = desk_card(record.summary, record.events, ZURICH)
    assert card.script.startswith("The contract has expired, so the fallback tier applies: ")


async def test_a_technicians_call_is_not_a_desk_call(redis_client):
    await record_covered_call(redis_client, "c1", SATURDAY_NIGHT)
    record = await calls.get_call(redis_client, "c1")
    assert not is_desk_call(record.summary)


async def test_the_desks_outcome_and_request_show(redis_client):
    await record_notice_call(redis_client, "c1", SATURDAY_NIGHT)
    await calls.update_call(
        redis_client,
        "c1",
        desk_outcome="solved",
        desk_note="reset",
        desk_agent="dan",
        callback_request=4,
    )
    await calls.finish_call(
        redis_client, "c1", SATURDAY_NIGHT + timedelta(minutes=5), "desk", "caller", 16
    )
    card = await card_of(redis_client, "c1")
    assert (card.desk_outcome, card.desk_note, card.callback_request) == ("solved", "reset", 4)
    assert card.script.endswith("Forwarded as callback request #4.")
    assert card.ended and card.status == "ended after talking to the desk"
    assert not card.forwardable


def test_the_desk_orders_live_calls_by_priority_then_waiting_time_then_ended_calls():
    def card(call_id, minute, priority=None, ended=False):
        summary = {
            "call_id": call_id,
            "started_at": (SATURDAY_NIGHT + timedelta(minutes=minute)).isoformat(),
            "destination": "desk",
            "desk_priority": priority,
        }
        if ended:
            summary["ended_at"] = summary["started_at"]
        return desk_card(summary, [], ZURICH)

    cards = [
        card("basic-early", 0, priority=10),
        card("unidentified", 1, priority=0),
        card("premium-late", 5, priority=50),
        card("basic-late", 3, priority=10),
        card("ended-old", 0, priority=50, ended=True),
        card("ended-new", 4, ended=True),
        card("no-priority-yet", 2),
    ]
    ordered = [c.call_id for c in sorted(cards, key=desk_order)]
    assert ordered == [
        "premium-late",
        "basic-early",
        "basic-late",
        "unidentified",
        "no-priority-yet",
        "ended-new",
        "ended-old",
    ]
