"""The web console (`ivr web serve`) as a background process of the launcher."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from ivr.config import REPO_DIR, Settings, node_environment
from ivr.stack import privileges, processes
from ivr.stack.processes import LaunchError

NAME = "web"


def start(settings: Settings) -> int:
    account = privileges.hand_over(settings)
    pid = processes.running_pid_as(settings, NAME, account)
    if pid:
        return pid
    argv = [sys.executable, "-m", "ivr", "web", "serve"]
    env = {**os.environ, **node_environment(settings)}  # with several nodes: node 1's ARI
    pid = processes.start(settings, NAME, argv, env=env, cwd=REPO_DIR, account=account)
    if not processes.wait_until(lambda: _answers(settings, pid), 20.0, interval=0.2):
        raise LaunchError(
            f"the web console did not answer on {url(settings)}; its log ends with:\n"
            + processes.log_tail(settings, NAME)
        )
    return pid


def url(settings: Settings) -> str:
    return f"http://{settings.web_host}:{settings.web_port}/"


def problem(settings: Settings) -> str:
    """Empty when the console answers, else what went wrong."""
    try:
        with urllib.request.urlopen(url(settings) + "login", timeout=2) as response:
            response.read()
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return f"no answer at {url(settings)}: {getattr(error, 'reason', error)}"
    return ""


def _answers(settings: Settings, pid: int) -> bool:
    if processes.running_pid(settings, NAME) != pid:
        raise LaunchError(
            "the web console exited during start-up; its log ends with:\n"
            + processes.log_tail(settings, NAME)
        )
    return problem(settings) == ""
