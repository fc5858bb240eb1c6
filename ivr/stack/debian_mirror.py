"""The Debian mirror this machine's apt already uses, read from its sources lists.

The repository never names a mirror host: whatever apt is configured with is what we use.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ivr.stack.processes import LaunchError

APT_DIR = Path("/etc/apt")


def debian_mirror(apt_dir: Path = APT_DIR) -> str:
    """The URI of the first Debian archive (not the security archive) in apt's sources."""
    override = os.environ.get("IVR_DEBIAN_MIRROR")
    if override:
        return override
    for uri in _source_uris(apt_dir):
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    raise LaunchError(
        f"no Debian mirror found in {apt_dir}/sources.list or {apt_dir}/sources.list.d/; "
        "set IVR_DEBIAN_MIRROR to the mirror's URI"
    )


def _source_uris(apt_dir: Path) -> list[str]:
    uris: list[str] = []
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            uris += _deb822_uris(text)
        elif path.suffix == ".list" or path.name == "sources.list":
            uris += _one_line_uris(text)
    return uris


def _deb822_uris(text: str) -> list[str]:
    uris: list[str] = []
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[0].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.split()
        if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"]) != ["no"]:
            uris += fields.get("uris", [])
    return uris


def _one_line_uris(text: str) -> list[str]:
    uris: list[str] = []
    for line in text.splitlines():
        words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) > 1 and words[0] == "deb":
            uris.append(words[1])
    return uris
