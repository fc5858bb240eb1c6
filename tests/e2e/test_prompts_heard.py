"""What a caller hears on the notice path (issue 5): a pjsua2 caller records the call, and a
second ARI connection watches the playbacks the worker starts."""

from __future__ import annotations

import pytest
from pydub import AudioSegment
from pydub.silence import detect_nonsilent

from tests.e2e.conftest import prompt_seconds, publish_change, wait_for_record
from tests.harness.ari_observer import observe_ari
from tests.harness.sipp import support_number_uri

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker", "clean_asterisk")]

PRO_ITALIAN = "+41912345678"  # studio-lugano: pro (not covered on Saturday), speaks Italian


async def test_the_notice_is_heard_in_the_callers_language(worker, phones, redis, stack_settings):
    await publish_change(
        redis, worker, "hotline.toml", "repeats_before_consent = 1", "repeats_before_consent = 0"
    )
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=1)

    async with observe_ari(stack_settings) as ari:
        heard = await phones.record_call(support_number_uri(), caller_id=PRO_ITALIAN, within=120)

    record = await wait_for_record(redis)
    played = ari.playbacks(record.call_id)
    intended = [
        (f"sound:winet/{prompt_id}", event["lang"])
        for event in record.events
        if event["kind"] == "prompt"
        for prompt_id in event["ids"]
    ]
    # the greeting in the hotline's language, then everything in the customer's
    assert played[0] == ("sound:winet/greeting", "de")
    assert {lang for _, lang in played[1:]} == {"it"}
    notice = [media for media, _ in played[1:]]
    assert notice[0] == "sound:winet/notice/outside_hours"
    assert "sound:winet/tier/pro" in notice
    assert notice[notice.index("sound:winet/notice/choice") + 1] == "sound:winet/connecting_desk"
    assert played == intended, "Asterisk played exactly what the flow asked for, in order"

    assert heard.answered and heard.recording is not None
    speech_expected = sum(
        prompt_seconds(stack_settings, lang, media.removeprefix("sound:winet/"))
        for media, lang in played
    )
    audio = AudioSegment.from_wav(heard.recording)
    speech = sum(end - start for start, end in detect_nonsilent(audio, 250, -45)) / 1000
    assert 0.8 * speech_expected <= speech <= 1.25 * speech_expected + 1, (
        f"heard {speech:.1f} s of sound, the prompts last {speech_expected:.1f} s"
    )
    assert record.summary["consent"] == "silence"
