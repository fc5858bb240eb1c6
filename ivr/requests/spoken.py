"""What a technician hears of a request, as one sentence in the hotline's language: its number,
the customer, the contract and when the first reaction is due, in words ("today at 23 05",
"Monday 30 November at 13 00"). Spoken at call time (`ivr.prompts.phrase`)."""

from __future__ import annotations

from datetime import datetime

from ivr.requests.model import Request

_SENTENCE = {
    "de": "Anfrage {n}. Kunde: {customer}. Vertrag: {tier}. Erste Reaktion fällig {due}.",
    "fr": "Demande {n}. Client : {customer}. Contrat : {tier}. Première réaction due {due}.",
    "it": "Richiesta {n}. Cliente: {customer}. Contratto: {tier}. Prima reazione entro {due}.",
    "en": "Request {n}. Customer: {customer}. Contract: {tier}. First reaction due {due}.",
}
_UNKNOWN = {
    "de": "nicht identifiziert",
    "fr": "non identifié",
    "it": "non identificato",
    "en": "not identified",
}
_NO_DUE = {
    "de": "ohne Frist",
    "fr": "sans délai",
    "it": "senza scadenza",
    "en": "without a deadline",
}
_TODAY = {"de": "heute", "fr": "aujourd'hui", "it": "oggi", "en": "today"}
_TOMORROW = {"de": "morgen", "fr": "demain", "it": "domani", "en": "tomorrow"}
_AT = {
    "de": "{day} um {hour} Uhr {minute}",
    "fr": "{day} à {hour} heures {minute}",
    "it": "{day} alle {hour} e {minute}",
    "en": "{day} at {hour} {minute}",
}
_WEEKDAYS = {
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "it": "lunedì martedì mercoledì giovedì venerdì sabato domenica",
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
}
_MONTHS = {
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
    "en": "January February March April May June July August September October November December",
}


def request_sentence(request: Request, tier_name: str | None, lang: str, now: datetime) -> str:
    """The request's facts to speak in `lang`; times in the zone of `now`."""
    customer = request.customer_name or _UNKNOWN[lang]
    return _SENTENCE[lang].format(
        n=request.id,
        customer=customer,
        tier=tier_name or request.tier or _UNKNOWN[lang],
        due=due_in_words(request.first_reaction_due, lang, now),
    )


def due_in_words(due: datetime | None, lang: str, now: datetime) -> str:
    if due is None:
        return _NO_DUE[lang]
    due = due.astimezone(now.tzinfo)
    days = (due.date() - now.date()).days
    if days == 0:
        day = _TODAY[lang]
    elif days == 1:
        day = _TOMORROW[lang]
    else:
        weekday = _WEEKDAYS[lang].split()[due.weekday()]
        month = _MONTHS[lang].split()[due.month - 1]
        day = f"{weekday} {due.day}{'.' if lang == 'de' else ''} {month}"
    return _AT[lang].format(day=day, hour=due.hour, minute=f"{due.minute:02d}")
