"""Page through a SELECT with one COUNT and one bounded fetch."""

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import Select

from portal.models.base import db

MAX_PER_PAGE = 100


@dataclass
class Page:
    items: list[Any]
    total: int | None  # None when not counted: `more` then says whether another page follows
    page: int
    per_page: int
    more: bool = False

    @property
    def pages(self) -> int | None:
        """How many pages there are; None when the rows were not counted."""
        return None if self.total is None else max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.more if self.total is None else self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def paginate(stmt: Select, page: int, per_page: int, max_per_page: int = MAX_PER_PAGE,
             total: int | None = None, *, count: bool = True) -> Page:
    """One page of `stmt`; a caller that has counted the rows already passes `total` and saves the COUNT.
    With `count` False nothing is counted: one row past the page tells whether another follows (a COUNT
    reads every row the filter admits, the page only its own)."""
    page, per_page = max(1, page), min(max(1, per_page), max_per_page)
    offset = (page - 1) * per_page
    if not count:
        items = list(db.session.scalars(stmt.limit(per_page + 1).offset(offset)))
        return Page(items[:per_page], None, page, per_page, more=len(items) > per_page)
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset(offset)))
    return Page(items, total, page, per_page)
