"""The real IVR worker (`ivr serve`) in a subprocess, with its clock set, for the end-to-end
tests and the benchmarks."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ivr import store
from ivr.config import REPO_DIR, Settings, node_environment, nodes_of
from ivr.stack import asterisk, processes, worker
from ivr.stack.launcher import SUPERVISOR, start_components
from ivr.stack.setup import prepare_data

START_SECONDS = 30.0
STOP_SECONDS = 40.0  # the worker lets calls in progress finish for up to 30 s
CONNECTED = "ARI event websocket connected"


class WorkerError(Exception):
    """The worker did not start; the message holds its log."""


class Worker:
    def __init__(self, settings: Settings, now: str, work_dir: Path, **env: str) -> None:
        self.settings = settings
        self.now = now
        self.log = work_dir / "worker.log"
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0  # time.time() at the last start: its clock reads `now` then

    @property
    def pid(self) -> int:
        assert self.process is not None, "the worker is not running"
        return self.process.pid

    def start(self) -> None:
        """Start `ivr serve` and return once it logs its websocket connected and its Stasis
        application is registered. Asterisk may still list the application for a moment after
        the previous worker left, so the registration alone does not show this one is in."""
        env = {
            **os.environ,
            "IVR_REDIS_URL": self.settings.redis_url,
            "IVR_ALLOW_FAKE_CLOCK": "1",
            "IVR_NOW": self.now,
            "IVR_LOG_LEVEL": "DEBUG",
            "IVR_WORKERS": "1",
            **node_environment(self.settings),
            **self.env,
        }
        self.started = time.time()
        connections_before = self.connections()
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ivr", "serve"],
                env=env,
                cwd=REPO_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while self.connections() <= connections_before or not _answers_as_registered(self.settings):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise WorkerError(f"the IVR worker did not start:\n{self.log_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def cpu_seconds(self) -> float:
        """User plus system CPU time the worker has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def connections(self) -> int:
        """How many times the worker has logged its ARI websocket connected."""
        return self.log_text().count(CONNECTED)


STACK_USERS: list[Settings] = []
"""The stacks this process prepared: only a test session that used the stack stops it."""


def prepare_stack(redis_db: int, nodes: int = 1) -> Settings:
    """Settings on a Redis database of its own, with Asterisk and Redis up (started when
    needed), the launcher's own worker stopped (the tests' takes the calls), the database and
    the fail-open ledger emptied, the prompts built, the repository's tables published, the
    demo customers loaded; `nodes` Asterisk nodes (the tests run one, whatever count
    `./hotline up --nodes N` kept). Raises LaunchError."""
    base = Settings.from_env()
    server = base.redis_url.rsplit("/", 1)[0] if base.redis_url.count("/") > 2 else base.redis_url
    settings = dataclasses.replace(base, redis_url=f"{server}/{redis_db}", nodes=nodes)
    STACK_USERS.append(settings)
    start_components(settings, ("redis", "asterisk"))
    stopped = [SUPERVISOR] if processes.stop(settings, SUPERVISOR) else []
    stopped += worker.stop(settings)
    if stopped:
        print(f"\nstopped the hotline's {', '.join(stopped)}; `./hotline up` starts them again")
    asyncio.run(_flush(settings))
    _empty_fail_open_ledger(settings)
    prepare_data(settings)
    return settings


def _empty_fail_open_ledger(settings: Settings) -> None:
    """Calls an earlier session left in the ledgers would become this database's records."""
    for node in nodes_of(settings):
        _, ledger = asterisk.fail_open_ledger(node)
        for path in ledger.parent.glob(f"{ledger.name}*"):
            path.unlink()


async def _flush(settings: Settings) -> None:
    client = store.connect(settings)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


def app_registered(settings: Settings) -> bool:
    return asterisk.ari_get(settings, f"/applications/{settings.ari_app}") is not None


def _answers_as_registered(settings: Settings) -> bool:
    """The application is registered; False while ARI does not answer (Asterisk restarting)."""
    try:
        return app_registered(settings)
    except OSError:  # urllib's URLError included
        return False
