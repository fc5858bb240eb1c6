import pytest

from ivr.prompts.speech import (
    LANGUAGES,
    LARGEST_NUMBER,
    WEEKDAYS,
    generated_prompts,
    number_words,
    say_days,
    say_number,
    say_time,
    speakable_tier_name,
    tier_prompts,
)

NUMBER_WORDS = {
    "de": {
        0: "null",
        1: "eins",
        16: "sechzehn",
        17: "siebzehn",
        21: "einundzwanzig",
        30: "dreissig",
        71: "einundsiebzig",
        99: "neunundneunzig",
        100: "hundert",
        101: "hunderteins",
        150: "hundertfünfzig",
        215: "zweihundertfünfzehn",
        1000: "tausend",
        1250: "tausendzweihundertfünfzig",
        21000: "einundzwanzigtausend",
        99999: "neunundneunzigtausendneunhundertneunundneunzig",
    },
    "fr": {
        0: "zéro",
        1: "un",
        16: "seize",
        17: "dix-sept",
        21: "vingt et un",
        30: "trente",
        71: "septante et un",
        80: "quatre-vingts",
        81: "quatre-vingt-un",
        91: "nonante et un",
        99: "nonante-neuf",
        100: "cent",
        101: "cent un",
        180: "cent quatre-vingts",
        200: "deux cents",
        215: "deux cent quinze",
        1000: "mille",
        1250: "mille deux cent cinquante",
        21000: "vingt et un mille",
        80000: "quatre-vingt mille",
    },
    "it": {
        0: "zero",
        1: "uno",
        16: "sedici",
        17: "diciassette",
        21: "ventuno",
        23: "ventitré",
        28: "ventotto",
        30: "trenta",
        71: "settantuno",
        99: "novantanove",
        100: "cento",
        103: "centotré",
        180: "centottanta",
        215: "duecentoquindici",
        1000: "mille",
        1250: "milleduecentocinquanta",
        2000: "duemila",
        21000: "ventunomila",
    },
    "en": {
        0: "zero",
        1: "one",
        16: "sixteen",
        21: "twenty-one",
        30: "thirty",
        99: "ninety-nine",
        100: "one hundred",
        150: "one hundred fifty",
        1000: "one thousand",
        1250: "one thousand two hundred fifty",
        21000: "twenty-one thousand",
    },
}


@pytest.mark.parametrize(
    ("lang", "n", "words"),
    [(lang, n, words) for lang, table in NUMBER_WORDS.items() for n, words in table.items()],
)
def test_numbers_are_spelled_as_said(lang, n, words):
    assert number_words(n, lang) == words


@pytest.mark.parametrize(
    ("lang", "n", "words"),
    [
        ("de", 1, "eine"),
        ("de", 21, "einundzwanzig"),
        ("fr", 1, "une"),
        ("fr", 21, "vingt et une"),
        ("fr", 81, "quatre-vingt-une"),
        ("fr", 91, "nonante et une"),
        ("it", 1, "una"),
        ("en", 1, "one"),
    ],
)
def test_feminine_forms(lang, n, words):
    assert number_words(n, lang, "f") == words


def test_numbers_are_composed_from_the_same_parts_in_every_language():
    assert say_number(7, "de").prompts == ("num/7",)
    assert say_number(150, "fr").prompts == ("num/100", "num/50")
    assert say_number(1250, "it").prompts == ("num/1000", "num/200", "num/50")
    assert say_number(21_021, "en").prompts == ("num/21", "num/x1000", "num/21")
    assert say_number(0, "de").prompts == ("num/0",)
    assert say_number(21, "fr", "f").prompts == ("num/21f",)
    assert say_number(21, "en", "f").prompts == ("num/21",)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_number_in_range_is_said_from_generated_parts(lang):
    parts = generated_prompts(lang)
    for n in [*range(0, 1200), *range(1200, LARGEST_NUMBER + 1, 997), LARGEST_NUMBER]:
        for gender in ("m", "f"):
            missing = [p for p in say_number(n, lang, gender).prompts if p not in parts]
            assert not missing, (n, gender, missing)


@pytest.mark.parametrize("n", [-1, LARGEST_NUMBER + 1])
def test_numbers_out_of_range_are_refused(n):
    with pytest.raises(ValueError, match="numbers from 0 to"):
        say_number(n, "de")


@pytest.mark.parametrize(
    ("lang", "hhmm", "role", "text", "prompts"),
    [
        ("de", "07:00", "from", "von sieben Uhr", ("time/from/7",)),
        ("de", "07:30", "from", "von sieben Uhr dreissig", ("time/from/7", "num/30")),
        ("de", "01:00", "to", "bis ein Uhr", ("time/to/1",)),
        ("de", "24:00", "to", "bis Mitternacht", ("time/to/24",)),
        ("de", "00:15", "from", "von null Uhr fünfzehn", ("time/from/0m", "num/15")),
        ("fr", "19:00", "to", "à dix-neuf heures", ("time/to/19",)),
        ("fr", "01:00", "from", "d'une heure", ("time/from/1",)),
        ("fr", "21:21", "from", "de vingt et une heures vingt et une", ("time/from/21", "num/21f")),
        ("fr", "00:00", "from", "de minuit", ("time/from/0",)),
        ("it", "08:00", "from", "dalle otto", ("time/from/8",)),
        ("it", "13:45", "to", "alle tredici e quarantacinque", ("time/to/13m", "num/45")),
        ("it", "01:00", "to", "all'una", ("time/to/1",)),
        ("en", "07:00", "from", "from seven a.m.", ("time/from/7",)),
        ("en", "12:00", "to", "to noon", ("time/to/12",)),
        ("en", "19:00", "to", "to seven p.m.", ("time/to/19",)),
        (
            "en",
            "08:05",
            "from",
            "from eight oh five a.m.",
            ("time/from/8m", "time/oh", "num/5", "time/am"),
        ),
        ("en", "12:30", "to", "to twelve thirty p.m.", ("time/to/12m", "num/30", "time/pm")),
    ],
)
def test_times_of_day(lang, hhmm, role, text, prompts):
    spoken = say_time(hhmm, role, lang)
    assert spoken.text == text
    assert spoken.prompts == prompts


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_time_of_day_is_said_from_generated_parts(lang):
    parts = generated_prompts(lang)
    times = [f"{h:02}:{m:02}" for h in range(24) for m in range(60)] + ["24:00"]
    for hhmm in times:
        for role in ("from", "to"):
            assert set(say_time(hhmm, role, lang).prompts) <= parts.keys(), hhmm


@pytest.mark.parametrize("hhmm", ["7:00", "24:30", "12:60", "noon"])
def test_malformed_times_are_refused(hhmm):
    with pytest.raises(ValueError, match="time of day"):
        say_time(hhmm, "from", "de")


@pytest.mark.parametrize(
    ("lang", "first", "last", "text"),
    [
        ("de", "mon", "fri", "Montag bis Freitag"),
        ("de", "sat", "sat", "am Samstag"),
        ("fr", "mon", "sat", "du lundi au samedi"),
        ("fr", "sun", "sun", "le dimanche"),
        ("it", "mon", "fri", "dal lunedì al venerdì"),
        ("it", "mon", "sun", "dal lunedì alla domenica"),
        ("it", "sun", "sun", "la domenica"),
        ("en", "mon", "fri", "Monday to Friday"),
        ("en", "sat", "sat", "on Saturdays"),
    ],
)
def test_weekday_ranges(lang, first, last, text):
    spoken = say_days(first, last, lang)
    assert spoken.text == text
    assert spoken.prompts == (f"days/{first}-{last}",)
    assert generated_prompts(lang)[f"days/{first}-{last}"] == text


def test_every_weekday_range_is_generated():
    for lang in LANGUAGES:
        days = [key for key in generated_prompts(lang) if key.startswith("days/")]
        assert len(days) == len(WEEKDAYS) ** 2


def test_unknown_weekday_is_refused():
    with pytest.raises(ValueError, match="weekday 'monday'"):
        say_days("monday", "fri", "de")


def test_generated_parts_have_the_same_core_ids_in_every_language():
    ids = [set(generated_prompts(lang)) for lang in LANGUAGES]
    common = set.intersection(*ids)
    for n in range(100):
        assert f"num/{n}" in common
    assert {"num/1000", "num/x1000", "time/from/7", "time/to/24"} <= common


@pytest.mark.parametrize(
    ("lang", "spoken"),
    [
        ("de", "winCall pro plus, 6 mal 12 Stunden"),
        ("fr", "winCall pro plus, 6 fois 12 heures"),
        ("it", "winCall pro plus, 6 per 12 ore"),
        ("en", "winCall pro plus, 6 by 12 hours"),
    ],
)
def test_tier_names_are_made_speakable(lang, spoken):
    assert speakable_tier_name("winCall pro +, 6x12h", lang) == spoken
    assert tier_prompts({"pro-plus": "winCall pro +, 6x12h"}, lang) == {"tier/pro-plus": spoken}
