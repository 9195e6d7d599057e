"""The numbers on each role's dashboard, counted in SQL over what that role may see."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from portal.models import KycStatus, Role, User
from portal.models.base import db, utcnow
from portal.services import permissions


@dataclass
class Tile:
    label: str
    value: int
    hint: str = ""
    link: str | None = None  # a customers-list filter, e.g. "kyc_status=pending"


def tiles_for(actor: User) -> list[Tile]:
    month_start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    visible = permissions.visible_customers(actor).subquery()
    row = db.session.execute(select(
        func.count(),
        func.sum(case((visible.c.created_at >= month_start, 1), else_=0)),
        func.sum(case((visible.c.kyc_status == KycStatus.PENDING.value, 1), else_=0)),
        func.sum(case((visible.c.assigned_officer_id.is_(None), 1), else_=0)),
        func.sum(case((visible.c.assigned_officer_id == actor.id, 1), else_=0)),
    ).select_from(visible)).one()
    total, this_month, kyc_pending, unassigned, mine = (int(v or 0) for v in row)
    tiles = [Tile("Customers", total, "you can see", ""),
             Tile("New this month", this_month, f"since {_day(month_start)}", "sort=newest")]
    if actor.role == Role.COLLECTION_OFFICER:
        tiles.insert(0, Tile("Assigned to you", mine, "customers in your book", ""))
    if actor.role in (Role.ADMIN, Role.MANAGER, Role.LOAN_OFFICER):
        tiles.append(Tile("KYC pending", kyc_pending, "awaiting review", "kyc_status=pending"))
    if actor.role in (Role.ADMIN, Role.MANAGER):
        tiles.append(Tile("Unassigned", unassigned, "no collection officer", "unassigned=1"))
        staff = db.session.scalar(select(func.count()).select_from(
            permissions.visible_users(actor).where(User.role != Role.BORROWER, User.is_active.is_(True))
            .subquery()))
        tiles.append(Tile("Active staff", int(staff or 0), "your team" if actor.role == Role.MANAGER else "all"))
    return tiles


def _day(moment: datetime) -> str:
    return moment.strftime("%d %b")
