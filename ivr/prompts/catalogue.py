"""The prompt catalogue: `prompts/catalogue.toml`, the texts admins write and the recordings they
import, and the list of prompt ids the call flow plays.

Format, one table per prompt id:

    [prompts.greeting]
    de = "Willkommen beim Winet-Support."
    fr = "..."
    it = "..."
    en = "..."
    recording.de = "recordings/de/greeting.wav"   # optional, one per language

Ids of generated parts (numbers, times, weekday ranges, tier names; see `speech`) carry no text
here; they may have an entry with recordings only, which then replace the synthetic voice.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ivr.prompts.speech import GENERATED_FAMILIES, LANGUAGES

CATALOGUE_FILE = "catalogue.toml"
RECORDINGS_DIR = "recordings"
PROMPT_ID = re.compile(r"[a-z0-9_]+(/[a-z0-9_+-]+)*")

# The call flow always offers the same digit per language, whatever the tables' language list.
LANGUAGE_MENU_DIGITS = {"de": "1", "fr": "2", "it": "3", "en": "4"}

# Every written prompt the call flows and the composed notice play; `ivr prompts check` and the
# service's start-up check refuse a catalogue that lacks one of them in any language.
FLOW_PROMPTS = (
    "greeting",
    # each language's text offers that language alone; the flow plays it once per language
    # with the playback language set, digits as in LANGUAGE_MENU_DIGITS
    "language_menu",
    "incident",
    "account_request",
    "account_wrong",
    "pin_request",
    "pin_wrong",
    "pin_locked",
    "identified_unknown",
    "connecting_technician",
    "please_hold",
    "technician_unavailable",
    "technician_not_accepted",
    "connecting_desk",
    "withdrawn",
    "goodbye",
    "internal_error",
    "no_input",
    "invalid_choice",
    "notice/outside_hours",
    "notice/your_contract",
    "notice/is_valid",
    "notice/no_covered_hours",
    "notice/around_the_clock",
    "notice/all_day",
    "notice/and",
    "notice/except_holidays",
    "notice/fee",
    "notice/hourly_rate",
    "notice/increment",
    "notice/increment_per_minute",
    "notice/by_effort",
    "notice/no_charge",
    "notice/units_included",
    "notice/per_month",
    "notice/units_left",
    "notice/units_left_end",
    "notice/units_none_left",
    "notice/no_free_units",
    "notice/billed",
    "notice/choice",
    "unit/franc_one",
    "unit/francs",
    "unit/rappen_one",
    "unit/rappen",
    "unit/minutes",
    "unit/free_unit_one",
    "unit/free_units",
    "whisper/intro",
    "whisper/customer",
    "whisper/unidentified",
    "whisper/tier",
    "whisper/accept",
    "queue/you_are_next",
    "queue/there_are",
    "queue/calls_waiting",
    "queue/hold_time",
    "queue/minutes",
    "queue/minute",
    "queue/less_than",
    "queue/thank_you",
    "queue/callback_offer",
    "queue/callback_confirmed",
    "queue/callback_within",
    "queue/callback_hours",
    "queue/callback_minutes",
    "queue/callback_soon",
    "request/intro",
    "request/choices",
    "request/accepted",
    "request/passed",
    "request/taken",
    "request/callback",
    "request/calling_customer",
    "request/customer_unreachable",
)


class CatalogueError(Exception):
    """The catalogue is unreadable or malformed; `problems` names each id and language."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Entry:
    texts: dict[str, str]
    recordings: dict[str, str]  # language -> path relative to the prompts folder


@dataclass(frozen=True)
class Catalogue:
    directory: Path
    entries: dict[str, Entry]

    @property
    def path(self) -> Path:
        return self.directory / CATALOGUE_FILE

    def text(self, prompt_id: str, lang: str) -> str:
        try:
            return self.entries[prompt_id].texts[lang]
        except KeyError:
            raise KeyError(f"no {lang} text for prompt {prompt_id!r} in {self.path}") from None

    def recording(self, prompt_id: str, lang: str) -> Path | None:
        entry = self.entries.get(prompt_id)
        if entry is None or lang not in entry.recordings:
            return None
        return self.directory / entry.recordings[lang]


def is_generated(prompt_id: str) -> bool:
    return prompt_id.startswith(GENERATED_FAMILIES)


def load_catalogue(directory: Path) -> Catalogue:
    path = directory / CATALOGUE_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogueError([f"cannot read {path}: {error.strerror}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError([f"{path} is not valid TOML: {error}"]) from None
    return parse_catalogue(raw, directory)


def parse_catalogue(raw: dict, directory: Path) -> Catalogue:
    problems = [f"unknown top-level key {key!r}" for key in raw if key != "prompts"]
    prompts = raw.get("prompts", {})
    if not isinstance(prompts, dict):
        raise CatalogueError(["'prompts' must be a table of prompt ids"])
    entries = {}
    for prompt_id, fields in prompts.items():
        entry_problems = _entry_problems(prompt_id, fields)
        problems += entry_problems
        if not entry_problems:
            entries[prompt_id] = Entry(
                texts={lang: fields[lang] for lang in LANGUAGES if lang in fields},
                recordings=dict(fields.get("recording", {})),
            )
    problems += [
        f"{prompt_id}: missing from the catalogue"
        for prompt_id in FLOW_PROMPTS
        if prompt_id not in prompts
    ]
    if problems:
        raise CatalogueError(problems)
    return Catalogue(directory, entries)


def _entry_problems(prompt_id: str, fields: object) -> list[str]:
    if not PROMPT_ID.fullmatch(prompt_id):
        return [f"{prompt_id!r}: not a prompt id (lower-case words joined by '/')"]
    if not isinstance(fields, dict):
        return [f"{prompt_id}: must be a table of texts per language"]
    problems = [
        f"{prompt_id}: unknown key {key!r} (languages are {', '.join(LANGUAGES)})"
        for key in fields
        if key not in (*LANGUAGES, "recording")
    ]
    if is_generated(prompt_id):
        problems += [
            f"{prompt_id} [{lang}]: the text of a generated part is not set in the catalogue"
            for lang in LANGUAGES
            if lang in fields
        ]
    else:
        problems += _text_problems(prompt_id, fields)
    return problems + _recording_problems(prompt_id, fields.get("recording", {}))


def _text_problems(prompt_id: str, fields: dict) -> list[str]:
    problems = []
    for lang in LANGUAGES:
        text = fields.get(lang)
        if text is None:
            problems.append(f"{prompt_id} [{lang}]: no text")
        elif not isinstance(text, str) or not text.strip():
            problems.append(f"{prompt_id} [{lang}]: the text must be a non-empty string")
    return problems


def _recording_problems(prompt_id: str, recordings: object) -> list[str]:
    if not isinstance(recordings, dict):
        return [f"{prompt_id}: 'recording' must be a table of file paths per language"]
    problems = []
    for lang, path in recordings.items():
        if lang not in LANGUAGES:
            problems.append(f"{prompt_id}: recording for unknown language {lang!r}")
        elif not isinstance(path, str) or not _is_inside_recordings(path):
            problems.append(
                f"{prompt_id} [{lang}]: recording {path!r} must be a relative path "
                f"under {RECORDINGS_DIR}/"
            )
    return problems


def _is_inside_recordings(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return len(parts) > 1 and parts[0] == RECORDINGS_DIR and ".." not in parts
