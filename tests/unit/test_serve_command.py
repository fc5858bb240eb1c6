"""`ivr serve` runs the worker on uvloop's event loop and says why a worker could not start."""

from __future__ import annotations

import argparse
import asyncio

import uvloop

from ivr.commands import serve as serve_command
from ivr.worker.serve import StartupError


def test_the_worker_runs_on_uvloop(monkeypatch):
    loops = []

    async def serve(settings):
        loops.append(type(asyncio.get_running_loop()))

    monkeypatch.setattr(serve_command, "serve", serve)
    assert serve_command.run_serve(argparse.Namespace()) == 0
    assert loops == [uvloop.Loop]


def test_a_worker_that_cannot_start_says_why(monkeypatch, capsys):
    async def serve(settings):
        raise StartupError("Asterisk's ARI does not answer at 127.0.0.1:8088")

    monkeypatch.setattr(serve_command, "serve", serve)
    assert serve_command.run_serve(argparse.Namespace()) == 1
    assert "ARI does not answer" in capsys.readouterr().err
