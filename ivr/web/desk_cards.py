"""What a desk agent sees of one call: the facts from its record and a suggested script.

Pure: a call record's summary and events in, a DeskCard out. The facts come from the summary
(`ivr.calls.summary.CallSummary`) and the events the call flow writes; the technician on
standby and the contract's status come from the `decision` event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.calls.summary import CallSummary
from ivr.routing.explain import CONTRACT_TROUBLE
from ivr.web.formatting import caller, day_time, instant, weekday_time

IDENTIFIED = {"caller_id": "by caller ID", "pin": "by PIN", "no": "not identified"}
LEG_RESULTS = {
    "ringing": "ringing",
    "accepted": "accepted",
    "declined": "declined",
    "not_accepted": "answered but did not accept",
    "gone_before_bridge": "accepted, but hung up before being connected",
    "no_answer": "no answer",
    "busy": "busy",
    "failed": "failed",
    "unreachable": "unreachable",
}
# What the desk agent records about a call.
DESK_OUTCOMES = {
    "solved": "Solved on the phone",
    "forwarded": "Forwarded to the technician",
    "caller_calls_back": "The caller will call back",
    "declined_costs": "The caller declined the costs",
    "not_a_customer": "Not a customer",
    "other": "Other (see the note)",
}
DESK_STATUS = {
    "ringing": "ringing at the desk",
    "queued": "waiting in the desk queue",
    "connected": "connected to the desk",
}


@dataclass(frozen=True)
class TechnicianTry:
    technician_id: str
    name: str
    result: str  # a key of LEG_RESULTS (or whatever the record says)

    @property
    def result_text(self) -> str:
        return LEG_RESULTS.get(self.result, self.result)


@dataclass(frozen=True)
class Standby:
    technician_id: str
    name: str


@dataclass(frozen=True)
class DeskCard:
    call_id: str
    started_at: datetime | None
    ended: bool
    caller_number: str  # for people: "+41 44 123 45 67" or "withheld"
    caller_name: str | None  # the caller ID name: untrusted text
    customer_id: str | None
    customer_name: str | None
    tier: str | None
    tier_name: str | None
    covered: bool | None
    identified: str  # "by caller ID", "by PIN", "not identified" or "not yet"
    notice_heard: bool
    notice_text: str | None
    consent: str | None  # accepted, withdrawn, silence; None while not asked
    consent_key: str | None
    consent_at: datetime | None
    technicians: tuple[TechnicianTry, ...]
    first_reaction_due: datetime | None
    first_reaction: str | None  # the tier's promise, e.g. "within 6 hours"
    standby: Standby | None
    status: str  # what is happening (or happened) to the call
    desk_outcome: str | None
    desk_note: str | None
    desk_agent: str | None
    callback_request: int | None
    script: str
    priority: int = 0  # in the desk queue: higher first (routing.desk_priority)
    desk_agent_line: str | None = None  # the desk agent's phone that answered

    @property
    def forwardable(self) -> bool:
        return self.callback_request is None and self.consent != "withdrawn"


def is_desk_call(summary: Mapping[str, Any]) -> bool:
    return summary.get("destination") == "desk"


def priority_order(priority: int, waiting_since: datetime | None) -> tuple[int, float]:
    """Who the desk takes first, for live calls and open requests alike: the highest priority
    first (`routing.desk_priority`: premium before pro+, pro, basic+, basic; any identified
    caller before an unidentified one), then who has waited longest."""
    return (-priority, waiting_since.timestamp() if waiting_since else 0.0)


def desk_order(card: DeskCard) -> tuple:
    """The order of the desk's list: calls still going first, in `priority_order`; then ended
    calls, newest first."""
    if card.ended:
        started = card.started_at.timestamp() if card.started_at else 0.0
        return (1, 0, -started)
    return (0, *priority_order(card.priority, card.started_at))


def desk_card(
    summary: Mapping[str, Any], events: Iterable[Mapping[str, Any]], zone: ZoneInfo
) -> DeskCard:
    events = list(events)
    decision = _decision(events)
    technicians = _technicians(events, decision)
    standby = decision.get("standby")
    stored = CallSummary.from_stored(summary)
    card = DeskCard(
        call_id=stored.call_id,
        started_at=instant(stored.started_at, zone),
        ended=stored.ended,
        caller_number=caller(stored.caller_number),
        caller_name=stored.caller_name or None,
        customer_id=stored.customer_id,
        customer_name=stored.customer_name,
        tier=stored.tier,
        tier_name=stored.tier_name,
        covered=stored.covered,
        identified=IDENTIFIED.get(stored.identified or "", "not yet"),
        notice_heard=bool(stored.notice_text),
        notice_text=stored.notice_text,
        consent=stored.consent,
        consent_key=stored.consent_key,
        consent_at=instant(stored.consent_at, zone),
        technicians=technicians,
        first_reaction_due=instant(stored.first_reaction_due, zone),
        first_reaction=decision.get("first_reaction"),
        standby=Standby(standby["id"], standby["name"]) if standby else None,
        status=_status(stored),
        desk_outcome=stored.desk_outcome,
        desk_note=stored.desk_note,
        desk_agent=stored.desk_agent,
        callback_request=stored.callback_request,
        script="",
        priority=int(summary.get("desk_priority") or 0),
        desk_agent_line=summary.get("desk_agent_line"),
    )
    at = instant(decision.get("at"), zone) or card.started_at
    return replace(card, script=suggested_script(card, stored.outcome, decision, at))


def suggested_script(
    card: DeskCard,
    outcome: str | None,
    decision: Mapping[str, Any],
    at: datetime | None,
) -> str:
    """What the agent should say and do, e.g. "The caller's contract (winCall pro, 5x12h) does
    not cover Saturday 22:14; the caller accepted the cost notice at 22:14. Check
    identification, note the problem, and forward it to the technician on standby (Marco
    Bernasconi), first reaction due Mon 30 Nov 13:00."."""
    if card.consent == "withdrawn":
        when = f" at {card.consent_at:%H:%M}" if card.consent_at else ""
        return f"The caller withdrew after the cost notice{when}: nothing to do."
    facts = []
    if outcome == "desk_fallback":
        facts.append("The hotline could not finish handling this call (an internal error)")
    if card.identified == "not identified":
        facts.append("The caller could not be identified by number or PIN")
    elif card.tier_name:
        facts.append(_contract_fact(card, decision, at))
    if card.notice_heard or card.consent:
        facts.append(_consent_fact(card))
    if outcome == "desk_unreachable":
        facts.append(f"nobody at the desk answered: call the caller back on {card.caller_number}")
    return _sentence(facts) + " " + _todo(card)


def _contract_fact(card: DeskCard, decision: Mapping[str, Any], at: datetime | None) -> str:
    when = weekday_time(at) if at else "this time"
    holiday = decision.get("holiday")
    if holiday:
        when += f" ({holiday})"
    text = ""
    trouble = CONTRACT_TROUBLE.get(decision.get("contract_status", ""))
    if trouble:
        text = f"{trouble}, so the fallback tier applies: "
    if card.covered:
        text += f"the caller's contract ({card.tier_name}) covers {when}"
        tried = "; ".join(f"{t.name}: {t.result_text}" for t in card.technicians)
        return text + (f", but no technician accepted ({tried})" if tried else "")
    return text + f"the caller's contract ({card.tier_name}) does not cover {when}"


def _consent_fact(card: DeskCard) -> str:
    when = f" at {card.consent_at:%H:%M}" if card.consent_at else ""
    if card.consent == "accepted":
        return f"the caller accepted the cost notice{when}"
    if card.consent == "silence":
        return (
            f"the caller heard the cost notice and did not answer{when}, which counts as "
            "consent: explain the costs again before anything is ordered"
        )
    return "the caller is hearing the cost notice now"


def _todo(card: DeskCard) -> str:
    if card.callback_request is not None:
        return f"Forwarded as callback request #{card.callback_request}."
    who = f" ({card.standby.name})" if card.standby else ""
    if card.identified == "not identified":
        todo = "Ask for the company and customer number, check them, note the problem, "
        todo += f"and forward it to the technician on standby{who}"
    else:
        todo = "Check identification, note the problem, "
        todo += f"and forward it to the technician on standby{who}"
    if card.first_reaction_due:
        todo += f", first reaction due {day_time(card.first_reaction_due)}"
    elif card.first_reaction:
        todo += f", first reaction {card.first_reaction} (no due time)"
    return todo + "."


def _sentence(facts: list[str]) -> str:
    if not facts:
        return ""
    text = "; ".join(facts)
    return text[0].upper() + text[1:] + "."


def _decision(events: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    for event in reversed(events):
        if event.get("kind") == "decision" and isinstance(event.get("decision"), Mapping):
            return event["decision"]
    return {}


def _technicians(
    events: list[Mapping[str, Any]], decision: Mapping[str, Any]
) -> tuple[TechnicianTry, ...]:
    """Each technician leg tried, in order, with its last result."""
    names = {leg["id"]: leg["name"] for leg in decision.get("ladder", []) if "id" in leg}
    results: dict[str, str] = {}
    for event in events:
        if event.get("kind") == "leg" and event.get("role") == "technician":
            results[event.get("id", "?")] = event.get("result", "")
    return tuple(TechnicianTry(i, names.get(i, i), r) for i, r in results.items())


def _status(summary: CallSummary) -> str:
    if summary.ended:
        return {
            "desk": "ended after talking to the desk",
            "withdrawn": "ended: the caller withdrew",
            "desk_unreachable": "ended: the desk did not answer",
            "callback_requested": "ended: the caller asked to be called back",
            "abandoned": "ended: the caller hung up",
            "technician": "ended after talking to a technician",
            "desk_fallback": "ended (sent to the desk by the dialplan)",
        }.get(summary.outcome, f"ended ({summary.outcome})")
    return DESK_STATUS.get(summary.desk_status or "", "in the hotline")
