"""What Asterisk's configuration (`asterisk-config/`) defines, for checks outside Asterisk.

`dialable_endpoints()` reads pjsip.conf's section names: the endpoints the hotline may dial.
The routing core is handed this set (`parse_tables(..., endpoints=...)`); it never reads
Asterisk's files itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from ivr.config import REPO_DIR

CONFIG_DIR = REPO_DIR / "asterisk-config"
_SECTION = re.compile(r"\[([^\]]+)\](?:\(([^)]*)\))?")
_OPTION = re.compile(r"([A-Za-z_]+)\s*=>?\s*(.*)")


def dialable_endpoints(config_dir: Path = CONFIG_DIR) -> frozenset[str]:
    """The PJSIP endpoints with an address of record (so Asterisk can dial them): sections of
    type endpoint, own or from a template, with `aors`. Templates (`(!)`) are not endpoints."""
    sections = _sections((config_dir / "pjsip.conf").read_text(encoding="utf-8"))
    templates = {name: options for name, is_template, _, options in sections if is_template}
    endpoints = set()
    for name, is_template, bases, options in sections:
        merged: dict[str, str] = {}
        for base in bases:
            merged |= templates.get(base, {})
        merged |= options
        if not is_template and merged.get("type") == "endpoint" and merged.get("aors"):
            endpoints.add(name)
    return frozenset(endpoints)


def _sections(text: str) -> list[tuple[str, bool, list[str], dict[str, str]]]:
    """(name, is a template, templates it uses, its options) per section, in order."""
    sections: list[tuple[str, bool, list[str], dict[str, str]]] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        header = _SECTION.fullmatch(line)
        if header:
            marks = [mark.strip() for mark in (header[2] or "").split(",") if mark.strip()]
            bases = [mark for mark in marks if mark != "!"]
            sections.append((header[1].strip(), "!" in marks, bases, {}))
        elif sections and (option := _OPTION.fullmatch(line)):
            sections[-1][3][option[1].lower()] = option[2].strip()
    return sections
