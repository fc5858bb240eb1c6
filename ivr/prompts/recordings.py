"""`ivr prompts import ID LANG FILE`, and the same for the web admin's upload: a recording replaces
the synthetic voice of one prompt in one language, from the next call on, without a restart.

Everything is checked before anything changes. The new file is kept as
`prompts/recordings/<lang>/<id>.<ext>`, the one it replaces moves to
`prompts/recordings/history/<lang>/<id>/<UTC time>.<ext>`, the catalogue entry names the new
file, and the converted sound is installed at once.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from pydub import AudioSegment
from pydub.utils import mediainfo_json

from ivr.config import Settings
from ivr.prompts import audio
from ivr.prompts.build import Recording
from ivr.prompts.catalogue import (
    PROMPT_ID,
    RECORDINGS_DIR,
    CatalogueError,
    load_catalogue,
    parse_catalogue,
    with_recording,
)
from ivr.prompts.installed import prompts_lock, read_manifest, sound_path, stage, write_manifest
from ivr.prompts.speech import LANGUAGES, generated_prompts

FORMATS = ("wav", "mp3", "ogg", "flac")
LONGEST_SECONDS = 120.0
# A file that decodes to less than its header announces was cut off (MP3 encoders put up to
# about 50 ms of padding at the ends, so a little is tolerated).
_TRUNCATION_TOLERANCE_SECONDS = 0.25
_TRUNCATION_TOLERANCE_RATIO = 0.02


class RecordingError(Exception):
    """The upload was refused; nothing was changed. The message says why."""


@dataclass(frozen=True)
class ImportResult:
    prompt_id: str
    lang: str
    recording: Path
    previous: Path | None  # where the replaced recording was kept, if there was one
    installed: Path
    seconds: float  # duration after trimming silence


def import_recording(
    settings: Settings, prompt_id: str, lang: str, data: bytes, filename: str
) -> ImportResult:
    """Check, keep and install an uploaded recording (`filename` gives its format)."""
    fmt = _format_of(filename)
    _check_prompt(settings, prompt_id, lang)
    try:
        sound = audio.condition(decode_upload(data, fmt, filename))
        sln = audio.to_sln([sound])[0]
    except audio.AudioError as error:
        raise RecordingError(f"{filename}: {error}") from None
    relative = str(PurePosixPath(RECORDINGS_DIR, lang, f"{prompt_id}.{fmt}"))
    with prompts_lock(settings.sounds_dir):
        catalogue = load_catalogue(settings.prompts_dir)
        current = catalogue.path.read_text(encoding="utf-8")
        updated = with_recording(current, prompt_id, lang, relative)
        _check_updated_catalogue(updated, settings.prompts_dir, prompt_id, lang, relative)
        previous = catalogue.recording(prompt_id, lang)
        recording = settings.prompts_dir / relative
        installed = sound_path(settings.sounds_dir, lang, prompt_id)
        staged = [
            (stage(recording, data), recording),
            (stage(catalogue.path, updated.encode()), catalogue.path),
            (stage(installed, sln), installed),
        ]
        kept = _keep_previous(settings.prompts_dir, previous, prompt_id, lang)
        for temporary, final in staged:
            os.replace(temporary, final)
        manifest = read_manifest(settings.sounds_dir, lang)
        manifest[prompt_id] = Recording(recording).digest()
        write_manifest(settings.sounds_dir, lang, manifest)
    return ImportResult(prompt_id, lang, recording, kept, installed, len(sound) / 1000)


def _format_of(filename: str) -> str:
    fmt = PurePosixPath(filename).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise RecordingError(
            f"{filename}: unsupported file type; use one of {', '.join(f'.{f}' for f in FORMATS)}"
        )
    return fmt


def _check_prompt(settings: Settings, prompt_id: str, lang: str) -> None:
    if lang not in LANGUAGES:
        raise RecordingError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    try:
        catalogue = load_catalogue(settings.prompts_dir)
    except CatalogueError as error:
        raise RecordingError(f"the catalogue is broken, fix it first: {error}") from None
    tier = prompt_id.startswith("tier/") and PROMPT_ID.fullmatch(prompt_id)
    if not (prompt_id in catalogue.entries or prompt_id in generated_prompts(lang) or tier):
        raise RecordingError(f"no prompt {prompt_id!r} in the catalogue or the generated parts")


def decode_upload(data: bytes, fmt: str, filename: str) -> AudioSegment:
    """The audio of an upload, refused when empty, cut off, silent or too long."""
    if not data:
        raise RecordingError(f"{filename} is empty (0 bytes)")
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as handle:
        handle.write(data)
        handle.flush()
        announced = _announced_seconds(handle.name)
        try:
            segment = AudioSegment.from_file(handle.name, format=fmt)
        except Exception as error:  # pydub raises several kinds of error for broken input
            raise RecordingError(
                f"{filename} does not decode as {fmt.upper()}: {_reason(error)}"
            ) from None
    seconds = len(segment) / 1000
    if segment.frame_count() == 0:
        raise RecordingError(f"{filename} contains no audio")
    if announced is not None and announced - seconds > max(
        _TRUNCATION_TOLERANCE_SECONDS, announced * _TRUNCATION_TOLERANCE_RATIO
    ):
        raise RecordingError(
            f"{filename} is cut off: its header announces {announced:.1f} s "
            f"but only {seconds:.1f} s decode"
        )
    if seconds > LONGEST_SECONDS:
        raise RecordingError(
            f"{filename} lasts {seconds:.1f} s; a recording may last at most "
            f"{LONGEST_SECONDS:.0f} s"
        )
    if audio.is_silent(segment):
        raise RecordingError(
            f"{filename} is silent (its loudest sample is {segment.max_dBFS:.1f} dBFS; "
            f"speech must reach {audio.SILENT_BELOW_DBFS:.0f} dBFS)"
        )
    return segment


def _announced_seconds(path: str) -> float | None:
    """The duration the file's header claims, per ffprobe; None when it claims none."""
    try:
        info = mediainfo_json(path)
        return float(info["format"]["duration"])
    except (KeyError, ValueError, TypeError, OSError, subprocess.SubprocessError):
        return None


def _reason(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _check_updated_catalogue(
    text: str, prompts_dir: Path, prompt_id: str, lang: str, relative: str
) -> None:
    try:
        catalogue = parse_catalogue(tomllib.loads(text), prompts_dir)
    except (tomllib.TOMLDecodeError, CatalogueError) as error:
        raise RecordingError(f"cannot record the new file in the catalogue: {error}") from None
    if catalogue.recording(prompt_id, lang) != prompts_dir / relative:
        raise RecordingError(
            f"cannot record the new file in the catalogue: the entry of {prompt_id!r} "
            f'is not in a form the import can edit (use recording.{lang} = "...")'
        )


def _keep_previous(
    prompts_dir: Path, previous: Path | None, prompt_id: str, lang: str
) -> Path | None:
    if previous is None or not previous.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    kept = prompts_dir / RECORDINGS_DIR / "history" / lang / prompt_id / f"{stamp}{previous.suffix}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    os.replace(previous, kept)
    return kept
