"""What Asterisk's configuration (`asterisk-config/`) defines, for checks outside Asterisk.

`dialable_endpoints()` reads pjsip.conf's section names: the endpoints the hotline may dial;
`desk_agent_endpoints()` the desk agents' phones among them.
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


DESK_PHONE_CONTEXT = "from-desk-phone"  # dialplan/extensions.conf: the desk agents' feature codes


def dialable_endpoints(config_dir: Path = CONFIG_DIR) -> frozenset[str]:
    """The PJSIP endpoints with an address of record (so Asterisk can dial them): sections of
    type endpoint, own or from templates, with `aors`. Templates (`(!)`) are not endpoints."""
    return frozenset(_endpoints(config_dir))


def desk_agent_endpoints(config_dir: Path = CONFIG_DIR) -> tuple[str, ...]:
    """The desk agents' phones, in pjsip.conf's order: the dialable endpoints whose own calls go
    to the desk phones' context (the only phones that may log in and out of the desk queue)."""
    endpoints = _endpoints(config_dir)
    return tuple(name for name, options in endpoints.items() if _is_desk_phone(options))


def _is_desk_phone(options: dict[str, str]) -> bool:
    return options.get("context") == DESK_PHONE_CONTEXT


def _endpoints(config_dir: Path) -> dict[str, dict[str, str]]:
    """Each dialable endpoint's options, its templates' (and theirs) merged in."""
    sections = _sections((config_dir / "pjsip.conf").read_text(encoding="utf-8"))
    templates = {
        name: (bases, options) for name, is_template, bases, options in sections if is_template
    }

    def merged(bases: list[str], options: dict[str, str]) -> dict[str, str]:
        result: dict[str, str] = {}
        for base in bases:
            if base in templates:
                result |= merged(*templates[base])
        return result | options

    endpoints = {}
    for name, is_template, bases, options in sections:
        resolved = merged(bases, options)
        if not is_template and resolved.get("type") == "endpoint" and resolved.get("aors"):
            endpoints[name] = resolved
    return endpoints


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
