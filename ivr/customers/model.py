"""A customer: who they are, how to recognise them, and their contract.

`customer_from_fields` turns text fields (a CSV row, a web form) into a Customer and its PIN,
naming every field that is wrong. The PIN itself is not part of the Customer: the store keeps
only a keyed hash of it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from ivr.customers.numbers import InvalidNumber, normalise_number
from ivr.routing import Contract as RoutingContract

LANGUAGES = ("de", "fr", "it", "en")
PIN_LENGTH = 6
FIELDS = (
    "id",
    "name",
    "language",
    "numbers",
    "pin",
    "pin_required",
    "tier",
    "valid_from",
    "valid_to",
    "free_units_per_month",
    "contacts",
)
REQUIRED_FIELDS = ("id", "name", "language", "numbers", "tier")

MAX_NAME_LENGTH = 200
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# Control, format (bidi overrides such as U+202E), surrogate, private-use and unassigned
# characters, and line or paragraph separators: nothing a name needs, and each can hide or
# disguise text on a terminal or a page.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_NUMBER_SEPARATORS = re.compile(r"[;|]")
_TRUE = {"yes", "true", "1", "y"}
_FALSE = {"no", "false", "0", "n", ""}


class InvalidCustomer(ValueError):
    """One or more fields are wrong: `problems` lists (field, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))


@dataclass(frozen=True)
class Contract(RoutingContract):
    """The routing core's contract (tier, validity) plus what the customer's contract adds.

    free_units_per_month: None means the tier's count (routing/notice.toml); 0 means none."""

    free_units_per_month: int | None = None


@dataclass(frozen=True)
class Contact:
    """A person of the customer the desk may deal with: who they are, the numbers they call
    from, and whether they may order paid interventions (outside the covered time)."""

    name: str
    numbers: tuple[str, ...]
    may_order: bool

    def to_text(self) -> str:
        """As the CSV column and the console take it: "Name: +41..., +41...: yes"."""
        return f"{self.name}: {', '.join(self.numbers)}: {'yes' if self.may_order else 'no'}"


@dataclass(frozen=True)
class Customer:
    """`has_pin` is read from the store; saving ignores it (PINs change only on purpose)."""

    id: str
    name: str
    language: str
    numbers: tuple[str, ...]
    contract: Contract
    pin_required: bool = False
    has_pin: bool = False
    contacts: tuple[Contact, ...] = ()

    def __post_init__(self) -> None:
        problems = _problems(
            [
                ("id", check_id, self.id),
                ("name", check_name, self.name),
                ("language", check_language, self.language),
                ("numbers", check_numbers, self.numbers),
                ("tier", check_tier_id, self.contract.tier),
                ("valid_to", check_validity, (self.contract.valid_from, self.contract.valid_to)),
                ("free_units_per_month", check_free_units, self.contract.free_units_per_month),
            ]
        )
        if problems:
            raise InvalidCustomer(problems)


def check_id(value: str) -> None:
    if not _ID.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an id: use 1-64 of a-z, 0-9 and '-', starting with a letter or digit"
        )


def check_name(value: str) -> None:
    if not value.strip():
        raise ValueError("the name is empty")


def check_new_name(value: str) -> None:
    """A name as typed or imported: printable text of a sensible length. (Stored names are
    only checked for emptiness, so a record saved before this check still reads.)"""
    check_name(value)
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"the name is longer than {MAX_NAME_LENGTH} characters")
    hidden = next((char for char in value if _is_hidden(char)), None)
    if hidden is not None:
        raise ValueError(
            f"the name contains the invisible or control character U+{ord(hidden):04X}; "
            "use printable text"
        )


def visible(text: str) -> str:
    """`text` with every control or invisible character shown as an escape (\\x1b, \\u202e),
    for terminals and logs."""
    return "".join(
        char.encode("unicode_escape").decode("ascii") if _is_hidden(char) else char for char in text
    )


def _is_hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def check_language(value: str) -> None:
    if value not in LANGUAGES:
        raise ValueError(f"unknown language {value!r} (use one of {', '.join(LANGUAGES)})")


def check_numbers(numbers: tuple[str, ...]) -> None:
    if not numbers:
        raise ValueError("at least one phone number is needed")
    if len(set(numbers)) != len(numbers):
        raise ValueError("a phone number is listed twice")
    for number in numbers:
        if normalise_number(number) != number:
            raise ValueError(f"{number!r} is not in E.164 form (+41441234567)")


def check_tier_id(value: str) -> None:
    if not _ID.fullmatch(value):
        raise ValueError(f"{value!r} is not a tier id")


def check_validity(dates: tuple[date | None, date | None]) -> None:
    valid_from, valid_to = dates
    if valid_from and valid_to and valid_to < valid_from:
        raise ValueError(f"valid_to {valid_to} is before valid_from {valid_from}")


def check_free_units(value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a whole number >= 0")


def check_pin(pin: str) -> None:
    """Exactly six digits. The message never repeats the PIN."""
    if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise ValueError(f"the PIN must be exactly {PIN_LENGTH} digits")


def check_known_tier(tier: str, known_tiers: Set[str]) -> None:
    if tier not in known_tiers:
        raise ValueError(f"unknown tier {tier!r} (known: {', '.join(sorted(known_tiers))})")


def customer_from_fields(
    fields: Mapping[str, str], known_tiers: Set[str]
) -> tuple[Customer, str | None]:
    """A customer and its PIN (None when the field is empty) from text fields named as FIELDS."""
    problems: list[tuple[str, str]] = [
        (name, "missing value") for name in REQUIRED_FIELDS if not fields.get(name, "").strip()
    ]
    missing = {name for name, _ in problems}
    parsed: dict[str, Any] = {}
    for name, parse in _FIELD_PARSERS.items():
        if name in missing:
            continue
        try:
            parsed[name] = parse(fields.get(name, "").strip())
        except ValueError as error:
            problems.append((name, str(error)))
    if "tier" in parsed:
        problems += _problems(
            [("tier", partial(check_known_tier, known_tiers=known_tiers), parsed["tier"])]
        )
    if "valid_from" in parsed and "valid_to" in parsed:
        problems += _problems(
            [("valid_to", check_validity, (parsed["valid_from"], parsed["valid_to"]))]
        )
    if problems:
        raise InvalidCustomer(problems)
    customer = Customer(
        id=parsed["id"],
        name=parsed["name"],
        language=parsed["language"],
        numbers=parsed["numbers"],
        contract=Contract(
            tier=parsed["tier"],
            valid_from=parsed["valid_from"],
            valid_to=parsed["valid_to"],
            free_units_per_month=parsed["free_units_per_month"],
        ),
        pin_required=parsed["pin_required"],
        contacts=parsed["contacts"],
    )
    return customer, parsed["pin"]


def customer_to_dict(customer: Customer) -> dict[str, Any]:
    """JSON-ready; the inverse of `customer_from_dict`."""
    contract = customer.contract
    return {
        "id": customer.id,
        "name": customer.name,
        "language": customer.language,
        "numbers": list(customer.numbers),
        "pin_required": customer.pin_required,
        "has_pin": customer.has_pin,
        "contract": {
            "tier": contract.tier,
            "valid_from": contract.valid_from.isoformat() if contract.valid_from else None,
            "valid_to": contract.valid_to.isoformat() if contract.valid_to else None,
            "free_units_per_month": contract.free_units_per_month,
        },
        "contacts": [
            {"name": c.name, "numbers": list(c.numbers), "may_order": c.may_order}
            for c in customer.contacts
        ],
    }


def customer_from_dict(data: Mapping[str, Any]) -> Customer:
    contract = data["contract"]
    return Customer(
        id=data["id"],
        name=data["name"],
        language=data["language"],
        numbers=tuple(data["numbers"]),
        pin_required=bool(data["pin_required"]),
        has_pin=bool(data.get("has_pin")),
        contacts=tuple(
            Contact(c["name"], tuple(c["numbers"]), bool(c["may_order"]))
            for c in data.get("contacts", [])
        ),
        contract=Contract(
            tier=contract["tier"],
            valid_from=_optional_date(contract["valid_from"]),
            valid_to=_optional_date(contract["valid_to"]),
            free_units_per_month=contract.get("free_units_per_month"),
        ),
    )


def _problems(checks: list[tuple[str, Callable[[Any], None], Any]]) -> list[tuple[str, str]]:
    problems = []
    for field, check, value in checks:
        try:
            check(value)
        except ValueError as error:
            problems.append((field, str(error)))
    return problems


def _parse_checked(check: Callable[[str], None], transform: Callable[[str], str] = str):
    def parse(text: str) -> str:
        value = transform(text)
        check(value)
        return value

    return parse


def _parse_numbers(text: str) -> tuple[str, ...]:
    numbers: list[str] = []
    bad: list[str] = []
    for item in _NUMBER_SEPARATORS.split(text):
        if not item.strip():
            continue
        try:
            number = normalise_number(item)
        except InvalidNumber as error:
            bad.append(str(error))
            continue
        if number not in numbers:
            numbers.append(number)
    if bad:
        raise ValueError("bad phone number " + "; ".join(bad))
    check_numbers(tuple(numbers))
    return tuple(numbers)


def _parse_pin(text: str) -> str | None:
    if not text:
        return None
    check_pin(text)
    return text


def _parse_bool(text: str) -> bool:
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{text!r} is not yes or no")


def _parse_date(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date such as 2026-01-31") from None


def _parse_free_units(text: str) -> int | None:
    """Empty: the tier's count of free units; a number (0 included) is the customer's own."""
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{text!r} is not a whole number >= 0")
    return int(text)


CONTACT_SEPARATOR = "|"


def _parse_contacts(text: str) -> tuple[Contact, ...]:
    """Contacts separated by "|", each "Name: number, number: yes|no" (may order paid
    interventions); empty: none."""
    contacts = []
    for index, item in enumerate(filter(str.strip, text.split(CONTACT_SEPARATOR)), start=1):
        parts = [part.strip() for part in item.split(":")]
        if len(parts) != 3:
            raise ValueError(
                f"contact {index} {item.strip()!r} is not 'Name: +41 44 123 45 67: yes'"
            )
        name, numbers, may_order = parts
        if not name:
            raise ValueError(f"contact {index} has no name")
        try:
            parsed = _parse_numbers(numbers.replace(",", ";"))
        except ValueError as error:
            raise ValueError(f"contact {index} ({name}): {error}") from None
        try:
            allowed = _parse_bool(may_order)
        except ValueError:
            raise ValueError(
                f"contact {index} ({name}): may order paid interventions must be yes or no"
            ) from None
        contacts.append(Contact(name, parsed, allowed))
    return tuple(contacts)


def _optional_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


_FIELD_PARSERS: dict[str, Callable[[str], Any]] = {
    "id": _parse_checked(check_id),
    "name": _parse_checked(check_new_name),
    "language": _parse_checked(check_language, str.lower),
    "numbers": _parse_numbers,
    "pin": _parse_pin,
    "pin_required": _parse_bool,
    "tier": _parse_checked(check_tier_id, str.lower),
    "valid_from": _parse_date,
    "valid_to": _parse_date,
    "free_units_per_month": _parse_free_units,
    "contacts": _parse_contacts,
}
