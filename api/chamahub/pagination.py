"""002's list endpoints: `page`, `page_size` (at most 100), `ordering`, `search`, answered as
{count, next, previous, results} with absolute links to the neighbouring pages (as DRF's PageNumberPagination)."""

from urllib.parse import urlencode

from flask import request
from marshmallow import fields, validate

from api.common import BaseSchema
from portal.services.errors import NotFound
from portal.services.pagination import MAX_PER_PAGE, Page

DEFAULT_PAGE_SIZE = 20


class ListArgsSchema(BaseSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PER_PAGE),
                               metadata={"description": f"At most {MAX_PER_PAGE}"})
    ordering = fields.String(load_default=None, metadata={"description": "A field name; prefix - for descending"})
    search = fields.String(load_default=None)


def page_schema(item_schema: type[BaseSchema]) -> type[BaseSchema]:
    """The {count, next, previous, results} envelope around a list of `item_schema`."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(name, (BaseSchema,), {
        "count": fields.Integer(),
        "next": fields.String(allow_none=True),
        "previous": fields.String(allow_none=True),
        "results": fields.List(fields.Nested(item_schema)),
    })


def _link(page: int | None) -> str | None:
    if page is None:
        return None
    args = request.args.to_dict(flat=False)
    args.pop("page", None)
    if page > 1:  # DRF links the first page without ?page=
        args["page"] = [str(page)]
    query = urlencode(args, doseq=True)
    return f"{request.base_url}?{query}" if query else request.base_url


def envelope(found: Page) -> dict:
    """The body of a 002 list; a page past the last is a 404, as in DRF."""
    if found.page > found.pages:
        raise NotFound("Invalid page.")
    return {"count": found.total, "results": found.items,
            "next": _link(found.page + 1 if found.has_next else None),
            "previous": _link(found.page - 1 if found.has_prev else None)}
