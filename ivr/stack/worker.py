"""The IVR worker (`ivr serve`) as a background process of the launcher."""

from __future__ import annotations

import os
import sys

from ivr.config import REPO_DIR, Settings
from ivr.stack import processes
from ivr.stack.asterisk import ari_get
from ivr.stack.processes import LaunchError

NAME = "worker"


def start(settings: Settings) -> int:
    pid = processes.running_pid(settings, NAME)
    if pid:
        return pid
    pid = processes.start(
        settings, NAME, [sys.executable, "-m", "ivr", "serve"], env=os.environ, cwd=REPO_DIR
    )
    if not processes.wait_until(lambda: _registered(settings, pid), 30.0, interval=0.25):
        raise LaunchError(
            f"the IVR worker did not register Stasis application {settings.ari_app}; "
            "its log ends with:\n" + processes.log_tail(settings, NAME)
        )
    return pid


def _registered(settings: Settings, pid: int) -> bool:
    if processes.running_pid(settings, NAME) != pid:
        raise LaunchError(
            "the IVR worker exited during start-up; its log ends with:\n"
            + processes.log_tail(settings, NAME)
        )
    return ari_get(settings, f"/applications/{settings.ari_app}") is not None
