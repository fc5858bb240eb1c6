"""The cost-consequence notice, composed at call time from the routing tables' facts.

Every value (tier, days, hours, amounts, units) is said with generated parts, so a change in
the tables changes what callers hear without a new recording. The composition also gives the
plain text of what was said, for the call record.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import groupby

from ivr.config import Settings
from ivr.prompts.catalogue import Catalogue, load_catalogue
from ivr.prompts.installed import media_uri
from ivr.prompts.speech import (
    LANGUAGES,
    WEEKDAYS,
    Gender,
    Spoken,
    parse_time_of_day,
    say_days,
    say_number,
    say_time,
)

FULL_DAY = ("00:00", "24:00")
WHOLE_WEEK = ("mon", "sun")

# counted nouns: (the part said for exactly one, the part said after any other number)
_NOUNS = {
    "franc": ("unit/franc_one", "unit/francs"),
    "rappen": ("unit/rappen_one", "unit/rappen"),
    "minute": (None, "unit/minutes"),
    "free_unit": ("unit/free_unit_one", "unit/free_units"),
}
# nouns whose numbers take the feminine form ("vingt et une minutes", "una unità")
_FEMININE_NOUNS = {
    "de": {"minute", "free_unit"},
    "fr": {"minute", "free_unit"},
    "it": {"free_unit"},
}


@dataclass(frozen=True)
class NoticeFacts:
    """What the notice states, converted by the call flow from the routing decision and tables.

    covered: windows as (first weekday, last weekday, "HH:MM", "HH:MM"), weekdays "mon".."sun";
    windows over the same days are said together ("from 8 to 12 and from 14 to 18"), and
    neighbouring days with equal hours as one range, so per-day windows are fine too.
    A fee or rate of None is not stated; zero means the intervention is not charged for it.
    free_units_left None: the count left this month is unknown and not stated.
    """

    tier_id: str
    tier_name: str
    covered: tuple[tuple[str, str, str, str], ...]
    callout_fee_chf: Decimal | None
    hourly_rate_chf: Decimal | None
    billing_increment_min: int | None
    free_units_per_month: int
    free_units_left: int | None
    holidays_excluded: bool = True


@dataclass(frozen=True)
class Composition:
    """The media to play in order (`sound:winet/...`) and the text of what they say."""

    media: tuple[str, ...]
    text: str


class _Notice:
    """Collects parts and their words; punctuation goes into the text only."""

    def __init__(self, catalogue: Catalogue, lang: str) -> None:
        self.catalogue = catalogue
        self.lang = lang
        self.media: list[str] = []
        self.words: list[str] = []

    def prompt(self, prompt_id: str) -> None:
        self.media.append(media_uri(prompt_id))
        self.words.append(self.catalogue.text(prompt_id, self.lang))

    def spoken(self, spoken: Spoken) -> None:
        self.media += [media_uri(prompt_id) for prompt_id in spoken.prompts]
        self.words.append(spoken.text)

    def mark(self, punctuation: str) -> None:
        ends_sentence = punctuation == "." and self.words[-1].endswith((".", "?", "!"))
        if not ends_sentence and not self.words[-1].endswith(punctuation):
            self.words[-1] += punctuation

    def composition(self) -> Composition:
        return Composition(tuple(self.media), " ".join(self.words))


def compose_notice(
    facts: NoticeFacts, lang: str, catalogue: Catalogue | None = None
) -> Composition:
    """The notice for a caller of `facts`' tier in `lang` (catalogue: the installed one)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    _check_facts(facts)
    notice = _Notice(catalogue or installed_catalogue(), lang)
    notice.prompt("notice/outside_hours")
    _say_coverage(notice, facts)
    _say_cost(notice, facts)
    _say_free_units(notice, facts)
    notice.prompt("notice/choice")
    return notice.composition()


@functools.cache
def installed_catalogue() -> Catalogue:
    """The catalogue of this installation, read once per process."""
    return load_catalogue(Settings.from_env().prompts_dir)


def _say_coverage(notice: _Notice, facts: NoticeFacts) -> None:
    notice.prompt("notice/your_contract")
    notice.spoken(Spoken((f"tier/{facts.tier_id}",), facts.tier_name))
    if not facts.covered:
        notice.prompt("notice/no_covered_hours")
        return
    notice.prompt("notice/is_valid")
    groups = _day_groups(facts.covered)
    if groups == [(*WHOLE_WEEK, [FULL_DAY])]:
        notice.prompt("notice/around_the_clock")
    else:
        for index, group in enumerate(groups):
            if index:
                _join(notice, index, len(groups))
            _say_day_group(notice, *group)
    if facts.holidays_excluded:
        notice.mark(",")
        notice.prompt("notice/except_holidays")
    notice.mark(".")


DayGroup = tuple[str, str, list[tuple[str, str]]]


def _day_groups(covered: tuple[tuple[str, str, str, str], ...]) -> list[DayGroup]:
    """Windows grouped by their days; neighbouring days with the same hours become one range,
    so per-day windows are said as "Monday to Friday" too."""
    groups: list[DayGroup] = []
    for (first, last), windows in groupby(covered, key=lambda window: window[:2]):
        hours = [window[2:] for window in windows]
        if groups and groups[-1][2] == hours and _day_after(groups[-1][1]) == first:
            groups[-1] = (groups[-1][0], last, hours)
        else:
            groups.append((first, last, hours))
    return groups


def _day_after(day: str) -> str:
    return WEEKDAYS[(WEEKDAYS.index(day) + 1) % len(WEEKDAYS)]


def _say_day_group(notice: _Notice, first: str, last: str, hours: list[tuple[str, str]]) -> None:
    notice.spoken(say_days(first, last, notice.lang))
    if hours == [FULL_DAY]:
        notice.prompt("notice/all_day")
        return
    for index, (opens, closes) in enumerate(hours):
        if index:
            _join(notice, index, len(hours))
        notice.spoken(say_time(opens, "from", notice.lang))
        notice.spoken(say_time(closes, "to", notice.lang))


def _join(notice: _Notice, index: int, count: int) -> None:
    """ "A, B and C": a comma between items, "and" before the last."""
    if index == count - 1:
        notice.prompt("notice/and")
    else:
        notice.mark(",")


def _say_cost(notice: _Notice, facts: NoticeFacts) -> None:
    fee, rate = facts.callout_fee_chf, facts.hourly_rate_chf
    if fee is None and rate is None:
        notice.prompt("notice/by_effort")
        return
    if not fee and not rate:
        notice.prompt("notice/no_charge")
        return
    if fee:
        notice.prompt("notice/fee")
        _say_amount(notice, fee)
        notice.mark(".")
    if rate:
        notice.prompt("notice/hourly_rate")
        _say_amount(notice, rate)
        notice.mark(".")
        _say_increment(notice, facts.billing_increment_min)


def _say_increment(notice: _Notice, minutes: int | None) -> None:
    if minutes is None:
        return
    if minutes == 1:
        notice.prompt("notice/increment_per_minute")
        return
    notice.prompt("notice/increment")
    _say_count(notice, minutes, "minute")
    notice.mark(".")


def _say_amount(notice: _Notice, chf: Decimal) -> None:
    rappen_total = int(chf * 100)
    francs, rappen = divmod(rappen_total, 100)
    if francs or not rappen:
        _say_count(notice, francs, "franc")
    if francs and rappen:
        notice.prompt("notice/and")
    if rappen:
        _say_count(notice, rappen, "rappen")


def _say_count(notice: _Notice, count: int, noun: str) -> None:
    one, many = _NOUNS[noun]
    if count == 1 and one is not None:
        notice.prompt(one)
        return
    notice.spoken(say_number(count, notice.lang, _gender(noun, notice.lang)))
    notice.prompt(many)


def _gender(noun: str, lang: str) -> Gender:
    return "f" if noun in _FEMININE_NOUNS.get(lang, ()) else "m"


def _say_free_units(notice: _Notice, facts: NoticeFacts) -> None:
    if facts.free_units_per_month == 0:
        notice.prompt("notice/no_free_units")
        _say_billed(notice, facts)
        return
    notice.prompt("notice/units_included")
    _say_count(notice, facts.free_units_per_month, "free_unit")
    notice.prompt("notice/per_month")
    if facts.free_units_left is None:
        return
    if facts.free_units_left == 0:
        notice.prompt("notice/units_none_left")
        _say_billed(notice, facts)
        return
    notice.prompt("notice/units_left")
    gender = _gender("free_unit", notice.lang)
    notice.spoken(say_number(facts.free_units_left, notice.lang, gender))
    notice.prompt("notice/units_left_end")


def _say_billed(notice: _Notice, facts: NoticeFacts) -> None:
    """No free unit left: an intervention is billed, unless it costs nothing anyway."""
    if facts.callout_fee_chf == 0 and facts.hourly_rate_chf == 0:
        return
    notice.prompt("notice/billed")


def _check_facts(facts: NoticeFacts) -> None:
    """Refuses facts the notice cannot say, naming the field."""
    for first, last, opens, closes in facts.covered:
        say_days(first, last, "en")
        if parse_time_of_day(opens) >= parse_time_of_day(closes):
            raise ValueError(f"covered window {opens}-{closes} does not end after it starts")
    for name in ("callout_fee_chf", "hourly_rate_chf"):
        _check_amount(name, getattr(facts, name))
    increment = facts.billing_increment_min
    if increment is not None and increment < 1:
        raise ValueError(f"billing_increment_min must be at least 1, not {increment}")
    for name in ("free_units_per_month", "free_units_left"):
        value = getattr(facts, name)
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative, not {value}")


def _check_amount(name: str, amount: Decimal | None) -> None:
    if amount is None:
        return
    try:
        exact = amount == amount.quantize(Decimal("0.01"))
    except (InvalidOperation, AttributeError):
        exact = False
    if not exact or amount < 0:
        raise ValueError(f"{name} must be a Decimal amount of francs and rappen, not {amount!r}")
