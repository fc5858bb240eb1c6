"""The harness itself, phone to phone on loopback: SIPp and pjsua2 calling the test phones.

No Asterisk: SIPp and the `caller` phone call the technician and desk phones directly. The
phones bind the shared test-phone ports, so run this under the e2e lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.harness import dtmf
from tests.harness.phones import PhoneAgentError, Phones, audio_level, tone, write_wav
from tests.harness.sipp import CallResult, answering_phone, place_calls

pytestmark = pytest.mark.e2e

CALLER_ID = "+41441234567"


async def sipp_to_phone(
    sipp: Callable[..., Any], phones: Phones, name: str, *args: Any, **options: Any
) -> CallResult:
    # straight to the phone, from the phones' own address: no provider trunk in between
    result = await sipp(*args, to=phones.uri(name), source="127.0.0.1", timeout=30, **options)
    assert result.completed, f"SIPp did not finish its scenario: {result.errors}"
    await phones.wait_for(name, "disconnected")
    return result


@pytest.mark.parametrize("digits", ["123456#", "0*9#", "11", "ABCD", "7"])
async def test_sipp_digits_reach_the_phone_in_order(phones: Phones, sipp: Callable, digits: str):
    hang_up = 0.3 + dtmf.digit_span_ms(digits) / 1000 + 0.7
    result = await sipp_to_phone(
        sipp, phones, "tech-anna", CALLER_ID, [(0.3, digits)], hangup_after=hang_up
    )
    assert phones.digits("tech-anna") == digits
    assert result.answered and result.hangup_by == "caller"
    assert [d for _, d in result.dtmf_sent] == [digits]


async def test_two_batches_arrive_in_order_at_their_offsets(phones: Phones, sipp: Callable):
    result = await sipp_to_phone(
        sipp, phones, "tech-anna", CALLER_ID, [(0.3, "123456#"), (3.5, "1")], hangup_after=4.5
    )
    assert phones.digits("tech-anna") == "123456#1"
    sent_at = [at for at, _ in result.dtmf_sent]
    assert sent_at == pytest.approx([0.3, 3.5], abs=0.05)
    answered = (await phones.wait_for("tech-anna", "answered")).time
    first = [e.time - answered for e in phones.events("tech-anna", "dtmf")]
    assert first[0] == pytest.approx(0.3, abs=0.2)
    assert first[-1] == pytest.approx(3.5, abs=0.2)


async def test_the_phone_sees_the_caller_id_and_the_x_headers(phones: Phones, sipp: Callable):
    headers = {"X-Winet-Customer": "c-42", "X-Winet-Tier": "pro"}
    await sipp_to_phone(sipp, phones, "xy-desk", CALLER_ID, hangup_after=0.5, extra_headers=headers)
    invite = await phones.wait_for("xy-desk", "incoming")
    assert invite["from_user"] == CALLER_ID
    assert invite["p_asserted_identity"] == f"<sip:{CALLER_ID}@127.0.0.1>"
    assert invite["x_headers"] == headers
    assert invite["request_uri"] == phones.uri("xy-desk")


async def test_a_withheld_number_is_anonymous_with_privacy(phones: Phones, sipp: Callable):
    await sipp_to_phone(sipp, phones, "xy-desk", None, hangup_after=0.5)
    invite = await phones.wait_for("xy-desk", "incoming")
    assert invite["from_user"] == "anonymous"
    assert invite["privacy"] == "id"
    assert invite["p_asserted_identity"] is None


@pytest.mark.parametrize(("status", "reason"), [(486, "Busy Here"), (603, "Decline")])
async def test_a_refusing_phone_gives_its_status_to_sipp(
    phones: Phones, sipp: Callable, status: int, reason: str
):
    await phones.configure("tech-marco", reject=status, reject_after=0.3)
    result = await sipp_to_phone(sipp, phones, "tech-marco", CALLER_ID)
    assert (result.answered, result.status, result.provisional) == (False, status, [180])
    assert result.setup_seconds == pytest.approx(0.3, abs=0.2)
    end = await phones.wait_for("tech-marco", "disconnected")
    assert (end["answered"], end["by"], end["status"], end["reason"]) == (
        False,
        "local",
        status,
        reason,
    )


async def test_a_phone_that_never_answers_is_cancelled(phones: Phones, sipp: Callable):
    await phones.configure("tech-lea", answer_after=None)
    result = await sipp_to_phone(sipp, phones, "tech-lea", CALLER_ID, cancel_after=1.5)
    assert (result.answered, result.cancelled, result.status) == (False, True, 487)
    end = await phones.wait_for("tech-lea", "disconnected")
    assert (end["answered"], end["by"], end["status"]) == (False, "remote", 487)
    assert end["total_seconds"] == pytest.approx(1.5, abs=0.3)


async def test_the_phone_hanging_up_ends_the_sipp_call(phones: Phones, sipp: Callable):
    await phones.configure("tech-anna", answer_after=0.5, hangup_after=1.0)
    result = await sipp_to_phone(sipp, phones, "tech-anna", CALLER_ID)
    assert result.hangup_by == "far_end"
    assert result.setup_seconds == pytest.approx(0.5, abs=0.2)
    assert result.talk_seconds == pytest.approx(1.0, abs=0.2)
    end = await phones.wait_for("tech-anna", "disconnected")
    assert (end["by"], end["connected_seconds"]) == ("local", pytest.approx(1.0, abs=0.2))


# Right after answer, SIPp has just sent its ACK; 0.05 s later its first wait is under way.
@pytest.mark.parametrize("after_answer", [0.0, 0.05, 0.3])
async def test_sipp_keeps_its_schedule_through_a_re_invite_and_an_update(
    phones: Phones, sipp: Callable, after_answer: float
):
    call = asyncio.create_task(
        sipp(CALLER_ID, [(2.5, "9")], to=phones.uri("tech-anna"), hangup_after=3.5, timeout=30)
    )
    await phones.wait_for("tech-anna", "answered")
    await asyncio.sleep(after_answer)
    assert await phones.reoffer("tech-anna", "INVITE")
    await asyncio.sleep(0.5)
    assert await phones.reoffer("tech-anna", "UPDATE")
    result = await call
    assert result.completed and result.exit_code == 0, result.errors
    assert result.hangup_by == "caller"
    assert result.talk_seconds == pytest.approx(3.5, abs=0.2)
    await phones.wait_for("tech-anna", "dtmf")
    assert phones.digits("tech-anna") == "9"


async def test_a_technician_pressing_1_reaches_the_pjsua2_caller(phones: Phones):
    await phones.configure("tech-anna", dtmf=[(0.5, "1")], hangup_after=1.5)
    call = await phones.dial("caller", phones.uri("tech-anna"), caller_id="hotline")
    await phones.wait_for("caller", "disconnected", call=call)
    assert phones.digits("caller", call) == "1"
    assert (await phones.wait_for("tech-anna", "incoming"))["from_user"] == "hotline"


async def test_the_recording_caller_records_what_the_phone_plays(phones: Phones, tmp_path: Path):
    played = write_wav(tmp_path / "tone.wav", tone(1.0))
    await phones.configure("xy-desk", play=played, hangup_after=2.0)
    recorded = await phones.record_call(phones.uri("xy-desk"), caller_id=CALLER_ID, within=10)
    assert recorded.answered and recorded.hung_up_by == "remote"
    level = audio_level(recorded.recording)
    assert level.seconds == pytest.approx(2.0, abs=0.3)
    assert level.voiced_seconds > 1.5  # the tone loops for the whole call
    assert level.rms > 3000


async def test_a_silent_phone_records_as_silence(phones: Phones):
    await phones.configure("xy-desk", hangup_after=1.0)
    recorded = await phones.record_call(phones.uri("xy-desk"), caller_id=CALLER_ID, within=10)
    level = audio_level(recorded.recording)
    assert level.seconds == pytest.approx(1.0, abs=0.3)
    assert level.voiced_seconds == 0


async def test_load_mode_counts_the_calls(phones: Phones):
    await phones.configure("tech-anna", hangup_after=1.0)
    result = await place_calls(
        12,
        concurrent=4,  # the most calls the pjsua2 agent takes at once
        rate=10,
        caller_ids=[CALLER_ID, None],
        dtmf_schedule=[(0.2, "1")],
        to=phones.uri("tech-anna"),
        timeout=60,
    )
    assert (result.calls, result.successful, result.failed) == (12, 12, 0), result.errors
    assert (result.answered, result.statuses[200], result.hangups["far_end"]) == (12, 12, 12)
    await phones.wait_for("tech-anna", "disconnected", count=12)
    invites = phones.events("tech-anna", "incoming")
    assert sorted({e["from_user"] for e in invites}) == [CALLER_ID, "anonymous"]
    assert phones.digits("tech-anna") == "1" * 12


async def test_the_agent_refuses_what_it_cannot_do(phones: Phones):
    with pytest.raises(ValueError, match="no phone named 'nobody'"):
        await phones.configure("nobody", answer_after=1)
    with pytest.raises(ValueError, match="SIP failure status"):
        await phones.configure("tech-anna", reject=200)
    with pytest.raises(PhoneAgentError, match=r"refused 'reoffer'.*INVITE or UPDATE"):
        await phones.reoffer("tech-anna", "OPTIONS")
    with pytest.raises(TimeoutError, match=r"no 'incoming' event #1 within 0\.2s"):
        await phones.wait_for("tech-lea", "incoming", timeout=0.2)


ANSWERER_PORT = 5099  # a caller-side port: no pjsua2 phone is there


async def test_a_sipp_answering_phone_takes_fifty_calls_at_once():
    uri = f"sip:load@127.0.0.1:{ANSWERER_PORT}"
    async with answering_phone("load", ANSWERER_PORT, dtmf_schedule=[(0.3, "1")]) as phone:
        result = await place_calls(
            50, concurrent=50, rate=100, to=uri, hangup_after=2.0, dtmf_schedule=[(0.5, "42")]
        )
        summary = await phone.summary()
    assert (result.calls, result.successful, result.failed, result.answered) == (50, 50, 0, 50)
    assert result.hangups == {"caller": 50}
    assert (summary.calls, summary.answered, summary.hung_up_by_far_end) == (50, 50, 50)
    assert summary.dtmf_batches_sent == 50
    assert not summary.errors


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ({"reject": 603}, (False, 603, None)),
        ({"answer_after": None}, (False, 487, None)),
        ({"answer_after": 0, "hangup_after": 0}, (True, 200, "far_end")),
    ],
)
async def test_a_sipp_answering_phone_refuses_ignores_or_hangs_up(
    behaviour: dict[str, Any], expected: tuple[bool, int, str | None], sipp: Callable
):
    uri = f"sip:desk@127.0.0.1:{ANSWERER_PORT}"
    async with answering_phone("desk", ANSWERER_PORT, **behaviour) as phone:
        result = await sipp(CALLER_ID, to=uri, cancel_after=1.0, timeout=20)
        summary = await phone.summary()
    assert (result.answered, result.status, result.hangup_by) == expected
    assert result.completed, result.errors
    assert summary.calls == 1 and not summary.errors
