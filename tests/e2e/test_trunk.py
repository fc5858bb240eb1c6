"""Calls arrive through the provider's trunk, and the caller ID is trusted only from it (issue 15).

The demo trunk is 127.0.0.2 (asterisk-config/pjsip.conf, [trunk]): it asserts the caller's
number in P-Asserted-Identity and withholds it with `Privacy: id`. A call from any other
address is refused, or in lab mode taken as a withheld number: never identified by caller ID.
Callbacks to customers leave through the same trunk, with the hotline's number as caller ID.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ivr.clock import parse_instant
from ivr.config import DEMO_TRUNK_HOST, DEMO_TRUNK_PSTN_PORT, REPO_DIR
from ivr.routing import Contract, decide, load_tables
from ivr.stack import asterisk
from ivr.store import calls
from tests.e2e.conftest import SATURDAY_MORNING, prompt_seconds, wait_for_record
from tests.e2e.test_call_flow import KEYS_APART, PREMIUM_TYPED

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker", "clean_asterisk")]

PREMIUM = "+41441234567"  # klinik-seefeld, premium, de, PIN 481516: covered on Saturday
PREMIUM_PIN = "481516"
OUTSIDE_THE_TRUNK = "127.0.0.1"


def premium_standby() -> str:
    """The phone of the technician on standby for premium at the tests' instant."""
    tables = load_tables(REPO_DIR / "routing")
    decision = decide(tables, Contract("premium"), parse_instant(SATURDAY_MORNING, tables.zone))
    return decision.standby.dial.removeprefix("PJSIP/")


STANDBY = premium_standby()


def support_uri(settings, number: str) -> str:
    return f"sip:{number}@{settings.sip_host}:{settings.sip_port}"


async def call_until_the_technician_rings(sipp, phones, settings, caller_id: str, **options):
    """A call that hangs up while the standby technician rings; the technician's INVITE."""
    await phones.configure(STANDBY, answer_after=None)
    ring_up = prompt_seconds(settings, "de", "greeting", "connecting_technician")
    call = await sipp(caller_id, hangup_after=ring_up + 2, **options)
    assert call.answered
    return await phones.wait_for(STANDBY, "incoming")


async def test_the_trunks_asserted_number_identifies_the_caller(
    phones, sipp, redis, stack_settings
):
    incoming = await call_until_the_technician_rings(
        sipp, phones, stack_settings, PREMIUM, from_user="anonymous"
    )

    assert incoming["x_headers"]["X-Winet-Customer"] == "klinik-seefeld"
    assert incoming["x_headers"]["X-Winet-Identified"] == "caller_id"
    record = await wait_for_record(redis)
    assert record.summary["caller_number"] == PREMIUM
    assert record.summary["identified"] == "caller_id"


async def test_privacy_id_withholds_the_asserted_number(phones, sipp, redis, stack_settings):
    await phones.configure(STANDBY, answer_after=0.5, dtmf=[(0.5, "1")], hangup_after=2)
    pin_at = prompt_seconds(stack_settings, "de", "greeting") + 1.0

    call = await sipp(
        PREMIUM,
        [(pin_at, PREMIUM_TYPED), (pin_at + KEYS_APART, PREMIUM_PIN)],
        from_user="anonymous",
        extra_headers={"Privacy": "id"},
    )

    assert call.answered
    incoming = await phones.wait_for(STANDBY, "incoming")
    assert incoming["x_headers"]["X-Winet-Identified"] == "pin"
    record = await wait_for_record(redis)
    assert record.summary["caller_number"] == "anonymous"
    assert record.summary["identified"] == "pin"
    assert PREMIUM not in str(record), "a withheld number is not kept"


async def test_a_call_from_outside_the_trunk_is_refused(phones, sipp, redis):
    call = await sipp(PREMIUM, source=OUTSIDE_THE_TRUNK)

    assert not call.answered
    assert call.status == 403
    assert await calls.list_calls(redis) == [], "the hotline never saw the call"
    assert not phones.events(STANDBY, "incoming")


@pytest_asyncio.fixture
async def lab_mode(stack_settings) -> AsyncIterator[None]:
    """Lab mode in the running Asterisk, installed as IVR_UNTRUSTED_CALLERS=unidentified does."""
    lab = dataclasses.replace(stack_settings, untrusted_callers="unidentified")
    asterisk.reload_dialplan(lab)
    try:
        yield
    finally:
        asterisk.reload_dialplan(stack_settings)


@pytest.mark.usefixtures("lab_mode")
async def test_in_lab_mode_a_call_from_outside_the_trunk_is_asked_to_identify(
    phones, sipp, redis, stack_settings
):
    await phones.configure(STANDBY, answer_after=0.5, dtmf=[(0.5, "1")], hangup_after=2)
    pin_at = prompt_seconds(stack_settings, "de", "greeting") + 1.0

    keys = [(pin_at, PREMIUM_TYPED), (pin_at + KEYS_APART, PREMIUM_PIN)]
    call = await sipp(PREMIUM, keys, source=OUTSIDE_THE_TRUNK)

    assert call.answered
    record = await wait_for_record(redis)
    assert record.summary["caller_number"] == "anonymous"
    assert record.summary["identified"] == "pin"


@pytest.mark.parametrize(
    ("caller_id", "called"),
    # the caller's number formats are unit tests (tests/unit/store/test_phone_numbers.py); the
    # called number's are dialplan patterns ([called-number]), one call each (the national
    # 0800100200 is what every other test calls)
    [
        ("0041441234567", "+41800100200"),
        ("044 123 45 67", "0041800100200"),
        ("41441234567", "41800100200"),
    ],
)
async def test_numbers_as_carriers_send_them_reach_the_customer_and_the_hotline(
    phones, sipp, redis, stack_settings, caller_id, called
):
    incoming = await call_until_the_technician_rings(
        sipp, phones, stack_settings, caller_id, to=support_uri(stack_settings, called)
    )

    assert incoming["x_headers"]["X-Winet-Customer"] == "klinik-seefeld"
    assert incoming["x_headers"]["X-Winet-Identified"] == "caller_id"
    record = await wait_for_record(redis)
    assert record.summary["customer_id"] == "klinik-seefeld"


@pytest.mark.parametrize("caller_id", [None, "+41223456789"])
async def test_a_callback_leaves_through_the_trunk_with_the_hotlines_number(
    phones, stack_settings, caller_id
):
    """Whatever caller ID the calling channel has, the network sees the hotline's number."""
    await phones.configure("pstn", answer_after=0.2, hangup_after=1)
    query = {"endpoint": f"PJSIP/{PREMIUM}@trunk", "context": "ari-test", "extension": "answer"}
    if caller_id:
        query["callerId"] = caller_id

    asterisk.ari_request(stack_settings, "POST", f"/channels?{urllib.parse.urlencode(query)}")

    incoming = await phones.wait_for("pstn", "incoming")
    assert incoming["request_uri"] == f"sip:{PREMIUM}@{DEMO_TRUNK_HOST}:{DEMO_TRUNK_PSTN_PORT}"
    assert incoming["from_user"] == "+41800100200"
    if caller_id:
        assert caller_id not in incoming["message"], "no other identity leaves through the trunk"
    ended = await phones.wait_for("pstn", "disconnected")
    assert ended["answered"]
