"""`ivr requests list|show|create|ack|contact|resolve|cancel|attach`: requests to the 2nd level,
for people (or `--json` for tools)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from ivr.clock import clock_from_env
from ivr.commands.store_command import store_command
from ivr.config import Settings
from ivr.requests.create import RequestRefused, open_request
from ivr.requests.model import INTERVENTIONS, Request, TransitionRefused
from ivr.requests.units import act_on_request
from ivr.routing import Tables, TablesError, load_tables, parse_tables
from ivr.store import incidents
from ivr.store import requests as request_store
from ivr.store.tables import active_tables


def register(subparsers: argparse._SubParsersAction) -> None:
    requests = subparsers.add_parser("requests", help="requests to the standby technician")
    commands = requests.add_subparsers(dest="requests_command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="the active requests, the earliest due first")
    listing.add_argument("--closed", action="store_true", help="the latest closed ones instead")
    listing.add_argument("--holder", help="only those held by this technician id")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=store_command(list_requests))

    show = commands.add_parser("show", help="one request with its history")
    show.add_argument("number", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=store_command(show_request))

    create = commands.add_parser("create", help="open a request; prints its number")
    create.add_argument("--customer", required=True, help="customer id")
    create.add_argument("--summary", required=True, help="what the customer needs")
    create.add_argument("--call", help="the call it came from (its id)")
    create.add_argument("--number", help="call the customer back on this number (E.164)")
    create.add_argument("--json", action="store_true")
    create.set_defaults(run=store_command(create_request))

    for action, text in (
        ("ack", "a technician takes the request"),
        ("contact", "the customer was contacted (the first reaction)"),
        ("resolve", "the problem is solved"),
        ("cancel", "the request is not needed any more"),
    ):
        command = commands.add_parser(action, help=text)
        command.add_argument("number", type=int)
        if action in ("ack", "contact"):
            command.add_argument("--technician", help="technician id (default: the holder)")
        if action == "resolve":
            command.add_argument("--intervention", choices=INTERVENTIONS)
            command.add_argument("--minutes", type=int, help="how long the intervention took")
        if action in ("resolve", "cancel"):
            command.add_argument("--note", help="resolution note")
        command.add_argument("--json", action="store_true")
        command.set_defaults(run=store_command(change_request), action=action)

    attach = commands.add_parser("attach", help="attach a request to the major incident")
    attach.add_argument("number", type=int)
    attach.add_argument(
        "--incident", action="store_true", required=True, help="the active major incident"
    )
    attach.add_argument("--json", action="store_true")
    attach.set_defaults(run=store_command(attach_request))


async def list_requests(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    found = await (
        request_store.closed_requests(redis)
        if args.closed
        else request_store.active_requests(redis)
    )
    if args.holder:
        found = [request for request in found if request.holder == args.holder]
    now = await service_now(redis, settings)
    if args.json:
        print(json.dumps([request.to_json(now) for request in found], ensure_ascii=False))
    elif found:
        print("\n".join(_line(request, now) for request in found))
    else:
        print("no requests")
    return 0


async def show_request(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    request = await request_store.get_request(redis, args.number)
    if request is None:
        print(f"ivr: there is no request #{args.number}", file=sys.stderr)
        return 1
    data = request.to_json(await service_now(redis, settings))
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(_details(data))
    return 0


async def create_request(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    tables = await tables_in_use(redis, settings)
    try:
        request = await open_request(
            redis,
            tables,
            summary=args.summary,
            source="cli",
            created_by=cli_user(),
            now=clock_from_env(os.environ, tables.zone)().astimezone(tables.zone),
            customer_id=args.customer,
            call_id=args.call,
            callback_number=args.number,
        )
    except (RequestRefused, request_store.RequestAlreadyOpen) as error:
        print(f"ivr: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"id": request.id}) if args.json else request.id)
    return 0


async def change_request(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    details: dict[str, Any] = {}
    for name in ("technician", "intervention", "minutes", "note"):
        if getattr(args, name, None) is not None:
            details[name] = getattr(args, name)
    now = await service_now(redis, settings)
    try:
        zone = (await tables_in_use(redis, settings)).zone
        request = await act_on_request(
            redis, args.number, args.action, by=cli_user(), now=now, zone=zone, **details
        )
    except (request_store.UnknownRequest, TransitionRefused) as error:
        print(f"ivr: {error}", file=sys.stderr)
        return 1
    return _changed(request, now, args.json, f"request #{request.id} is {request.state}")


async def attach_request(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    incident = await incidents.active(redis)
    if incident is None:
        print("ivr: there is no major incident to attach the request to", file=sys.stderr)
        return 1
    now = await service_now(redis, settings)
    try:
        request = await request_store.attach_incident(
            redis, args.number, incident.id, by=cli_user(), now=now
        )
    except request_store.UnknownRequest as error:
        print(f"ivr: {error}", file=sys.stderr)
        return 1
    attached = f"request #{request.id} is attached to major incident #{incident.id}"
    return _changed(request, now, args.json, attached)


def _changed(request: Request, now: datetime, as_json: bool, sentence: str) -> int:
    """Print what a command made of the request: all of it as JSON, or one sentence."""
    print(json.dumps(request.to_json(now), ensure_ascii=False) if as_json else sentence)
    return 0


async def tables_in_use(redis: Redis, settings: Settings) -> Tables:
    """The routing tables the workers use: the active published version, else the folder's."""
    active = await active_tables(redis)
    try:
        return parse_tables(active[1]) if active else load_tables(settings.tables_dir)
    except TablesError as error:
        raise SystemExit(f"ivr: the active routing tables are invalid:\n{error}") from None


async def service_now(redis: Redis, settings: Settings) -> datetime:
    """The service clock (`IVR_NOW` where allowed), as the workers see it."""
    zone = (await tables_in_use(redis, settings)).zone
    return clock_from_env(os.environ, zone)().astimezone(zone)


def cli_user() -> str:
    return f"cli:{getpass.getuser()}"


def _line(request: Request, now: datetime) -> str:
    due = request.first_reaction_due
    due_text = due.isoformat(timespec="minutes") if due else "-"
    late = " BREACHED" if request.breached(now) else ""
    late += f" incident #{request.incident}" if request.incident else ""
    who = request.customer_name or request.customer_id or "unknown customer"
    holder = request.holder or "-"
    return f"#{request.id}  {request.state:<12} due {due_text}{late}  {who}  {holder}"


def _details(data: dict[str, Any]) -> str:
    lines = [
        f"{name}: {value}"
        for name, value in data.items()
        if name not in ("history", "notifications", "escalations") and value is not None
    ]
    lines.append("history:")
    for event in data["history"]:
        rest = ", ".join(f"{k}={v}" for k, v in event.items() if k not in ("at", "kind"))
        lines.append(f"  {event['at']}  {event['kind']}  {rest}")
    return "\n".join(lines)
