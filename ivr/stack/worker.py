"""The IVR workers (`ivr serve`) as background processes of the launcher.

`Settings.workers` of them (one per core unless told), `worker-1`, `worker-2`, ..., each with
a Stasis application of its own (`winet-hotline-1`, ...); the dialplan spreads new calls over
those that are connected. With several Asterisk nodes every node has as many workers of its
own, `worker-N-1`, `worker-N-2`, ... for node N, connected to that node's ARI.
"""

from __future__ import annotations

import dataclasses
import os
import sys

from ivr.config import REPO_DIR, Settings, node_environment, nodes_of, worker_app
from ivr.stack import privileges, processes
from ivr.stack.asterisk import ari_get
from ivr.stack.processes import LaunchError

NAME = "worker"


def name(settings: Settings, index: int) -> str:
    """The process name of worker `index`: worker-1, ...; worker-N-1, ... on node N."""
    return f"{NAME}-{settings.node}-{index}" if settings.node else f"{NAME}-{index}"


def names(settings: Settings) -> list[str]:
    """The process names of the workers (of the node, with several)."""
    return [name(settings, index) for index in range(1, settings.workers + 1)]


def index_of(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def start(settings: Settings) -> list[int]:
    """Start every worker that is not running; their PIDs once all have registered."""
    return [start_one(settings, index) for index in range(1, settings.workers + 1)]


def start_one(settings: Settings, index: int) -> int:
    process = name(settings, index)
    account = privileges.hand_over(settings)
    pid = processes.running_pid_as(settings, process, account)
    if pid:
        return pid
    app = worker_app(index)
    env = {**os.environ, "IVR_ARI_APP": app, "IVR_WORKERS": str(settings.workers)}
    env.update(node_environment(settings))
    argv = [sys.executable, "-m", "ivr", "serve"]
    pid = processes.start(settings, process, argv, env=env, cwd=REPO_DIR, account=account)
    own = dataclasses.replace(settings, ari_app=app)
    if not processes.wait_until(lambda: _registered(own, process, pid), 30.0, interval=0.1):
        raise LaunchError(
            f"IVR {process} did not register Stasis application {app}; "
            "its log ends with:\n" + processes.log_tail(settings, process)
        )
    return pid


def stop(settings: Settings, *, timeout: float = 20.0) -> list[str]:
    """Stop every worker the launcher started (of every node); the names of those that ran."""
    return [
        name
        for node in nodes_of(settings)
        for name in names(node)
        if processes.stop(settings, name, timeout=timeout)
    ]


def unregistered(settings: Settings) -> list[str]:
    """The workers' Stasis applications that no worker holds right now."""
    return [
        worker_app(index)
        for index in range(1, settings.workers + 1)
        if ari_get(settings, f"/applications/{worker_app(index)}") is None
    ]


def _registered(settings: Settings, name: str, pid: int) -> bool:
    if processes.running_pid(settings, name) != pid:
        raise LaunchError(
            f"IVR {name} exited during start-up; its log ends with:\n"
            + processes.log_tail(settings, name)
        )
    return ari_get(settings, f"/applications/{settings.ari_app}") is not None
