"""`ivr incident declare|end|show`: the major incident (a serious problem with Winet's basic
system services) that callers hear of after the greeting while it lasts."""

from __future__ import annotations

import argparse
import json
import sys

from redis.asyncio import Redis

from ivr.commands.requests import cli_user, service_now
from ivr.commands.store_command import store_command
from ivr.config import Settings
from ivr.store import incidents
from ivr.store import requests as request_store
from ivr.store.incidents import Incident, IncidentRefused


def register(subparsers: argparse._SubParsersAction) -> None:
    incident = subparsers.add_parser("incident", help="the major incident callers are told of")
    commands = incident.add_subparsers(dest="incident_command", required=True, metavar="COMMAND")

    declare = commands.add_parser("declare", help="declare a major incident")
    declare.add_argument("--summary", required=True, help="what is wrong with which service")
    declare.add_argument("--json", action="store_true")
    declare.set_defaults(run=store_command(declare_incident))

    end = commands.add_parser("end", help="end the major incident: callers no longer hear it")
    end.add_argument("--json", action="store_true")
    end.set_defaults(run=store_command(end_incident))

    show = commands.add_parser("show", help="the major incident and its requests")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=store_command(show_incident))


async def declare_incident(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    now = await service_now(redis, settings)
    try:
        incident = await incidents.declare(redis, args.summary, by=cli_user(), now=now)
    except IncidentRefused as error:
        print(f"ivr: {error}", file=sys.stderr)
        return 1
    _print(incident, [], args.json, f"major incident #{incident.id} declared")
    return 0


async def end_incident(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    now = await service_now(redis, settings)
    try:
        incident = await incidents.end(redis, by=cli_user(), now=now)
    except IncidentRefused as error:
        print(f"ivr: {error}", file=sys.stderr)
        return 1
    _print(incident, [], args.json, f"major incident #{incident.id} ended")
    return 0


async def show_incident(redis: Redis, settings: Settings, args: argparse.Namespace) -> int:
    incident = await incidents.active(redis)
    if incident is None:
        print(json.dumps(None) if args.json else "no major incident")
        return 0
    attached = [
        request.id
        for request in await request_store.active_requests(redis)
        if request.incident == incident.id
    ]
    _print(incident, attached, args.json, f"major incident #{incident.id} is going on")
    return 0


def _print(incident: Incident, attached: list[int], as_json: bool, headline: str) -> None:
    if as_json:
        print(json.dumps({**incident.to_json(), "requests": attached}, ensure_ascii=False))
        return
    print(headline)
    print(f"summary: {incident.summary}")
    print(f"declared: {incident.declared_at.isoformat()} by {incident.declared_by}")
    if incident.ended_at:
        print(f"ended: {incident.ended_at.isoformat()} by {incident.ended_by}")
    if attached:
        print("active requests attached: " + ", ".join(f"#{n}" for n in attached))
