"""Fixtures for tests with real SIP user agents (register in tests/conftest.py's pytest_plugins).

- `phone_agent` (session): the pjsua2 phones `caller` (127.0.0.2:5070, calling through the
  demo provider trunk), `tech-anna` (5071), `tech-marco` (5072), `tech-lea` (5073), `xy-desk`
  (5074) and `pstn` (127.0.0.2:5090, a customer Asterisk calls through the trunk), started once.
- `phones` (function): the same agent, reset before and after the test (calls hung up,
  default behaviour: answer after 0.2 s and stay, events forgotten). A failed callback inside
  the agent fails the test.
- `sipp` (function): `tests.harness.sipp.place_call`, after checking that SIPp can run here.

These fixtures bind the shared test-phone ports: run such tests under the e2e lock,
`flock /tmp/winet-e2e.lock .venv/bin/pytest ...`. A phone that cannot start fails the test
with the reason; nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

from tests.harness.phones import PhoneAgentError, Phones
from tests.harness.sipp import place_call


@pytest.fixture(scope="session")
def phone_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phones]:
    try:
        agent = Phones.start(work_dir=tmp_path_factory.mktemp("phones"), pjsua_log=True)
    except PhoneAgentError as error:
        pytest.fail(f"the test phones could not start: {error}", pytrace=False)
    yield agent
    agent.stop()


@pytest_asyncio.fixture
async def phones(phone_agent: Phones) -> AsyncIterator[Phones]:
    await phone_agent.reset()
    yield phone_agent
    errors = phone_agent.errors()
    await phone_agent.reset()
    if errors:
        details = "\n".join(f"{e.phone} {e['what']}:\n{e['traceback']}" for e in errors)
        pytest.fail(f"the phone agent failed during the test:\n{details}", pytrace=False)


@pytest.fixture
def sipp() -> Callable[..., Any]:
    if shutil.which("sipp") is None:
        pytest.fail("sipp is not installed: apt-get install sip-tester", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("SIPp sends DTMF through a raw socket: run the tests as root", pytrace=False)
    return place_call
