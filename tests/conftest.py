import pytest

from ivr.config import Settings
from ivr.stack import processes
from ivr.stack.launcher import COMPONENTS
from tests.harness.worker import STACK_USERS

pytest_plugins = ["tests.fixtures.redis", "tests.fixtures.smtp", "tests.harness.fixtures"]


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
