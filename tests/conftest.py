import os

import pytest

from ivr.config import Settings
from ivr.stack import processes
from ivr.stack.launcher import COMPONENTS
from tests.harness.worker import STACK_USERS

pytest_plugins = ["tests.fixtures.redis", "tests.fixtures.smtp", "tests.harness.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    """A pytest-xdist worker (`./hotline test` starts them in network namespaces of their own,
    tests/harness/netns-python) keeps its stack in a state folder of its own: its Redis data,
    Asterisk root, PID files and logs never meet another worker's."""
    worker_id = getattr(config, "workerinput", {}).get("workerid")
    if worker_id:
        shard_dir = Settings.from_env().state_dir / "test-shards" / worker_id
        os.environ["IVR_STATE_DIR"] = str(shard_dir)


@pytest.fixture(scope="session", autouse=True)
def stop_what_the_tests_started():
    """The launcher's processes (Redis, Asterisk) that this session's tests started are stopped
    at the end; those that ran before the session (`./hotline up`, or another session on the
    machine) are left running, unless the session replaced them (a Redis from before it
    required a password is restarted with one); a session that never prepared the stack stops
    nothing."""
    settings = Settings.from_env()
    running_before = {name: processes.running_pid(settings, name) for name in COMPONENTS}
    yield
    if not STACK_USERS:
        return
    for name in reversed(COMPONENTS):
        if processes.running_pid(settings, name) != running_before[name]:
            processes.stop(settings, name)
