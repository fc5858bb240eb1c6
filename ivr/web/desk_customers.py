"""Customers for desk agents, read only: look one up by name or number, and see who may call
for it (contact persons, their numbers, whether they may order paid interventions) to check
a caller's identification and authorisation."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from ivr.customers.model import Contact, Customer
from ivr.customers.numbers import display_number
from ivr.store.customers import get_customer, search_customers
from ivr.web.console import console_of
from ivr.web.html import Markup, element, join, render, url_part
from ivr.web.pages import page
from ivr.web.security import allow


@allow("desk", "admin")
async def lookup(request: web.Request) -> web.StreamResponse:
    query = request.query.get("q", "").strip()
    found = await search_customers(console_of(request).redis, query) if query else []
    results = join(customer_section(customer) for customer in found)
    if query and not found:
        results = element("p", f"No customer matches “{query}”.", class_="empty")
    return page(request, "Customer lookup", render("desk_lookup", query=query, results=results))


@allow("desk", "admin")
async def customer_page(request: web.Request) -> web.StreamResponse:
    customer_id = request.match_info["customer_id"]
    customer = await get_customer(console_of(request).redis, customer_id)
    if customer is None:
        raise web.HTTPNotFound(text=f"no customer {customer_id!r}")
    return page(request, customer.name, customer_section(customer))


def customer_section(customer: Customer) -> Markup:
    contract = customer.contract
    facts = [
        ("Customer", f"{customer.name} ({customer.id})"),
        ("Contract", contract.tier),
        ("Numbers", ", ".join(display_number(n) for n in customer.numbers)),
        ("PIN", "asked on every call" if customer.pin_required else "when the number is not known"),
    ]
    rows = join(element("tr", join([element("th", k), element("td", v)])) for k, v in facts)
    return element(
        "section",
        join(
            [
                element(
                    "h2",
                    element("a", customer.name, href=f"/desk/customers/{url_part(customer.id)}"),
                ),
                element("table", rows, class_="facts"),
                contacts_table(customer.contacts),
            ]
        ),
        class_="customer",
        id=f"customer-{customer.id}",
    )


def contacts_table(contacts: Iterable[Contact]) -> Markup:
    """The customer's contact persons: name, numbers, whether they may order paid work."""
    rows = join(_contact_row(contact) for contact in contacts) or element(
        "tr", element("td", "No contact persons recorded.", colspan="3")
    )
    head = element(
        "tr",
        join(element("th", h) for h in ("Contact person", "Numbers", "May order paid work")),
    )
    return element(
        "table", join([element("thead", head), element("tbody", rows)]), class_="list contacts"
    )


def _contact_row(contact: Contact) -> Markup:
    numbers = ", ".join(display_number(n) for n in contact.numbers)
    return element(
        "tr",
        join(
            [
                element("td", contact.name),
                element("td", numbers),
                element("td", "yes" if contact.may_order else "no"),
            ]
        ),
    )


ROUTES = [
    web.get("/desk/customers", lookup),
    web.get("/desk/customers/{customer_id}", customer_page),
]
