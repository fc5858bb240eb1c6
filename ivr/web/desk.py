"""The desk agent's view: the live list of desk calls, the outcome of each, and forwarding a
caller's problem to the technician on standby as a callback request.

The list is rendered here, on the server, both for the page and for each live update (sent
as server-sent events and swapped in by `static/desk.js`), so every value is escaped in one
place.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from ivr.customers.model import Contact
from ivr.requests.create import RequestRefused, open_request
from ivr.store import calls
from ivr.store.customers import get_customer
from ivr.store.requests import RequestAlreadyOpen
from ivr.store.users import get_session
from ivr.web.active_tables import tables_for
from ivr.web.console import Console, console_of
from ivr.web.desk_cards import DESK_OUTCOMES, DeskCard, is_desk_call
from ivr.web.desk_customers import contacts_table
from ivr.web.desk_requests import open_request_rows
from ivr.web.formatting import day_time
from ivr.web.html import Markup, element, join, options, render, url_part
from ivr.web.incident_pages import incident_banner
from ivr.web.pages import csrf_input, done, page, refused
from ivr.web.security import SESSION_COOKIE, allow, session_of

Contacts = Mapping[str, tuple[Contact, ...]]  # customer id -> its contact persons
KEEPALIVE_SECONDS = 15.0
MAX_NOTE = 500
MAX_PROBLEM = 2000


@allow("desk", "admin")
async def desk_page(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    console = console_of(request)
    cards = await console.board.current_cards()
    body = render(
        "desk",
        banner=await incident_banner(request),
        cards=render_cards(cards, session.csrf_token, await contacts_of(console.redis, cards)),
        empty_hidden=Markup(" hidden") if cards else "",
        open_requests=await open_request_rows(console),
    )
    return page(request, "Desk", body, scripts=["desk.js"])


@allow("desk", "admin")
async def desk_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: `snapshot` (the whole list) on connect, then `call` per change."""
    session = session_of(request)
    console = console_of(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    listener = console.board.listen()
    try:
        cards = console.board.cards()
        contacts = await contacts_of(console.redis, cards)
        await _send(
            response, "snapshot", {"html": render_cards(cards, session.csrf_token, contacts)}
        )
        while True:
            try:
                update = await asyncio.wait_for(listener.queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                if not await _still_logged_in(request, console):
                    break
                await response.write(b": keep-alive\n\n")
                continue
            if update is None:
                break
            contacts = await contacts_of(console.redis, update.cards)
            if update.snapshot:
                html = render_cards(update.cards, session.csrf_token, contacts)
                await _send(response, "snapshot", {"html": html})
                continue
            order = [f"call-{card.call_id}" for card in console.board.cards()]
            for card in update.cards:
                data = {
                    "id": card.call_id,
                    "html": render_card(card, session.csrf_token, contacts),
                    "order": order,
                }
                await _send(response, "call", data)
    except ConnectionResetError:
        pass  # the browser went away
    finally:
        console.board.unlisten(listener)
    return response


@allow("desk", "admin")
async def record_outcome(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    console = console_of(request)
    form = await request.post()
    outcome = str(form.get("outcome", ""))
    note = str(form.get("note", "")).strip()
    if outcome not in DESK_OUTCOMES:
        return refused(request, 422, "Choose an outcome: " + ", ".join(DESK_OUTCOMES.values()))
    if len(note) > MAX_NOTE:
        return refused(request, 422, f"The note is longer than {MAX_NOTE} characters.")
    call_id = request.match_info["call_id"]
    record = await _desk_call(request, call_id)
    if isinstance(record, web.Response):
        return record
    now = console.clock()
    await calls.update_call(
        console.redis,
        call_id,
        desk_outcome=outcome,
        desk_note=note or None,
        desk_agent=session.user,
        desk_outcome_at=now,
    )
    await calls.add_event(
        console.redis, call_id, "desk_outcome", now, outcome=outcome, note=note, by=session.user
    )
    return done(request, {"call_id": call_id, "outcome": outcome}, "/desk")


@allow("desk", "admin")
async def forward_to_standby(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    console = console_of(request)
    form = await request.post()
    problem = str(form.get("problem", "")).strip()
    if not problem:
        return refused(request, 422, "Describe the caller's problem before forwarding it.")
    if len(problem) > MAX_PROBLEM:
        return refused(request, 422, f"The problem is longer than {MAX_PROBLEM} characters.")
    call_id = request.match_info["call_id"]
    record = await _desk_call(request, call_id)
    if isinstance(record, web.Response):
        return record
    _, tables = await tables_for(request)
    now = console.clock()
    try:
        callback = await open_request(
            console.redis,
            tables,
            summary=problem,
            source="desk",
            created_by=session.user,
            now=now,
            call_id=call_id,
        )
    except RequestAlreadyOpen as error:
        return refused(request, 409, str(error))
    except RequestRefused as error:
        return refused(request, 422, str(error))
    await calls.update_call(console.redis, call_id, callback_request=callback.id)
    await calls.add_event(
        console.redis,
        call_id,
        "callback_requested",
        now,
        request_id=callback.id,
        technician_id=callback.holder,
        first_reaction_due=callback.first_reaction_due,
        by=session.user,
    )
    return done(request, {"call_id": call_id, "request_id": callback.id}, "/desk")


async def contacts_of(redis: Redis, cards: Iterable[DeskCard]) -> Contacts:
    """The contact persons of each customer the cards name (as the customer data has them now)."""
    contacts = {}
    for customer_id in {card.customer_id for card in cards if card.customer_id}:
        customer = await get_customer(redis, customer_id)
        if customer is not None:
            contacts[customer_id] = customer.contacts
    return contacts


def render_cards(cards: tuple[DeskCard, ...], csrf_token: str, contacts: Contacts) -> Markup:
    return join(render_card(card, csrf_token, contacts) for card in cards)


def render_card(card: DeskCard, csrf_token: str, contacts: Contacts) -> Markup:
    call_url = url_part(card.call_id)
    standby = f" ({card.standby.name})" if card.standby else ""
    forward = ""
    if card.forwardable:
        forward = render(
            "desk_forward",
            call_url=call_url,
            csrf=csrf_input(csrf_token),
            problem_max=MAX_PROBLEM,
            standby=standby,
        )
    actions = render(
        "desk_actions",
        call_url=call_url,
        csrf=csrf_input(csrf_token),
        outcomes=options(DESK_OUTCOMES.items(), card.desk_outcome),
        note_max=MAX_NOTE,
        forward=forward,
    )
    return render(
        "desk_card",
        call_id=card.call_id,
        live_class=" ended" if card.ended else " in-progress",
        caller_number=card.caller_number,
        caller_name=element("span", card.caller_name, class_="caller-name")
        if card.caller_name
        else "",
        status=card.status,
        started_iso=card.started_at.isoformat() if card.started_at else "",
        started=day_time(card.started_at),
        customer=_customer(card),
        contacts=_contacts(card, contacts),
        tier=f"{card.tier_name} ({card.tier})" if card.tier else "unknown",
        covered={True: "yes", False: "no"}.get(card.covered, "not decided yet"),
        identified=card.identified,
        consent=_consent(card),
        technicians=join((f"{t.name}: {t.result_text}" for t in card.technicians), "; ") or "none",
        due=day_time(card.first_reaction_due) or (card.first_reaction or "none"),
        standby=card.standby.name if card.standby else "unknown",
        desk_outcome=_desk_outcome(card),
        script=card.script,
        notice=_notice(card),
        actions_state=_actions_state(card),
        actions=actions,
    )


def _actions_state(card: DeskCard) -> str:
    """What the forms offer; the page keeps a form being filled in while this stays the same."""
    standby = card.standby.technician_id if card.standby else ""
    return f"{card.desk_outcome}|{card.callback_request}|{card.forwardable}|{standby}"


def _customer(card: DeskCard) -> Markup | str:
    """The customer, linked to its contact persons (to check who may order what)."""
    if card.customer_id is None:
        return "unknown"
    return element(
        "a",
        f"{card.customer_name} ({card.customer_id})",
        href=f"/desk/customers/{url_part(card.customer_id)}",
        title="contact persons and who may order paid interventions",
    )


def _contacts(card: DeskCard, contacts: Contacts) -> Markup | str:
    """Who may call for the caller's customer, to check identification and authorisation."""
    if card.customer_id is None:
        return "unknown customer: look it up by name or number"
    if card.customer_id not in contacts:
        return "the customer is no longer in the customer data"
    return contacts_table(contacts[card.customer_id])


def _consent(card: DeskCard) -> str:
    if card.consent is None:
        return "heard, no answer yet" if card.notice_heard else "not played"
    parts = [card.consent]
    if card.consent_key:
        parts.append(f"key {card.consent_key}")
    if card.consent_at:
        parts.append(f"at {card.consent_at:%H:%M:%S}")
    return ", ".join(parts)


def _desk_outcome(card: DeskCard) -> str:
    parts = []
    if card.desk_outcome:
        text = DESK_OUTCOMES.get(card.desk_outcome, card.desk_outcome)
        if card.desk_note:
            text += f": {card.desk_note}"
        parts.append(f"{text} (by {card.desk_agent})")
    if card.callback_request is not None:
        parts.append(f"callback request #{card.callback_request}")
    return "; ".join(parts) or "not recorded yet"


def _notice(card: DeskCard) -> Markup:
    if not card.notice_text:
        return Markup("")
    return element("details", join([element("summary", "Cost notice as played"), card.notice_text]))


async def _desk_call(request: web.Request, call_id: str) -> calls.CallRecord | web.Response:
    record = await calls.get_call(console_of(request).redis, call_id)
    if record is None:
        return refused(request, 404, f"No record of call {call_id}.")
    if not is_desk_call(record.summary):
        return refused(request, 409, f"Call {call_id} was not routed to the desk.")
    return record


async def _still_logged_in(request: web.Request, console: Console) -> bool:
    token = request.cookies.get(SESSION_COOKIE, "")
    return await get_session(console.redis, token, now=console.clock()) is not None


async def _send(response: web.StreamResponse, event: str, data: dict[str, Any]) -> None:
    await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
