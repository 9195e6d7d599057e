"""Reading the API request log."""

from sqlalchemy import select

from portal.models import ApiLog, User
from portal.services import permissions
from portal.services.pagination import Page, paginate


def recent(*, actor: User, page: int, per_page: int, count: bool = True) -> Page:
    permissions.require(actor, "apilog.view")
    return paginate(select(ApiLog).order_by(ApiLog.id.desc()), page, per_page, max_per_page=500, count=count)
