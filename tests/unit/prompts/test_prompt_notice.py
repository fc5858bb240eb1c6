from dataclasses import replace
from decimal import Decimal

import pytest

from ivr.config import REPO_DIR
from ivr.prompts.build import plan_prompts
from ivr.prompts.catalogue import load_catalogue
from ivr.prompts.notice import NoticeFacts, compose_notice
from ivr.prompts.speech import LANGUAGES

CATALOGUE = load_catalogue(REPO_DIR / "prompts")

WEEKDAYS_9_TO_12_AND_14_TO_17 = tuple(
    (day, day, opens, closes)
    for day in ("mon", "tue", "wed", "thu", "fri")
    for opens, closes in (("09:00", "12:00"), ("14:00", "17:00"))
)

FACTS = {
    "premium": NoticeFacts(
        "premium",
        "winCall premium 7x24h",
        (("mon", "sun", "00:00", "24:00"),),
        Decimal("0.00"),
        Decimal("0.00"),
        15,
        free_units_per_month=8,
        free_units_left=8,
        holidays_excluded=False,
    ),
    "pro-plus": NoticeFacts(
        "pro-plus",
        "winCall pro +, 6x12h",
        (("mon", "sat", "07:00", "19:00"),),
        Decimal("120.00"),
        Decimal("180.00"),
        15,
        free_units_per_month=4,
        free_units_left=3,
    ),
    "pro": NoticeFacts(
        "pro",
        "winCall pro, 5x12h",
        (("mon", "fri", "07:00", "19:00"),),
        Decimal("150.00"),
        Decimal("180.00"),
        15,
        free_units_per_month=2,
        free_units_left=0,
    ),
    "basic-plus": NoticeFacts(
        "basic-plus",
        "winCall basic +, 5x6h",
        (("mon", "fri", "08:00", "12:00"), ("mon", "fri", "14:00", "18:00")),
        Decimal("180.00"),
        Decimal("195.50"),
        15,
        free_units_per_month=1,
        free_units_left=1,
    ),
    # per-day windows, as a table lists them, are said as one range of days
    "basic": NoticeFacts(
        "basic",
        "winCall basic, 5x6h",
        WEEKDAYS_9_TO_12_AND_14_TO_17,
        Decimal("220.00"),
        Decimal("210.00"),
        30,
        free_units_per_month=0,
        free_units_left=None,
    ),
}

# What each notice says between its fixed opening and the continue-or-withdraw question.
EXPECTED = {
    ("de", "premium"): "Ihr Vertrag winCall premium 7x24h gilt rund um die Uhr, sieben Tage "
    "die Woche. Ein Einsatz ausserhalb der Servicezeiten ist für Sie kostenlos. Ihr Vertrag "
    "enthält acht freie Serviceeinheiten pro Monat. Diesen Monat haben Sie davon noch acht übrig.",
    ("de", "pro-plus"): "Ihr Vertrag winCall pro +, 6x12h gilt Montag bis Samstag von sieben "
    "Uhr bis neunzehn Uhr, ausser an Feiertagen. Die Pauschale für einen Einsatz ausserhalb der "
    "Servicezeiten beträgt hundertzwanzig Franken. Der Stundenansatz beträgt hundertachtzig "
    "Franken. Abgerechnet wird pro angefangene fünfzehn Minuten. Ihr Vertrag enthält vier freie "
    "Serviceeinheiten pro Monat. Diesen Monat haben Sie davon noch drei übrig.",
    ("de", "pro"): "Ihr Vertrag winCall pro, 5x12h gilt Montag bis Freitag von sieben Uhr bis "
    "neunzehn Uhr, ausser an Feiertagen. Die Pauschale für einen Einsatz ausserhalb der "
    "Servicezeiten beträgt hundertfünfzig Franken. Der Stundenansatz beträgt hundertachtzig "
    "Franken. Abgerechnet wird pro angefangene fünfzehn Minuten. Ihr Vertrag enthält zwei freie "
    "Serviceeinheiten pro Monat. Diesen Monat haben Sie keine davon mehr übrig. "
    "Ein Einsatz wird Ihnen deshalb verrechnet.",
    ("de", "basic-plus"): "Ihr Vertrag winCall basic +, 5x6h gilt Montag bis Freitag von acht "
    "Uhr bis zwölf Uhr und von vierzehn Uhr bis achtzehn Uhr, ausser an Feiertagen. Die "
    "Pauschale für einen Einsatz ausserhalb der Servicezeiten beträgt hundertachtzig Franken. "
    "Der Stundenansatz beträgt hundertfünfundneunzig Franken und fünfzig Rappen. Abgerechnet "
    "wird pro angefangene fünfzehn Minuten. Ihr Vertrag enthält eine freie Serviceeinheit pro "
    "Monat. Diesen Monat haben Sie davon noch eine übrig.",
    ("de", "basic"): "Ihr Vertrag winCall basic, 5x6h gilt Montag bis Freitag von neun Uhr bis "
    "zwölf Uhr und von vierzehn Uhr bis siebzehn Uhr, ausser an Feiertagen. Die Pauschale für "
    "einen Einsatz ausserhalb der Servicezeiten beträgt zweihundertzwanzig Franken. Der "
    "Stundenansatz beträgt zweihundertzehn Franken. Abgerechnet wird pro angefangene dreissig "
    "Minuten. Sie haben keine freien Serviceeinheiten mehr übrig. Ein Einsatz wird Ihnen deshalb "
    "verrechnet.",
    ("fr", "premium"): "Votre contrat winCall premium 7x24h est valable vingt-quatre heures sur "
    "vingt-quatre, sept jours sur sept. Une intervention en dehors des heures couvertes est "
    "gratuite pour vous. Votre contrat comprend huit unités de service gratuites par mois. Il "
    "vous en reste huit ce mois-ci.",
    ("fr", "pro-plus"): "Votre contrat winCall pro +, 6x12h est valable du lundi au samedi de "
    "sept heures à dix-neuf heures, sauf les jours fériés. Le forfait pour une intervention en "
    "dehors des heures couvertes s'élève à cent vingt francs. Le tarif horaire s'élève à cent "
    "quatre-vingts francs. La facturation se fait par tranche entamée de quinze minutes. Votre "
    "contrat comprend quatre unités de service gratuites par mois. Il vous en reste trois ce "
    "mois-ci.",
    ("fr", "pro"): "Votre contrat winCall pro, 5x12h est valable du lundi au vendredi de sept "
    "heures à dix-neuf heures, sauf les jours fériés. Le forfait pour une intervention en dehors "
    "des heures couvertes s'élève à cent cinquante francs. Le tarif horaire s'élève à cent "
    "quatre-vingts francs. La facturation se fait par tranche entamée de quinze minutes. Votre "
    "contrat comprend deux unités de service gratuites par mois. Ce mois-ci, il ne vous en reste "
    "plus. Une intervention vous sera donc facturée.",
    ("fr", "basic-plus"): "Votre contrat winCall basic +, 5x6h est valable du lundi au vendredi "
    "de huit heures à douze heures et de quatorze heures à dix-huit heures, sauf les jours "
    "fériés. Le forfait pour une intervention en dehors des heures couvertes s'élève à cent "
    "quatre-vingts francs. Le tarif horaire s'élève à cent nonante-cinq francs et cinquante "
    "centimes. La facturation se fait par tranche entamée de quinze minutes. Votre contrat "
    "comprend une unité de service gratuite par mois. Il vous en reste une ce mois-ci.",
    ("fr", "basic"): "Votre contrat winCall basic, 5x6h est valable du lundi au vendredi de neuf "
    "heures à douze heures et de quatorze heures à dix-sept heures, sauf les jours fériés. Le "
    "forfait pour une intervention en dehors des heures couvertes s'élève à deux cent vingt "
    "francs. Le tarif horaire s'élève à deux cent dix francs. La facturation se fait par tranche "
    "entamée de trente minutes. Il ne vous reste aucune unité de service gratuite. Une "
    "intervention vous sera donc facturée.",
    ("it", "premium"): "Il Suo contratto winCall premium 7x24h è valido ventiquattro ore su "
    "ventiquattro, sette giorni su sette. Un intervento fuori dagli orari coperti è gratuito per "
    "Lei. Il Suo contratto comprende otto unità di servizio gratuite al mese. Questo mese ne ha "
    "ancora otto a disposizione.",
    ("it", "pro-plus"): "Il Suo contratto winCall pro +, 6x12h è valido dal lunedì al sabato "
    "dalle sette alle diciannove, esclusi i giorni festivi. Il forfait per un intervento fuori "
    "dagli orari coperti è di centoventi franchi. La tariffa oraria è di centottanta franchi. La "
    "fatturazione avviene per ogni blocco iniziato di quindici minuti. Il Suo contratto "
    "comprende quattro unità di servizio gratuite al mese. Questo mese ne ha ancora tre a "
    "disposizione.",
    ("it", "pro"): "Il Suo contratto winCall pro, 5x12h è valido dal lunedì al venerdì dalle "
    "sette alle diciannove, esclusi i giorni festivi. Il forfait per un intervento fuori dagli "
    "orari coperti è di centocinquanta franchi. La tariffa oraria è di centottanta franchi. La "
    "fatturazione avviene per ogni blocco iniziato di quindici minuti. Il Suo contratto "
    "comprende due unità di servizio gratuite al mese. Questo mese non ne ha più a disposizione. "
    "Un intervento Le sarà quindi fatturato.",
    ("it", "basic-plus"): "Il Suo contratto winCall basic +, 5x6h è valido dal lunedì al venerdì "
    "dalle otto alle dodici e dalle quattordici alle diciotto, esclusi i giorni festivi. Il "
    "forfait per un intervento fuori dagli orari coperti è di centottanta franchi. La tariffa "
    "oraria è di centonovantacinque franchi e cinquanta centesimi. La fatturazione avviene per "
    "ogni blocco iniziato di quindici minuti. Il Suo contratto comprende un'unità di servizio "
    "gratuita al mese. Questo mese ne ha ancora una a disposizione.",
    ("it", "basic"): "Il Suo contratto winCall basic, 5x6h è valido dal lunedì al venerdì dalle "
    "nove alle dodici e dalle quattordici alle diciassette, esclusi i giorni festivi. Il forfait "
    "per un intervento fuori dagli orari coperti è di duecentoventi franchi. La tariffa oraria è "
    "di duecentodieci franchi. La fatturazione avviene per ogni blocco iniziato di trenta minuti."
    " Non ha più unità di servizio gratuite a disposizione. Un intervento Le sarà quindi "
    "fatturato.",
    ("en", "premium"): "Your contract winCall premium 7x24h is valid around the clock, seven "
    "days a week. An intervention outside the covered hours is free of charge for you. Your "
    "contract includes eight free service units per month. This month you have eight left.",
    ("en", "pro-plus"): "Your contract winCall pro +, 6x12h is valid Monday to Saturday from "
    "seven a.m. to seven p.m., except on public holidays. The flat fee for an intervention "
    "outside the covered hours is one hundred twenty francs. The hourly rate is one hundred "
    "eighty francs. Work is billed per started block of fifteen minutes. Your contract "
    "includes four free service units per month. This month you have three left.",
    ("en", "pro"): "Your contract winCall pro, 5x12h is valid Monday to Friday from seven a.m. "
    "to seven p.m., except on public holidays. The flat fee for an intervention outside the "
    "covered hours is one hundred fifty francs. The hourly rate is one hundred eighty francs. "
    "Work is billed per started block of fifteen minutes. Your contract includes two free "
    "service units per month. This month you have none left. An intervention is therefore "
    "billed to you.",
    ("en", "basic-plus"): "Your contract winCall basic +, 5x6h is valid Monday to Friday from "
    "eight a.m. to noon and from two p.m. to six p.m., except on public holidays. The flat fee "
    "for an intervention outside the covered hours is one hundred eighty francs. The hourly rate "
    "is one hundred ninety-five francs and fifty centimes. Work is billed per started block of "
    "fifteen minutes. Your contract includes one free service unit per month. This month you "
    "have one left.",
    ("en", "basic"): "Your contract winCall basic, 5x6h is valid Monday to Friday from nine a.m. "
    "to noon and from two p.m. to five p.m., except on public holidays. The flat fee for an "
    "intervention outside the covered hours is two hundred twenty francs. The hourly rate is two "
    "hundred ten francs. Work is billed per started block of thirty minutes."
    " You have no free service units left. An intervention is therefore billed to you.",
}


def middle(text: str, lang: str) -> str:
    opening = CATALOGUE.text("notice/outside_hours", lang) + " "
    question = " " + CATALOGUE.text("notice/choice", lang)
    assert text.startswith(opening) and text.endswith(question)
    return text.removeprefix(opening).removesuffix(question)


@pytest.mark.parametrize(("lang", "tier"), list(EXPECTED))
def test_the_notice_says_the_tables_facts(lang, tier):
    composition = compose_notice(FACTS[tier], lang, CATALOGUE)
    assert middle(composition.text, lang) == EXPECTED[lang, tier]


@pytest.mark.parametrize(("lang", "tier"), list(EXPECTED))
def test_every_notice_part_is_a_prompt_the_build_installs(lang, tier):
    installed = plan_prompts(CATALOGUE, {tier: FACTS[tier].tier_name})[lang]
    media = compose_notice(FACTS[tier], lang, CATALOGUE).media
    assert media[:3] == (
        "sound:winet/notice/outside_hours",
        "sound:winet/notice/your_contract",
        f"sound:winet/tier/{tier}",
    )
    assert media[-1] == "sound:winet/notice/choice"
    missing = [uri for uri in media if uri.removeprefix("sound:winet/") not in installed]
    assert missing == []


def test_the_media_of_the_pro_notice_in_german():
    media = compose_notice(FACTS["pro"], "de", CATALOGUE).media
    assert [uri.removeprefix("sound:winet/") for uri in media] == [
        "notice/outside_hours",
        "notice/your_contract",
        "tier/pro",
        "notice/is_valid",
        "days/mon-fri",
        "time/from/7",
        "time/to/19",
        "notice/except_holidays",
        "notice/fee",
        "num/100",
        "num/50",
        "unit/francs",
        "notice/hourly_rate",
        "num/100",
        "num/80",
        "unit/francs",
        "notice/increment",
        "num/15",
        "unit/minutes",
        "notice/units_included",
        "num/2",
        "unit/free_units",
        "notice/per_month",
        "notice/units_none_left",
        "notice/billed",
        "notice/choice",
    ]


def test_the_media_of_the_basic_plus_notice_in_english():
    media = compose_notice(FACTS["basic-plus"], "en", CATALOGUE).media
    assert [uri.removeprefix("sound:winet/") for uri in media][3:13] == [
        "notice/is_valid",
        "days/mon-fri",
        "time/from/8",
        "time/to/12",
        "notice/and",
        "time/from/14",
        "time/to/18",
        "notice/except_holidays",
        "notice/fee",
        "num/100",
    ]
    assert "sound:winet/unit/free_unit_one" in media


def test_a_price_change_is_said_with_the_same_installed_parts():
    changed = replace(FACTS["pro"], callout_fee_chf=Decimal("1234.05"))
    composition = compose_notice(changed, "fr", CATALOGUE)
    assert "s'élève à mille deux cent trente-quatre francs et cinq centimes." in composition.text
    installed = plan_prompts(CATALOGUE, {"pro": "winCall pro"})["fr"]
    assert all(uri.removeprefix("sound:winet/") in installed for uri in composition.media)


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        (
            "de",
            "gilt Montag bis Freitag von sieben Uhr dreissig bis neunzehn Uhr, am Samstag "
            "von acht Uhr bis zwölf Uhr und am Sonntag ganztags, ausser an Feiertagen.",
        ),
        (
            "fr",
            "est valable du lundi au vendredi de sept heures trente à dix-neuf heures, le "
            "samedi de huit heures à douze heures et le dimanche toute la journée, sauf les jours "
            "fériés.",
        ),
        (
            "it",
            "è valido dal lunedì al venerdì dalle sette e trenta alle diciannove, il sabato "
            "dalle otto alle dodici e la domenica tutto il giorno, esclusi i giorni festivi.",
        ),
        (
            "en",
            "is valid Monday to Friday from seven thirty a.m. to seven p.m., on Saturdays "
            "from eight a.m. to noon and on Sundays all day, except on public holidays.",
        ),
    ],
)
def test_several_day_ranges_are_listed(lang, said):
    facts = NoticeFacts(
        "custom",
        "Custom",
        (
            ("mon", "fri", "07:30", "19:00"),
            ("sat", "sat", "08:00", "12:00"),
            ("sun", "sun", "00:00", "24:00"),
        ),
        None,
        None,
        None,
        free_units_per_month=0,
        free_units_left=None,
    )
    assert said in compose_notice(facts, lang, CATALOGUE).text


def test_costs_not_in_the_tables_are_said_to_follow_the_effort():
    facts = NoticeFacts("x", "X", (), None, None, None, 0, None)
    composition = compose_notice(facts, "de", CATALOGUE)
    assert middle(composition.text, "de") == (
        "Ihr Vertrag X enthält keine Servicezeiten. Ein Einsatz ausserhalb der Servicezeiten "
        "wird nach Aufwand verrechnet. Sie haben keine freien Serviceeinheiten mehr übrig. "
        "Ein Einsatz wird Ihnen deshalb verrechnet."
    )


def test_an_hourly_rate_billed_by_the_minute_without_a_fee():
    facts = NoticeFacts("x", "X", (), None, Decimal("0.50"), 1, 0, None)
    text = compose_notice(facts, "it", CATALOGUE).text
    assert "La tariffa oraria è di cinquanta centesimi. La fatturazione avviene al minuto." in text
    assert "forfait" not in text


def test_one_franc_is_said_in_the_singular():
    facts = NoticeFacts("x", "X", (), Decimal("1.00"), None, None, 0, None)
    assert "beträgt einen Franken." in compose_notice(facts, "de", CATALOGUE).text
    assert "s'élève à un franc." in compose_notice(facts, "fr", CATALOGUE).text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"covered": (("mon", "fri", "19:00", "07:00"),)}, "does not end after it starts"),
        ({"covered": (("mon", "fri", "7:00", "19:00"),)}, "is not HH:MM"),
        ({"covered": (("mo", "fr", "07:00", "19:00"),)}, "weekday 'mo'"),
        ({"callout_fee_chf": Decimal("-5")}, "callout_fee_chf must be a Decimal"),
        ({"hourly_rate_chf": Decimal("1.005")}, "hourly_rate_chf must be a Decimal"),
        ({"hourly_rate_chf": 180.0}, "hourly_rate_chf must be a Decimal"),
        ({"billing_increment_min": 0}, "billing_increment_min must be at least 1"),
        ({"free_units_left": -1}, "free_units_left must not be negative"),
    ],
)
def test_facts_the_notice_cannot_say_are_refused(change, message):
    facts = replace(FACTS["pro"], **change)
    with pytest.raises(ValueError, match=message):
        compose_notice(facts, "de", CATALOGUE)


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language 'rm'"):
        compose_notice(FACTS["pro"], "rm", CATALOGUE)


def test_every_language_has_a_notice_for_every_tier():
    assert {lang for lang, _ in EXPECTED} == set(LANGUAGES)
    assert {tier for _, tier in EXPECTED} == set(FACTS)
