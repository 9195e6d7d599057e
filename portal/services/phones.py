"""Phone numbers: one canonical E.164 form for every way a customer writes theirs."""

import re

import phonenumbers

DEFAULT_REGION = "KE"


# Kenyan mobiles written locally or with the country code, and Indian mobiles with theirs: nearly every
# number a bulk upload of 100,000 customers holds. phonenumbers' general parser, and its validity check
# that tries every kind of number in turn, cost several times what these shapes need; anything else, or
# anything this shortcut does not accept, takes the general path, so no answer differs from the library's.
_COMMON = re.compile(r"(?:\+?(254)|0)([17][0-9]{8})|\+?(91)([6-9][0-9]{9})")


def _descriptions(region: str) -> tuple:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return tuple((re.compile(desc.national_number_pattern), desc.possible_length)
                 for desc in (meta.general_desc, meta.mobile))


# phonenumbers' own rule, from its own metadata: a number matching its country's general and mobile
# descriptions is a valid (mobile) number.
_MOBILE = {254: _descriptions("KE"), 91: _descriptions("IN")}


def _is_mobile(country: int, national: str) -> bool:
    return all(pattern.fullmatch(national) and (not lengths or len(national) in lengths)
               for pattern, lengths in _MOBILE[country])


def _common_form(text: str, region: str) -> str | None:
    match = _COMMON.fullmatch(text.replace(" ", "").replace("-", ""))
    if match is None or (match[2] and not match[1] and region != "KE"):  # a leading 0 is KE's trunk prefix
        return None
    country, national = (91, match[4]) if match[3] else (254, match[2])
    if not _is_mobile(country, national) and not phonenumbers.is_valid_number(
            phonenumbers.PhoneNumber(country_code=country, national_number=int(national))):
        return None
    return f"+{country}{national}"


def normalize(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return `raw` in E.164 ('0712 345 678' and '254712345678' -> '+254712345678').

    Raises ValueError with a message fit for the person who typed it.
    """
    text = (raw or "").strip()
    if not text:
        raise ValueError("Enter a phone number.")
    if common := _common_form(text, region):
        return common
    if re.fullmatch(r"254\d{9}|91\d{10}", re.sub(r"[\s-]", "", text)):
        text = "+" + text  # country code written without the plus
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError("Enter a valid phone number, e.g. 0712 345 678 or +254712345678.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("This is not a valid phone number for its country.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def search_form(query: str) -> str | None:
    """Return the E.164 form of a search query that looks like a phone number, else None."""
    digits = re.sub(r"[\s()+-]", "", query)
    if not digits.isdigit() or len(digits) < 9:
        return None
    try:
        return normalize(query)
    except ValueError:
        return None
