"""The phone controller's pure parts: behaviours, INVITE summaries, WAV checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.phone_agent import invite_summary, request_uri_address, wav_complete
from tests.harness.phones import audio_level, behaviour, tone, write_wav

INVITE = (
    "INVITE sip:xy-desk@127.0.0.1:5074 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
    'f: "Klinik Seefeld" <sip:+41441234567@127.0.0.1>;tag=abc\r\n'
    "To: <sip:xy-desk@127.0.0.1:5074>\r\n"
    "Call-ID: 42@127.0.0.1\r\n"
    "X-Winet-Customer: klinik-seefeld\r\n"
    "x-winet-tier: premium\r\n"
    "X-Winet-Consent: 1@2026-11-28T10:16:02+01:00\r\n"
    "Privacy: id\r\n"
    "Content-Length: 0\r\n\r\n"
)


def test_an_invite_is_summed_up_with_caller_and_x_headers() -> None:
    summary = invite_summary(INVITE)
    assert summary["request_uri"] == "sip:xy-desk@127.0.0.1:5074"
    assert (summary["from_user"], summary["from_display"]) == ("+41441234567", "Klinik Seefeld")
    assert summary["call_id"] == "42@127.0.0.1"
    assert summary["privacy"] == "id" and summary["p_asserted_identity"] is None
    assert summary["x_headers"] == {
        "X-Winet-Customer": "klinik-seefeld",
        "x-winet-tier": "premium",
        "X-Winet-Consent": "1@2026-11-28T10:16:02+01:00",
    }


def test_the_phone_an_invite_is_for_is_found_by_its_request_uri_address() -> None:
    assert request_uri_address(INVITE) == ("127.0.0.1", 5074)
    trunk = "INVITE sip:+41441234567@127.0.0.2:5090;user=phone SIP/2.0\r\n\r\n"
    assert request_uri_address(trunk) == ("127.0.0.2", 5090)
    assert request_uri_address("INVITE sip:127.0.0.2 SIP/2.0\r\n") == ("127.0.0.2", 5060)
    assert request_uri_address("SIP/2.0 200 OK\r\n") is None


def test_behaviours_are_checked_naming_what_is_wrong(tmp_path: Path) -> None:
    assert behaviour(dtmf=[(0.5, "1")]).to_json()["dtmf"] == [[0.5, "1"]]
    with pytest.raises(ValueError, match="SIP failure status"):
        behaviour(reject=180)
    with pytest.raises(ValueError, match="hangup_after must not be negative"):
        behaviour(hangup_after=-1)
    with pytest.raises(ValueError, match="bad DTMF step"):
        behaviour(dtmf=[(1, "12x")])
    with pytest.raises(ValueError, match="no audio file"):
        behaviour(play=tmp_path / "missing.wav")
    with pytest.raises(ValueError, match="unknown phone behaviour"):
        behaviour(answer_afterr=1)


def test_audio_level_tells_a_tone_from_silence(tmp_path: Path) -> None:
    half = write_wav(tmp_path / "half.wav", [0] * 16000 + tone(1.0, rate=16000), rate=16000)
    level = audio_level(half)
    assert level.seconds == pytest.approx(2.0)
    assert level.voiced_seconds == pytest.approx(1.0, abs=0.03)
    assert level.peak == pytest.approx(12000, abs=2)
    silent = audio_level(write_wav(tmp_path / "silent.wav", [3, -3] * 8000, rate=16000))
    assert (silent.voiced_seconds, silent.peak) == (0, 3)


def test_a_wav_is_complete_once_its_header_counts_every_byte(tmp_path: Path) -> None:
    complete = write_wav(tmp_path / "done.wav", [0] * 800)  # closed by the wave module
    assert wav_complete(complete)
    growing = tmp_path / "growing.wav"
    growing.write_bytes(complete.read_bytes()[:4] + bytes(4) + complete.read_bytes()[8:])
    assert not wav_complete(growing)
    assert not wav_complete(tmp_path / "absent.wav")
