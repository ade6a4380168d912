"""When the daily digest of SMS replies is due.

A digest follows a launch (a mass SMS campaign, a journey): every day at a local hour
(18:00 by default) for a number of days (10 by default) after the launch, it reports the
replies received since the previous digest. Times are naive UTC, as Odoo stores them.
"""

from datetime import timedelta

import pytz

from .schedule import get_timezone, local_datetime_to_utc

DEFAULT_HOUR = 18.0
DEFAULT_DAYS = 10
MAX_RECIPIENTS = 5


def due_slot(now, start, hour, tz_name, days, last_run=None):
    """The digest time (naive UTC) due at ``now``, or None.

    The slot is the latest local ``hour`` at or before ``now``; it is due when it falls
    after ``start``, within ``days`` days of it, and after ``last_run`` (the previous
    digest). A slot missed while the cron did not run is caught up once, not per day.
    """
    if not start or now < start or days <= 0:
        return None
    local_day = pytz.utc.localize(now).astimezone(get_timezone(tz_name)).date()
    slot = local_datetime_to_utc(local_day, hour, tz_name)
    if slot > now:
        slot = local_datetime_to_utc(local_day - timedelta(days=1), hour, tz_name)
    if slot < start or slot > start + timedelta(days=days):
        return None
    if last_run and last_run >= slot:
        return None
    return slot


def count_by(keys):
    """``[(key, count)]`` most frequent first, then by key (stable output for emails)."""
    counts = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
