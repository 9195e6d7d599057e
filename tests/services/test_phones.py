import pytest

from portal.services import phones


@pytest.mark.parametrize("raw", ["0712345678", "0712 345 678", "254712345678", "+254712345678", "+254 712-345-678"])
def test_kenyan_numbers_in_any_common_form_are_one_number(raw):
    assert phones.normalize(raw) == "+254712345678"


def test_indian_number_with_dash_is_accepted():
    assert phones.normalize("+91-9876543210") == "+919876543210"


@pytest.mark.parametrize("raw", ["", "   ", "12", "07123", "hello", "+2547123456789999"])
def test_invalid_numbers_are_refused_with_a_message(raw):
    with pytest.raises(ValueError) as exc:
        phones.normalize(raw)
    assert str(exc.value)


def test_search_form_recognises_phone_queries_only():
    assert phones.search_form("0712 345 678") == "+254712345678"
    assert phones.search_form("Wanjiku") is None
    assert phones.search_form("0712") is None
