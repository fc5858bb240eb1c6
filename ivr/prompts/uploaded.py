"""Recordings admins upload (`ivr prompts import`, the console), kept in the state folder.

`<state>/recordings/<lang>/<prompt id>.<ext>` is the recording a prompt plays in that language;
it wins over the catalogue's text and over a recording the catalogue names. The ones it
replaced are kept in `<state>/recordings/history/<lang>/<prompt id>/<UTC time>.<ext>`.
The repository's working tree is never written.
"""

from __future__ import annotations

from pathlib import Path

from ivr.config import Settings
from ivr.prompts.speech import LANGUAGES

FORMATS = ("wav", "mp3", "ogg", "flac")
HISTORY = "history"


def uploads_dir(settings: Settings) -> Path:
    return settings.state_dir / "recordings"


def uploaded_recordings(settings: Settings) -> dict[str, dict[str, Path]]:
    """{language: {prompt id: recording}} of every uploaded recording in use."""
    found: dict[str, dict[str, Path]] = {}
    for lang in LANGUAGES:
        folder = uploads_dir(settings) / lang
        found[lang] = {
            path.relative_to(folder).with_suffix("").as_posix(): path
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix.lstrip(".") in FORMATS
        }
    return found
