"""Where built prompts live, how Asterisk names them, and how files are replaced safely.

Asterisk plays `sound:winet/<id>` from `<sounds_dir>/<channel language>/winet/<id>.sln`, or from
the μ-law copy beside it (`<id>.ulaw`), which it prefers for callers whose codec is μ-law: their
prompts then need no transcoding, frame by frame. Every file is written to a temporary name and
renamed into place, so a call that is playing a prompt never reads half a file. Each language
folder keeps a manifest of the content hash each prompt was built from, so a build redoes only
what changed.
"""

from __future__ import annotations

import audioop
import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

SOUNDS_SUBDIR = "winet"
SOUND_EXTENSION = ".sln"  # 8 kHz mono signed 16-bit little-endian, raw
NATIVE_EXTENSION = ".ulaw"  # the same sound in the callers' codec (G.711 μ-law), raw
MANIFEST_FILE = ".manifest.json"
LOCK_FILE = ".winet-prompts.lock"


def media_uri(prompt_id: str) -> str:
    """What ARI's play takes: `sound:winet/<id>`, played in the channel's language."""
    return f"sound:{SOUNDS_SUBDIR}/{prompt_id}"


def language_dir(sounds_dir: Path, lang: str) -> Path:
    return sounds_dir / lang / SOUNDS_SUBDIR


def sound_path(sounds_dir: Path, lang: str, prompt_id: str) -> Path:
    return language_dir(sounds_dir, lang) / (prompt_id + SOUND_EXTENSION)


def native_path(sound: Path) -> Path:
    """The μ-law copy beside an installed `.sln` sound."""
    return sound.with_suffix(NATIVE_EXTENSION)


def sound_files(path: Path, sln: bytes) -> list[tuple[Path, bytes]]:
    """What installing `sln` at `path` writes: the sound and its μ-law copy."""
    return [(path, sln), (native_path(path), audioop.lin2ulaw(sln, 2))]


def install_sound(path: Path, sln: bytes) -> None:
    """Install a sound and its μ-law copy, each atomically."""
    for target, data in sound_files(path, sln):
        atomic_write(target, data)


def remove_sound(path: Path) -> None:
    for target in (path, native_path(path)):
        target.unlink(missing_ok=True)


def ensure_native_copy(path: Path) -> None:
    """Write the μ-law copy of an installed sound when it is missing or older than the sound
    (an installation from before the copies)."""
    native = native_path(path)
    if native.exists() and native.stat().st_mtime_ns >= path.stat().st_mtime_ns:
        return
    atomic_write(native, audioop.lin2ulaw(path.read_bytes(), 2))


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one rename; readers see the old file or the new one."""
    os.replace(stage(path, data), path)


def stage(path: Path, data: bytes) -> Path:
    """Write `data` beside `path` under a temporary name, readable by Asterisk, and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)
    except BaseException:
        os.unlink(temporary)
        raise
    return Path(temporary)


@contextlib.contextmanager
def prompts_lock(sounds_dir: Path) -> Iterator[None]:
    """Serialises builds and imports, which both rewrite installed files and manifests."""
    sounds_dir.mkdir(parents=True, exist_ok=True)
    with open(sounds_dir / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_manifest(sounds_dir: Path, lang: str) -> dict[str, str]:
    """Prompt id -> content hash of what is installed; empty when nothing was built yet."""
    path = language_dir(sounds_dir, lang) / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or unreadable: the next build renders everything again
    return manifest if isinstance(manifest, dict) else {}


def write_manifest(sounds_dir: Path, lang: str, manifest: dict[str, str]) -> None:
    path = language_dir(sounds_dir, lang) / MANIFEST_FILE
    atomic_write(path, json.dumps(manifest, indent=1, sort_keys=True).encode())


# Asterisk's own announcements (the desk queue's position and expected wait) say numbers from
# `<sounds>/<lang>/digits/<n>`; English has Asterisk's recordings, our other languages get our
# rendered numbers (`num/<n>`, whole words from 0 to 99).
ASTERISK_DIGITS_FROM_OURS = ("de", "fr", "it")


def link_asterisk_digits(sounds_dir: Path, lang: str) -> None:
    """`<sounds>/<lang>/digits` -> our `winet/num` folder, unless that language has digits."""
    digits = sounds_dir / lang / "digits"
    if digits.exists() or digits.is_symlink():
        return
    digits.symlink_to(Path(SOUNDS_SUBDIR) / "num", target_is_directory=True)
