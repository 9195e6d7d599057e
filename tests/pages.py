"""Asking the portal as HTMX does, and reading what it answers."""

import re

HX = {"HX-Request": "true"}  # what htmx sends with each request it makes


def text(response) -> str:
    """The response's HTML with whitespace collapsed, for asserting on figures and sentences."""
    return re.sub(r"\s+", " ", response.get_data(as_text=True))
