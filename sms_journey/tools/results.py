"""Figures of SMS programs that need no database: return ratios and the buckets of the
campaign report (what happened hour by hour over the first 24 hours after an SMS, and
day by day over 10 days)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

HOURS = 24  # hourly buckets after the send
DAYS = 10  # daily buckets after the send
UTC = ZoneInfo("UTC")


def roas(revenue, cost):
    """Return on ad spend: revenue earned per unit of cost (2.0 = twice the cost back);
    ``None`` without cost."""
    return revenue / cost if cost else None


def roi(revenue, cost):
    """Return on investment: profit over cost ((revenue - cost) / cost; 1.0 = the cost
    back plus as much again); ``None`` without cost."""
    return (revenue - cost) / cost if cost else None


def local(moment, tz):
    """The naive local time in ``tz`` of the naive UTC datetime ``moment``."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz or "UTC")).replace(tzinfo=None)


def hour_bucket(sent_at, event_at):
    """0–23: the hour after the send the event falls in; ``None`` outside the first 24
    hours (or before the send)."""
    if event_at < sent_at:
        return None
    hours = int((event_at - sent_at) // timedelta(hours=1))
    return hours if hours < HOURS else None


def day_bucket(sent_at, event_at, tz):
    """0–9: calendar days between the send and the event in ``tz`` (0 = the day of the
    send); ``None`` from the 10th day on (or before the send)."""
    if event_at < sent_at:
        return None
    days = (local(event_at, tz).date() - local(sent_at, tz).date()).days
    return days if days < DAYS else None


def hour_label(event_at, tz):
    """The local clock hour of the event in ``tz``, as the report shows it: ``'14:00'``."""
    return f"{local(event_at, tz).hour:02d}:00"


def month_start(moment: datetime, tz):
    """First day of the local month of the naive UTC ``moment`` in ``tz``."""
    return local(moment, tz).date().replace(day=1)
