"""Phone numbers as E.164 strings: `044 123 45 67`, `+41 44 123 45 67`, `0041441234567` and
`41441234567` (international without its prefix, as some carriers send it) are one number,
`+41441234567`."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import unquote

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

DEFAULT_REGION = "CH"


class InvalidNumber(ValueError):
    """The text is not a valid phone number; the message says why."""


_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}

_IMPOSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "no area code",
}


@lru_cache(maxsize=4096)  # every call parses its caller ID; callers call again
def normalise_number(text: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164; national numbers are read as numbers of `region`, and digits that
    are no national number of it as an international number without its prefix."""
    raw = text.strip()
    if not raw:
        raise InvalidNumber("empty phone number")
    try:
        return _e164(raw, region)
    except InvalidNumber as error:
        if not raw.isdigit() or raw.startswith("0"):
            raise
        national_error = error
    try:
        return _e164("+" + raw, region)
    except InvalidNumber:
        raise national_error from None


def _e164(raw: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(raw, region)
    except NumberParseException as error:
        reason = _PARSE_REASONS.get(error.error_type, "not a phone number")
        raise InvalidNumber(f"{raw!r}: {reason}") from None
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    if possible != ValidationResult.IS_POSSIBLE:
        reason = _IMPOSSIBLE_REASONS.get(possible, "not a possible number")
        raise InvalidNumber(f"{raw!r}: {reason}")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"{raw!r}: not an assigned number range")
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def caller_number(caller_id: str | None, region: str = DEFAULT_REGION) -> str | None:
    """The caller's number in E.164, or None when withheld (`anonymous`, empty) or invalid.

    The caller ID is the user part of a SIP URI, so it may carry %-escapes (`044%20123...`)."""
    try:
        return normalise_number(unquote(caller_id or ""), region)
    except InvalidNumber:
        return None


def display_number(number: str) -> str:
    """`+41441234567` -> `+41 44 123 45 67`, for people to read; other text as it is."""
    try:
        parsed = phonenumbers.parse(number)
    except NumberParseException:
        return number
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
