"""`ivr prompts build`: render every prompt of every language and install it for Asterisk.

A prompt comes from its uploaded recording (`uploaded`, in the state folder) or the recording
the catalogue names for that language, otherwise from espeak-ng speaking its text. Only
prompts whose content hash (text and voice, or the recording's bytes, plus the pipeline
version) differs from the manifest are rendered again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pydub import AudioSegment

from ivr.config import Settings
from ivr.prompts import audio
from ivr.prompts.catalogue import Catalogue, is_generated, load_catalogue
from ivr.prompts.installed import (
    ASTERISK_DIGITS_FROM_OURS,
    ensure_native_copy,
    install_sound,
    link_asterisk_digits,
    prompts_lock,
    read_manifest,
    remove_sound,
    sound_path,
    write_manifest,
)
from ivr.prompts.speech import LANGUAGES, generated_prompts, tier_prompts
from ivr.prompts.uploaded import uploaded_recordings

_LARGEST_BATCH = 40  # prompts per ffmpeg run


@dataclass(frozen=True)
class Speech:
    """A prompt spoken by espeak-ng."""

    text: str
    lang: str

    def digest(self) -> str:
        voice = [audio.VOICES[self.lang], audio.SPEED_WORDS_PER_MINUTE]
        return _hash(["speech", audio.PIPELINE_VERSION, voice, self.text])

    def render(self) -> AudioSegment:
        return audio.condition(audio.synthesize(self.text, self.lang))


@dataclass(frozen=True)
class Recording:
    """A prompt played from a recorded file."""

    path: Path

    def digest(self) -> str:
        content = hashlib.sha256(self.path.read_bytes()).hexdigest()
        return _hash(["recording", audio.PIPELINE_VERSION, content])

    def render(self) -> AudioSegment:
        fmt = self.path.suffix.lstrip(".").lower()
        return audio.condition(audio.decode(self.path.read_bytes(), fmt))


Source = Speech | Recording


def _hash(parts: list) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def plan_prompts(
    catalogue: Catalogue,
    tier_names: Mapping[str, str],
    uploaded: Mapping[str, Mapping[str, Path]] | None = None,
) -> dict[str, dict[str, Source]]:
    """Per language, every prompt id to install and where its sound comes from; `uploaded`
    ({language: {prompt id: file}}) wins over the catalogue for the prompts it names."""
    plan: dict[str, dict[str, Source]] = {}
    for lang in LANGUAGES:
        texts = {
            prompt_id: entry.texts[lang]
            for prompt_id, entry in catalogue.entries.items()
            if not is_generated(prompt_id)
        }
        texts |= generated_prompts(lang) | tier_prompts(dict(tier_names), lang)
        sources: dict[str, Source] = {
            prompt_id: Speech(text, lang) for prompt_id, text in texts.items()
        }
        for prompt_id in catalogue.entries:
            recording = catalogue.recording(prompt_id, lang)
            if recording is not None:
                sources[prompt_id] = Recording(recording)
        for prompt_id, path in (uploaded or {}).get(lang, {}).items():
            if prompt_id in sources:
                sources[prompt_id] = Recording(path)
        plan[lang] = sources
    return plan


@dataclass(frozen=True)
class Job:
    lang: str
    prompt_id: str
    source: Source
    digest: str


@dataclass
class BuildReport:
    built: int = 0
    unchanged: int = 0
    removed: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def build_prompts(
    settings: Settings,
    tier_names: Mapping[str, str],
    *,
    jobs: int | None = None,
    force: bool = False,
) -> BuildReport:
    """Render what changed, install it atomically, and drop prompts no longer in the plan."""
    started = time.monotonic()
    catalogue = load_catalogue(settings.prompts_dir)
    plan = plan_prompts(catalogue, tier_names, uploaded_recordings(settings))
    report = BuildReport()
    with prompts_lock(settings.sounds_dir):
        manifests = {lang: read_manifest(settings.sounds_dir, lang) for lang in LANGUAGES}
        work = []
        for lang, sources in plan.items():
            for prompt_id, source in sources.items():
                try:
                    digest = source.digest()
                except OSError as error:
                    problem = f"{error.strerror}: {error.filename}"
                    report.failures.append(f"{prompt_id} [{lang}]: {problem}")
                    continue
                path = sound_path(settings.sounds_dir, lang, prompt_id)
                if force or manifests[lang].get(prompt_id) != digest or not path.exists():
                    work.append(Job(lang, prompt_id, source, digest))
                else:
                    ensure_native_copy(path)
                    report.unchanged += 1
        # twice the processors: each thread waits on espeak-ng and ffmpeg part of the time
        threads = jobs or 2 * (os.cpu_count() or 1)
        for job in _render_all(work, settings.sounds_dir, threads, report):
            manifests[job.lang][job.prompt_id] = job.digest
            report.built += 1
        for lang, manifest in manifests.items():
            report.removed += _remove_unplanned(settings.sounds_dir, lang, manifest, plan[lang])
            write_manifest(settings.sounds_dir, lang, manifest)
        for lang in ASTERISK_DIGITS_FROM_OURS:
            link_asterisk_digits(settings.sounds_dir, lang)
    report.seconds = time.monotonic() - started
    return report


def _render_all(work: list[Job], sounds_dir: Path, jobs: int, report: BuildReport) -> list[Job]:
    """Render in batches on `jobs` threads; espeak-ng and ffmpeg run as processes meanwhile."""
    if not work:
        return []
    size = min(_LARGEST_BATCH, math.ceil(len(work) / jobs))
    batches = [work[i : i + size] for i in range(0, len(work), size)]
    done: list[Job] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for finished, failures in pool.map(lambda batch: _render_batch(batch, sounds_dir), batches):
            done += finished
            report.failures += failures
    return done


def _render_batch(batch: list[Job], sounds_dir: Path) -> tuple[list[Job], list[str]]:
    rendered: list[tuple[Job, AudioSegment]] = []
    failures = []
    for job in batch:
        try:
            rendered.append((job, job.source.render()))
        except (audio.AudioError, OSError) as error:
            failures.append(f"{job.prompt_id} [{job.lang}]: {error}")
    try:
        sounds = audio.to_sln([segment for _, segment in rendered])
    except audio.AudioError as error:
        return [], failures + [f"{job.prompt_id} [{job.lang}]: {error}" for job, _ in rendered]
    for (job, _), sound in zip(rendered, sounds, strict=True):
        install_sound(sound_path(sounds_dir, job.lang, job.prompt_id), sound)
    return [job for job, _ in rendered], failures


def _remove_unplanned(
    sounds_dir: Path, lang: str, manifest: dict[str, str], planned: Mapping[str, Source]
) -> int:
    """Delete what an earlier build installed for a prompt that is gone (e.g. a removed tier)."""
    gone = [prompt_id for prompt_id in manifest if prompt_id not in planned]
    for prompt_id in gone:
        remove_sound(sound_path(sounds_dir, lang, prompt_id))
        del manifest[prompt_id]
    return len(gone)
