"""`ivr desk agents|login|logout`: the desk agents in the xy AG desk queue (`ivr.desk_agents`,
the same functions as the console's buttons and, through the dialplan, the phones' feature
codes *451 / *452)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable

from ivr import desk_agents
from ivr.ari.client import AriError
from ivr.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    desk = subparsers.add_parser("desk", help="desk agents in the desk queue")
    commands = desk.add_subparsers(dest="desk_command", required=True, metavar="ACTION")
    commands.add_parser("agents", help="who is in the desk queue").set_defaults(
        run=_queue_command(_members)
    )
    login = commands.add_parser("login", help="an agent's phone joins the desk queue")
    login.add_argument("endpoint", help="the agent phone's endpoint, e.g. xy-desk-2")
    login.set_defaults(run=_queue_command(desk_agents.log_in))
    logout = commands.add_parser("logout", help="an agent's phone leaves the desk queue")
    logout.add_argument("endpoint")
    logout.set_defaults(run=_queue_command(desk_agents.log_out))


async def _members(settings: Settings, _: str) -> list[str]:
    return [agent.endpoint for agent in await desk_agents.agents(settings) if agent.logged_in]


def _queue_command(
    work: Callable[[Settings, str], Awaitable[list[str]]],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        settings = Settings.from_env()
        endpoint = getattr(args, "endpoint", "")
        try:
            agents = asyncio.run(work(settings, endpoint))
        except desk_agents.NotADeskAgent as error:
            print(f"ivr desk: {error}", file=sys.stderr)
            return 1
        except AriError as error:
            print(f"ivr desk: Asterisk (ARI) refused or does not answer: {error}", file=sys.stderr)
            return 2
        if endpoint and (endpoint in agents) != (args.desk_command == "login"):
            print(f"ivr desk: {endpoint} did not {args.desk_command}", file=sys.stderr)
            return 1
        print("in the desk queue: " + (", ".join(agents) or "nobody"))
        return 0

    return run
