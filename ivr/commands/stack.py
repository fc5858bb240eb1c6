"""`ivr stack up|down|status|restart|supervise|asterisk`: the hotline's processes here."""

from __future__ import annotations

import argparse
import logging
import pwd
import signal
import sys
import threading

from ivr.config import Settings, nodes_of
from ivr.stack import asterisk, kamailio, processes, redis, web, worker
from ivr.stack.launcher import (
    COMPONENTS,
    SUPERVISOR,
    how_to_call,
    keep_nodes,
    process_names,
    start_components,
    start_supervisor,
)
from ivr.stack.processes import LaunchError
from ivr.stack.setup import prepare_data
from ivr.stack.supervisor import supervise


def register(subparsers: argparse._SubParsersAction) -> None:
    stack = subparsers.add_parser("stack", help="start, stop and inspect the hotline's processes")
    commands = stack.add_subparsers(dest="stack_command", required=True, metavar="ACTION")

    up = commands.add_parser("up", help="start what is not running (idempotent)")
    up.add_argument("--only", type=_components, default=COMPONENTS, help="comma-separated")
    up.add_argument(
        "--nodes",
        type=_node_count,
        help="Asterisk nodes behind Kamailio (default: as last started; 1 on a fresh "
        "installation: one Asterisk, no Kamailio)",
    )
    _add_demo_options(up)
    up.add_argument(
        "--no-supervisor",
        dest="supervised",
        action="store_false",
        help="do not start the supervisor that restarts whatever dies",
    )
    up.set_defaults(run=run_up)

    down = commands.add_parser("down", help="stop everything the launcher started")
    down.add_argument("--only", type=_components, default=COMPONENTS, help="comma-separated")
    down.set_defaults(run=run_down)

    commands.add_parser("status", help="what runs and answers").set_defaults(run=run_status)

    setup = commands.add_parser(
        "setup", help="build prompts, publish the tables if none are, load demo customers"
    )
    _add_demo_options(setup)
    setup.set_defaults(run=run_setup)

    commands.add_parser(
        "download",
        help="build the Asterisk root filesystem when missing: the one step that needs the network",
    ).set_defaults(run=run_download)

    restart = commands.add_parser("restart", help="stop and start one component")
    restart.add_argument("component", choices=COMPONENTS)
    restart.set_defaults(run=run_restart)

    commands.add_parser(
        "supervise", help="restart every process of the stack that dies (run by `up`)"
    ).set_defaults(run=run_supervise)

    cli = commands.add_parser("asterisk", help="run an Asterisk CLI command (asterisk -rx)")
    cli.add_argument("cli_command", nargs="+")
    cli.set_defaults(run=run_asterisk_cli)


def _add_demo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-demo",
        dest="demo",
        action="store_false",
        help="a fresh installation without the demo customers (later runs never load them)",
    )
    parser.add_argument(
        "--demo-closures",
        action="store_true",
        help="publish the first tables with the demo closure dates (routing/demo/closures.toml)",
    )


def run_up(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        if args.nodes is not None:
            settings = keep_nodes(settings, args.nodes)
        start_components(settings, args.only, demo=args.demo, demo_closures=args.demo_closures)
    except LaunchError as error:
        print(f"ivr stack up: {error}", file=sys.stderr)
        return 1
    if args.supervised and args.only == COMPONENTS:
        start_supervisor(settings)
    status = run_status(args)
    if status == 0 and "worker" in args.only:
        print(how_to_call(settings))
    return status


def run_setup(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        for line in prepare_data(settings, demo=args.demo, demo_closures=args.demo_closures):
            print(line)
    except LaunchError as error:
        print(f"ivr stack setup: {error}", file=sys.stderr)
        return 1
    return 0


def run_down(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.only == COMPONENTS:
        _stop(settings, SUPERVISOR)  # first, or it would start again what we stop
    for name in reversed(process_names(settings, args.only)):
        _stop(settings, name)
    return 0


def run_status(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    problems = {"redis": redis.problem(settings), "web": web.problem(settings)}
    if settings.nodes > 1:
        problems[kamailio.NAME] = kamailio.problem(settings)
    for node in nodes_of(settings):
        problems[asterisk.name(node)] = asterisk.ari_problem(node)
        if not problems[asterisk.name(node)]:
            for app in worker.unregistered(node):
                name = worker.name(node, int(app.rsplit("-", 1)[1]))
                problems[name] = f"Stasis application {app} not registered"
    healthy = True
    for name in [SUPERVISOR, *process_names(settings)]:
        pid = processes.running_pid(settings, name)
        problem = problems.get(name, "" if pid else "not running")
        healthy = healthy and (not problem or name == SUPERVISOR)
        owner = f"pid {pid} as {_user_of(pid)}" if pid else "not started by us"
        print(f"{name:12} {'ok' if not problem else 'DOWN':5} {owner:34} {problem}")
    return 0 if healthy else 1


def _user_of(pid: int) -> str:
    """The name of the user process `pid` runs as (its uid when the machine has no name)."""
    uid = processes.process_uid(pid)
    try:
        return pwd.getpwuid(uid).pw_name if uid is not None else "(gone)"
    except KeyError:
        return f"uid {uid}"


def run_restart(args: argparse.Namespace) -> int:
    """Stop a component and start it again (the supervisor, if it runs, may be first)."""
    settings = Settings.from_env()
    for name in process_names(settings, (args.component,)):
        processes.stop(settings, name, timeout=20.0)
    try:
        start_components(settings, (args.component,))
    except LaunchError as error:
        print(f"ivr stack restart: {error}", file=sys.stderr)
        return 1
    return 0


def run_supervise(args: argparse.Namespace) -> int:
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    supervise(Settings.from_env(), stop)
    return 0


def run_download(args: argparse.Namespace) -> int:
    """`./hotline test` runs this before its shards, which have no network of their own."""
    try:
        tarball = asterisk.download(Settings.from_env())
    except LaunchError as error:
        print(f"ivr stack download: {error}", file=sys.stderr)
        return 1
    print(tarball or "Asterisk is installed on the host: nothing to download")
    return 0


def run_asterisk_cli(args: argparse.Namespace) -> int:
    try:
        print(asterisk.cli(Settings.from_env(), " ".join(args.cli_command)), end="")
    except LaunchError as error:
        print(f"ivr stack asterisk: {error}", file=sys.stderr)
        return 1
    return 0


def _stop(settings: Settings, name: str) -> None:
    stopped = processes.stop(settings, name, timeout=20.0)
    print(f"{name}: {'stopped' if stopped else 'was not running (not started by us)'}")


def _node_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--nodes must be a whole number from 1, not {text!r}")
    return int(text)


def _components(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in COMPONENTS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown component(s) {', '.join(unknown)}; known: {', '.join(COMPONENTS)}"
        )
    return tuple(name for name in COMPONENTS if name in names)
