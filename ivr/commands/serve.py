"""`ivr serve`: run the IVR worker (`ivr.worker.serve`) in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

import uvloop

from ivr.config import Settings
from ivr.worker.serve import StartupError, serve


def register(subparsers: argparse._SubParsersAction) -> None:
    command = subparsers.add_parser("serve", help="run the IVR worker (the Stasis application)")
    command.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=os.environ.get("IVR_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve(Settings.from_env()))
    except StartupError as error:
        print(f"ivr serve: {error}", file=sys.stderr)
        return 1
    return 0
