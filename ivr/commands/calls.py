"""`ivr calls list` and `ivr calls show`: call records for people (or `--json` for tools)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from ivr.calls.summary import SUMMARY_ORDER
from ivr.clock import parse_instant
from ivr.commands.store_command import store_command
from ivr.config import Settings
from ivr.customers.numbers import display_number
from ivr.store.calls import CallRecord, get_call, list_calls

ZONE = ZoneInfo("Europe/Zurich")


def register(subparsers: argparse._SubParsersAction) -> None:
    calls = subparsers.add_parser("calls", help="records of the calls")
    commands = calls.add_subparsers(dest="calls_command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="the latest calls, newest first")
    listing.add_argument(
        "--since",
        type=_instant,
        help="ISO 8601 instant; without an offset, local time in Europe/Zurich",
    )
    listing.add_argument("--limit", type=int, default=100, help="at most this many (100)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=store_command(list_records))

    show = commands.add_parser("show", help="one call: its summary and timeline")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=store_command(show_record))


async def list_records(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    summaries = await list_calls(redis, since=args.since, limit=args.limit)
    if args.json:
        print(json.dumps(summaries, ensure_ascii=False))
    elif summaries:
        print("\n".join(_list_line(summary) for summary in summaries))
    else:
        print("no calls")
    return 0


async def show_record(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    record = await get_call(redis, args.id)
    if record is None:
        print(f"ivr: no record of call {args.id!r}", file=sys.stderr)
        return 1
    if args.json:
        data = {"call_id": record.call_id, "summary": record.summary, "events": record.events}
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(_details(record))
    return 0


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text, ZONE)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _list_line(summary: dict[str, Any]) -> str:
    covered = {True: "covered", False: "not covered"}.get(summary.get("covered"), "")
    duration = summary.get("duration_seconds")
    return "  ".join(
        [
            _local(summary["started_at"]),
            f"{summary['call_id']:<24}",
            f"{_caller(summary.get('caller_number')):<18}",
            f"{summary.get('customer_id') or '-':<20}",
            f"{summary.get('tier') or '-':<11}",
            f"{covered:<11}",
            f"{summary.get('outcome') or 'in progress':<12}",
            f"{duration:.0f} s" if duration is not None else "",
        ]
    ).rstrip()


def _details(record: CallRecord) -> str:
    summary = record.summary
    names = [n for n in SUMMARY_ORDER if n in summary]
    names += sorted(set(summary) - set(SUMMARY_ORDER))
    lines = [f"call {record.call_id}"]
    lines += [f"  {name:<17} {_summary_value(name, summary[name])}" for name in names]
    lines.append("timeline:")
    started = datetime.fromisoformat(summary["started_at"])
    for event in record.events:
        at = datetime.fromisoformat(event["at"])
        data = " ".join(f"{k}={_quoted(v)}" for k, v in event.items() if k not in ("kind", "at"))
        offset = (at - started).total_seconds()
        lines.append(f"  {_local(event['at'])}  {offset:+8.1f} s  {event['kind']:<11} {data}")
    return "\n".join(line.rstrip() for line in lines)


def _summary_value(name: str, value: Any) -> str:
    if name == "caller_number":
        return _caller(value)
    if name.endswith("_at") and isinstance(value, str):
        return _local(value)
    return _text(value)


def _caller(number: str | None) -> str:
    return display_number(number) if number else "withheld"


def _local(iso: str) -> str:
    return f"{datetime.fromisoformat(iso).astimezone(ZONE):%Y-%m-%d %H:%M:%S}"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _quoted(value: Any) -> str:
    """Event data as key=value: text with spaces in quotes, so the pairs stay apart; lists
    and objects as compact JSON, which delimits itself."""
    if not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False) if " " in value else value
