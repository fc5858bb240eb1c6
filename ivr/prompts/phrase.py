"""One-off phrases spoken at call time, e.g. the customer's name in the technician's whisper."""

from __future__ import annotations

import asyncio

from ivr.config import Settings
from ivr.prompts import audio
from ivr.prompts.build import Speech
from ivr.prompts.installed import install_sound, media_uri, native_path, sound_path
from ivr.prompts.speech import LANGUAGES

PHRASE_FAMILY = "phrase/"
# The phrases this process rendered or found rendered: (sounds folder, lang, text) -> media
# URI. A customer's name is rendered once; the whisper of every later call needs no thread.
_rendered: dict[tuple[str, str, str], str] = {}


async def render_phrase(text: str, lang: str, settings: Settings) -> str:
    """The media URI of `text` spoken in `lang`, rendered once and cached by content hash.

    The rendering (espeak-ng, pydub, ffmpeg; about 0.1 s) runs in a worker thread.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    speech = Speech(" ".join(text.split()), lang)
    if not speech.text:
        raise ValueError("cannot render an empty phrase")
    known = (str(settings.sounds_dir), lang, speech.text)
    if known not in _rendered:
        prompt_id = PHRASE_FAMILY + speech.digest()[:32]
        await asyncio.to_thread(_render_unless_cached, speech, settings, prompt_id)
        _rendered[known] = media_uri(prompt_id)
    return _rendered[known]


def _render_unless_cached(speech: Speech, settings: Settings, prompt_id: str) -> None:
    path = sound_path(settings.sounds_dir, speech.lang, prompt_id)
    if not native_path(path).exists():
        install_sound(path, audio.to_sln([speech.render()])[0])
