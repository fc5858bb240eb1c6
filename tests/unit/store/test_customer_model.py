from datetime import date

import pytest

from ivr.customers.model import (
    Contract,
    Customer,
    InvalidCustomer,
    customer_from_dict,
    customer_from_fields,
    customer_to_dict,
)

TIERS = {"premium", "pro-plus", "pro", "basic-plus", "basic"}

GOOD_FIELDS = {
    "id": "seefeld-clinic",
    "name": "Klinik Seefeld AG",
    "language": "DE",
    "numbers": "044 123 45 67; +41 79 123 45 67 | 0041441234567",
    "pin": "481516",
    "pin_required": "yes",
    "tier": "premium",
    "valid_from": "2026-01-01",
    "valid_to": "2026-12-31",
    "free_units_per_month": "2",
}


def problems_of(fields):
    with pytest.raises(InvalidCustomer) as caught:
        customer_from_fields(fields, TIERS)
    return dict(caught.value.problems)


def test_fields_become_a_customer_and_its_pin():
    customer, pin = customer_from_fields(GOOD_FIELDS, TIERS)
    assert pin == "481516"
    assert customer == Customer(
        id="seefeld-clinic",
        name="Klinik Seefeld AG",
        language="de",
        numbers=("+41441234567", "+41791234567"),
        pin_required=True,
        contract=Contract(
            tier="premium",
            valid_from=date(2026, 1, 1),
            valid_to=date(2026, 12, 31),
            free_units_per_month=2,
        ),
    )


def test_optional_fields_may_be_empty_or_absent():
    fields = {k: GOOD_FIELDS[k] for k in ("id", "name", "language", "numbers", "tier")}
    customer, pin = customer_from_fields(fields, TIERS)
    assert pin is None
    assert customer.pin_required is False
    assert customer.contract == Contract(tier="premium")


def test_every_bad_field_is_named_with_its_reason():
    problems = problems_of(
        {
            "id": "Seefeld Clinic",
            "name": " ",
            "language": "es",
            "numbers": "044 123 45 67; 12",
            "pin": "12345",
            "pin_required": "maybe",
            "tier": "gold",
            "valid_from": "2026-13-01",
            "valid_to": "2026-01-01",
            "free_units_per_month": "-1",
        }
    )
    assert set(problems) == {
        "id",
        "name",
        "language",
        "numbers",
        "pin",
        "pin_required",
        "tier",
        "valid_from",
        "free_units_per_month",
    }
    assert "not an id" in problems["id"]
    assert "missing value" in problems["name"]
    assert "unknown language 'es'" in problems["language"]
    assert "'12': too short" in problems["numbers"]
    assert problems["pin"] == "the PIN must be exactly 6 digits"
    assert "unknown tier 'gold'" in problems["tier"]
    assert "2026-13-01" in problems["valid_from"]


def test_pin_reasons_never_repeat_the_pin():
    assert "12345a" not in problems_of({**GOOD_FIELDS, "pin": "12345a"})["pin"]


def test_valid_to_before_valid_from_is_refused():
    problems = problems_of({**GOOD_FIELDS, "valid_from": "2026-06-01", "valid_to": "2026-05-31"})
    assert problems == {"valid_to": "valid_to 2026-05-31 is before valid_from 2026-06-01"}


def test_a_customer_needs_a_number():
    assert problems_of({**GOOD_FIELDS, "numbers": "  "}) == {"numbers": "missing value"}
    assert problems_of({**GOOD_FIELDS, "numbers": ";|"}) == {
        "numbers": "at least one phone number is needed"
    }


def test_a_customer_built_directly_is_checked_too():
    with pytest.raises(InvalidCustomer) as caught:
        Customer(
            id="x",
            name="X",
            language="de",
            numbers=("044 123 45 67",),
            contract=Contract(tier="basic", free_units_per_month=-2),
        )
    assert [field for field, _ in caught.value.problems] == ["numbers", "free_units_per_month"]


def test_dict_form_round_trips():
    customer, _ = customer_from_fields(GOOD_FIELDS, TIERS)
    assert customer_from_dict(customer_to_dict(customer)) == customer
