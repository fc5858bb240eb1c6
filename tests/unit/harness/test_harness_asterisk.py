"""Smoke test of the harness against the real Asterisk: SIPp into the support number, no IVR
worker connected, so the fail-open dialplan hands the call to the desk phone.

Needs Asterisk (started here if it is not running) and no worker on the `winet-hotline` app:
the hotline's own worker (`./hotline up`) is stopped, as the end-to-end tests do, and the
`before_worker` mark runs this test before those tests start theirs. Run under the e2e lock.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ivr.config import Settings
from ivr.stack import asterisk, processes
from ivr.stack.cli import start_components
from ivr.stack.processes import LaunchError
from tests.harness.phones import Phones

pytestmark = [pytest.mark.e2e, pytest.mark.before_worker]

CALLER_ID = "+41441234567"


@pytest.fixture(scope="module")
def asterisk_without_worker() -> Settings:
    settings = Settings.from_env()
    try:
        start_components(settings, ("asterisk",))
    except LaunchError as error:
        pytest.fail(f"Asterisk could not start: {error}", pytrace=False)
    if processes.stop(settings, "worker"):
        print("\nstopped the hotline's IVR worker for the tests; ./hotline up restarts it")
    if asterisk.ari_get(settings, f"/applications/{settings.ari_app}") is not None:
        pytest.fail(
            f"an IVR worker not started by the launcher is connected to {settings.ari_app!r}: "
            "the fail-open smoke test needs it stopped",
            pytrace=False,
        )
    return settings


async def test_a_call_without_worker_reaches_the_desk_phone(
    asterisk_without_worker: Settings, phones: Phones, sipp: Callable
):
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=3.0)
    result = await sipp(CALLER_ID, [(1.0, "42#")], timeout=30)
    assert result.answered and result.hangup_by == "far_end", result.sip_trace[-3000:]
    invite = await phones.wait_for("xy-desk", "incoming")
    assert invite["from_user"] == CALLER_ID
    assert invite["x_headers"]["X-Winet-Fail-Open"] == "yes"
    assert invite["x_headers"]["X-Winet-Identified"] == "no"
    end = await phones.wait_for("xy-desk", "disconnected", timeout=15)
    assert (end["answered"], end["by"]) == (True, "local")
    assert phones.digits("xy-desk") == "42#"  # DTMF crossed Asterisk's bridge in order
