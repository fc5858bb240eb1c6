"""`ivr route explain` and `ivr tables check`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from redis.exceptions import RedisError

from ivr import store
from ivr.clock import clock_from_env, parse_instant
from ivr.config import Settings
from ivr.customers.model import Customer
from ivr.routing.decide import Contract, decide
from ivr.routing.explain import explain
from ivr.routing.model import Tables
from ivr.routing.tables import TablesError, load_tables
from ivr.store import customers


def register(subparsers: argparse._SubParsersAction) -> None:
    route = subparsers.add_parser("route", help="routing decisions")
    route_commands = route.add_subparsers(dest="route_command", required=True, metavar="COMMAND")
    explain_parser = route_commands.add_parser(
        "explain", help="where a call of a tier or customer at an instant goes, and why"
    )
    caller = explain_parser.add_mutually_exclusive_group(required=True)
    caller.add_argument("--tier", help="a tier id, e.g. pro")
    caller.add_argument("--customer", help="a customer id (looked up in the customer store)")
    explain_parser.add_argument(
        "--at",
        help="ISO 8601 instant; without an offset, local time in the tables' zone "
        "(default: now, or IVR_NOW where IVR_ALLOW_FAKE_CLOCK=1)",
    )
    explain_parser.add_argument(
        "--tables", type=Path, help="routing tables directory (default: the installation's)"
    )
    explain_parser.add_argument("--json", action="store_true", help="print the decision as JSON")
    explain_parser.set_defaults(run=run_explain)

    tables = subparsers.add_parser("tables", help="routing tables")
    tables_commands = tables.add_subparsers(dest="tables_command", required=True, metavar="COMMAND")
    check = tables_commands.add_parser("check", help="validate a routing tables directory")
    check.add_argument("directory", type=Path)
    check.set_defaults(run=run_check)


def run_explain(args: argparse.Namespace) -> int:
    tables = _load_or_report(args.tables or Settings.from_env().tables_dir, sys.stderr)
    if tables is None:
        return 1
    if args.customer is not None:
        try:
            contract = customer_contract(args.customer)
        except LookupError as error:
            print(f"ivr: {error}", file=sys.stderr)
            return 2
    elif args.tier in tables.tiers:
        contract = Contract(args.tier)
    else:
        known = ", ".join(tables.tiers)
        print(f"ivr: unknown tier {args.tier!r}; known tiers: {known}", file=sys.stderr)
        return 2
    try:
        if args.at is None:
            instant = clock_from_env(os.environ, tables.zone)()
        else:
            instant = parse_instant(args.at, tables.zone)
    except ValueError as error:
        print(f"ivr: --at: {error}", file=sys.stderr)
        return 2
    decision = decide(tables, contract, instant)
    if args.json:
        print(json.dumps(decision.to_json(), ensure_ascii=False, indent=2))
    else:
        print(explain(decision))
    return 0


def customer_contract(customer_id: str) -> Contract:
    """The contract of a customer in the store; LookupError naming what is missing."""
    settings = Settings.from_env()

    async def lookup() -> Customer | None:
        redis = store.connect(settings)
        try:
            return await customers.get_customer(redis, customer_id)
        finally:
            await redis.aclose()

    try:
        customer = asyncio.run(lookup())
    except (RedisError, OSError) as error:
        raise LookupError(f"Redis at {settings.redis_url} does not answer: {error}") from None
    if customer is None:
        raise LookupError(f"no customer {customer_id!r} (ivr customers list)")
    return customer.contract


def run_check(args: argparse.Namespace) -> int:
    """The problems are this command's output, so they go to stdout."""
    tables = _load_or_report(args.directory, sys.stdout)
    if tables is None:
        return 1
    print(f"{args.directory}: valid, {len(tables.tiers)} tiers, version {tables.version}")
    return 0


def _load_or_report(directory: Path, report: TextIO) -> Tables | None:
    try:
        return load_tables(directory)
    except TablesError as error:
        for problem in error.problems:
            print(problem, file=report)
        return None
