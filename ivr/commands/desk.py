"""`ivr desk agents|login|logout`: the desk agents in the xy AG desk queue."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable

from ivr.ari import desk_queue
from ivr.ari.client import AriClient, AriError
from ivr.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    desk = subparsers.add_parser("desk", help="desk agents in the desk queue")
    commands = desk.add_subparsers(dest="desk_command", required=True, metavar="ACTION")
    commands.add_parser("agents", help="who is in the desk queue").set_defaults(
        run=_ari_command(lambda client, _: desk_queue.logged_in(client))
    )
    login = commands.add_parser("login", help="an agent's phone joins the desk queue")
    login.add_argument("endpoint", help="the agent phone's endpoint, e.g. xy-desk-2")
    login.set_defaults(run=_ari_command(desk_queue.log_in))
    logout = commands.add_parser("logout", help="an agent's phone leaves the desk queue")
    logout.add_argument("endpoint")
    logout.set_defaults(run=_ari_command(desk_queue.log_out))


def _ari_command(
    work: Callable[[AriClient, str], Awaitable[list[str]]],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        settings = Settings.from_env()

        async def members() -> list[str]:
            client = AriClient(
                settings.ari_url, settings.ari_user, settings.ari_password, settings.ari_app
            )
            try:
                return await work(client, getattr(args, "endpoint", ""))
            finally:
                await client.close()

        try:
            agents = asyncio.run(members())
        except desk_queue.UnknownAgent as error:
            print(f"ivr desk: {error}", file=sys.stderr)
            return 1
        except AriError as error:
            print(f"ivr desk: Asterisk (ARI) refused or does not answer: {error}", file=sys.stderr)
            return 2
        endpoint = getattr(args, "endpoint", None)
        if endpoint and (endpoint in agents) != (args.desk_command == "login"):
            print(f"ivr desk: {endpoint} did not {args.desk_command}", file=sys.stderr)
            return 1
        print("in the desk queue: " + (", ".join(agents) or "nobody"))
        return 0

    return run
