"""Send-time optimisation: the hour of the week a contact reacts most, and the instant
of a day at which a step asking for it goes.

The best hour (:func:`best_hour_of_week`). A contact's clicks on journey links and
replies are counted in 168 buckets, the hours of the week in the contact's zone
(:func:`best_hour_zone`), Monday 00:00–00:59 being 0 and Sunday 23:00 being 167. With
few events a contact's histogram says little, so it is smoothed towards the company's
(every contact's events): the score of hour ``h`` is

    own[h] + PRIOR_STRENGTH × prior[h] / total of prior

(additive smoothing with ``PRIOR_STRENGTH`` pseudo-events spread as the company's). The
best hour has the highest score, the earliest hour on a tie. A contact without events
has none: its steps go at the window's start. The daily recompute does the same in
SQL (``res_partner_best_hour.py``); both must agree (tested).

The instant (:func:`best_instant`). A step with *send at the contact's best hour* is
due on some day; it goes on that local day (in the contact's zone) at the whole hour
closest to the best hour of day, among the instants every window allows (the
company's, the destination's legal ones, in every zone the recipient may be in,
``send_rules.is_allowed``) and not before ``not_before`` (the previous step). The
first allowed instant of that day (``send_rules.first_allowed``: the window's start)
is a candidate too, and the answer without a best hour. A day that no window allows
gives ``None``: the due time stays and the policy defers the SMS as it does any other.

Datetimes follow Odoo's convention: naive UTC. No Odoo import.
"""

from datetime import timedelta

from . import schedule, send_rules

HOURS_PER_WEEK = 168
#: Pseudo-events of the company's histogram added to a contact's: with 5, a contact
#: needs a handful of reactions at one hour before that hour beats the company's.
PRIOR_STRENGTH = 5.0


def best_hour_zone(contact_tz):
    """The zone a contact's hours of the week are counted and applied in: its own,
    else UTC (the SQL recompute reads the same column, it cannot parse numbers)."""
    zones = send_rules.known_zones((contact_tz,)) if contact_tz else ()
    return zones[0] if zones else "UTC"


def hour_of_week(local):
    """The bucket (0–167) of a local datetime: Monday 00:00 is 0."""
    return local.weekday() * 24 + local.hour


def split_hour_of_week(bucket):
    """``(weekday, hour)`` of a bucket: ``date.weekday()`` numbering (Monday is 0)."""
    return divmod(bucket, 24)


def best_hour_of_week(own, prior, strength=PRIOR_STRENGTH):
    """The smoothed best bucket of a contact (see the module docstring), or ``None``
    when it has no event.

    :param own: ``{bucket: count}`` of the contact's events.
    :param prior: ``{bucket: count}`` of the company's events.
    """
    if sum(own.values()) <= 0:
        return None
    total = sum(prior.values())

    def score(bucket):
        # same order of operations as the SQL: (strength × prior) / total
        smoothing = strength * prior.get(bucket, 0) / total if total else 0.0
        return own.get(bucket, 0) + smoothing

    return max(range(HOURS_PER_WEEK), key=lambda bucket: (score(bucket), -bucket))


def best_instant(due, best_hour, zone, windows, zones, not_before=None):
    """The instant a step due at ``due`` goes at, or ``None`` when no window allows an
    instant that day (see the module docstring).

    :param best_hour: the contact's best bucket (0–167) or ``None``.
    :param zone: the zone of the best hour (:func:`best_hour_zone`); the day is the
        local day of ``due`` there.
    :param windows: ``send_rules.Window`` s that must all hold, in every zone of
        ``zones``.
    :param not_before: the earliest acceptable instant (the previous step's).
    :raises UnknownTimezone: for an unknown zone name.
    """
    due = schedule._naive_utc(due)
    tz = schedule.get_timezone(zone)
    day = schedule._to_local(due, tz).date()
    midnight = schedule.local_datetime_to_utc(day, 0, zone)
    next_midnight = schedule.local_datetime_to_utc(day + timedelta(days=1), 0, zone)
    floor = max(midnight, schedule._naive_utc(not_before)) if not_before else midnight
    if floor >= next_midnight:
        return None
    slot = send_rules.first_allowed(floor, windows, zones, next_midnight - floor)
    if slot.at is None or slot.at >= next_midnight:
        return None
    if best_hour is None:
        return slot.at
    target = schedule.local_datetime_to_utc(day, split_hour_of_week(best_hour)[1], zone)
    candidates = [slot.at]
    for hour in range(24):
        instant = schedule.local_datetime_to_utc(day, hour, zone)
        if floor <= instant < next_midnight and send_rules.is_allowed(instant, windows, zones):
            candidates.append(instant)
    return min(candidates, key=lambda instant: (abs(instant - target), instant))


def compare(steps):
    """Steps with and without *send at the contact's best hour*, summed:
    ``{True: (sent, clicked, replied), False: (...)}`` from ``(at_best_hour, sent,
    clicked, replied)`` of each texting step (a side without steps is absent)."""
    sums = {}
    for at_best_hour, sent, clicked, replied in steps:
        total = sums.get(bool(at_best_hour), (0, 0, 0))
        sums[bool(at_best_hour)] = (total[0] + sent, total[1] + clicked, total[2] + replied)
    return sums


def rate(part, whole):
    """``part`` of ``whole`` in percent (0 when ``whole`` is 0)."""
    return 100.0 * part / whole if whole else 0.0
