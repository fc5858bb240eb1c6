"""`ivr stack up|down|status|restart|asterisk`: the hotline's processes on this machine."""

from __future__ import annotations

import argparse
import sys

from ivr.config import Settings
from ivr.stack import asterisk, processes, redis, web
from ivr.stack.launcher import COMPONENTS, how_to_call, start_components
from ivr.stack.processes import LaunchError
from ivr.stack.setup import prepare_data


def register(subparsers: argparse._SubParsersAction) -> None:
    stack = subparsers.add_parser("stack", help="start, stop and inspect the hotline's processes")
    commands = stack.add_subparsers(dest="stack_command", required=True, metavar="ACTION")

    up = commands.add_parser("up", help="start what is not running (idempotent)")
    up.add_argument("--only", type=_components, default=COMPONENTS, help="comma-separated")
    up.set_defaults(run=run_up)

    down = commands.add_parser("down", help="stop everything the launcher started")
    down.add_argument("--only", type=_components, default=COMPONENTS, help="comma-separated")
    down.set_defaults(run=run_down)

    commands.add_parser("status", help="what runs and answers").set_defaults(run=run_status)

    setup = commands.add_parser(
        "setup", help="build prompts, publish the tables if none are, load demo customers"
    )
    setup.add_argument("--no-demo", dest="demo", action="store_false", help="no demo customers")
    setup.set_defaults(run=run_setup)

    restart = commands.add_parser("restart", help="stop and start one component")
    restart.add_argument("component", choices=COMPONENTS)
    restart.set_defaults(run=run_restart)

    cli = commands.add_parser("asterisk", help="run an Asterisk CLI command (asterisk -rx)")
    cli.add_argument("cli_command", nargs="+")
    cli.set_defaults(run=run_asterisk_cli)


def run_up(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        start_components(settings, args.only)
    except LaunchError as error:
        print(f"ivr stack up: {error}", file=sys.stderr)
        return 1
    status = run_status(args)
    if status == 0 and "worker" in args.only:
        print(how_to_call(settings))
    return status


def run_setup(args: argparse.Namespace) -> int:
    try:
        for line in prepare_data(Settings.from_env(), demo=args.demo):
            print(line)
    except LaunchError as error:
        print(f"ivr stack setup: {error}", file=sys.stderr)
        return 1
    return 0


def run_down(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    for name in reversed(args.only):
        stopped = processes.stop(settings, name, timeout=20.0)
        print(f"{name}: {'stopped' if stopped else 'was not running (not started by us)'}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    problems = {
        "redis": "" if redis.answers(settings) else f"no answer at {settings.redis_url}",
        "asterisk": asterisk.ari_problem(settings),
    }
    if not problems["asterisk"] and not asterisk.ari_get(
        settings, f"/applications/{settings.ari_app}"
    ):
        problems["worker"] = f"Stasis application {settings.ari_app} not registered"
    problems["web"] = web.problem(settings)
    healthy = True
    for name in COMPONENTS:
        pid = processes.running_pid(settings, name)
        problem = problems.get(name, "" if pid else "not running")
        healthy = healthy and not problem
        owner = f"pid {pid}" if pid else "not started by us"
        print(f"{name:9} {'ok' if not problem else 'DOWN':5} {owner:18} {problem}")
    return 0 if healthy else 1


def run_restart(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    processes.stop(settings, args.component, timeout=20.0)
    try:
        start_components(settings, (args.component,))
    except LaunchError as error:
        print(f"ivr stack restart: {error}", file=sys.stderr)
        return 1
    return 0


def run_asterisk_cli(args: argparse.Namespace) -> int:
    try:
        print(asterisk.cli(Settings.from_env(), " ".join(args.cli_command)), end="")
    except LaunchError as error:
        print(f"ivr stack asterisk: {error}", file=sys.stderr)
        return 1
    return 0


def _components(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in COMPONENTS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown component(s) {', '.join(unknown)}; known: {', '.join(COMPONENTS)}"
        )
    return tuple(name for name in COMPONENTS if name in names)
