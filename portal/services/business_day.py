"""The business day where the agents work: "today", and where a local day starts in UTC."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from portal.models.base import utcnow


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def today() -> date:
    return utcnow().astimezone(zone()).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(zone()).date()


def day_start(day: date) -> datetime:
    """The UTC instant the local `day` begins (timestamps are stored in UTC)."""
    return datetime.combine(day, time.min, tzinfo=zone())


def day_end(day: date) -> datetime:
    return day_start(day + timedelta(days=1))
