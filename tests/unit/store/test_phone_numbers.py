import pytest

from ivr.customers.numbers import InvalidNumber, caller_number, normalise_number


@pytest.mark.parametrize(
    "text",
    ["044 123 45 67", "+41 44 123 45 67", "0041441234567", "+41441234567", "41441234567"],
)
def test_swiss_notations_are_one_number(text):
    assert normalise_number(text) == "+41441234567"


@pytest.mark.parametrize("text", ["0800100200", "+41800100200", "0041800100200", "41800100200"])
def test_the_hotline_number_as_carriers_send_it_is_one_number(text):
    assert normalise_number(text) == "+41800100200"


def test_a_foreign_number_without_its_international_prefix_is_read_as_international():
    assert normalise_number("33142685300") == "+33142685300"
    assert normalise_number("0033142685300") == "+33142685300"


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
        ("999123456789", "not an assigned"),  # neither national nor international
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


@pytest.mark.parametrize(
    "caller_id", ["044%20123%2045%2067", "0041441234567", "41441234567", "+41-44-123-45-67"]
)
def test_caller_ids_as_carriers_send_them_reach_one_number(caller_id):
    assert caller_number(caller_id) == "+41441234567"
