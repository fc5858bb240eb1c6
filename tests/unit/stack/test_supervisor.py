"""The supervisor starts again a process that dies: at once the first time, then with a
growing delay while it keeps dying, and never a second copy while one start is under way."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time

import pytest

from ivr.config import Settings
from ivr.stack import processes, supervisor
from ivr.stack.supervisor import Watched, check


@pytest.fixture
def settings(tmp_path) -> Settings:
    return dataclasses.replace(Settings.from_env({"IVR_STATE_DIR": str(tmp_path)}), workers=1)


def sleeper(settings: Settings, name: str = "web") -> Watched:
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    return Watched(name, lambda: processes.start(settings, name, argv))


def run_checks(settings: Settings, watched: Watched, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor._reap_children()
        check(settings, watched, time.monotonic())
        time.sleep(0.02)


def kill(settings: Settings, name: str = "web") -> int:
    pid = processes.running_pid(settings, name)
    os.kill(pid, signal.SIGKILL)
    return pid


@pytest.fixture
def stop_all(settings):
    yield
    processes.stop(settings, "web", timeout=2)


@pytest.mark.usefixtures("stop_all")
def test_a_process_that_dies_is_started_again_at_once(settings):
    watched = sleeper(settings)
    run_checks(settings, watched, 0.3)  # not running yet: started
    first = processes.running_pid(settings, "web")
    assert first

    kill(settings)
    began = time.monotonic()
    while processes.running_pid(settings, "web") in (None, first):
        run_checks(settings, watched, 0.05)
        assert time.monotonic() - began < 2, "not started again within 2 s"
    assert watched.deaths_in_a_row == 1


@pytest.mark.usefixtures("stop_all")
def test_a_process_that_keeps_dying_waits_longer_each_time(settings):
    watched = sleeper(settings)
    run_checks(settings, watched, 0.2)
    kill(settings)
    run_checks(settings, watched, 0.2)  # second start: no delay
    kill(settings)
    run_checks(settings, watched, 0.2)  # third: half a second's delay
    assert processes.running_pid(settings, "web") is None
    assert watched.next_start - time.monotonic() == pytest.approx(0.3, abs=0.15)
    run_checks(settings, watched, 0.5)
    assert processes.running_pid(settings, "web")


def test_a_slow_start_is_not_started_twice(settings):
    began = threading.Event()
    release = threading.Event()
    starts = []

    def slow_start() -> None:
        starts.append(time.monotonic())
        began.set()
        release.wait(2)

    watched = Watched("web", slow_start)
    check(settings, watched, time.monotonic())
    assert began.wait(1)
    for _ in range(10):
        check(settings, watched, time.monotonic())
    release.set()
    watched.starting.join(1)
    assert len(starts) == 1


def test_every_process_of_the_stack_is_watched(settings):
    names = [
        w.name
        for w in map(
            lambda n: Watched(n, supervisor.starter(settings, n)),
            supervisor.process_names(dataclasses.replace(settings, workers=3)),
        )
    ]
    assert names == ["redis", "asterisk", "worker-1", "worker-2", "worker-3", "web"]
