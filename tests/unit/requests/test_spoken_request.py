"""What a technician hears of a request: the facts and the due time in words."""

from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.requests.model import Request
from ivr.requests.spoken import due_in_words, request_sentence

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 11, 28, 22, 5, tzinfo=ZURICH)  # a Saturday


def test_the_due_time_is_said_as_a_day_and_a_time():
    assert due_in_words(datetime(2026, 11, 28, 23, 5, tzinfo=ZURICH), "de", NOW) == (
        "heute um 23 Uhr 05"
    )
    assert due_in_words(datetime(2026, 11, 29, 9, 0, tzinfo=ZURICH), "en", NOW) == (
        "tomorrow at 9 00"
    )
    assert due_in_words(datetime(2026, 11, 30, 13, 0, tzinfo=ZURICH), "fr", NOW) == (
        "lundi 30 novembre à 13 heures 00"
    )
    assert due_in_words(None, "it", NOW) == "senza scadenza"


def test_the_sentence_names_the_request_customer_and_contract():
    request = Request(
        id=12,
        summary="x",
        source="desk",
        created_by="dan",
        created_at=NOW,
        state="open",
        customer_name="Klinik Seefeld AG",
        tier="premium",
        first_reaction_due=datetime(2026, 11, 28, 23, 5, tzinfo=ZURICH),
    )
    assert request_sentence(request, "winCall premium 7x24h", "de", NOW) == (
        "Anfrage 12. Kunde: Klinik Seefeld AG. Vertrag: winCall premium 7x24h. "
        "Erste Reaktion fällig heute um 23 Uhr 05."
    )
