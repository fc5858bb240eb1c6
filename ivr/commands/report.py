"""`ivr report sla --month YYYY-MM`: the first-reaction report of a month (`ivr.requests.sla`),
for people (or `--json` for tools)."""

from __future__ import annotations

import argparse
import json
import sys

from redis.asyncio import Redis

from ivr.commands.requests import service_now, tables_in_use
from ivr.commands.store_command import store_command
from ivr.config import Settings
from ivr.requests.sla import SlaReport, parse_month, sla_report
from ivr.store import requests as request_store


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser("report", help="reports on the hotline's service")
    commands = report.add_subparsers(dest="report_command", required=True, metavar="COMMAND")
    sla = commands.add_parser("sla", help="first reactions met or missed in a month")
    sla.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-11")
    sla.add_argument("--json", action="store_true")
    sla.set_defaults(run=store_command(show_sla))


async def show_sla(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    try:
        year, month = parse_month(args.month)
    except ValueError as error:
        print(f"ivr: --month: {error}", file=sys.stderr)
        return 1
    zone = (await tables_in_use(redis, settings)).zone
    now = await service_now(redis, settings)
    report = sla_report(await request_store.all_requests(redis), year, month, zone, now)
    print(json.dumps(report.to_json(), ensure_ascii=False) if args.json else sla_text(report))
    return 0


def sla_text(report: SlaReport) -> str:
    met = "-" if report.met_percent is None else f"{report.met_percent:g} %"
    lines = [
        f"First reactions in {report.month}: {report.requests} requests, "
        f"{report.met} met, {report.missed} missed, {report.pending} pending; met {met}",
        "Median minutes to the first contact:",
        *(f"  {tier}: {minutes:g}" for tier, minutes in report.median_minutes_to_contact.items()),
        "Breaches:",
        *(f"  #{b.request_id} {b.customer} ({b.tier}): {b.reason}" for b in report.breaches),
        "Interventions per customer:",
        *(
            f"  {customer}: {done.count} ({done.minutes} min)"
            for customer, done in report.interventions.items()
        ),
    ]
    return "\n".join(lines)
