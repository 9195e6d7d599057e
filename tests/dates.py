"""Today as the app counts days: its business day (DISPLAY_TIMEZONE, Nairobi by default), which is
not the machine's date (UTC on CI) for a few hours each evening."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from portal.config import TestingConfig


def business_today() -> date:
    return datetime.now(ZoneInfo(TestingConfig.DISPLAY_TIMEZONE)).date()
