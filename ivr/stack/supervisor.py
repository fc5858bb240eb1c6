"""Keeps the hotline's processes running where no systemd does it: `ivr stack supervise`.

Every `POLL_SECONDS` it checks each process of the stack that ran when it started (those
`ivr stack up` started), by its PID file; one that is gone is
started again at once, and again with a growing delay if it keeps dying (`BACKOFF_SECONDS`),
the delay starting over once it has stayed up `STABLE_SECONDS`. A restarted worker finds the
calls its predecessor left in its Stasis application and sends them on to the desk; new calls
go to the other workers meanwhile. Restarts run in threads of their own, so a slow one (a
worker waiting for Asterisk) holds up no other.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ivr.config import Settings, nodes_of
from ivr.stack import asterisk, processes, worker
from ivr.stack.launcher import process_names, start_asterisk, start_components

log = logging.getLogger("ivr.supervisor")

POLL_SECONDS = 0.2
BACKOFF_SECONDS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_SECONDS = 60.0


@dataclass
class Watched:
    name: str
    start: Callable[[], object]
    deaths_in_a_row: int = 0
    next_start: float = 0.0
    up_since: float | None = None
    scheduled: bool = False
    starting: threading.Thread | None = None


def starter(settings: Settings, name: str) -> Callable[[], object]:
    """How to start the process `name` again (an Asterisk and a worker: of their node)."""
    for node in nodes_of(settings):
        if name == asterisk.name(node):
            return lambda: start_asterisk(node)
        if name in worker.names(node):
            return lambda: worker.start_one(node, worker.index_of(name))
    return lambda: start_components(settings, (name,))


def supervise(settings: Settings, stop: threading.Event) -> None:
    """Watch what runs now (what `ivr stack up` started) and restart it until `stop` is set."""
    watched = [
        Watched(name, starter(settings, name))
        for name in process_names(settings)
        if processes.running_pid(settings, name)
    ]
    log.info("supervising %s", ", ".join(w.name for w in watched))
    while not stop.wait(POLL_SECONDS):
        _reap_children()
        now = time.monotonic()
        for process in watched:
            check(settings, process, now)


def check(settings: Settings, process: Watched, now: float) -> None:
    if process.starting is not None and process.starting.is_alive():
        return
    if processes.running_pid(settings, process.name):
        process.scheduled = False
        if process.up_since is None:
            process.up_since = now
        elif now - process.up_since > STABLE_SECONDS:
            process.deaths_in_a_row = 0
        return
    if not process.scheduled:
        never_started = process.starting is None and process.up_since is None
        delay = 0.0 if never_started else _backoff(process.deaths_in_a_row)
        log.warning("%s is not running; starting it in %.1f s", process.name, delay)
        process.deaths_in_a_row += 0 if never_started else 1
        process.next_start = now + delay
        process.up_since = None
        process.scheduled = True
    if now >= process.next_start:
        process.scheduled = False  # found down again after this start: the next delay is longer
        process.starting = threading.Thread(
            target=_start, args=(process,), name=f"start-{process.name}", daemon=True
        )
        process.starting.start()


def _backoff(deaths_in_a_row: int) -> float:
    return BACKOFF_SECONDS[min(deaths_in_a_row, len(BACKOFF_SECONDS) - 1)]


def _start(process: Watched) -> None:
    began = time.monotonic()
    try:
        process.start()
    except Exception as error:
        log.error("%s did not start: %s", process.name, error)
        return
    log.info("%s is running again after %.1f s", process.name, time.monotonic() - began)


def _reap_children() -> None:
    """Collect the exit status of processes we started that died, so none stays a zombie."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        log.warning("process %d exited (%s)", pid, _exit_text(status))


def _exit_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
