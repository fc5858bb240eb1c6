"""The one-paragraph explanation of a decision that people read (CLI, call records, console)."""

from __future__ import annotations

from datetime import datetime

from ivr.routing.decide import SEARCH_DAYS, Decision

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CONTRACT_TROUBLE = {
    "expired": "the contract has expired",
    "not-yet-valid": "the contract is not valid yet",
    "unknown-tier": "the contract's tier is not in the tables",
}


def explain(decision: Decision) -> str:
    """E.g. "pro covers Mon–Fri 07:00–19:00 Europe/Zurich; Sat 28 Nov 2026 10:15 is outside; next
    opening Mon 30 Nov 07:00; the cost notice applies; the call goes to the xy AG desk (standby
    technician Anna Keller); first reaction due Mon 30 Nov 13:00"."""
    when = _moment_text(decision.at, with_year=True)
    if not decision.identified:
        return "; ".join(
            [
                f"the caller is not identified; {when} {decision.zone}",
                _destination_text(decision) + ", flagged unidentified",
                "no cost notice",
            ]
        )
    parts = []
    if decision.contract_status in CONTRACT_TROUBLE:
        trouble = CONTRACT_TROUBLE[decision.contract_status]
        parts.append(f"{trouble}, so the fallback tier {decision.tier} applies")
    parts.append(f"{decision.tier} covers {decision.covers} {decision.zone}")
    parts.extend(_instant_text(decision, when))
    parts.append("the cost notice applies" if decision.notice else "no cost notice")
    parts.append(_destination_text(decision))
    if decision.first_reaction_due is not None:
        parts.append("first reaction due " + _moment_text(decision.first_reaction_due, decision.at))
    else:
        parts.append(f"first reaction {decision.first_reaction}, no due time")
    return "; ".join(parts)


def _instant_text(decision: Decision, when: str) -> list[str]:
    if decision.window is not None:
        inside = f"{when} is inside (window {decision.window.label}"
        if decision.holiday:
            inside += f"; {decision.holiday} does not close {decision.tier}"
        return [inside + ")"]
    outside = f"{when} is outside"
    if decision.holiday:
        outside += f": {decision.holiday} closes {decision.tier}"
    if decision.next_opening is None:
        return [outside, f"no opening within {SEARCH_DAYS} days"]
    return [outside, "next opening " + _moment_text(decision.next_opening, decision.at)]


def _destination_text(decision: Decision) -> str:
    desk = decision.ladder[-1]
    if decision.destination == "desk":
        return f"the call goes to the {desk.name} (standby technician {decision.standby.name})"
    technicians = [leg.name for leg in decision.ladder[1:-1]]
    text = f"the call goes to the standby technician {decision.standby.name}"
    if technicians:
        text += ", then " + ", ".join(technicians)
    return text + f", then the {desk.name}"


def _moment_text(
    moment: datetime, reference: datetime | None = None, *, with_year: bool = False
) -> str:
    """Like "Sat 28 Nov 2026 10:15"; the year only if asked or if not the reference's year."""
    text = f"{DAY_NAMES[moment.weekday()]} {moment.day} {MONTH_NAMES[moment.month - 1]}"
    if with_year or (reference is not None and reference.year != moment.year):
        text += f" {moment.year}"
    return text + f" {moment:%H:%M}"
