"""Pure helpers of the journey engine: waits, occurrence times and windows.

No Odoo import: the models call these, and they are tested with pytest alone.
All datetimes are naive UTC, as Odoo stores them.
"""

from datetime import datetime, timedelta

from . import schedule

WAIT_UNITS = ("hours", "days")


def wait_delta(amount, unit):
    """The ``timedelta`` of a step's wait (``unit`` is ``'hours'`` or ``'days'``)."""
    if unit not in WAIT_UNITS:
        raise ValueError(f"unknown wait unit {unit!r}")
    amount = max(amount or 0, 0)
    return timedelta(hours=amount) if unit == "hours" else timedelta(days=amount)


def step_due_time(enrolled_at, previous_at, amount, unit, wait_from="previous"):
    """When a step is due: its wait counted from the previous step (or the enrolment
    for the first step) or, with ``wait_from='enrolment'``, from the enrolment."""
    base = enrolled_at if wait_from == "enrolment" or previous_at is None else previous_at
    return base + wait_delta(amount, unit)


def days_between(since, until):
    """Dates ``d`` with ``since < d <= until`` (dates or datetimes), oldest first."""
    since = since.date() if isinstance(since, datetime) else since
    until = until.date() if isinstance(until, datetime) else until
    days, day = [], since + timedelta(days=1)
    while day <= until:
        days.append(day)
        day += timedelta(days=1)
    return days


def yearly_send_time(origin, year, hour, tz_name):
    """UTC time of the yearly occurrence of ``origin`` (birthday, first order…) in
    ``year`` at local ``hour`` in ``tz_name``; 29 February → 28 February in other years.
    Unknown time zones fall back to UTC."""
    day = schedule.birthday_in_year(origin, year)
    try:
        return schedule.local_datetime_to_utc(day, hour, tz_name or "UTC")
    except schedule.UnknownTimezone:
        return schedule.local_datetime_to_utc(day, hour, "UTC")


def yearly_occurrences(origin, since, until, hour, tz_name, min_years=0):
    """UTC send times of the yearly occurrences of ``origin`` falling in ``(since, until]``.

    ``min_years`` skips occurrences less than that many years after ``origin`` (an
    anniversary needs one full year; a birthday needs none).
    """
    if isinstance(origin, datetime):
        origin = origin.date()
    found = []
    for year in range(since.year - 1, until.year + 2):
        if year - origin.year < max(min_years, 0) or year < origin.year:
            continue
        moment = yearly_send_time(origin, year, hour, tz_name)
        if since < moment <= until:
            found.append(moment)
    return found


def within_reentry(previous_enrolments, moment, policy, days):
    """False when a partner may not enter again at ``moment``.

    ``previous_enrolments`` are the enrolment datetimes of earlier runs of the same
    journey. ``policy`` is ``'never'`` or ``'after_days'`` (enter again ``days`` after
    the last enrolment).
    """
    if not previous_enrolments:
        return True
    if policy == "never":
        return False
    last = max(previous_enrolments)
    return moment >= last + timedelta(days=max(days or 0, 0))


def cost_of(segments, price_per_segment):
    """Cost of an SMS of ``segments`` segments."""
    return round((segments or 0) * (price_per_segment or 0.0), 5)
