"""Random codes (customer codes, M-Pesa-style transaction codes), each from one draw of the OS's
random source rather than one a character: bulk uploads and booking batches make them by the hundred
thousand."""

import math
import secrets


def draw(alphabets: list[str]) -> str:
    """A code whose i-th character comes from alphabets[i], every code equally likely."""
    number = secrets.randbelow(math.prod(len(alphabet) for alphabet in alphabets))
    chars = []
    for alphabet in alphabets:
        number, digit = divmod(number, len(alphabet))
        chars.append(alphabet[digit])
    return "".join(chars)
