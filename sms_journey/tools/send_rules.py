"""Legal send windows per destination: when a marketing SMS may reach a number.

A :class:`SendRule` is one market's law, kept as data (``sms.send.rule``) with its
source: the country (and, for a US state, the state with the area codes of its
numbers), a :class:`Window` (allowed weekdays, hours in the recipient's local time,
public holidays excluded where the law says so) and, where a law sets one, a maximum
number of marketing SMS per 24 hours.

Which rules apply to a number (:func:`applicable_rules`):

1. a country rule: to every number of that country;
2. a state rule: to a number with one of the state's prefixes (area codes), and to a
   contact whose address is in that state, whatever the number (laws like Florida's
   protect the state's residents and presume them from the area code).

Where the recipient is (:func:`recipient_zones`), first answer that gives a known zone:

1. the contact's time zone;
2. the zones of the number's prefix (``phonenumbers``); a prefix may span several;
3. the zones of the number's country;
4. the company's zone (else UTC).

When the answer has several zones, a window must hold in *all* of them: the SMS may
only go when it is allowed wherever the recipient may be.

Every window that applies (the destination's rules, the company's, a journey's) must
hold at once: :func:`is_allowed` says whether an instant is allowed,
:func:`first_allowed` finds the first allowed instant at or after a given one within a
horizon, exactly (not minute by minute), or says which windows kept it closed.

Datetimes follow Odoo's convention: naive UTC. No Odoo import.
"""

import bisect
import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytz
from dateutil.easter import easter

from . import phone, schedule

ALL_WEEKDAYS = frozenset(range(7))  # date.weekday(): Monday is 0, Sunday is 6

# A holiday token: a fixed day "MM-DD" or a day relative to Easter Sunday "easter+1".
_HOLIDAY_RE = re.compile(r"^(?:(\d{2})-(\d{2})|easter([+-]\d{1,3}))$")
# A number prefix: "+" and the country code, then the leading national digits.
_PREFIX_RE = re.compile(r"^\+\d{1,15}$")

# How far one step of the search looks ahead for a window to open (see _next_opening).
_LOOKAHEAD = timedelta(days=8)


@dataclass(frozen=True)
class Holidays:
    """Days on which a window is closed: fixed days of the year (``(month, day)``) and
    days relative to Western Easter Sunday (``1`` = Easter Monday)."""

    fixed: frozenset = frozenset()
    easter_offsets: frozenset = frozenset()

    def __contains__(self, day):
        if (day.month, day.day) in self.fixed:
            return True
        if not self.easter_offsets:
            return False
        return (day - easter(day.year)).days in self.easter_offsets

    def __bool__(self):
        return bool(self.fixed or self.easter_offsets)


NO_HOLIDAYS = Holidays()


def parse_holidays(text):
    """The :class:`Holidays` of ``text``: tokens separated by spaces or commas, each
    ``MM-DD`` (a fixed day) or ``easter+N`` / ``easter-N`` (N days after or before
    Easter Sunday). Empty text: no holidays.

    :raises ValueError: on a token that is neither, or a day that no year has.
    """
    fixed, offsets = set(), set()
    for token in re.split(r"[\s,]+", (text or "").strip().lower()):
        if not token:
            continue
        match = _HOLIDAY_RE.match(token)
        if not match:
            raise ValueError(f"{token!r} is not a holiday: write MM-DD or easter+N")
        if match.group(3):
            offsets.add(int(match.group(3)))
            continue
        month, day = int(match.group(1)), int(match.group(2))
        date(2024, month, day)  # a leap year: 02-29 is a day, 02-30 raises ValueError
        fixed.add((month, day))
    return Holidays(frozenset(fixed), frozenset(offsets))


def parse_prefixes(text):
    """The number prefixes of ``text`` (separated by spaces or commas), each ``+``
    followed by digits: ``"+1305 +1786"`` → ``("+1305", "+1786")``.

    :raises ValueError: on anything else.
    """
    prefixes = tuple(token for token in re.split(r"[\s,]+", (text or "").strip()) if token)
    for prefix in prefixes:
        if not _PREFIX_RE.match(prefix):
            raise ValueError(f"{prefix!r} is not a number prefix: write + and digits")
    return prefixes


@dataclass(frozen=True)
class Window:
    """When sending is allowed, in the recipient's local time: on ``weekdays``, not on
    ``holidays``, from ``start`` to ``end`` (float hours; ``end`` excluded; a window may
    cross midnight, ``start == end`` means all day). A day is the local date of the
    instant. ``label`` names who sets the window (reasons, previews)."""

    start: float = 0.0
    end: float = 0.0
    weekdays: frozenset = ALL_WEEKDAYS
    holidays: Holidays = NO_HOLIDAYS
    label: str = ""
    _minutes: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        bounds = (
            schedule._hour_to_minutes(self.start, "window start"),
            schedule._hour_to_minutes(self.end, "window end"),
        )
        object.__setattr__(self, "_minutes", bounds)

    def allows_day(self, day):
        return day.weekday() in self.weekdays and day not in self.holidays

    def day_openings(self):
        """Minutes after local midnight at which the window may open on an allowed
        day: its start, and midnight for a window that is open then."""
        start, end = self._minutes
        if start % schedule._MINUTES_PER_DAY == end % schedule._MINUTES_PER_DAY:
            return (0,)
        if start < end:
            return (start,)
        return (0, start)

    def holds(self, moment_utc, tz):
        """Whether the window is open at naive-UTC ``moment_utc`` in the pytz zone
        ``tz``."""
        local = schedule._to_local(moment_utc, tz)
        if not self.allows_day(local.date()):
            return False
        minutes = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6
        return schedule._in_window(minutes, *self._minutes)


@dataclass(frozen=True)
class SendRule:
    """One market's legal rule for marketing SMS (an ``sms.send.rule`` row)."""

    name: str
    country: str  # ISO 3166 alpha-2 of the destination
    window: Window
    region: str = ""  # a subdivision code (a US state: "FL"); empty: the whole country
    prefixes: tuple = ()  # the region's number prefixes ("+1305"), see module docstring
    max_per_day: int = 0  # marketing SMS per 24 hours; 0: the law sets no maximum
    source: str = ""


@dataclass(frozen=True)
class Slot:
    """The answer of :func:`first_allowed`: the first allowed instant (``at``), or
    ``None`` when there is none within the horizon; ``closed_by``: the labels of the
    windows that were closed on the way, in the order met (empty: allowed at once)."""

    at: datetime | None
    closed_by: tuple = ()


def applicable_rules(rules, e164, contact_region=None):
    """The rules of ``rules`` (:class:`SendRule`) that apply to ``e164``, in order.

    :param contact_region: ``(country code, subdivision code)`` of the contact's
        address, if known.
    """
    if not e164:
        return ()
    country = _number_facts(e164)[0]
    found = []
    for rule in rules:
        if rule.region:
            by_number = country == rule.country and e164.startswith(rule.prefixes)
            if by_number or contact_region == (rule.country, rule.region):
                found.append(rule)
        elif rule.country == country:
            found.append(rule)
    return tuple(found)


@functools.lru_cache(maxsize=4096)  # asked for every marketing SMS
def known_zones(names):
    """The valid pytz names of ``names`` (a tuple) in pytz's spelling, once each, in
    order."""
    zones = []
    for name in names or ():
        try:
            zone = schedule.get_timezone(name).zone
        except schedule.UnknownTimezone:
            continue
        if zone not in zones:
            zones.append(zone)
    return tuple(zones)


def recipient_zones(contact_tz, e164, company_tz):
    """The zones the recipient of ``e164`` may be in (see the module docstring): the
    contact's, else the number prefix's, else its country's, else the company's, else
    UTC. Unknown zone names are skipped."""
    _country, prefix_zones, country_zones = _number_facts(e164) if e164 else (None, (), ())
    for names in (
        (contact_tz,) if contact_tz else (),
        prefix_zones,
        country_zones,
        (company_tz,) if company_tz else (),
    ):
        zones = known_zones(tuple(names))
        if zones:
            return zones
    return ("UTC",)


@functools.lru_cache(maxsize=65536)  # parsing a number costs more than the rest
def _number_facts(e164):
    """(country code or None, zones of the prefix, zones of the country) of a number."""
    country, prefix_zones = phone.region_and_timezones(e164)
    country_zones = tuple(pytz.country_timezones.get(country, ())) if country else ()
    return country, prefix_zones, country_zones


def strictest_daily_maximum(rules):
    """The smallest positive ``max_per_day`` of ``rules``, or 0 when none sets one."""
    return min((rule.max_per_day for rule in rules if rule.max_per_day > 0), default=0)


def is_allowed(moment_utc, windows, zones):
    """Whether every window of ``windows`` holds at ``moment_utc`` in every zone of
    ``zones`` (pytz names). No windows: always allowed.

    :raises UnknownTimezone: for an unknown zone name.
    """
    moment_utc = schedule._naive_utc(moment_utc)
    tzs = [schedule.get_timezone(name) for name in zones]
    return all(window.holds(moment_utc, tz) for window in windows for tz in tzs)


def first_allowed(moment_utc, windows, zones, horizon):
    """The :class:`Slot` of the first instant at or after ``moment_utc`` and at most
    ``horizon`` (a timedelta) later at which :func:`is_allowed` holds.

    Nothing earlier in between is allowed: the search only jumps over instants at
    which a window is closed.

    :raises UnknownTimezone: for an unknown zone name.
    """
    return _first_allowed(schedule._naive_utc(moment_utc), tuple(windows), tuple(zones), horizon)


@functools.lru_cache(maxsize=4096)  # a batch asks the same question for many recipients
def _first_allowed(moment, windows, zones, horizon):
    pairs = [(window, schedule.get_timezone(name)) for window in windows for name in zones]
    end = moment + horizon
    closed_by = []
    t = moment
    while t <= end:
        closed = [(window, tz) for window, tz in pairs if not window.holds(t, tz)]
        if not closed:
            return Slot(t, tuple(dict.fromkeys(closed_by)))
        closed_by.extend(window.label for window, _tz in closed)
        # Each closed window stays closed until its next opening: nothing before the
        # latest of them can be allowed. Every step moves forward.
        t = max(_next_opening(window, tz, t) for window, tz in closed)
    return Slot(None, tuple(dict.fromkeys(closed_by)))


def _next_opening(window, tz, t):
    """The first instant after ``t`` (where ``window`` is closed in ``tz``) at which it
    is open, if it opens within ``_LOOKAHEAD``; else ``t + _LOOKAHEAD``, before which it
    stays closed.

    A window can only open where the local wall time reaches one of its openings on an
    allowed day (:meth:`Window.day_openings`), or where the clock itself jumps (a DST
    transition). Those instants, over the local days that can overlap the lookahead,
    are the only candidates: the first one at which the window holds is the answer.
    """
    limit = t + _LOOKAHEAD
    first_day = schedule._to_local(t, tz).date() - timedelta(days=1)
    candidates = set(_transitions(tz, t, limit))
    for offset in range(_LOOKAHEAD.days + 3):
        day = first_day + timedelta(days=offset)
        if not window.allows_day(day):
            continue
        midnight = datetime.combine(day, time())
        for minutes in window.day_openings():
            candidates.update(_instants_of(tz, midnight + timedelta(minutes=minutes)))
    for candidate in sorted(c for c in candidates if t < c <= limit):
        if window.holds(candidate, tz):
            return candidate
    return limit


def _instants_of(tz, wall):
    """The naive-UTC instants whose wall time in ``tz`` is ``wall``: none in a DST gap,
    two when the clock goes back over it."""
    found = set()
    for is_dst in (True, False):
        instant = schedule._naive_utc(tz.localize(wall, is_dst=is_dst))
        if schedule._to_local(instant, tz).replace(tzinfo=None) == wall:
            found.add(instant)
    return found


def _transitions(tz, since, until):
    """The zone's offset changes in ``(since, until]`` (naive UTC)."""
    times = getattr(tz, "_utc_transition_times", None)
    if not times:
        return ()
    return times[bisect.bisect_right(times, since) : bisect.bisect_right(times, until)]
