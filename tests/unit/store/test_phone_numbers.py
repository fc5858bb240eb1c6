import pytest

from ivr.customers.numbers import InvalidNumber, caller_number, normalise_number


@pytest.mark.parametrize("text", ["044 123 45 67", "+41 44 123 45 67", "0041441234567"])
def test_swiss_notations_are_one_number(text):
    assert normalise_number(text) == "+41441234567"


def test_foreign_numbers_keep_their_country():
    assert normalise_number("+33 1 42 68 53 00") == "+33142685300"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("12", "too short"),
        ("+41 44 123", "too short"),
        ("044 123 45 678", "wrong number of digits"),
        ("anonymous", "not a phone number"),
        ("+999 1234", "unknown country code"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(text, reason):
    with pytest.raises(InvalidNumber, match=reason):
        normalise_number(text)


@pytest.mark.parametrize("caller_id", [None, "", "anonymous", "Anonymous", "12"])
def test_withheld_or_invalid_caller_ids_have_no_number(caller_id):
    assert caller_number(caller_id) is None


def test_caller_id_is_normalised():
    assert caller_number("0041 91 234 56 78") == "+41912345678"
