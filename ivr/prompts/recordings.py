"""`ivr prompts import ID LANG FILE`, and the same for the web admin's upload: a recording replaces
the synthetic voice of one prompt in one language, from the next call on, without a restart.

Everything is checked before anything changes, and the file's duration before it is decoded
(an hour of silence compresses to a few hundred KB but decodes to 100 MB). The new file is kept
in the state folder (`ivr.prompts.uploaded`), the one it replaces moves to the history there,
and the converted sound is installed at once. The repository's working tree is not touched.
"""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from pydub import AudioSegment
from pydub.utils import mediainfo_json

from ivr.config import Settings
from ivr.prompts import audio
from ivr.prompts.build import Recording, plan_prompts
from ivr.prompts.catalogue import CatalogueError, load_catalogue
from ivr.prompts.installed import (
    prompts_lock,
    read_manifest,
    sound_files,
    sound_path,
    stage,
    write_manifest,
)
from ivr.prompts.speech import LANGUAGES
from ivr.prompts.uploaded import FORMATS, HISTORY, uploaded_recordings, uploads_dir

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
    settings: Settings,
    tier_names: Mapping[str, str],
    prompt_id: str,
    lang: str,
    data: bytes,
    filename: str,
) -> ImportResult:
    """Check, keep and install an uploaded recording (`filename` gives its format) for a prompt
    the call flow plays (`tier_names`: the tiers whose names are prompts)."""
    fmt = _format_of(filename)
    _check_prompt(settings, tier_names, prompt_id, lang)
    try:
        sound = audio.condition(decode_upload(data, fmt, filename))
        sln = audio.to_sln([sound])[0]
    except audio.AudioError as error:
        raise RecordingError(f"{filename}: {error}") from None
    with prompts_lock(settings.sounds_dir):
        previous = uploaded_recordings(settings)[lang].get(prompt_id)
        recording = uploads_dir(settings) / lang / f"{prompt_id}.{fmt}"
        installed = sound_path(settings.sounds_dir, lang, prompt_id)
        recording.parent.mkdir(parents=True, exist_ok=True)
        files = [(recording, data), *sound_files(installed, sln)]
        staged = [(stage(path, content), path) for path, content in files]
        kept = _keep_previous(settings, previous, prompt_id, lang)
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


def _check_prompt(
    settings: Settings, tier_names: Mapping[str, str], prompt_id: str, lang: str
) -> None:
    """Only a prompt the flow plays: in the catalogue, a generated part, or a known tier."""
    if lang not in LANGUAGES:
        raise RecordingError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    try:
        catalogue = load_catalogue(settings.prompts_dir)
    except CatalogueError as error:
        raise RecordingError(f"the catalogue is broken, fix it first: {error}") from None
    if prompt_id not in plan_prompts(catalogue, tier_names)[lang]:
        raise RecordingError(
            f"no prompt {prompt_id!r}: not in the catalogue, not a generated part, "
            "and not the name of a tier in the routing tables"
        )


def decode_upload(data: bytes, fmt: str, filename: str) -> AudioSegment:
    """The audio of an upload, refused when empty, cut off, silent or too long. The duration
    the header announces is checked before decoding, and decoding stops past the longest
    allowed, so a small file cannot make a large sound in memory."""
    if not data:
        raise RecordingError(f"{filename} is empty (0 bytes)")
    if fmt == "wav":
        _check_wav_chunks(data, filename)
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as handle:
        handle.write(data)
        handle.flush()
        announced = _announced_seconds(handle.name)
        if announced is not None and announced > LONGEST_SECONDS:
            raise RecordingError(_too_long(filename, announced))
        try:
            segment = AudioSegment.from_file(handle.name, format=fmt, duration=LONGEST_SECONDS + 1)
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
        raise RecordingError(_too_long(filename, seconds))
    if audio.is_silent(segment):
        raise RecordingError(
            f"{filename} is silent (its loudest sample is {segment.max_dBFS:.1f} dBFS; "
            f"speech must reach {audio.SILENT_BELOW_DBFS:.0f} dBFS)"
        )
    return segment


def _too_long(filename: str, seconds: float) -> str:
    return f"{filename} lasts {seconds:.1f} s; a recording may last at most {LONGEST_SECONDS:.0f} s"


def _check_wav_chunks(data: bytes, filename: str) -> None:
    """A RIFF/WAVE file whose chunks, the sound data included, are all there: a WAV cut off
    in transfer still decodes (to its first part), so its header is the only witness."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RecordingError(f"{filename} is not a WAV file (no RIFF/WAVE header)")
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = data[offset : offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        present = len(data) - offset - 8
        if size > present:
            raise RecordingError(
                f"{filename} is cut off: its {chunk.decode('latin-1').strip()!r} chunk "
                f"announces {size} bytes but only {present} are there"
            )
        if chunk == b"data":
            return
        offset += 8 + size + (size & 1)
    raise RecordingError(f"{filename} is cut off: it has no sound data (no 'data' chunk)")


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


def _keep_previous(
    settings: Settings, previous: Path | None, prompt_id: str, lang: str
) -> Path | None:
    if previous is None:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    kept = uploads_dir(settings) / HISTORY / lang / prompt_id / f"{stamp}{previous.suffix}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    os.replace(previous, kept)
    return kept
