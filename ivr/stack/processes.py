"""Background processes the launcher starts, each tracked by a PID file in the state folder.

A PID file holds the PID and the process's start time, so a PID reused by an unrelated
process after a reboot is never mistaken for ours, and never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ivr.config import Settings


class LaunchError(Exception):
    """A component could not be started or did not become ready; the message says why."""


def pid_file(settings: Settings, name: str) -> Path:
    return settings.run_dir / f"{name}.pid"


def log_file(settings: Settings, name: str) -> Path:
    return settings.log_dir / f"{name}.log"


def running_pid(settings: Settings, name: str) -> int | None:
    """The PID of our process `name` when it is alive, else None (a stale file is removed)."""
    path = pid_file(settings, name)
    try:
        pid_text, started_text = path.read_text().split()
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return None
    if _start_time(pid) != started_text:
        path.unlink(missing_ok=True)
        return None
    return pid


def start(
    settings: Settings,
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    umask: int = -1,
) -> int:
    """Start `argv` in its own session, output appended to the component's log file;
    `umask` for the files it creates (-1: ours)."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_file(settings, name), "ab") as log:
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
                umask=umask,
            )
        except OSError as error:
            raise LaunchError(f"cannot start {name} ({argv[0]}): {error}") from None
    pid_file(settings, name).write_text(f"{process.pid} {_start_time(process.pid)}\n")
    return process.pid


def stop(settings: Settings, name: str, *, timeout: float = 15.0) -> bool:
    """Stop our process `name`: SIGTERM, then SIGKILL after `timeout`. False if none ran."""
    pid = running_pid(settings, name)
    if pid is None:
        return False
    _signal(pid, signal.SIGTERM)
    if not wait_until(lambda: not _alive(pid), timeout):
        _signal(pid, signal.SIGKILL)
        wait_until(lambda: not _alive(pid), 5.0)
    pid_file(settings, name).unlink(missing_ok=True)
    return True


def log_tail(settings: Settings, name: str, lines: int = 15) -> str:
    try:
        text = log_file(settings, name).read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(condition, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # the command name (field 2) may hold spaces; fields after its closing parenthesis are fixed
    fields = stat.rsplit(")", 1)[1].split()
    state, start_time = fields[0], fields[19]
    return None if state == "Z" else start_time


def _alive(pid: int) -> bool:
    if _start_time(pid) is None:
        try:
            os.waitpid(pid, os.WNOHANG)  # reap our own child if it is a zombie
        except ChildProcessError:
            pass
        return False
    return True


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
