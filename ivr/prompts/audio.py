"""Sound in, telephone sound out: espeak-ng speech, decoding with pydub (ffmpeg for compressed
files), silence trimmed at both ends, loudness brought to one level, and 8 kHz mono 16-bit.

Resampling goes through ffmpeg, whose filter keeps the 4-11 kHz hiss of a 22 kHz voice from
folding into the telephone band (pydub's own `set_frame_rate` does not filter). Starting
ffmpeg costs more than the conversion, so `to_sln` resamples many prompts in one run, laid end
to end with silence between them, and cuts the result apart again.
"""

from __future__ import annotations

import io
import math
import subprocess
from collections import defaultdict
from collections.abc import Sequence

from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError
from pydub.silence import detect_leading_silence

PIPELINE_VERSION = "1"  # change when the output of the same input changes
SLN_RATE = 8000
VOICES = {"de": "de", "fr": "fr", "it": "it", "en": "en"}
SPEED_WORDS_PER_MINUTE = 160

TARGET_DBFS = -20.0  # average loudness of every prompt
PEAK_CEILING_DBFS = -1.0  # the gain never pushes a peak above this
TRIM_BELOW_PEAK_DB = 40.0  # at the ends, sound this far below the peak counts as silence
EDGE_KEEP_MS = 20  # kept before the first and after the last sound, so no onset is clipped
SILENT_BELOW_DBFS = -50.0  # a clip whose loudest sample stays below this is silence

_GAP_SECONDS = 0.25  # between prompts resampled together; wider than the resampling filter


class AudioError(Exception):
    """Speech could not be made, or a file could not be decoded or used."""


def synthesize(text: str, lang: str) -> AudioSegment:
    """Speak `text` with espeak-ng's voice for `lang`."""
    command = ["espeak-ng", "-v", VOICES[lang], "-s", str(SPEED_WORDS_PER_MINUTE), "--stdout"]
    return decode(_run(command, text.encode()), "wav")


def decode(data: bytes, fmt: str) -> AudioSegment:
    try:
        return AudioSegment.from_file(io.BytesIO(data), format=fmt)
    except (CouldntDecodeError, IndexError, ValueError, OSError) as error:
        raise AudioError(_last_line(str(error)) or f"not a {fmt} file") from None


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def is_silent(segment: AudioSegment) -> bool:
    return segment.max_dBFS < SILENT_BELOW_DBFS


def condition(segment: AudioSegment) -> AudioSegment:
    """Mono 16-bit, silence trimmed at both ends, loudness at TARGET_DBFS (peaks permitting)."""
    if is_silent(segment):
        raise AudioError("the audio is silent")
    segment = segment.set_channels(1).set_sample_width(2)
    segment = _trim(segment)
    gain = min(TARGET_DBFS - segment.dBFS, PEAK_CEILING_DBFS - segment.max_dBFS)
    return segment.apply_gain(gain)


def _trim(segment: AudioSegment) -> AudioSegment:
    threshold = segment.max_dBFS - TRIM_BELOW_PEAK_DB
    start = detect_leading_silence(segment, silence_threshold=threshold, chunk_size=5)
    end = len(segment) - detect_leading_silence(
        segment.reverse(), silence_threshold=threshold, chunk_size=5
    )
    return segment[max(0, start - EDGE_KEEP_MS) : min(len(segment), end + EDGE_KEEP_MS)]


def to_sln(segments: Sequence[AudioSegment]) -> list[bytes]:
    """Conditioned segments as raw 8 kHz samples, resampled in one ffmpeg run per source rate."""
    results: list[bytes] = [b""] * len(segments)
    by_rate: dict[int, list[int]] = defaultdict(list)
    for index, segment in enumerate(segments):
        by_rate[segment.frame_rate].append(index)
    for rate, indexes in by_rate.items():
        raws = [segments[index].raw_data for index in indexes]
        for index, raw in zip(indexes, _resample_together(raws, rate), strict=True):
            results[index] = raw
    return results


def _resample_together(raws: list[bytes], rate: int) -> list[bytes]:
    if rate == SLN_RATE:
        return raws
    # Each prompt starts on a sample that falls exactly on the 8 kHz grid, so it comes out the
    # same as when resampled alone.
    grid = rate // math.gcd(rate, SLN_RATE)
    gap = math.ceil(rate * _GAP_SECONDS)
    joined = bytearray()
    bounds = []
    for raw in raws:
        start = len(joined) // 2
        joined += raw
        end = len(joined) // 2
        bounds.append((start, end))
        joined += bytes(2 * (gap + (-(end + gap) % grid)))
    resampled = _ffmpeg_resample(bytes(joined), rate)
    scale = SLN_RATE / rate
    return [resampled[2 * round(a * scale) : 2 * round(b * scale)] for a, b in bounds]


def _ffmpeg_resample(raw: bytes, rate: int) -> bytes:
    pcm = ["-f", "s16le", "-ac", "1"]
    command = [
        AudioSegment.converter,
        *("-nostdin", "-v", "error"),
        *pcm,
        *("-ar", str(rate), "-i", "pipe:0"),
        *pcm,
        *("-ar", str(SLN_RATE), "pipe:1"),
    ]
    return _run(command, raw)


def _run(command: list[str], stdin: bytes) -> bytes:
    try:
        return subprocess.run(command, input=stdin, capture_output=True, check=True).stdout
    except OSError as error:
        raise AudioError(f"cannot run {command[0]}: {error.strerror}") from None
    except subprocess.CalledProcessError as error:
        detail = _last_line(error.stderr.decode(errors="replace"))
        detail = detail or f"exit code {error.returncode}"
        raise AudioError(f"{command[0]} failed: {detail}") from None
