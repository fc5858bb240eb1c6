"""Loading and validating the routing tables: from a directory, or from a bundle of TOML texts.

Every problem found is reported, each naming the file, the dotted key and the reason. A bundle
with any problem yields no tables at all.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.routing.model import (
    CANTONS,
    DAY_MINUTES,
    HOUR_RULES,
    REACTION_RULES,
    WEEKDAYS,
    Destinations,
    EscalationPolicy,
    FirstReaction,
    HolidayCalendar,
    Hotline,
    Leg,
    NoticeTerms,
    Override,
    Rota,
    Tables,
    Tier,
    Window,
    clock_text,
)

FILES = (
    "hotline.toml",
    "tiers.toml",
    "holidays.toml",
    "rota.toml",
    "destinations.toml",
    "notice.toml",
    "escalation.toml",
)
UNIDENTIFIED_DESTINATIONS = ("desk", "technician")
# Seconds a technician has after the whisper to press 1: short, since the caller waits meanwhile.
DEFAULT_ACCEPT_TIMEOUT = 8
MAX_ACCEPT_TIMEOUT = 60
# Seconds in the desk queue before the caller is offered a call back.
DEFAULT_CALLBACK_OFFER_AFTER = 90
MAX_CALLBACK_OFFER_AFTER = 3600
# The languages the prompts are spoken in (`ivr.prompts.speech.LANGUAGES`).
LANGUAGES = ("de", "fr", "it", "en")
MAX_TEXT_LENGTH = 200
MAX_REACTION_HOURS = 24 * 31
MAX_ACK_MINUTES = 24 * 60


@dataclass(frozen=True)
class Problem:
    file: str
    key: str  # dotted path inside the file, "-" for the file as a whole
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


class TablesError(Exception):
    """The tables are not valid; `problems` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def load_tables(path: str | Path, *, endpoints: Set[str] | None = None) -> Tables:
    """The tables in a directory of TOML files; raises TablesError. `endpoints`: see
    `parse_tables`."""
    directory = Path(path)
    if not directory.is_dir():
        raise TablesError([Problem(str(directory), "-", "not a directory")])
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for file in sorted(directory.glob("*.toml")):
        try:
            files[file.name] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(file.name, "-", f"cannot be read: {error}"))
    if problems:
        raise TablesError(problems)
    return parse_tables(files, endpoints=endpoints)


def parse_tables(files: Mapping[str, str], *, endpoints: Set[str] | None = None) -> Tables:
    """The tables in a bundle {file name: TOML text}; raises TablesError.

    `endpoints`: the Asterisk endpoints a dial string may name (those Asterisk's configuration
    defines); None checks only the form `PJSIP/<endpoint>`, as for tables already published.
    """
    problems: list[Problem] = []
    docs = _documents(files, problems)
    file = {name: _File(name, problems, endpoints) for name in FILES}
    tier_ids = _declared_ids(docs.get("tiers.toml"), "tier")
    technician_ids = _declared_ids(docs.get("rota.toml"), "technician")

    hotline = _hotline(docs.get("hotline.toml"), file["hotline.toml"], tier_ids)
    terms = _notice_terms(docs.get("notice.toml"), file["notice.toml"], tier_ids)
    tiers = _tiers(docs.get("tiers.toml"), file["tiers.toml"])
    calendar = _calendar(docs.get("holidays.toml"), file["holidays.toml"])
    zone = hotline.zone if hotline else UTC
    rota = _rota(docs.get("rota.toml"), file["rota.toml"], technician_ids, zone)
    destinations = _destinations(
        docs.get("destinations.toml"), file["destinations.toml"], technician_ids
    )
    escalation = _escalation(docs.get("escalation.toml"), file["escalation.toml"])
    if problems:
        raise TablesError(problems)
    assert hotline and terms and tiers and calendar and rota and destinations and escalation
    technicians, rotation, chief = rota
    return Tables(
        version=tables_version(files),
        hotline=hotline,
        tiers=MappingProxyType(
            {tier_id: Tier(**draft, notice=terms[tier_id]) for tier_id, draft in tiers.items()}
        ),
        calendar=calendar,
        technicians=MappingProxyType(
            {
                tech_id: Leg("technician", tech_id, name, dial, destinations.ring_timeout, email)
                for tech_id, (name, dial, email) in technicians.items()
            }
        ),
        rota=rotation,
        destinations=destinations,
        chief=Leg("chief", *chief[:3], destinations.ring_timeout, chief[3]),
        escalation=escalation,
        files=MappingProxyType(dict(files)),
    )


def tables_version(files: Mapping[str, str]) -> str:
    """A short content hash of a bundle: equal bundles, equal versions."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()[:12]


def _documents(files: Mapping[str, str], problems: list[Problem]) -> dict[str, dict[str, Any]]:
    docs = {}
    for name in sorted(set(files) - set(FILES)):
        problems.append(Problem(name, "-", "unknown file; expected " + ", ".join(FILES)))
    for name in FILES:
        if name not in files:
            problems.append(Problem(name, "-", "missing"))
            continue
        try:
            docs[name] = tomllib.loads(files[name])
        except tomllib.TOMLDecodeError as error:
            problems.append(Problem(name, "-", f"not valid TOML: {error}"))
        except RecursionError:
            problems.append(Problem(name, "-", "not valid TOML: nested too deeply"))
    return docs


class _Kind(NamedTuple):
    accepts: Callable[[Any], bool]
    text: str


TEXT = _Kind(
    lambda v: (
        isinstance(v, str) and v.strip() != "" and len(v) <= MAX_TEXT_LENGTH and v.isprintable()
    ),
    f"non-empty text (printable, at most {MAX_TEXT_LENGTH} characters)",
)
WHOLE = _Kind(lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number")
NUMBER = _Kind(
    lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    "a number",
)
FLAG = _Kind(lambda v: isinstance(v, bool), "true or false")
TABLE = _Kind(lambda v: isinstance(v, dict), "a table")
LIST = _Kind(lambda v: isinstance(v, list), "a list")
DATE = _Kind(lambda v: type(v) is date, "a date such as 2026-12-24")
DATETIME = _Kind(lambda v: isinstance(v, datetime), "a date and time such as 2026-12-14T08:00:00")

ID_PATTERN = re.compile(r"[a-z][a-z0-9-]*")
# One PJSIP endpoint and nothing else: no "&" (several at once), no options after ",", no
# Local/ channel into another context.
DIAL_PATTERN = re.compile(r"PJSIP/([A-Za-z0-9][A-Za-z0-9_.-]{0,79})")
# The desk is a queue of agents, named like a Local channel into the dialplan's desk-queue
# context, where the caller's own channel waits in it.
DESK_QUEUE_PATTERN = re.compile(r"Local/([a-z][a-z0-9-]{0,39})@desk-queue/n")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
TIME_PATTERN = re.compile(r"(\d\d):(\d\d)")
WINDOW_PATTERN = re.compile(r"\s*(\S+)\s*-\s*(\S+)\s*")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _File:
    """Reads one document, recording each problem with the file's name and the key's path."""

    def __init__(self, name: str, problems: list[Problem], endpoints: Set[str] | None) -> None:
        self.name = name
        self._problems = problems
        self._endpoints = endpoints

    def problem(self, key: str, reason: str) -> None:
        self._problems.append(Problem(self.name, key, reason))

    @property
    def ok(self) -> bool:
        return not any(problem.file == self.name for problem in self._problems)

    def fields(
        self,
        table: Mapping[str, Any],
        path: str,
        spec: Mapping[str, _Kind],
        defaults: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The keys of `spec` found in `table` with the right kind; the rest are reported."""
        defaults = defaults or {}
        for key in table:
            if key not in spec:
                self.problem(_join(path, key), "unknown key; expected " + ", ".join(spec))
        values = {}
        for key, kind in spec.items():
            if key not in table:
                if key in defaults:
                    values[key] = defaults[key]
                else:
                    self.problem(_join(path, key), f"missing; must be {kind.text}")
            elif kind.accepts(table[key]):
                values[key] = table[key]
            else:
                self.problem(_join(path, key), f"must be {kind.text}, not {_shown(table[key])}")
        return values

    def section(
        self, values: Mapping[str, Any], key: str, path: str, spec: Mapping[str, _Kind]
    ) -> dict[str, Any]:
        """The fields of a sub-table already read into `values` (empty when it was missing)."""
        if key not in values:
            return {}
        return self.fields(values[key], _join(path, key), spec)

    def items(self, values: Iterable[Any], path: str, kind: _Kind) -> list[Any]:
        good = []
        for index, value in enumerate(values):
            if kind.accepts(value):
                good.append(value)
            else:
                self.problem(_join(path, index), f"must be {kind.text}, not {_shown(value)}")
        return good

    def within(
        self, values: Mapping[str, Any], key: str, path: str, low: float, high: float
    ) -> None:
        if key not in values:
            return
        if values[key] < low:
            self.problem(_join(path, key), f"must be at least {low:g}, not {values[key]}")
        elif values[key] > high:
            self.problem(_join(path, key), f"must be at most {high:g}, not {values[key]}")

    def above_zero(self, values: Mapping[str, Any], key: str, path: str, high: float) -> None:
        if key in values and values[key] <= 0:
            self.problem(_join(path, key), f"must be more than 0, not {values[key]}")
        else:
            self.within(values, key, path, 0, high)

    def one_of(
        self, values: Mapping[str, Any], key: str, path: str, allowed: Iterable[str]
    ) -> None:
        allowed = tuple(allowed)
        if key in values and values[key] not in allowed:
            self.problem(
                _join(path, key), f"unknown value {values[key]!r}; expected " + ", ".join(allowed)
            )

    def identifier(self, values: Mapping[str, Any], key: str, path: str) -> None:
        if key in values and not ID_PATTERN.fullmatch(values[key]):
            self.problem(
                _join(path, key),
                f"{values[key]!r} must be lowercase letters, digits and '-', "
                "starting with a letter",
            )

    def dial_string(self, values: Mapping[str, Any], key: str, path: str) -> None:
        if key not in values:
            return
        if path == "desk":
            if not DESK_QUEUE_PATTERN.fullmatch(values[key]):
                self.problem(
                    _join(path, key),
                    f"{_shown(values[key])} is not the desk queue Local/<queue>@desk-queue/n "
                    "such as Local/xy-desk@desk-queue/n",
                )
            return
        match = DIAL_PATTERN.fullmatch(values[key])
        if not match:
            self.problem(
                _join(path, key),
                f"{_shown(values[key])} is not a dial string PJSIP/<endpoint> such as "
                "PJSIP/tech-anna",
            )
        elif self._endpoints is not None and match[1] not in self._endpoints:
            self.problem(
                _join(path, key),
                f"{values[key]!r}: Asterisk's configuration defines no endpoint {match[1]!r}; "
                "known: " + ", ".join(sorted(self._endpoints)),
            )

    def time_of_day(self, text: str, key: str, *, end: bool = False) -> int | None:
        """HH:MM as minutes after midnight; 24:00 only where it ends something."""
        match = TIME_PATTERN.fullmatch(text)
        if match:
            hours, minutes = int(match[1]), int(match[2])
            if hours < 24 and minutes < 60:
                return hours * 60 + minutes
            if end and (hours, minutes) == (24, 0):
                return DAY_MINUTES
        allowed = "00:00 to 24:00" if end else "00:00 to 23:59"
        self.problem(key, f"{text!r} is not a time HH:MM from {allowed}")
        return None

    def unique(self, values: Iterable[str], path: str, what: str) -> None:
        seen = set()
        for index, value in enumerate(values):
            if value in seen:
                self.problem(_join(path, index), f"duplicate {what} {value!r}")
            seen.add(value)


def _declared_ids(doc: dict[str, Any] | None, key: str) -> set[str] | None:
    """Ids an array of tables declares, even in entries with other problems: other files and
    keys are checked against them. None when the document could not be read."""
    if doc is None:
        return None
    entries = doc.get(key)
    if not isinstance(entries, list):
        return set()
    return {
        entry["id"]
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("id"), str)
    }


def _check_known(value: str, path: str, ids: set[str] | None, what: str, file: _File) -> None:
    if ids is not None and value not in ids:
        file.problem(path, f"unknown {what} {value!r}; expected " + ", ".join(sorted(ids)))


def _zone(name: str, file: _File) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        file.problem(
            "zone", f"unknown time zone {name!r}; expected an IANA name such as Europe/Zurich"
        )
        return None


def _hotline(doc: dict[str, Any] | None, file: _File, tier_ids: set[str] | None) -> Hotline | None:
    if doc is None:
        return None
    top = file.fields(
        doc,
        "",
        {
            "zone": TEXT,
            "default_language": TEXT,
            "languages": LIST,
            "language_menu": FLAG,
            "pin": TABLE,
            "notice": TABLE,
            "unidentified": TABLE,
            "contract": TABLE,
        },
    )
    zone = _zone(top["zone"], file) if "zone" in top else None
    languages = file.items(top.get("languages", []), "languages", TEXT)
    if "languages" in top and not top["languages"]:
        file.problem("languages", "empty; list at least the default language")
    for index, language in enumerate(languages):
        if language not in LANGUAGES:
            file.problem(
                _join("languages", index),
                f"unknown language {_shown(language)}; expected " + ", ".join(LANGUAGES),
            )
    file.unique(languages, "languages", "language")
    if "default_language" in top and languages and top["default_language"] not in languages:
        file.problem("default_language", f"{top['default_language']!r} is not in languages")
    pin = file.section(
        top,
        "pin",
        "",
        {
            "length": WHOLE,
            "attempts": WHOLE,
            "first_digit_timeout": NUMBER,
            "inter_digit_timeout": NUMBER,
        },
    )
    if "length" in pin and not 4 <= pin["length"] <= 12:
        file.problem("pin.length", f"must be from 4 to 12 digits, not {pin['length']}")
    file.within(pin, "attempts", "pin", 1, 5)
    file.above_zero(pin, "first_digit_timeout", "pin", 60)
    file.above_zero(pin, "inter_digit_timeout", "pin", 30)
    notice = file.section(top, "notice", "", {"repeats_before_consent": WHOLE})
    file.within(notice, "repeats_before_consent", "notice", 0, 5)
    unidentified = file.section(top, "unidentified", "", {"destination": TEXT})
    file.one_of(unidentified, "destination", "unidentified", UNIDENTIFIED_DESTINATIONS)
    contract = file.section(top, "contract", "", {"fallback_tier": TEXT})
    if "fallback_tier" in contract:
        fallback = contract["fallback_tier"]
        _check_known(fallback, "contract.fallback_tier", tier_ids, "tier", file)
    if not file.ok or zone is None:
        return None
    return Hotline(
        zone=zone,
        default_language=top["default_language"],
        languages=tuple(languages),
        language_menu=top["language_menu"],
        pin_length=pin["length"],
        pin_attempts=pin["attempts"],
        pin_first_digit_timeout=pin["first_digit_timeout"],
        pin_inter_digit_timeout=pin["inter_digit_timeout"],
        notice_repeats_before_consent=notice["repeats_before_consent"],
        unidentified_destination=unidentified["destination"],
        fallback_tier=contract["fallback_tier"],
    )


def _notice_terms(
    doc: dict[str, Any] | None, file: _File, tier_ids: set[str] | None
) -> dict[str, NoticeTerms] | None:
    if doc is None:
        return None
    spec = {
        "callout_fee_chf": NUMBER,
        "hourly_rate_chf": NUMBER,
        "billing_increment_minutes": WHOLE,
        "free_service_units_per_month": WHOLE,
    }
    terms = {}
    for tier_id, table in doc.items():
        if tier_ids is not None and tier_id not in tier_ids:
            file.problem(tier_id, "unknown tier; expected " + ", ".join(sorted(tier_ids)))
        if not TABLE.accepts(table):
            file.problem(tier_id, f"must be a table of notice terms, not {_shown(table)}")
            continue
        values = file.fields(table, tier_id, spec)
        file.within(values, "callout_fee_chf", tier_id, 0, 100_000)
        file.within(values, "hourly_rate_chf", tier_id, 0, 100_000)
        file.within(values, "billing_increment_minutes", tier_id, 1, 240)
        file.within(values, "free_service_units_per_month", tier_id, 0, 1000)
        terms[tier_id] = NoticeTerms(**values) if len(values) == len(spec) else None
    for tier_id in sorted(tier_ids or ()):
        if tier_id not in doc:
            file.problem(tier_id, "missing; every tier needs notice terms")
    return {tier_id: terms for tier_id, terms in terms.items() if terms} if file.ok else None


NO_WINDOWS: Mapping[str, list[str]] = MappingProxyType(dict.fromkeys(WEEKDAYS, ()))
TIER_SPEC = {
    "id": TEXT,
    "name": TEXT,
    "price_chf": NUMBER,
    "first_reaction": TABLE,
    "holidays_close": FLAG,
    "covered": TABLE,
}


def _tiers(doc: dict[str, Any] | None, file: _File) -> dict[str, dict[str, Any]] | None:
    """{tier id: the Tier's fields except its notice terms, which notice.toml holds}."""
    if doc is None:
        return None
    top = file.fields(doc, "", {"tier": LIST})
    if "tier" in top and not top["tier"]:
        file.problem("tier", "empty; list at least one tier")
    tiers: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for index, table in enumerate(top.get("tier", [])):
        path = _join("tier", index)
        if not TABLE.accepts(table):
            file.problem(path, f"must be a table, not {_shown(table)}")
            continue
        tier_id = table.get("id")
        if tier_id in seen:
            file.problem(_join(path, "id"), f"duplicate tier id {tier_id!r}")
        elif isinstance(tier_id, str) and ID_PATTERN.fullmatch(tier_id):
            path = _join("tier", tier_id)
        seen.add(tier_id)
        draft = _tier(table, path, file)
        if draft is not None:
            tiers.setdefault(draft["id"], draft)
    return tiers if file.ok else None


def _tier(table: Mapping[str, Any], path: str, file: _File) -> dict[str, Any] | None:
    values = file.fields(table, path, TIER_SPEC, defaults={"holidays_close": True})
    file.identifier(values, "id", path)
    file.within(values, "price_chf", path, 0, 1_000_000)
    if "first_reaction" in values:
        values["first_reaction"] = _first_reaction(
            values["first_reaction"], _join(path, "first_reaction"), file
        )
    if "covered" in values:
        values["week"] = _week(values.pop("covered"), _join(path, "covered"), file)
    if len(values) < len(TIER_SPEC) or None in values.values():
        return None
    return values


def _first_reaction(table: Mapping[str, Any], path: str, file: _File) -> FirstReaction | None:
    values = file.fields(table, path, {"rule": TEXT, "hours": NUMBER}, defaults={"hours": None})
    file.one_of(values, "rule", path, REACTION_RULES)
    rule, hours = values.get("rule"), values.get("hours")
    if rule not in REACTION_RULES:
        return None
    if rule in HOUR_RULES and hours is None:
        file.problem(_join(path, "hours"), f"missing; rule {rule!r} needs a number of hours")
    elif rule in HOUR_RULES and not 0 < hours <= MAX_REACTION_HOURS:
        file.problem(
            _join(path, "hours"),
            f"must be more than 0 and at most {MAX_REACTION_HOURS}, not {hours}",
        )
    elif rule not in HOUR_RULES and hours is not None:
        file.problem(_join(path, "hours"), f"not allowed with rule {rule!r}")
    else:
        return FirstReaction(rule, hours)
    return None


def _week(
    table: Mapping[str, Any], path: str, file: _File
) -> tuple[tuple[Window, ...], ...] | None:
    days = file.fields(table, path, dict.fromkeys(WEEKDAYS, LIST), defaults=NO_WINDOWS)
    week = [_day_windows(days.get(day, []), _join(path, day), file) for day in WEEKDAYS]
    if len(days) < len(WEEKDAYS) or None in week:
        return None
    if not any(week):
        file.problem(path, "no window on any day; a tier must cover some time")
        return None
    return tuple(week)  # type: ignore[arg-type]


def _day_windows(texts: list[Any], path: str, file: _File) -> tuple[Window, ...] | None:
    windows = [_window(text, _join(path, index), file) for index, text in enumerate(texts)]
    if None in windows:
        return None
    windows.sort()
    for before, after in itertools.pairwise(windows):
        if after.start < before.end:
            file.problem(path, f"windows {before.label} and {after.label} overlap")
            return None
    return _merge_touching(windows)


def _merge_touching(windows: list[Window]) -> tuple[Window, ...]:
    """08:00-12:00 and 12:00-14:00 are one window 08:00-14:00."""
    merged: list[Window] = []
    for window in windows:
        if merged and merged[-1].end == window.start:
            merged[-1] = Window(merged[-1].start, window.end)
        else:
            merged.append(window)
    return tuple(merged)


def _window(text: Any, path: str, file: _File) -> Window | None:
    if not isinstance(text, str) or not (match := WINDOW_PATTERN.fullmatch(text)):
        file.problem(path, f'{_shown(text)} is not a window such as "07:00-19:00"')
        return None
    start = file.time_of_day(match[1], path)
    end = file.time_of_day(match[2], path, end=True)
    if start is None or end is None:
        return None
    if end <= start:
        file.problem(path, f"{text!r}: the end {clock_text(end)} is not after the start")
        return None
    return Window(start, end)


def _calendar(doc: dict[str, Any] | None, file: _File) -> HolidayCalendar | None:
    if doc is None:
        return None
    top = file.fields(doc, "", {"canton": TEXT, "closure": LIST}, defaults={"closure": []})
    file.one_of(top, "canton", "", CANTONS)
    closures: dict[date, str] = {}
    for index, table in enumerate(top.get("closure", [])):
        path = _join("closure", index)
        if not TABLE.accepts(table):
            file.problem(path, f"must be a table with date and label, not {_shown(table)}")
            continue
        values = file.fields(table, path, {"date": DATE, "label": TEXT})
        if values.get("date") in closures:
            file.problem(_join(path, "date"), f"duplicate closure date {values['date']}")
        elif len(values) == 2:
            closures[values["date"]] = values["label"]
    if not file.ok:
        return None
    return HolidayCalendar(top["canton"], closures)


Person = tuple[str, str, str | None]  # name, dial string, e-mail or None
PERSON_SPEC = {"id": TEXT, "name": TEXT, "dial": TEXT, "email": TEXT}


def _rota(
    doc: dict[str, Any] | None, file: _File, technician_ids: set[str] | None, zone: tzinfo
) -> tuple[dict[str, Person], Rota, tuple[str, str, str, str | None]] | None:
    """({technician id: person}, the rota, the chief technician's (id, name, dial, e-mail))."""
    if doc is None:
        return None
    top = file.fields(
        doc,
        "",
        {"technician": LIST, "rotation": TABLE, "override": LIST, "chief": TABLE},
        defaults={"override": []},
    )
    technicians = _technicians(top.get("technician", []), file)
    chief = _person(top["chief"], "chief", file) if "chief" in top else None
    rotation = file.section(
        top, "rotation", "", {"order": LIST, "handover": TABLE, "first_week": DATE}
    )
    order = file.items(rotation.get("order", []), "rotation.order", TEXT)
    if "order" in rotation and not rotation["order"]:
        file.problem("rotation.order", "empty: nobody would be on standby")
    for index, tech_id in enumerate(order):
        path = _join("rotation.order", index)
        _check_known(tech_id, path, technician_ids, "technician", file)
    handover = file.section(rotation, "handover", "rotation", {"weekday": TEXT, "time": TEXT})
    file.one_of(handover, "weekday", "rotation.handover", WEEKDAYS)
    minute = None
    if "time" in handover:
        minute = file.time_of_day(handover["time"], "rotation.handover.time")
    first_week = rotation.get("first_week")
    weekday = handover.get("weekday")
    if first_week and weekday in WEEKDAYS and first_week.weekday() != WEEKDAYS.index(weekday):
        file.problem(
            "rotation.first_week",
            f"{first_week} is a {WEEKDAYS[first_week.weekday()]}, not the handover day {weekday}",
        )
    overrides = _overrides(top.get("override", []), file, technician_ids, zone)
    if not file.ok:
        return None
    assert minute is not None and first_week is not None and chief is not None
    rota = Rota(
        order=tuple(order),
        handover_weekday=WEEKDAYS.index(handover["weekday"]),
        handover_minute=minute,
        first_week=first_week,
        overrides=overrides,
    )
    return technicians, rota, (top["chief"]["id"], *chief)


def _person(table: Mapping[str, Any], path: str, file: _File) -> Person | None:
    """A technician's or the chief's (name, dial string, e-mail or None), None when invalid."""
    values = file.fields(table, path, PERSON_SPEC, defaults={"email": None})
    file.identifier(values, "id", path)
    file.dial_string(values, "dial", path)
    if values.get("email") is not None and not EMAIL_PATTERN.fullmatch(values["email"]):
        file.problem(_join(path, "email"), f"{values['email']!r} is not an e-mail address")
    if len(values) < len(PERSON_SPEC):
        return None
    return values["name"], values["dial"], values["email"]


def _technicians(tables: list[Any], file: _File) -> dict[str, Person]:
    """{id: person} of the valid technician entries."""
    technicians: dict[str, Person] = {}
    if not tables:
        file.problem("technician", "missing or empty; list at least one technician")
    seen = set()
    for index, table in enumerate(tables):
        path = _join("technician", index)
        if not TABLE.accepts(table):
            file.problem(path, f"must be a table with id, name and dial, not {_shown(table)}")
            continue
        person = _person(table, path, file)
        tech_id = table.get("id")
        if tech_id in seen:
            file.problem(_join(path, "id"), f"duplicate technician id {tech_id!r}")
        elif person is not None:
            technicians[tech_id] = person
        seen.add(tech_id)
    return technicians


def _overrides(
    tables: list[Any], file: _File, technician_ids: set[str] | None, zone: tzinfo
) -> tuple[Override, ...]:
    overrides: list[tuple[int, Override]] = []
    for index, table in enumerate(tables):
        path = _join("override", index)
        if not TABLE.accepts(table):
            file.problem(path, f"must be a table, not {_shown(table)}")
            continue
        values = file.fields(
            table,
            path,
            {"technician": TEXT, "covers_for": TEXT, "from": DATETIME, "to": DATETIME},
        )
        for key in ("technician", "covers_for"):
            if key in values:
                _check_known(values[key], _join(path, key), technician_ids, "technician", file)
        if len(values) < 4:
            continue
        if values["technician"] == values["covers_for"]:
            file.problem(_join(path, "covers_for"), "a technician cannot cover for themselves")
        start, end = _utc(values["from"], zone), _utc(values["to"], zone)
        if end <= start:
            file.problem(_join(path, "to"), f"{values['to']} is not after from {values['from']}")
            continue
        overrides.append((index, Override(values["technician"], values["covers_for"], start, end)))
    _check_override_conflicts(overrides, file)
    return tuple(override for _, override in overrides)


def _check_override_conflicts(overrides: list[tuple[int, Override]], file: _File) -> None:
    """Overlapping overrides must not leave anyone's duty unassigned or ambiguous."""
    for index, first in overrides:
        for other_index, second in overrides:
            if other_index == index or not (first.start < second.end and second.start < first.end):
                continue
            if first.covers_for == second.covers_for and index < other_index:
                file.problem(
                    _join("override", other_index),
                    f"overlaps override[{index}], which also covers for {first.covers_for!r}",
                )
            if first.technician == second.covers_for:
                file.problem(
                    _join("override", index),
                    f"{first.technician!r} is away then (override[{other_index}]), so nobody "
                    f"would stand in for {first.covers_for!r}",
                )


def _utc(moment: datetime, zone: tzinfo) -> datetime:
    """A table date-time without an offset is local time in the tables' zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _destinations(
    doc: dict[str, Any] | None, file: _File, technician_ids: set[str] | None
) -> Destinations | None:
    if doc is None:
        return None
    top = file.fields(
        doc,
        "",
        {"ring_timeout": WHOLE, "accept_timeout": NUMBER, "escalation": LIST, "desk": TABLE},
        defaults={"accept_timeout": DEFAULT_ACCEPT_TIMEOUT},
    )
    file.within(top, "ring_timeout", "", 2, 300)
    file.above_zero(top, "accept_timeout", "", MAX_ACCEPT_TIMEOUT)
    escalation = file.items(top.get("escalation", []), "escalation", TEXT)
    file.unique(escalation, "escalation", "technician")
    for index, tech_id in enumerate(escalation):
        path = _join("escalation", index)
        _check_known(tech_id, path, technician_ids, "technician", file)
    desk = {}
    if "desk" in top:
        desk = file.fields(
            top["desk"],
            "desk",
            {"name": TEXT, "dial": TEXT, "callback_offer_after": WHOLE},
            defaults={"callback_offer_after": DEFAULT_CALLBACK_OFFER_AFTER},
        )
    file.dial_string(desk, "dial", "desk")
    file.above_zero(desk, "callback_offer_after", "desk", MAX_CALLBACK_OFFER_AFTER)
    if not file.ok:
        return None
    return Destinations(
        desk=Leg("desk", "desk", desk["name"], desk["dial"], top["ring_timeout"]),
        escalation=tuple(escalation),
        ring_timeout=top["ring_timeout"],
        accept_timeout=top["accept_timeout"],
        callback_offer_after=desk["callback_offer_after"],
    )


def _escalation(doc: dict[str, Any] | None, file: _File) -> EscalationPolicy | None:
    if doc is None:
        return None
    top = file.fields(
        doc,
        "",
        {"ack_within_minutes": NUMBER, "chief_before_due_minutes": NUMBER, "admins_email": LIST},
        defaults={"admins_email": []},
    )
    file.above_zero(top, "ack_within_minutes", "", MAX_ACK_MINUTES)
    file.within(top, "chief_before_due_minutes", "", 0, MAX_REACTION_HOURS * 60)
    admins = file.items(top.get("admins_email", []), "admins_email", TEXT)
    for index, address in enumerate(admins):
        if not EMAIL_PATTERN.fullmatch(address):
            file.problem(_join("admins_email", index), f"{address!r} is not an e-mail address")
    file.unique(admins, "admins_email", "address")
    if not file.ok:
        return None
    return EscalationPolicy(
        ack_within=timedelta(minutes=top["ack_within_minutes"]),
        chief_before_due=timedelta(minutes=top["chief_before_due_minutes"]),
        admins_email=tuple(admins),
    )
