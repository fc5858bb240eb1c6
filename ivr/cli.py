"""The `ivr` command: one sub-command group per feature, each registered by its own module."""

from __future__ import annotations

import argparse
import importlib
import sys

from ivr.config import ConfigError

# Each module defines `register(subparsers)`, adding its commands with `set_defaults(run=...)`.
# `run(args)` returns the exit code.
COMMAND_MODULES = [
    "ivr.commands.stack",
    "ivr.commands.routing",
    "ivr.commands.customers",
    "ivr.commands.calls",
    "ivr.commands.prompts",
    "ivr.commands.serve",
    "ivr.commands.web",
    "ivr.commands.desk",
    "ivr.commands.requests",
    "ivr.commands.incident",
    "ivr.commands.report",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ivr", description="Winet support hotline")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as error:
        print(f"ivr: configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
