""" "What happens if": a caller (a customer, a phone number, a tier, or nobody identified) and
an instant, and the routing core's decision with its explanation, as `ivr route explain` gives
it. The same inputs also run against a pending, unsaved edit of the tables
(`admin_tables`), side by side with the active tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from redis.asyncio import Redis

from ivr.clock import parse_instant
from ivr.customers.model import Customer
from ivr.customers.numbers import InvalidNumber, display_number, normalise_number
from ivr.routing import Contract, Decision, Tables, decide, explain
from ivr.store.customers import find_by_number, get_customer
from ivr.web.active_tables import tables_for
from ivr.web.console import console_of
from ivr.web.formatting import day_time, weekday_time
from ivr.web.html import Markup, element, join, options, render
from ivr.web.pages import page
from ivr.web.security import allow

WHO = {
    "customer": "a customer",
    "number": "a phone number",
    "tier": "any customer of a tier",
    "unidentified": "an unidentified caller",
}


@dataclass(frozen=True)
class Subject:
    """One caller to decide for: `contract` None is a caller who is not identified."""

    label: str
    contract: Contract | None


@dataclass(frozen=True)
class Question:
    """The simulator's inputs, as typed (for showing them again)."""

    who: str
    customer: str
    number: str
    tier: str
    at: str

    @classmethod
    def from_form(cls, form: Mapping[str, object]) -> Question:
        def text(name: str) -> str:
            value = form.get(name, "")
            return value.strip() if isinstance(value, str) else ""

        return cls(
            text("who") or "customer", text("customer"), text("number"), text("tier"), text("at")
        )


@dataclass(frozen=True)
class Answer:
    """The callers the question names (with a note on how they would be identified) and the
    instant; or the problem with the question."""

    subjects: tuple[Subject, ...] = ()
    note: str = ""
    instant: datetime | None = None
    problem: str | None = None


@allow("admin")
async def simulate_page(request: web.Request) -> web.StreamResponse:
    current, tables = await tables_for(request)
    question = Question.from_form(request.query)
    result = Markup("")
    if "who" in request.query:
        answer = await answer_question(request, question, tables)
        result = render_answer(answer, [("Active tables", tables)])
    version = f"version {current.version}" if current.version else "not published yet"
    body = render(
        "simulate",
        version=version,
        inputs=render_inputs(question, tables, console_of(request).now()),
        result=result,
    )
    return page(request, "What happens if", body)


async def answer_question(request: web.Request, question: Question, tables: Tables) -> Answer:
    """The subjects and instant of a question; customers are looked up in the store."""
    try:
        instant = (
            parse_instant(question.at, tables.zone) if question.at else console_of(request).clock()
        )
    except ValueError as error:
        return Answer(problem=f"Instant: {error}")
    subjects, note, problem = await _subjects(console_of(request).redis, question)
    if problem:
        return Answer(problem=problem)
    return Answer(subjects, note, instant)


async def _subjects(
    redis: Redis, question: Question
) -> tuple[tuple[Subject, ...], str, str | None]:
    if question.who == "unidentified":
        return (Subject("a caller who is not identified", None),), "", None
    if question.who == "tier":
        if not question.tier:
            return (), "", "Choose a tier."
        return (Subject(f"a customer of tier {question.tier}", Contract(question.tier)),), "", None
    if question.who == "number":
        return await _by_number(redis, question.number)
    if not question.customer:
        return (), "", "Type a customer id."
    customer = await get_customer(redis, question.customer)
    if customer is None:
        return (), "", f"There is no customer {question.customer!r}."
    return (_subject(customer),), "", None


async def _by_number(redis: Redis, text: str) -> tuple[tuple[Subject, ...], str, str | None]:
    try:
        number = normalise_number(text)
    except InvalidNumber as error:
        return (), "", f"Phone number: {error}"
    customers = await find_by_number(redis, number)
    shown = display_number(number)
    if not customers:
        note = f"{shown} is no customer's number: the caller is asked for a PIN; "
        note += "without a right one they are not identified."
        return (Subject(f"{shown}, not identified", None),), note, None
    if len(customers) == 1 and not customers[0].pin_required:
        return (_subject(customers[0]),), f"{shown} identifies the caller by caller ID.", None
    note = f"{shown} does not identify the caller alone: they are asked for a PIN. "
    note += "The decision for each customer who may call from it:"
    return tuple(_subject(customer) for customer in customers), note, None


def _subject(customer: Customer) -> Subject:
    terms = customer.contract
    return Subject(
        f"{customer.name} ({customer.id})", Contract(terms.tier, terms.valid_from, terms.valid_to)
    )


def render_inputs(question: Question, tables: Tables, now: datetime) -> Markup:
    tiers = [(tier.id, f"{tier.name} ({tier.id})") for tier in tables.tiers.values()]
    return render(
        "simulate_inputs",
        who_options=options(WHO.items(), question.who),
        customer=question.customer,
        number=question.number,
        tier_options=options([("", "choose…"), *tiers], question.tier),
        zone=tables.zone.key,
        at=question.at or f"{now.astimezone(tables.zone):%Y-%m-%dT%H:%M}",
    )


def render_answer(answer: Answer, versions: list[tuple[str, Tables]]) -> Markup:
    """The decisions for each subject under each version of the tables, side by side."""
    if answer.problem:
        return element("p", answer.problem, class_="error")
    assert answer.instant is not None
    parts: list[object] = [element("p", answer.note, class_="note")] if answer.note else []
    for subject in answer.subjects:
        panels = join(
            render_decision(heading, subject, decide(tables, subject.contract, answer.instant))
            for heading, tables in versions
        )
        parts.append(element("div", panels, class_="decisions"))
    return join(parts)


def render_decision(heading: str, subject: Subject, decision: Decision) -> Markup:
    ladder = ", ".join(leg.name for leg in decision.ladder)
    return render(
        "decision",
        heading=heading,
        destination_class=f"to-{decision.destination}",
        verdict=_verdict(decision),
        subject=subject.label,
        at=f"{weekday_time(decision.at)}, {decision.at:%d %b %Y} ({decision.zone})",
        tier=f"{decision.tier_name} ({decision.tier})" if decision.tier else "none",
        covered="yes" if decision.covered else "no",
        destination=decision.destination,
        notice=_notice(decision),
        ladder=ladder,
        due=day_time(decision.first_reaction_due) or (decision.first_reaction or "none"),
        tables_version=decision.tables_version,
        explanation=explain(decision),
    )


def _verdict(decision: Decision) -> str:
    if decision.destination == "technician":
        return f"Rings the technician on standby, {decision.standby.name}."
    if decision.notice:
        return "Hears the cost notice, then goes to the desk if they continue."
    return "Goes to the desk."


def _notice(decision: Decision) -> str:
    terms = decision.notice_terms
    if not decision.notice or terms is None:
        return "no"
    return (
        f"yes: call-out CHF {terms.callout_fee_chf:.2f}, CHF {terms.hourly_rate_chf:.2f} per "
        f"hour in steps of {terms.billing_increment_minutes} minutes"
    )


ROUTES = [web.get("/admin/simulate", simulate_page)]
