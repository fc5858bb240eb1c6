import audioop
import io
import math
import subprocess
import wave
from pathlib import Path

import pytest

from ivr.prompts.build import build_prompts
from ivr.prompts.check import check_catalogue
from ivr.prompts.installed import native_path, read_manifest, sound_path
from ivr.prompts.recordings import RecordingError, import_recording


def ffmpeg(tmp_path: Path, name: str, *source: str) -> bytes:
    """An audio file made by ffmpeg from a lavfi source, e.g. a tone between two silences."""
    path = tmp_path / name
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *source, str(path)], check=True)
    return path.read_bytes()


def tone_with_silence(tmp_path: Path, name: str) -> bytes:
    """0.5 s silence, 1 s of 440 Hz, 0.5 s silence, at 44.1 kHz stereo."""
    return ffmpeg(
        tmp_path,
        name,
        "-f",
        "lavfi",
        "-i",
        "aevalsrc=if(between(t\\,0.5\\,1.5)\\,0.5*sin(2*PI*440*t)\\,0):s=44100:d=2",
        "-ac",
        "2",
    )


def snapshot(settings):
    """Everything an import may change (and the prompts folder, which it must not)."""
    files = {
        path: path.read_bytes()
        for folder in (settings.prompts_dir, settings.state_dir)
        for path in folder.rglob("*")
        if path.is_file()
    }
    sounds = {
        lang: (
            sound_path(settings.sounds_dir, lang, "greeting").read_bytes(),
            read_manifest(settings.sounds_dir, lang),
        )
        for lang in ("de", "en")
    }
    return files, sounds


def uploads(settings):
    return settings.state_dir / "recordings"


@pytest.mark.parametrize("fmt", ["wav", "mp3", "ogg", "flac"])
def test_a_good_recording_is_installed_at_once(built, tier_names, tmp_path, fmt):
    data = tone_with_silence(tmp_path, f"upload.{fmt}")
    before = sound_path(built.sounds_dir, "de", "greeting").read_bytes()

    prompts_before = {p: p.read_bytes() for p in built.prompts_dir.rglob("*") if p.is_file()}

    result = import_recording(built, tier_names, "greeting", "de", data, f"Begrüssung.{fmt}")

    assert result.recording == uploads(built) / f"de/greeting.{fmt}"
    assert result.recording.read_bytes() == data
    assert result.previous is None
    prompts_after = {p: p.read_bytes() for p in built.prompts_dir.rglob("*") if p.is_file()}
    assert prompts_after == prompts_before  # the working tree is not written
    installed = sound_path(built.sounds_dir, "de", "greeting").read_bytes()
    assert installed != before
    native = native_path(sound_path(built.sounds_dir, "de", "greeting")).read_bytes()
    assert native == audioop.lin2ulaw(installed, 2)  # what μ-law callers hear
    assert 0.95 < len(installed) / 16000 < 1.1  # the silences are trimmed off
    assert -21 < 20 * math.log10(audioop.rms(installed, 2) / 32768) < -19
    assert 0.95 < result.seconds < 1.1
    assert check_catalogue(built, tier_names) == []
    assert build_prompts(built, tier_names).built == 0  # the import left nothing to build


def test_a_second_recording_keeps_the_first(built, tier_names, tmp_path):
    first = tone_with_silence(tmp_path, "first.wav")
    second = tone_with_silence(tmp_path, "second.mp3")
    import_recording(built, tier_names, "notice/choice", "fr", first, "first.wav")

    result = import_recording(built, tier_names, "notice/choice", "fr", second, "second.mp3")

    assert result.previous is not None
    assert result.previous.parent == uploads(built) / "history/fr/notice/choice"
    assert result.previous.suffix == ".wav"
    assert result.previous.read_bytes() == first
    assert not (uploads(built) / "fr/notice/choice.wav").exists()
    assert result.recording == uploads(built) / "fr/notice/choice.mp3"
    assert check_catalogue(built, tier_names) == []
    assert build_prompts(built, tier_names).built == 0


def test_a_generated_part_can_be_recorded_too(built, tier_names, tmp_path):
    data = tone_with_silence(tmp_path, "seven.flac")
    result = import_recording(built, tier_names, "num/7", "en", data, "seven.flac")
    assert result.recording == uploads(built) / "en/num/7.flac"
    assert check_catalogue(built, tier_names) == []
    assert build_prompts(built, tier_names).built == 0


def header_only_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
    return buffer.getvalue()


BAD_UPLOADS = {
    "zero-length WAV": (lambda tmp: b"", "empty.wav", "empty.wav is empty (0 bytes)"),
    "WAV without samples": (
        lambda tmp: header_only_wav(),
        "nothing.wav",
        "nothing.wav contains no audio",
    ),
    "truncated WAV": (
        lambda tmp: (data := tone_with_silence(tmp, "whole.wav"))[: len(data) // 2],
        "half.wav",
        "half.wav is cut off: its 'data' chunk announces",
    ),
    "an hour of silence in 0.5 MB of FLAC": (
        lambda tmp: ffmpeg(
            tmp, "hour.flac", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "3600"
        ),
        "hour.flac",
        "hour.flac lasts 3600.0 s; a recording may last at most 120 s",
    ),
    "truncated MP3": (
        lambda tmp: (data := tone_with_silence(tmp, "whole.mp3"))[: len(data) // 2],
        "half.mp3",
        "half.mp3 is cut off: its header announces 2.0 s but only 1.0 s decode",
    ),
    "MP3 cut after its first bytes": (
        lambda tmp: tone_with_silence(tmp, "whole.mp3")[:300],
        "stub.mp3",
        "stub.mp3 does not decode as MP3",
    ),
    "noise that is no OGG": (
        lambda tmp: bytes(range(256)) * 40,
        "noise.ogg",
        "noise.ogg does not decode as OGG",
    ),
    "30 s of silence": (
        lambda tmp: ffmpeg(
            tmp, "quiet.wav", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "30"
        ),
        "quiet.wav",
        "quiet.wav is silent",
    ),
    "a 10-minute file": (
        lambda tmp: ffmpeg(tmp, "long.flac", "-f", "lavfi", "-i", "sine=f=300:r=8000:d=600"),
        "long.flac",
        "long.flac lasts 600.0 s; a recording may last at most 120 s",
    ),
    "an unsupported type": (
        lambda tmp: b"ID3" + bytes(500),
        "voice.aac",
        "voice.aac: unsupported file type; use one of .wav, .mp3, .ogg, .flac",
    ),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_a_bad_upload_is_refused_and_changes_nothing(built, tier_names, tmp_path, case):
    make, filename, message = BAD_UPLOADS[case]
    data = make(tmp_path)
    before = snapshot(built)

    with pytest.raises(RecordingError) as refused:
        import_recording(built, tier_names, "greeting", "de", data, filename)

    assert str(refused.value).startswith(message)
    assert snapshot(built) == before


@pytest.mark.parametrize(
    ("prompt_id", "lang", "message"),
    [
        ("greetings", "de", "no prompt 'greetings': not in the catalogue"),
        ("tier/gold", "de", "no prompt 'tier/gold'"),  # no such tier in the tables
        ("num/100000", "de", "no prompt 'num/100000'"),
        ("time/am", "de", "no prompt 'time/am'"),  # only English says a.m.
        ("greeting", "rm", "language 'rm' is not one of de, fr, it, en"),
    ],
)
def test_unknown_prompts_and_languages_are_refused(
    built, tier_names, tmp_path, prompt_id, lang, message
):
    data = tone_with_silence(tmp_path, "ok.wav")
    before = snapshot(built)
    with pytest.raises(RecordingError, match=message):
        import_recording(built, tier_names, prompt_id, lang, data, "ok.wav")
    assert snapshot(built) == before
