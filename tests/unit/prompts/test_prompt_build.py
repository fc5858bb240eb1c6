import asyncio
import audioop
import math

from pydub.generators import Sine

from ivr.prompts import audio
from ivr.prompts.build import build_prompts
from ivr.prompts.catalogue import FLOW_PROMPTS
from ivr.prompts.check import check_catalogue
from ivr.prompts.installed import native_path, read_manifest, sound_path
from ivr.prompts.phrase import render_phrase
from ivr.prompts.speech import LANGUAGES, generated_prompts


def dbfs(raw: bytes) -> float:
    rms = audioop.rms(raw, 2)
    return 20 * math.log10(rms / 32768) if rms else -math.inf


def test_a_full_build_installs_every_prompt_in_every_language(built_once, tier_names):
    root, report = built_once
    sounds = root / "sounds"
    expected = len(FLOW_PROMPTS) + len(tier_names)
    assert report.built == sum(expected + len(generated_prompts(lang)) for lang in LANGUAGES)
    for lang in LANGUAGES:
        for prompt_id in [*FLOW_PROMPTS, *generated_prompts(lang), "tier/pro-plus"]:
            raw = sound_path(sounds, lang, prompt_id).read_bytes()
            assert len(raw) > 800 and len(raw) % 2 == 0, (lang, prompt_id)
    assert not list(sounds.rglob("*.tmp")), "temporary files left behind"


def test_built_prompts_are_trimmed_and_at_one_loudness(built_once):
    root, _ = built_once
    for lang in LANGUAGES:
        for prompt_id in ("greeting", "notice/choice", "num/7", "days/mon-fri"):
            raw = sound_path(root / "sounds", lang, prompt_id).read_bytes()
            assert -21.5 < dbfs(raw) < -19.0, (lang, prompt_id, dbfs(raw))
            edge = 2 * 80  # the first and last 10 ms
            assert dbfs(raw[:edge]) < dbfs(raw) and dbfs(raw[-edge:]) < dbfs(raw)
            # nothing but the 20 ms kept at each end is quiet: speech starts right away
            assert dbfs(raw[: 2 * 8 * 60]) > -45


def test_longer_texts_make_longer_prompts(built_once):
    root, _ = built_once
    seconds = {
        prompt_id: len(sound_path(root / "sounds", "de", prompt_id).read_bytes()) / 16000
        for prompt_id in ("num/7", "greeting", "notice/outside_hours")
    }
    assert 0.2 < seconds["num/7"] < 1.0
    assert seconds["num/7"] < seconds["greeting"] < seconds["notice/outside_hours"] < 20


def test_a_rebuild_without_changes_renders_nothing(built, tier_names):
    report = build_prompts(built, tier_names)
    assert (report.built, report.removed, report.failures) == (0, 0, [])
    assert report.unchanged > 1000


def test_a_changed_text_rebuilds_only_that_prompt(built, tier_names):
    catalogue = built.prompts_dir / "catalogue.toml"
    catalogue.write_text(
        catalogue.read_text().replace(
            'en = "Welcome to Winet support."', 'en = "Welcome to the Winet support line."'
        )
    )
    before = sound_path(built.sounds_dir, "en", "greeting").read_bytes()
    report = build_prompts(built, tier_names)
    assert report.built == 1
    assert sound_path(built.sounds_dir, "en", "greeting").read_bytes() != before
    assert check_catalogue(built, tier_names) == []


def test_every_sound_has_its_mu_law_copy_beside_it(built_once):
    root, _ = built_once
    for lang in LANGUAGES:
        sln = sound_path(root / "sounds", lang, "greeting").read_bytes()
        ulaw = native_path(sound_path(root / "sounds", lang, "greeting")).read_bytes()
        assert len(ulaw) == len(sln) // 2
        assert abs(dbfs(audioop.ulaw2lin(ulaw, 2)) - dbfs(sln)) < 0.5, lang


def test_a_build_adds_the_mu_law_copies_an_older_installation_lacks(built, tier_names):
    greeting = sound_path(built.sounds_dir, "fr", "greeting")
    native_path(greeting).unlink()
    report = build_prompts(built, tier_names)
    assert report.built == 0
    assert native_path(greeting).read_bytes() == audioop.lin2ulaw(greeting.read_bytes(), 2)


def test_a_removed_tier_is_uninstalled(built, tier_names):
    fewer = {k: v for k, v in tier_names.items() if k != "basic"}
    report = build_prompts(built, fewer)
    assert report.removed == len(LANGUAGES)
    assert not sound_path(built.sounds_dir, "de", "tier/basic").exists()
    assert not native_path(sound_path(built.sounds_dir, "de", "tier/basic")).exists()
    assert "tier/basic" not in read_manifest(built.sounds_dir, "de")


def test_a_renamed_tier_is_rendered_again(built, tier_names):
    report = build_prompts(built, {**tier_names, "pro": "winCall pro classic"})
    assert report.built == len(LANGUAGES)


def test_check_passes_on_a_complete_build(built, tier_names):
    assert check_catalogue(built, tier_names) == []


def test_check_names_a_missing_sound(built, tier_names):
    sound_path(built.sounds_dir, "it", "pin_wrong").unlink()
    problems = check_catalogue(built, tier_names)
    assert len(problems) == 1
    assert problems[0].startswith("pin_wrong [it]: no audio at ")


def test_check_names_a_damaged_sound(built, tier_names):
    damaged = sound_path(built.sounds_dir, "fr", "num/21")
    damaged.unlink()
    damaged.write_bytes(b"")
    assert check_catalogue(built, tier_names) == [
        f"num/21 [fr]: the audio at {sound_path(built.sounds_dir, 'fr', 'num/21')} is damaged "
        "or unreadable (run: ivr prompts build --force)"
    ]


def test_check_names_a_tier_that_was_never_built(built, tier_names):
    problems = check_catalogue(built, {**tier_names, "gold": "Gold"})
    assert [p.split(":")[0] for p in problems] == [f"tier/gold [{lang}]" for lang in LANGUAGES]


def test_check_names_a_text_edited_since_the_build(built, tier_names):
    catalogue = built.prompts_dir / "catalogue.toml"
    catalogue.write_text(catalogue.read_text().replace("Bitte bleiben Sie", "Bleiben Sie bitte"))
    problems = check_catalogue(built, tier_names)
    assert len(problems) == 1
    assert problems[0].startswith("please_hold [de]: the audio at")
    assert problems[0].endswith("is out of date (run: ivr prompts build)")


def test_check_names_a_language_missing_from_the_catalogue(built, tier_names):
    catalogue = built.prompts_dir / "catalogue.toml"
    catalogue.write_text(catalogue.read_text().replace('it = "Resti in linea, per favore."\n', ""))
    assert check_catalogue(built, tier_names) == ["please_hold [it]: no text"]


def test_check_names_a_missing_recording(built, tier_names):
    catalogue = built.prompts_dir / "catalogue.toml"
    catalogue.write_text(
        catalogue.read_text().replace(
            'en = "Thank you for calling. Goodbye."',
            'en = "Thank you for calling. Goodbye."\nrecording.en = "recordings/en/goodbye.wav"',
        )
    )
    problems = check_catalogue(built, tier_names)
    assert len(problems) == 1
    assert problems[0].startswith("goodbye [en]: recording ")
    assert "recordings/en/goodbye.wav cannot be read" in problems[0]


def test_resampling_many_prompts_together_equals_resampling_each_alone():
    tones = [
        Sine(300 + 100 * i).to_audio_segment(duration=300 + 170 * i).apply_gain(-6)
        for i in range(5)
    ]
    segments = [audio.condition(t.set_frame_rate(22050)) for t in tones]
    together = audio.to_sln(segments)
    alone = [audio.to_sln([segment])[0] for segment in segments]
    for segment, joint, single in zip(segments, together, alone, strict=True):
        assert len(joint) == len(single)
        assert abs(len(joint) / 16 - len(segment)) <= 1  # milliseconds
        # ffmpeg starts a stream's filter differently; these tones start at full level, so
        # the first 2 ms may differ a little. Speech starts from silence and comes out equal.
        assert joint[32:] == single[32:]
        assert audioop.rms(audioop.add(joint[:32], audioop.mul(single[:32], 2, -1), 2), 2) < 300


async def test_a_phrase_is_rendered_once_and_cached(built):
    uri = await render_phrase("Klinik  Seefeld AG", "de", built)
    assert uri.startswith("sound:winet/phrase/")
    path = sound_path(built.sounds_dir, "de", uri.removeprefix("sound:winet/"))
    assert path.stat().st_size > 8000
    assert native_path(path).stat().st_size == path.stat().st_size // 2
    first_write = path.stat().st_mtime_ns
    assert await render_phrase("Klinik Seefeld AG", "de", built) == uri
    assert path.stat().st_mtime_ns == first_write
    assert await render_phrase("Bäckerei Huber", "de", built) != uri
    in_french = await render_phrase("Klinik Seefeld AG", "fr", built)
    assert in_french != uri
    assert sound_path(built.sounds_dir, "fr", in_french.removeprefix("sound:winet/")).exists()


async def test_a_phrase_this_process_rendered_is_not_looked_for_again(built, monkeypatch):
    uri = await render_phrase("Garage Meier", "de", built)

    def no_thread(*args, **kwargs):
        raise AssertionError("the phrase was looked for again")

    monkeypatch.setattr(asyncio, "to_thread", no_thread)
    assert await render_phrase("Garage  Meier", "de", built) == uri


async def test_phrases_render_concurrently_off_the_event_loop(built):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    uris = await asyncio.gather(*(render_phrase(f"Kunde {n}", "de", built) for n in range(4)))
    task.cancel()
    assert len(set(uris)) == 4
    assert ticks > 3  # the loop kept running while espeak-ng and ffmpeg worked


def test_asterisk_says_numbers_in_our_languages_from_our_rendered_numbers(built_once):
    sounds = built_once[0] / "sounds"
    for lang in ("de", "fr", "it"):
        digits = sounds / lang / "digits"
        assert digits.is_symlink() and (digits / "7.sln").is_file(), lang
    assert not (sounds / "en" / "digits").is_symlink(), "Asterisk's own English"
