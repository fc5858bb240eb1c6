"""`ivr customers import|show|list|reset-pin`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from ivr.clock import clock_from_env
from ivr.commands.store_command import store_command
from ivr.config import Settings
from ivr.customers.csv_import import ImportReport, RowError, import_customers, parse_customers_csv
from ivr.customers.model import FIELDS, Customer, customer_to_dict
from ivr.customers.numbers import display_number
from ivr.routing import TablesError, load_tables
from ivr.store.customers import (
    UnknownCustomer,
    get_customer,
    list_customers,
    reset_pin,
    search_customers,
    units_used,
)

# Until the routing tables exist: the five winCall tiers.
ZONE = ZoneInfo("Europe/Zurich")


def register(subparsers: argparse._SubParsersAction) -> None:
    customers = subparsers.add_parser("customers", help="customers of the hotline")
    commands = customers.add_subparsers(dest="customers_command", required=True, metavar="COMMAND")

    load = commands.add_parser("import", help="import customers from a CSV file, all or none")
    load.add_argument("file", type=Path, help="CSV with the header row " + ",".join(FIELDS))
    load.add_argument("--update", action="store_true", help="update customers that exist already")
    load.set_defaults(run=run_import)

    show = commands.add_parser("show", help="one customer")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=store_command(show_customer))

    listing = commands.add_parser("list", help="all customers, or those matching --search")
    listing.add_argument("--search", help="part of an id or name, or a phone number")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=store_command(list_all))

    pin = commands.add_parser("reset-pin", help="give a customer a new random PIN, shown once")
    pin.add_argument("id")
    pin.set_defaults(run=store_command(reset_customer_pin))


def known_tiers(settings: Settings) -> frozenset[str]:
    """The tier ids of the installation's routing tables (raises TablesError)."""
    return frozenset(load_tables(settings.tables_dir).tiers)


def run_import(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"ivr: cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    try:
        tiers = known_tiers(Settings.from_env())
    except TablesError as error:
        print(f"ivr: the routing tables are invalid, so are the tiers: {error}", file=sys.stderr)
        return 2
    parsed = parse_customers_csv(text, tiers)
    if parsed.errors:
        _print_refusal(args.file, parsed.errors)
        return 1

    async def save(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
        report = await import_customers(
            redis,
            parsed.rows,
            pin_key=settings.pin_key,
            known_tiers=tiers,
            update_existing=args.update,
        )
        if report.errors:
            _print_refusal(args.file, report.errors)
            return 1
        print(_import_summary(args.file, report))
        return 0

    return store_command(save)(args)


async def show_customer(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    customer = await get_customer(redis, args.id)
    if customer is None:
        print(f"ivr: no customer {args.id!r}", file=sys.stderr)
        return 1
    today = clock_from_env(os.environ, ZONE)().astimezone(ZONE)
    used = await units_used(redis, customer.id, today.year, today.month)
    if args.json:
        units = {"month": f"{today:%Y-%m}", "used": used}
        print(json.dumps({**customer_to_dict(customer), "units": units}, ensure_ascii=False))
    else:
        print(_details(customer, f"{today:%Y-%m}", used))
    return 0


async def list_all(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    if args.search:
        customers = await search_customers(redis, args.search)
    else:
        customers = await list_customers(redis)
    if args.json:
        print(json.dumps([customer_to_dict(c) for c in customers], ensure_ascii=False))
    elif customers:
        print("\n".join(_line(customer) for customer in customers))
    else:
        print("no customers" + (f" matching {args.search!r}" if args.search else ""))
    return 0


async def reset_customer_pin(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    try:
        pin = await reset_pin(redis, args.id, pin_key=settings.pin_key)
    except UnknownCustomer as error:
        print(f"ivr: {error}", file=sys.stderr)
        return 1
    print(f"new PIN for {args.id}: {pin} (shown only now; the old PIN no longer works)")
    return 0


def _print_refusal(file: Path, errors: list[RowError]) -> None:
    print(f"{file}: {len(errors)} problem(s), nothing imported", file=sys.stderr)
    for error in errors:
        print(f"  {error}", file=sys.stderr)


def _import_summary(file: Path, report: ImportReport) -> str:
    lines = [f"{file}: imported {len(report.created) + len(report.updated)} customer(s)"]
    if report.created:
        lines.append(f"  created: {', '.join(report.created)}")
    if report.updated:
        lines.append(f"  updated: {', '.join(report.updated)}")
    return "\n".join(lines)


def _line(customer: Customer) -> str:
    numbers = ", ".join(display_number(n) for n in customer.numbers)
    pin = "PIN always" if customer.pin_required else ("PIN" if customer.has_pin else "no PIN")
    return (
        f"{customer.id:<24} {customer.contract.tier:<11} {customer.language}  "
        f"{customer.name:<30} {pin:<10} {numbers}"
    )


def _details(customer: Customer, month: str, used: int) -> str:
    contract = customer.contract
    if not customer.has_pin:
        pin = "not set" + (" (but required on every call!)" if customer.pin_required else "")
    else:
        pin = "set" + (", asked on every call" if customer.pin_required else "")
    valid_from = contract.valid_from.isoformat() if contract.valid_from else "always"
    valid_to = contract.valid_to.isoformat() if contract.valid_to else "open end"
    rows = [
        ("language", customer.language),
        ("numbers", ", ".join(display_number(n) for n in customer.numbers)),
        ("PIN", pin),
        ("tier", contract.tier),
        ("valid", f"{valid_from} to {valid_to}"),
        ("free units", f"{contract.free_units_per_month} per month, {used} used in {month}"),
    ]
    return "\n".join([f"{customer.id}: {customer.name}"] + [f"  {k:<11} {v}" for k, v in rows])
