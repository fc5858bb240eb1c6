"""Redis for the hotline: the configured one if it answers, else Debian's redis-server here."""

from __future__ import annotations

import shutil
import socket
from urllib.parse import urlsplit

from ivr.config import Settings
from ivr.stack import processes
from ivr.stack.processes import LaunchError

NAME = "redis"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def answers(settings: Settings) -> bool:
    """True when something speaking Redis answers PING at the configured URL."""
    url = urlsplit(settings.redis_url)
    try:
        with socket.create_connection((url.hostname, url.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    # an unauthenticated PING to a password-protected Redis answers -NOAUTH: it is there
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def start(settings: Settings) -> int | None:
    """Start our redis-server unless one already answers. Returns our PID, or None if not ours."""
    if answers(settings):
        return processes.running_pid(settings, NAME)
    url = urlsplit(settings.redis_url)
    if url.hostname not in LOCAL_HOSTS:
        raise LaunchError(f"Redis at {settings.redis_url} does not answer, and it is not local")
    server = shutil.which("redis-server")
    if not server:
        raise LaunchError("redis-server is not installed (apt-get install redis-server)")
    data_dir = settings.state_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    pid = processes.start(
        settings,
        NAME,
        [
            server,
            "--bind", "127.0.0.1",
            "--port", str(url.port or 6379),
            "--dir", str(data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
        ],
    )  # fmt: skip
    if not processes.wait_until(lambda: answers(settings), 10.0):
        raise LaunchError(
            f"redis-server did not answer on port {url.port}; its log ends with:\n"
            + processes.log_tail(settings, NAME)
        )
    return pid


def stop(settings: Settings) -> bool:
    return processes.stop(settings, NAME)
