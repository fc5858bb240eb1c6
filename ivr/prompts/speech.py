"""What the hotline says that is generated rather than written: numbers, times of day, weekday
ranges and the spoken form of tier names, in German, French, Italian and English.

Everything said with a value in it is built from pre-rendered parts whose ids are the same in
every language (`num/21`, `time/from/7`, `days/mon-fri`); Asterisk picks the language folder.
`generated_prompts(lang)` lists those parts with the text each one is rendered from, and the
`say_*` functions pick the parts for one value, with the correctly spelled text of what they say.
French follows Swiss usage (septante, nonante); German uses the Swiss "ss".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

LANGUAGES = ("de", "fr", "it", "en")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LARGEST_NUMBER = 99_999

Gender = Literal["m", "f"]
Role = Literal["from", "to"]


@dataclass(frozen=True)
class Spoken:
    """Prompt ids to play one after the other, and the text of what they say together."""

    prompts: tuple[str, ...]
    text: str


# --- numbers -----------------------------------------------------------------------------------

_DE_ONES = (
    "null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn "
    "fünfzehn sechzehn siebzehn achtzehn neunzehn"
).split()
_DE_TENS = {
    2: "zwanzig",
    3: "dreissig",
    4: "vierzig",
    5: "fünfzig",
    6: "sechzig",
    7: "siebzig",
    8: "achtzig",
    9: "neunzig",
}
_FR_ONES = (
    "zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze "
    "seize dix-sept dix-huit dix-neuf"
).split()
_FR_TENS = {
    2: "vingt",
    3: "trente",
    4: "quarante",
    5: "cinquante",
    6: "soixante",
    7: "septante",
    8: "quatre-vingt",
    9: "nonante",
}
_IT_ONES = (
    "zero uno due tre quattro cinque sei sette otto nove dieci undici dodici tredici "
    "quattordici quindici sedici diciassette diciotto diciannove"
).split()
_IT_TENS = {
    2: "venti",
    3: "trenta",
    4: "quaranta",
    5: "cinquanta",
    6: "sessanta",
    7: "settanta",
    8: "ottanta",
    9: "novanta",
}
_EN_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = {
    2: "twenty",
    3: "thirty",
    4: "forty",
    5: "fifty",
    6: "sixty",
    7: "seventy",
    8: "eighty",
    9: "ninety",
}


def _de_below_100(n: int) -> str:
    if n < 20:
        return _DE_ONES[n]
    tens, ones = divmod(n, 10)
    if ones == 0:
        return _DE_TENS[tens]
    return ("ein" if ones == 1 else _DE_ONES[ones]) + "und" + _DE_TENS[tens]


def _fr_below_100(n: int) -> str:
    if n < 20:
        return _FR_ONES[n]
    tens, ones = divmod(n, 10)
    if ones == 0:
        return "quatre-vingts" if tens == 8 else _FR_TENS[tens]
    if ones == 1 and tens != 8:
        return f"{_FR_TENS[tens]} et un"
    return f"{_FR_TENS[tens]}-{_FR_ONES[ones]}"


def _it_below_100(n: int) -> str:
    if n < 20:
        return _IT_ONES[n]
    tens, ones = divmod(n, 10)
    if ones == 0:
        return _IT_TENS[tens]
    stem = _IT_TENS[tens][:-1] if ones in (1, 8) else _IT_TENS[tens]
    return stem + ("tré" if ones == 3 else _IT_ONES[ones])


def _en_below_100(n: int) -> str:
    if n < 20:
        return _EN_ONES[n]
    tens, ones = divmod(n, 10)
    return _EN_TENS[tens] if ones == 0 else f"{_EN_TENS[tens]}-{_EN_ONES[ones]}"


_BELOW_100 = {"de": _de_below_100, "fr": _fr_below_100, "it": _it_below_100, "en": _en_below_100}

# Feminine forms where they differ from the counting form (German "eine", French "vingt et une").
_FEMININE = {
    "de": {1: "eine"},
    "fr": {n: _fr_below_100(n)[:-2] + "une" for n in (1, 21, 31, 41, 51, 61, 71, 81, 91)},
    "it": {1: "una"},
    "en": {},
}


def _hundreds_word(hundreds: int, lang: str) -> str:
    """The word for 100..900 said on its own (French "deux cents")."""
    if lang == "de":
        return "hundert" if hundreds == 1 else _DE_ONES[hundreds] + "hundert"
    if lang == "fr":
        return "cent" if hundreds == 1 else _FR_ONES[hundreds] + " cents"
    if lang == "it":
        return "cento" if hundreds == 1 else _IT_ONES[hundreds] + "cento"
    return f"{_EN_ONES[hundreds]} hundred"


_THOUSAND_ALONE = {"de": "tausend", "fr": "mille", "it": "mille", "en": "one thousand"}
_THOUSANDS = {"de": "tausend", "fr": "mille", "it": "mila", "en": "thousand"}


def _below_100(n: int, lang: str, gender: Gender) -> str:
    if gender == "f" and n in _FEMININE[lang]:
        return _FEMININE[lang][n]
    return _BELOW_100[lang](n)


def number_words(n: int, lang: str, gender: Gender = "m") -> str:
    """`n` spelled out as it is said, e.g. 1250 in German: "tausendzweihundertfünfzig"."""
    _check_number(n)
    thousands, rest = divmod(n, 1000)
    hundreds, below = divmod(rest, 100)
    words: list[str] = []
    if thousands == 1:
        words.append(_THOUSAND_ALONE[lang])
    elif thousands:
        words.append(_thousands_multiplier(thousands, lang) + _joiner(lang) + _THOUSANDS[lang])
    if hundreds:
        words.append(_hundreds_word(hundreds, lang))
        if lang == "fr" and below:
            words[-1] = words[-1].removesuffix("s")
    if below or n == 0:
        words.append(_below_100(below, lang, gender))
    text = _joiner(lang).join(words)
    return _italian_elisions(text) if lang == "it" else text


def _thousands_multiplier(thousands: int, lang: str) -> str:
    word = _BELOW_100[lang](thousands)
    return word.removesuffix("s") if lang == "fr" and thousands == 80 else word


def _joiner(lang: str) -> str:
    return "" if lang in ("de", "it") else " "


def _italian_elisions(text: str) -> str:
    """cento + ottanta is "centottanta"; a compound ending in "tre" takes the accent (centotré)."""
    return re.sub(r"(?<=.)tre$", "tré", text.replace("centoott", "centott"))


def number_prompts(n: int, lang: str, gender: Gender = "m") -> tuple[str, ...]:
    """The parts that say `n`: thousands, hundreds, then one part for what is below 100."""
    _check_number(n)
    thousands, rest = divmod(n, 1000)
    hundreds, below = divmod(rest, 100)
    prompts: list[str] = []
    if thousands == 1:
        prompts.append("num/1000")
    elif thousands:
        prompts += [f"num/{thousands}", "num/x1000"]
    if hundreds:
        prompts.append(f"num/{hundreds}00")
    if below or n == 0:
        feminine = gender == "f" and below in _FEMININE[lang]
        prompts.append(f"num/{below}f" if feminine else f"num/{below}")
    return tuple(prompts)


def say_number(n: int, lang: str, gender: Gender = "m") -> Spoken:
    return Spoken(number_prompts(n, lang, gender), number_words(n, lang, gender))


def _check_number(n: int) -> None:
    if not 0 <= n <= LARGEST_NUMBER:
        raise ValueError(f"cannot say {n}: numbers from 0 to {LARGEST_NUMBER} only")


def _number_texts(lang: str) -> dict[str, str]:
    texts = {f"num/{n}": _BELOW_100[lang](n) for n in range(100)}
    texts |= {f"num/{n}f": word for n, word in _FEMININE[lang].items()}
    texts |= {f"num/{h}00": _hundreds_word(h, lang) for h in range(1, 10)}
    texts["num/1000"] = _THOUSAND_ALONE[lang]
    texts["num/x1000"] = _THOUSANDS[lang]
    return texts


# --- times of day ------------------------------------------------------------------------------

# How each language says a minute count after the hour ("sept heures vingt et une").
_MINUTE_GENDER: dict[str, Gender] = {"de": "m", "fr": "f", "it": "m", "en": "m"}


def _de_hour(hour: int, role: Role, with_minutes: bool) -> str:
    word = "von" if role == "from" else "bis"
    if hour in (0, 24) and not with_minutes:
        return f"{word} Mitternacht"
    return f"{word} {'ein' if hour == 1 else _de_below_100(hour)} Uhr"


def _fr_hour(hour: int, role: Role, with_minutes: bool) -> str:
    if hour in (0, 24) and not with_minutes:
        return "de minuit" if role == "from" else "à minuit"
    if hour == 1:
        return "d'une heure" if role == "from" else "à une heure"
    hours = "zéro heure" if hour == 0 else f"{_below_100(hour, 'fr', 'f')} heures"
    return f"de {hours}" if role == "from" else f"à {hours}"


def _it_hour(hour: int, role: Role, with_minutes: bool) -> str:
    if hour in (0, 24) and not with_minutes:
        return "da mezzanotte" if role == "from" else "a mezzanotte"
    if hour == 1:
        text = "dall'una" if role == "from" else "all'una"
    else:
        text = f"{'dalle' if role == 'from' else 'alle'} {_it_below_100(hour)}"
    return f"{text} e" if with_minutes else text


def _en_hour(hour: int, role: Role, with_minutes: bool) -> str:
    word = "from" if role == "from" else "to"
    if not with_minutes and hour in (0, 12, 24):
        return f"{word} {'noon' if hour == 12 else 'midnight'}"
    twelve = hour % 12 or 12
    if with_minutes:
        return f"{word} {_EN_ONES[twelve]}"
    return f"{word} {_EN_ONES[twelve]} {'a.m.' if hour < 12 else 'p.m.'}"


_HOUR = {"de": _de_hour, "fr": _fr_hour, "it": _it_hour, "en": _en_hour}


def parse_time_of_day(hhmm: str) -> tuple[int, int]:
    """ "07:30" -> (7, 30); "24:00" is the end of the day."""
    match = re.fullmatch(r"(\d\d):(\d\d)", hhmm)
    if not match:
        raise ValueError(f"time of day {hhmm!r} is not HH:MM")
    hour, minute = int(match[1]), int(match[2])
    if not ((hour < 24 and minute < 60) or (hour, minute) == (24, 0)):
        raise ValueError(f"time of day {hhmm!r} is not between 00:00 and 24:00")
    return hour, minute


def say_time(hhmm: str, role: Role, lang: str) -> Spoken:
    """A window's opening ("from") or closing ("to") time, e.g. "von sieben Uhr dreissig"."""
    hour, minute = parse_time_of_day(hhmm)
    if minute == 0:
        prompt = f"time/{role}/{hour}"
        return Spoken((prompt,), _HOUR[lang](hour, role, False))
    prompts = [_hour_before_minutes_prompt(hour, role, lang)]
    words = [_HOUR[lang](hour, role, True)]
    if lang == "en" and minute < 10:
        prompts.append("time/oh")
        words.append("oh")
    minutes = say_number(minute, lang, _MINUTE_GENDER[lang])
    prompts += minutes.prompts
    words.append(minutes.text)
    if lang == "en":
        prompts.append("time/am" if hour < 12 else "time/pm")
        words.append("a.m." if hour < 12 else "p.m.")
    return Spoken(tuple(prompts), " ".join(words))


def _hour_before_minutes_prompt(hour: int, role: Role, lang: str) -> str:
    """The hour said before minutes has its own part where it differs from the whole hour."""
    if _HOUR[lang](hour, role, True) == _HOUR[lang](hour, role, False):
        return f"time/{role}/{hour}"
    return f"time/{role}/{hour}m"


def _time_texts(lang: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    for role in ("from", "to"):
        for hour in range(25):
            texts[f"time/{role}/{hour}"] = _HOUR[lang](hour, role, False)
            if hour < 24 and _hour_before_minutes_prompt(hour, role, lang).endswith("m"):
                texts[f"time/{role}/{hour}m"] = _HOUR[lang](hour, role, True)
    if lang == "en":
        texts |= {"time/oh": "oh", "time/am": "a.m.", "time/pm": "p.m."}
    return texts


# --- weekday ranges ----------------------------------------------------------------------------

_DAY_NAMES = {
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag".split(),
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche".split(),
    "it": "lunedì martedì mercoledì giovedì venerdì sabato domenica".split(),
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split(),
}


def _day_range_text(first: str, last: str, lang: str) -> str:
    a, b = (_DAY_NAMES[lang][WEEKDAYS.index(day)] for day in (first, last))
    if lang == "de":
        return f"am {a}" if first == last else f"{a} bis {b}"
    if lang == "fr":
        return f"le {a}" if first == last else f"du {a} au {b}"
    if lang == "it":
        # domenica is the only feminine weekday: "la domenica", "dalla domenica", "alla domenica"
        if first == last:
            return f"{'la' if first == 'sun' else 'il'} {a}"
        return f"{'dalla' if first == 'sun' else 'dal'} {a} {'alla' if last == 'sun' else 'al'} {b}"
    return f"on {a}s" if first == last else f"{a} to {b}"


def say_days(first: str, last: str, lang: str) -> Spoken:
    """A range of weekdays, e.g. ("mon", "fri") -> "Montag bis Freitag"."""
    for day in (first, last):
        if day not in WEEKDAYS:
            raise ValueError(f"weekday {day!r} is not one of {', '.join(WEEKDAYS)}")
    return Spoken((f"days/{first}-{last}",), _day_range_text(first, last, lang))


def _day_texts(lang: str) -> dict[str, str]:
    return {
        f"days/{first}-{last}": _day_range_text(first, last, lang)
        for first in WEEKDAYS
        for last in WEEKDAYS
    }


# --- tier names --------------------------------------------------------------------------------

_DAYS_BY_HOURS = {
    "de": "{days} mal {hours} Stunden",
    "fr": "{days} fois {hours} heures",
    "it": "{days} per {hours} ore",
    "en": "{days} by {hours} hours",
}


def speakable_tier_name(name: str, lang: str) -> str:
    """A tier's display name as text-to-speech should read it: "pro +, 6x12h" -> "pro plus, ..."."""
    spoken = re.sub(
        r"(\d+)\s*x\s*(\d+)\s*h\b",
        lambda m: _DAYS_BY_HOURS[lang].format(days=m[1], hours=m[2]),
        name,
    )
    return re.sub(r"\s+", " ", spoken.replace("+", " plus ")).strip().replace(" ,", ",")


# --- all generated parts -----------------------------------------------------------------------

GENERATED_FAMILIES = ("num/", "time/", "days/", "tier/")


def generated_prompts(lang: str) -> dict[str, str]:
    """Every number, time and weekday-range part of `lang`, with the text it is rendered from."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    return _number_texts(lang) | _time_texts(lang) | _day_texts(lang)


def tier_prompts(tier_names: dict[str, str], lang: str) -> dict[str, str]:
    """`tier/<id>` parts from the routing tables' display names."""
    return {
        f"tier/{tier_id}": speakable_tier_name(name, lang) for tier_id, name in tier_names.items()
    }
