"""Sending windows, recipient time zones, birthdays and frequency caps.

Marketing SMS may only go out during the recipient's local daytime window, so a send
planned outside it is postponed to the next window start. Datetimes follow the Odoo
convention: naive values in UTC. Window bounds are float hours (``8.0`` = 08:00,
``20.5`` = 20:30) in the recipient's local time; a window may cross midnight
(``22 → 6``) and ``start == end`` means "always allowed".

Daylight saving time: a local time that does not exist (spring forward) moves to the first
valid instant after the gap; a local time that happens twice (fall back) takes the first.
"""

import calendar
from datetime import date, datetime, time, timedelta

import pytz

_MINUTES_PER_DAY = 24 * 60


class UnknownTimezone(ValueError):
    """A time zone name pytz does not know (or an empty one)."""


def get_timezone(tz_name):
    """Return the pytz zone for ``tz_name``.

    :raises UnknownTimezone: if the name is empty or unknown to pytz.
    """
    if not tz_name or not isinstance(tz_name, str):
        raise UnknownTimezone(f"no time zone given ({tz_name!r})")
    try:
        return pytz.timezone(tz_name)
    except pytz.UnknownTimeZoneError:
        raise UnknownTimezone(f"unknown time zone {tz_name!r}") from None


def _naive_utc(moment):
    # Odoo stores naive UTC; aware values are accepted and brought to that convention.
    if moment.tzinfo is not None:
        return moment.astimezone(pytz.utc).replace(tzinfo=None)
    return moment


def _hour_to_minutes(hour, name):
    if isinstance(hour, bool) or not isinstance(hour, int | float):
        raise TypeError(f"{name} must be a number of hours, got {hour!r}")
    if not 0 <= hour <= 24:
        raise ValueError(f"{name} must be between 0 and 24 hours, got {hour!r}")
    return round(hour * 60)


def _to_local(moment_utc, tz):
    return pytz.utc.localize(moment_utc).astimezone(tz)


def _localize(tz, local_naive):
    """Naive local wall time → naive UTC, moving DST gaps forward and taking the first of
    repeated times."""
    try:
        aware = tz.localize(local_naive, is_dst=None)
    except pytz.AmbiguousTimeError:
        candidates = [tz.localize(local_naive, is_dst=flag) for flag in (True, False)]
        return min(_naive_utc(candidate) for candidate in candidates)
    except pytz.NonExistentTimeError:
        return _gap_end(tz, local_naive)
    return _naive_utc(aware)


def _gap_end(tz, local_naive):
    """First UTC instant whose local wall time is at or after ``local_naive``, which lies
    in a spring-forward gap.

    Reading the wall time with either offset brackets the transition instant; local wall
    time is increasing across a gap, so a binary search on it finds the transition.
    """
    bounds = sorted(_naive_utc(tz.localize(local_naive, is_dst=flag)) for flag in (True, False))
    low, high = bounds[0], bounds[1]
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _to_local(middle, tz).replace(tzinfo=None) >= local_naive:
            high = middle
        else:
            low = middle
    # Transitions fall on whole minutes: the one in (low, high] is the transition (the
    # search stops up to a second past it, which must not round up to the next minute).
    minute = high.replace(second=0, microsecond=0)
    return minute if minute > low else minute + timedelta(minutes=1)


def _local_minutes(moment_utc, tz):
    local = _to_local(moment_utc, tz)
    return local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6


def _in_window(minutes, start, end):
    if start % _MINUTES_PER_DAY == end % _MINUTES_PER_DAY:
        return True
    if start < end:
        return start <= minutes < end
    return minutes >= start or minutes < end


def is_within_window(now_utc, tz_name, start, end):
    """True if local time at ``now_utc`` in ``tz_name`` lies in ``[start, end)``.

    :param start: window start, float hours local time (may be greater than ``end`` for
        a window crossing midnight; equal to ``end`` means always allowed).
    :raises UnknownTimezone: for an unknown ``tz_name``.
    """
    tz = get_timezone(tz_name)
    start_min = _hour_to_minutes(start, "window start")
    end_min = _hour_to_minutes(end, "window end")
    return _in_window(_local_minutes(_naive_utc(now_utc), tz), start_min, end_min)


def next_allowed_time(now_utc, tz_name, window_start, window_end):
    """Earliest naive-UTC datetime at or after ``now_utc`` inside the local window.

    Returns ``now_utc`` itself when it is already within the window, otherwise the next
    local window start (today or tomorrow) converted to naive UTC, on a whole minute.

    :raises UnknownTimezone: for an unknown ``tz_name``.
    :raises ValueError: if a bound is outside 0–24 hours.
    """
    tz = get_timezone(tz_name)
    now_utc = _naive_utc(now_utc)
    start_min = _hour_to_minutes(window_start, "window start")
    end_min = _hour_to_minutes(window_end, "window end")
    if _in_window(_local_minutes(now_utc, tz), start_min, end_min):
        return now_utc
    today = _to_local(now_utc, tz).date()
    # A window lying wholly inside a DST gap does not exist that day: try the next days.
    for offset in range(-1, 8):
        midnight = datetime.combine(today + timedelta(days=offset), time())
        candidate = _localize(tz, midnight + timedelta(minutes=start_min))
        if candidate > now_utc and _in_window(_local_minutes(candidate, tz), start_min, end_min):
            return candidate
    raise RuntimeError(f"no sending window found in {tz_name} after {now_utc}")  # unreachable


def local_datetime_to_utc(d, hour, tz_name):
    """Naive UTC datetime of local ``hour`` (float, 0–24) on date ``d`` in ``tz_name``.

    :raises UnknownTimezone: for an unknown ``tz_name``.
    """
    tz = get_timezone(tz_name)
    minutes = _hour_to_minutes(hour, "hour")
    day = d.date() if isinstance(d, datetime) else d
    return _localize(tz, datetime.combine(day, time()) + timedelta(minutes=minutes))


def pick_timezone(partner_tz, number_timezones, company_tz):
    """First valid pytz name among the partner's zone, the first of the number's zones
    (see ``phone.timezones_of``) and the company's zone; ``'UTC'`` if none is valid.

    Falsy values (Odoo's False) are skipped. Names are returned in pytz's canonical
    spelling.
    """
    number_tz = next(iter(number_timezones or ()), None)
    for name in (partner_tz, number_tz, company_tz):
        if not name:
            continue
        try:
            return get_timezone(name).zone
        except UnknownTimezone:
            continue
    return "UTC"


def birthday_in_year(birth_date, year):
    """The birthday of ``birth_date`` in ``year``; 29 February becomes 28 February in
    non-leap years."""
    if birth_date.month == 2 and birth_date.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, birth_date.month, birth_date.day)


def is_birthday(birth_date, today):
    """True if ``today`` is the birthday of ``birth_date`` (29 Feb rule included)."""
    if isinstance(today, datetime):
        today = today.date()
    return birthday_in_year(birth_date, today.year) == today


def month_days_celebrated_on(day):
    """``(month, day)`` pairs whose yearly recurrence falls on ``day``: its own month and
    day, plus ``(2, 29)`` on 28 February of a non-leap year (the rule of
    :func:`birthday_in_year`). Lets a database look birthdays up by month and day."""
    if isinstance(day, datetime):
        day = day.date()
    pairs = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        pairs.append((2, 29))
    return pairs


def next_anniversary(d, after):
    """First yearly recurrence of ``d`` strictly after ``after`` (and after ``d`` itself),
    with the same 29 February rule as :func:`birthday_in_year`."""
    if isinstance(after, datetime):
        after = after.date()
    if isinstance(d, datetime):
        d = d.date()
    after = max(after, d)
    candidate = birthday_in_year(d, after.year)
    if candidate <= after:
        candidate = birthday_in_year(d, after.year + 1)
    return candidate


def cap_release_time(sent_times_utc, cap, window_hours, now_utc):
    """When the next marketing SMS may go out under a "``cap`` per ``window_hours``" rule.

    :param sent_times_utc: naive UTC send times of the contact's recent marketing SMS.
    :returns: None if one more can be sent at ``now_utc`` (fewer than ``cap`` sends in
        the trailing window ``(now - window, now]``), else the earliest time it can:
        when enough of the sends have left the window. ``cap <= 0`` or
        ``window_hours <= 0`` means no cap.
    """
    if cap <= 0 or window_hours <= 0:
        return None
    window = timedelta(hours=window_hours)
    now_utc = _naive_utc(now_utc)
    # Sends dated after now (clock skew, already queued) count as well.
    recent = sorted(sent for sent in map(_naive_utc, sent_times_utc) if sent > now_utc - window)
    if len(recent) < cap:
        return None
    # Usually exactly ``cap`` sends are recent and this is the oldest; with more (the cap
    # was lowered) enough of them must expire to get back under it.
    return recent[len(recent) - cap] + window
