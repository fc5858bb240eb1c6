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
from typing import TYPE_CHECKING

from ivr.config import Settings

if TYPE_CHECKING:
    from ivr.stack.privileges import Account


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


def running_pid_as(settings: Settings, name: str, account: Account | None) -> int | None:
    """The PID of our process `name` when it runs as `account` (None: as we do); one that runs
    as another user (as root, started by an older version) is stopped, to start again as it
    should."""
    pid = running_pid(settings, name)
    if pid and process_uid(pid) != (account.uid if account else os.geteuid()):
        stop(settings, name)
        return None
    return pid


def process_uid(pid: int) -> int | None:
    """The (real) user id a process runs as, None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:"))


def start(
    settings: Settings,
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    umask: int = -1,
    account: Account | None = None,
) -> int:
    """Start `argv` in its own session, as `account` (None: as we are), output appended to the
    component's log file (private: the launcher's user reads it); `umask` for the files it
    creates (-1: ours)."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    settings.log_dir.chmod(0o700)
    log_fd = os.open(log_file(settings, name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(log_fd, 0o600)  # also a log an older version left readable to all
    with os.fdopen(log_fd, "ab") as log:
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_environment(env, account),
                cwd=cwd,
                start_new_session=True,
                umask=umask,
                **_identity(account),
            )
        except OSError as error:
            raise LaunchError(f"cannot start {name} ({argv[0]}): {error}") from None
    pid_file(settings, name).write_text(f"{process.pid} {_start_time(process.pid)}\n")
    return process.pid


def _environment(env: Mapping[str, str] | None, account: Account | None) -> dict[str, str] | None:
    """`env` (None: ours), with the home and name of `account` when it runs as one."""
    if account is None:
        return dict(env) if env is not None else None
    own = {"HOME": str(account.home), "USER": account.name, "LOGNAME": account.name}
    return {**(os.environ if env is None else env), **own}


def _identity(account: Account | None) -> dict[str, object]:
    """Popen's arguments that switch to `account` in the child before it runs the program: its
    user and group, and none of our supplementary groups."""
    if account is None:
        return {}
    return {"user": account.uid, "group": account.gid, "extra_groups": []}


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
