"""`ivr prompts check`, and the service's start-up check: is every prompt there, in every
language, with audio that Asterisk can play?"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ivr.config import Settings
from ivr.prompts.build import Recording, Source, plan_prompts
from ivr.prompts.catalogue import CatalogueError, load_catalogue
from ivr.prompts.installed import read_manifest, sound_path
from ivr.prompts.uploaded import uploaded_recordings


def check_catalogue(settings: Settings, tier_names: Mapping[str, str] | None = None) -> list[str]:
    """Every problem found, each naming the prompt id and language; empty when all is well.

    Checks the catalogue (every flow prompt with a text in each language) and, for every
    prompt of every language (generated parts, and `tier/<id>` for `tier_names`), its recording
    and the built sound: present, readable, and built from the current text or recording.
    """
    try:
        catalogue = load_catalogue(settings.prompts_dir)
    except CatalogueError as error:
        return error.problems
    problems = []
    plan = plan_prompts(catalogue, tier_names or {}, uploaded_recordings(settings))
    for lang, sources in plan.items():
        manifest = read_manifest(settings.sounds_dir, lang)
        for prompt_id, source in sources.items():
            problem = _audio_problem(settings, lang, prompt_id, source, manifest.get(prompt_id))
            if problem:
                problems.append(f"{prompt_id} [{lang}]: {problem}")
    return problems


def _audio_problem(
    settings: Settings, lang: str, prompt_id: str, source: Source, built_from: str | None
) -> str | None:
    try:
        digest = source.digest()
    except OSError as error:
        return f"recording {error.filename} cannot be read ({error.strerror})"
    if isinstance(source, Recording) and source.path.stat().st_size == 0:
        return f"recording {source.path} is empty"
    path = sound_path(settings.sounds_dir, lang, prompt_id)
    try:
        size = path.stat().st_size
    except OSError:
        return f"no audio at {path} (run: ivr prompts build)"
    if size == 0 or size % 2 or not os.access(path, os.R_OK):
        return f"the audio at {path} is damaged or unreadable (run: ivr prompts build --force)"
    if built_from != digest:
        return f"the audio at {path} is out of date (run: ivr prompts build)"
    return None
