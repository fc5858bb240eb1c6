"""Redis for the hotline: the configured one if it answers, else Debian's redis-server here.

Our redis-server requires a password (the secret `redis-password`, in a configuration file
only its owner reads, never on the command line where every local user sees it) and keeps its
append-only files private: mode 0600 in a 0700 folder, all the hotline's user's when the
launcher runs as root (Redis runs as that user then; `ivr.stack.privileges`).
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit

from ivr.config import Settings
from ivr.stack import privileges, processes
from ivr.stack.privileges import Account
from ivr.stack.processes import LaunchError

NAME = "redis"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
PRIVATE_UMASK = 0o077
LOAD_SECONDS = 60.0


def answers(settings: Settings) -> bool:
    """True when something speaking Redis answers PING at the configured URL."""
    # an unauthenticated PING to a password-protected Redis answers -NOAUTH: it is there
    return _ping(settings).startswith((b"+PONG", b"-NOAUTH"))


def serves(settings: Settings) -> bool:
    """True when Redis takes commands with our password: not while it still loads its
    append-only file after a restart (it answers -LOADING then, also to PING)."""
    return _ping(settings, authenticated=True).endswith(b"+PONG\r\n")


def start(settings: Settings) -> int | None:
    """Start our redis-server unless one already answers. Returns our PID, or None if not ours.

    Our own server still running from before it had a password, or as another user than the
    hotline's, is restarted with one, as that user."""
    account = privileges.hand_over(settings)
    pid = processes.running_pid_as(settings, NAME, account)
    open_to_all = _ping(settings).startswith(b"+PONG")
    if pid and open_to_all:
        processes.stop(settings, NAME)
    elif open_to_all:
        raise LaunchError(
            f"a Redis without a password answers at {settings.redis_url} and it is not ours: "
            "stop it (the hotline's Redis requires a password)"
        )
    elif answers(settings):
        _wait_until_it_serves(settings)
        return pid
    url = urlsplit(settings.redis_url)
    if url.hostname not in LOCAL_HOSTS:
        raise LaunchError(f"Redis at {settings.redis_url} does not answer, and it is not local")
    server = shutil.which("redis-server")
    if not server:
        raise LaunchError("redis-server is not installed (apt-get install redis-server)")
    data_dir = settings.state_dir / "redis"
    config = _write_config(settings, data_dir)
    _make_private(data_dir, account)
    pid = processes.start(
        settings, NAME, [server, str(config)], umask=PRIVATE_UMASK, account=account
    )
    _wait_until_it_serves(settings)
    return pid


def problem(settings: Settings) -> str:
    """What keeps Redis from serving the hotline, or "" when it serves."""
    if serves(settings):
        return ""
    if answers(settings):
        return f"answers at {settings.redis_url} but takes no commands (loading, or wrong password)"
    return f"no answer at {settings.redis_url}"


def _wait_until_it_serves(settings: Settings) -> None:
    if not processes.wait_until(lambda: serves(settings), LOAD_SECONDS):
        raise LaunchError(
            f"Redis at {settings.redis_url} did not take commands within {LOAD_SECONDS:.0f} s "
            "(still loading its data, or a wrong password); its log ends with:\n"
            + processes.log_tail(settings, NAME)
        )


def stop(settings: Settings) -> bool:
    return processes.stop(settings, NAME)


def _ping(settings: Settings, *, authenticated: bool = False) -> bytes:
    """What Redis answers to PING, after AUTH when `authenticated` (both replies then)."""
    url = urlsplit(settings.redis_url)
    request = b"PING\r\n"
    if authenticated:
        request = _command("AUTH", url.password or settings.redis_password) + request
    try:
        with socket.create_connection((url.hostname, url.port or 6379), timeout=1) as sock:
            sock.sendall(request)
            return _replies(sock, 2 if authenticated else 1)
    except OSError:
        return b""


def _command(*words: str) -> bytes:
    """A command in Redis's protocol, safe for any bytes in the words (a password's spaces)."""
    encoded = [word.encode() for word in words]
    return f"*{len(encoded)}\r\n".encode() + b"".join(
        b"$%d\r\n%s\r\n" % (len(word), word) for word in encoded
    )


def _replies(sock: socket.socket, count: int) -> bytes:
    """Read until `count` one-line replies arrived (or the server closed)."""
    received = b""
    while received.count(b"\r\n") < count:
        chunk = sock.recv(256)
        if not chunk:
            break
        received += chunk
    return received


def _write_config(settings: Settings, data_dir: Path) -> Path:
    url = urlsplit(settings.redis_url)
    options = {
        "bind": "127.0.0.1",
        "port": str(url.port or 6379),
        "dir": str(data_dir),
        "appendonly": "yes",
        "appendfsync": "everysec",
        "save": '""',
        "daemonize": "no",
        "requirepass": _quoted(url.password or settings.redis_password),
    }
    config = data_dir / "redis.conf"
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(f"{name} {value}\n" for name, value in options.items()))
    return config


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _make_private(data_dir: Path, account: Account | None) -> None:
    """The folder 0700 and everything in it 0600 (0700 for folders), also what an earlier
    Redis left with looser modes; all of it `account`'s when Redis runs as that user."""
    data_dir.chmod(0o700)
    if account:
        privileges.chown_tree(data_dir, account.uid, account.gid)
    for parent, folders, files in os.walk(data_dir):
        for name in folders:
            os.chmod(os.path.join(parent, name), 0o700)
        for name in files:
            os.chmod(os.path.join(parent, name), 0o600)
