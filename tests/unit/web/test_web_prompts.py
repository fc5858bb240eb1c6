"""Prompts in the admin console: listed by id and language, played, uploaded, rebuilt."""

import io
import math
import os
import shutil
import struct
import wave

import pytest
from aiohttp import FormData

from ivr.config import REPO_DIR, Settings
from ivr.prompts.build import build_prompts
from ivr.prompts.installed import sound_path
from tests.unit.web.records import default_tables


@pytest.fixture(scope="session")
def built_sounds(tmp_path_factory):
    """The repository's prompts, built for real once per session."""
    root = tmp_path_factory.mktemp("web-prompts")
    shutil.copytree(REPO_DIR / "prompts", root / "prompts")
    settings = Settings.from_env(
        {"IVR_PROMPTS_DIR": str(root / "prompts"), "IVR_SOUNDS_DIR": str(root / "sounds")}
    )
    tier_names = default_tables().tier_names
    assert build_prompts(settings, tier_names).failures == []
    return root / "sounds"


@pytest.fixture
def sounds(settings, built_sounds):
    """The console's own copy of the built sounds (hard links: the pipeline only renames)."""
    shutil.copytree(built_sounds, settings.sounds_dir, copy_function=os.link)
    return settings.sounds_dir


def tone(seconds=1.0, rate=16000):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        samples = (
            int(12000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(rate * seconds))
        )
        wav.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


async def upload(admin, data, filename, prompt_id="greeting", lang="de"):
    form = FormData()
    form.add_field("prompt_id", prompt_id)
    form.add_field("lang", lang)
    form.add_field("file", data, filename=filename)
    return await admin.client.post(
        "/admin/prompts/upload",
        data=form,
        headers={"Accept": "text/html", "X-CSRF-Token": admin.csrf},
        allow_redirects=False,
    )


async def test_every_prompt_by_id_and_language_with_a_player(sounds, admin):
    page = await admin.page("/admin/prompts")
    assert "<code>greeting</code>" in page and "Willkommen beim Winet-Support." in page
    assert "Welcome to Winet support." in page
    for lang in ("de", "fr", "it", "en"):
        assert f'href="/admin/prompts/audio/{lang}/notice/fee.wav"' in page
    assert "<code>tier/pro</code>" in page
    assert "Generated parts: numbers, times, weekday ranges" in page
    assert "not built" not in page


async def test_a_prompt_plays_as_wav(settings, sounds, admin):
    response = await admin.get("/admin/prompts/audio/de/notice/fee.wav")
    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(await response.read())) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        raw = sound_path(settings.sounds_dir, "de", "notice/fee").read_bytes()
        assert wav.readframes(wav.getnframes()) == raw


async def test_only_installed_prompts_are_served(settings, sounds, admin):
    assert (await admin.get("/admin/prompts/audio/xx/greeting.wav")).status == 404
    assert (
        await admin.get("/admin/prompts/audio/de/..%2F..%2Fsecrets%2Fpin-key.wav")
    ).status == 404
    sound_path(settings.sounds_dir, "de", "greeting").unlink()
    assert (await admin.get("/admin/prompts/audio/de/greeting.wav")).status == 404
    assert "not built" in await admin.page("/admin/prompts")


async def test_uploading_a_recording_installs_it_at_once(settings, sounds, admin):
    before = sound_path(settings.sounds_dir, "de", "greeting").read_bytes()
    response = await upload(admin, tone(), "greeting-studio.wav")
    assert response.status == 303
    assert response.headers["Location"] == "/admin/prompts?msg=uploaded"
    after = sound_path(settings.sounds_dir, "de", "greeting").read_bytes()
    assert after != before and 7000 < len(after) / 2 < 9000  # about 1 s at 8 kHz
    assert (settings.state_dir / "recordings/de/greeting.wav").read_bytes() == tone()
    assert not (settings.prompts_dir / "recordings").exists()  # the working tree is untouched
    page = await admin.page("/admin/prompts?msg=uploaded")
    assert "Recording installed" in page and "recording greeting.wav" in page


async def test_a_bad_upload_is_refused_and_changes_nothing(settings, sounds, admin):
    before = sound_path(settings.sounds_dir, "de", "greeting").read_bytes()
    cases = [
        (b"not audio at all", "greeting.wav", "greeting", "de", "is not a WAV file"),
        (tone(), "greeting.txt", "greeting", "de", "unsupported file type"),
        (tone(), "x.wav", "no_such_prompt", "de", "no prompt &#x27;no_such_prompt&#x27;"),
        (tone(), "x.wav", "greeting", "xx", "language &#x27;xx&#x27; is not one of"),
        (tone(), "x.wav", "tier/gold", "de", "no prompt &#x27;tier/gold&#x27;"),
    ]
    for data, filename, prompt_id, lang, reason in cases:
        response = await upload(admin, data, filename, prompt_id, lang)
        assert response.status == 422, filename
        assert reason in await response.text(), reason
    assert sound_path(settings.sounds_dir, "de", "greeting").read_bytes() == before
    assert not (settings.state_dir / "recordings").exists()


async def test_rebuilding_renders_what_changed(settings, sounds, admin):
    catalogue = settings.prompts_dir / "catalogue.toml"
    text = catalogue.read_text()
    catalogue.write_text(
        text.replace('en = "Welcome to Winet support."', 'en = "Hello from Winet."')
    )
    response = await admin.post("/admin/prompts/rebuild", {})
    assert response.status == 200
    page = await response.text()
    assert "Prompts rebuilt" in page and "1 built, " in page and "0 removed" in page
