"""Customers in the admin console: search, create, edit, reset a PIN, import a CSV file.

Forms are read with the same parser as the CSV import (`customer_from_fields`), so a form and
a CSV row accept and refuse the same values; the store refuses a save as a whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime

from aiohttp import web

from ivr.customers.csv_import import ImportReport, RowError, import_customers, parse_customers_csv
from ivr.customers.model import (
    CONTACT_SEPARATOR,
    FIELDS,
    LANGUAGES,
    Customer,
    InvalidCustomer,
    customer_from_fields,
)
from ivr.customers.numbers import display_number
from ivr.store.customers import (
    CustomerConflict,
    UnknownCustomer,
    get_customer,
    list_customers,
    reset_pin,
    save_customers,
    search_customers,
    units_used,
)
from ivr.web.active_tables import tables_for
from ivr.web.console import console_of
from ivr.web.html import Markup, element, join, options, render, url_part
from ivr.web.pages import csrf_input, page, redirect
from ivr.web.security import allow, session_of

Problems = dict[str, list[str]]  # form field -> reasons


@allow("admin")
async def customer_list(request: web.Request) -> web.StreamResponse:
    redis = console_of(request).redis
    query = request.query.get("q", "").strip()
    customers = await search_customers(redis, query) if query else await list_customers(redis)
    count = f"{len(customers)} customer{'s' if len(customers) != 1 else ''}"
    body = render(
        "customers",
        query=query,
        count=count + (f" matching “{query}”" if query else ""),
        rows=join(_customer_row(customer) for customer in customers),
    )
    return page(request, "Customers", body)


@allow("admin")
async def new_customer_form(request: web.Request) -> web.StreamResponse:
    return await _form_page(request, None, {"language": "de"}, {})


@allow("admin")
async def create_customer(request: web.Request) -> web.StreamResponse:
    fields = await _posted_fields(request)
    problems = await _save(request, fields, pin=fields.get("pin", ""), creating=True)
    if problems:
        return await _form_page(request, None, fields, problems, status=422)
    return redirect(f"/admin/customers/{url_part(fields['id'])}?msg=created")


@allow("admin")
async def edit_customer_form(request: web.Request) -> web.StreamResponse:
    customer = await _existing(request)
    return await _form_page(request, customer, _fields_of(customer), {})


@allow("admin")
async def update_customer(request: web.Request) -> web.StreamResponse:
    customer = await _existing(request)
    fields = {**await _posted_fields(request), "id": customer.id}
    problems = await _save(request, fields, pin="", creating=False)
    if problems:
        return await _form_page(request, customer, fields, problems, status=422)
    return redirect(f"/admin/customers/{url_part(customer.id)}?msg=saved")


@allow("admin")
async def reset_customer_pin(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    customer_id = request.match_info["customer_id"]
    try:
        pin = await reset_pin(console.redis, customer_id, pin_key=console.settings.pin_key)
    except UnknownCustomer as error:
        raise web.HTTPNotFound(text=str(error)) from None
    body = render("pin", customer=customer_id, customer_url=url_part(customer_id), pin=pin)
    return page(request, "New PIN", body)


@allow("admin")
async def import_form(request: web.Request) -> web.StreamResponse:
    return _import_page(request, Markup(""))


@allow("admin")
async def import_csv(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return _import_page(request, _refusal([RowError(0, None, "choose a CSV file")]), 422)
    data = await asyncio.to_thread(upload.file.read)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"the file is not UTF-8 text (byte {error.start})"
        return _import_page(request, _refusal([RowError(0, None, reason)]), 422)
    _, tables = await tables_for(request)
    known_tiers = set(tables.tiers)
    parsed = parse_customers_csv(text, known_tiers)
    if parsed.errors:
        return _import_page(request, _refusal(parsed.errors), 422)
    report = await import_customers(
        console.redis,
        parsed.rows,
        pin_key=console.settings.pin_key,
        known_tiers=known_tiers,
        update_existing=form.get("update") == "yes",
    )
    if report.errors:
        return _import_page(request, _refusal(report.errors), 422)
    return _import_page(request, _imported(report))


async def _existing(request: web.Request) -> Customer:
    customer_id = request.match_info["customer_id"]
    customer = await get_customer(console_of(request).redis, customer_id)
    if customer is None:
        raise web.HTTPNotFound(text=f"no customer {customer_id!r}")
    return customer


async def _posted_fields(request: web.Request) -> dict[str, str]:
    form = await request.post()
    fields = {name: str(form.get(name, "")).strip() for name in FIELDS}
    # the form takes one number per line; the parser takes them separated by ";"
    fields["numbers"] = ";".join(line.strip() for line in fields["numbers"].splitlines())
    # one contact per line; the parser takes them separated by "|"
    fields["contacts"] = CONTACT_SEPARATOR.join(fields["contacts"].splitlines())
    fields["pin_required"] = "yes" if form.get("pin_required") == "yes" else "no"
    return fields


async def _save(
    request: web.Request, fields: dict[str, str], *, pin: str, creating: bool
) -> Problems:
    console = console_of(request)
    _, tables = await tables_for(request)
    known_tiers = set(tables.tiers)
    try:
        customer, parsed_pin = customer_from_fields({**fields, "pin": pin}, known_tiers)
    except InvalidCustomer as error:
        return _by_field(error.problems)
    try:
        await save_customers(
            console.redis,
            [(customer, parsed_pin)],
            pin_key=console.settings.pin_key,
            known_tiers=known_tiers,
            allow_update=not creating,
        )
    except CustomerConflict as conflict:
        return _by_field([(c.field, c.reason) for c in conflict.conflicts])
    return {}


def _by_field(problems: list[tuple[str, str]]) -> Problems:
    grouped: Problems = {}
    for field, reason in problems:
        grouped.setdefault(field, []).append(reason)
    return grouped


async def _form_page(
    request: web.Request,
    customer: Customer | None,
    fields: Mapping[str, str],
    problems: Problems,
    *,
    status: int = 200,
) -> web.Response:
    console = console_of(request)
    session = session_of(request)
    _, tables = await tables_for(request)
    tiers = [(tier.id, f"{tier.name} ({tier.id})") for tier in tables.tiers.values()]
    controls = [
        ("id", "Id", _input("id", fields, readonly=customer is not None, required=True)),
        ("name", "Name", _input("name", fields, required=True)),
        ("language", "Language", _select("language", [(x, x) for x in LANGUAGES], fields)),
        ("numbers", "Phone numbers (one per line)", _numbers(fields)),
        ("tier", "Contract tier", _select("tier", tiers, fields)),
        ("valid_from", "Valid from", _input("valid_from", fields, type="date")),
        ("valid_to", "Valid to", _input("valid_to", fields, type="date")),
        (
            "free_units_per_month",
            "Free service units per month (empty: the tier's count; 0: none)",
            _input("free_units_per_month", fields, type="number", min="0"),
        ),
        ("pin_required", "PIN", _pin_required(fields)),
        (
            "contacts",
            "Contact persons, one per line: name: numbers (comma-separated): may order paid "
            "interventions (yes/no)",
            _contacts(fields),
        ),
    ]
    if customer is None:
        pin = _input("pin", fields, inputmode="numeric", pattern="[0-9]{6}", autocomplete="off")
        controls.append(("pin", "PIN (six digits, optional)", pin))
    extra = Markup("")
    if customer is not None:
        now = console.now()
        used = await units_used(console.redis, customer.id, now.year, now.month)
        pin_state = "A PIN is set." if customer.has_pin else "No PIN is set."
        extra = render(
            "customer_extra",
            customer_id=customer.id,
            customer_url=url_part(customer.id),
            csrf=csrf_input(session.csrf_token),
            pin_state=pin_state,
            units=_units_text(customer.contract.free_units_per_month, used, now),
        )
    known = {name for name, _, _ in controls}
    body = render(
        "customer_form",
        problems=_other_problems(problems, known),
        action="/admin/customers/new"
        if customer is None
        else f"/admin/customers/{url_part(customer.id)}",
        csrf=csrf_input(session.csrf_token),
        fields=join(
            _row(label, control, problems.get(name, [])) for name, label, control in controls
        ),
        submit="Create" if customer is None else "Save",
        extra=extra,
    )
    title = "New customer" if customer is None else f"Customer {customer.id}"
    return page(request, title, body, status=status)


def _row(label: str, control: Markup, problems: list[str]) -> Markup:
    errors = join(element("span", problem, class_="field-error") for problem in problems)
    return element(
        "div",
        join([element("label", join([label, control])), errors]),
        class_="field invalid" if problems else "field",
    )


def _other_problems(problems: Problems, known: set[str]) -> Markup:
    other = [
        f"{field}: {reason}"
        for field, reasons in problems.items()
        if field not in known
        for reason in reasons
    ]
    if not other:
        return Markup("")
    return element("ul", join(element("li", text) for text in other), class_="error")


def _input(name: str, fields: Mapping[str, str], **attributes: object) -> Markup:
    return element("input", name=name, value=fields.get(name, ""), **attributes)


def _select(name: str, choices: list[tuple[str, str]], fields: Mapping[str, str]) -> Markup:
    return element("select", options(choices, fields.get(name)), name=name)


def _numbers(fields: Mapping[str, str]) -> Markup:
    lines = "\n".join(n for n in fields.get("numbers", "").replace("|", ";").split(";") if n)
    return element("textarea", lines, name="numbers", rows="3", required=True)


def _contacts(fields: Mapping[str, str]) -> Markup:
    lines = "\n".join(c.strip() for c in fields.get("contacts", "").split(CONTACT_SEPARATOR) if c)
    placeholder = "Anna Muster: +41 44 123 45 67, +41 79 123 45 67: yes"
    return element("textarea", lines, name="contacts", rows="3", placeholder=placeholder)


def _pin_required(fields: Mapping[str, str]) -> Markup:
    checked = fields.get("pin_required") == "yes"
    box = element("input", type="checkbox", name="pin_required", value="yes", checked=checked)
    return element("span", join([box, "the caller must always give the PIN"]), class_="check")


def _fields_of(customer: Customer) -> dict[str, str]:
    contract = customer.contract
    return {
        "id": customer.id,
        "name": customer.name,
        "language": customer.language,
        "numbers": ";".join(customer.numbers),
        "tier": contract.tier,
        "valid_from": contract.valid_from.isoformat() if contract.valid_from else "",
        "valid_to": contract.valid_to.isoformat() if contract.valid_to else "",
        "free_units_per_month": ""
        if contract.free_units_per_month is None
        else str(contract.free_units_per_month),
        "pin_required": "yes" if customer.pin_required else "no",
        "contacts": CONTACT_SEPARATOR.join(c.to_text() for c in customer.contacts),
    }


def _customer_row(customer: Customer) -> Markup:
    pin = "always" if customer.pin_required else ("set" if customer.has_pin else "none")
    link = element("a", customer.id, href=f"/admin/customers/{url_part(customer.id)}")
    return element(
        "tr",
        join(
            [
                element("td", link),
                element("td", customer.name),
                element("td", customer.contract.tier),
                element("td", customer.language),
                element("td", ", ".join(display_number(n) for n in customer.numbers)),
                element("td", pin),
            ]
        ),
    )


def _import_page(request: web.Request, report: Markup, status: int = 200) -> web.Response:
    body = render(
        "import",
        columns=", ".join(FIELDS),
        csrf=csrf_input(session_of(request).csrf_token),
        report=report,
    )
    return page(request, "Import customers", body, status=status)


def _refusal(errors: list[RowError]) -> Markup:
    rows = join(
        element(
            "tr",
            join(
                [
                    element("td", error.line or ""),
                    element("td", error.column or ""),
                    element("td", error.reason),
                ]
            ),
        )
        for error in errors
    )
    table = element(
        "table",
        join(
            [Markup("<thead><tr><th>Line</th><th>Column</th><th>Problem</th></tr></thead>"), rows]
        ),
        class_="list problems",
    )
    title = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}: nothing was imported"
    return render("import_report", outcome="refused", title=title, details=table)


def _imported(report: ImportReport) -> Markup:
    count = len(report.created) + len(report.updated)
    details = []
    if report.created:
        details.append(element("p", "Created: " + ", ".join(report.created)))
    if report.updated:
        details.append(element("p", "Updated: " + ", ".join(report.updated)))
    title = f"Imported {count} customer{'s' if count != 1 else ''}"
    return render("import_report", outcome="imported", title=title, details=join(details))


ROUTES = [
    web.get("/admin/customers", customer_list),
    web.get("/admin/customers/new", new_customer_form),
    web.post("/admin/customers/new", create_customer),
    web.get("/admin/customers/import", import_form),
    web.post("/admin/customers/import", import_csv),
    web.get("/admin/customers/{customer_id}", edit_customer_form),
    web.post("/admin/customers/{customer_id}", update_customer),
    web.post("/admin/customers/{customer_id}/reset-pin", reset_customer_pin),
]


def _units_text(per_month: int | None, used: int, now: datetime) -> str:
    of = "the tier's count" if per_month is None else str(per_month)
    return f"{used} of {of} used in {now:%B %Y}."
