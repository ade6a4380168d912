"""Pure helpers of the journey engine: the step rules, waits, occurrence times and
windows.

No Odoo import: the models call these, and they are tested with pytest alone.
All datetimes are naive UTC, as Odoo stores them.

The step rules, in the order a due step applies them (the step cron,
``sms.journey.participant._run_due_steps``, and the preview,
``sms.journey.preview._walk``, both ask these functions, so they cannot disagree):

1. its condition (``condition_met``): on the contact's reaction to the previous SMS
   (click, reply, keyword, order; the preview assumes none), on the contact alone
   (consent, survey answer, filter), or none;
2. what the step does (``step_outcome``): a *branch* step sends the participant down
   its ``yes`` or ``no`` path by the condition; another step whose condition is not met
   is *skipped*; a step that texts is *held out* for the control group; else it *runs*;
3. whether the participant stops there (``ends_journey``): an ``end`` or ``opt_out``
   step that ran;
4. when the next step is due (``step_done_at``, then ``step_due_time``): its wait
   counted from when this step was done (an SMS deferred by quiet hours is done when it
   goes) or from the enrolment; a wait may be a multiple of the contact's order gap
   (``wait_delta``), fixed days when the contact has none.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from . import schedule

# "gap": a multiple of the contact's order gap (``rhythm.py``), else the days given
WAIT_UNITS = ("hours", "days", "gap")

# Steps that text the contact: the control group never gets them, and their trace is
# "the previous SMS" for the conditions on a reaction.
SMS_ACTIONS = ("sms", "survey", "appointment")
# Steps that end the participant's run when they run.
ENDING_ACTIONS = ("opt_out", "end")

# Conditions on the contact's reaction to the previous SMS: {condition: (the reaction,
# whether it must have happened)}.
REACTION_CONDITIONS = {
    "clicked": ("clicked", True),
    "not_clicked": ("clicked", False),
    "replied": ("replied", True),
    "not_replied": ("replied", False),
    "keyword": ("keyword", True),
    "ordered": ("ordered", True),
    "not_ordered": ("ordered", False),
}
# Conditions read from the contact alone (its consent, survey answers, a filter).
CONTACT_CONDITIONS = ("consenting", "survey", "odoo_survey", "partner")

# What a due step does for one participant (``step_outcome``).
BRANCH = "branch"
SKIPPED = "skipped"
HELD_OUT = "held_out"
RUN = "run"


@dataclass(frozen=True)
class Candidate:
    """A contact a trigger would enrol: ``partner_id`` at ``moment`` for the occurrence
    ``key`` (a cart, a year, a date…), with the record that triggered it, if any."""

    partner_id: int
    key: str
    moment: datetime
    source_model: str | None = None
    source_res_id: int | None = None


@dataclass(frozen=True)
class StepOutcome:
    """What a due step does for one participant: ``kind`` is ``BRANCH`` (``side`` is the
    path taken), ``SKIPPED``, ``HELD_OUT`` or ``RUN``."""

    kind: str
    side: str | None = None


def condition_met(condition, reacted, contact_matches):
    """Whether a step's ``condition`` holds for one participant.

    ``reacted(reaction)`` answers whether the contact reacted to the previous SMS
    (``'clicked'``, ``'replied'``, ``'keyword'``, ``'ordered'``); ``contact_matches()``
    answers the conditions read from the contact alone. Both are asked only when the
    condition needs them (they may query). ``'none'`` and unknown conditions hold.
    """
    if condition in REACTION_CONDITIONS:
        reaction, wanted = REACTION_CONDITIONS[condition]
        return bool(reacted(reaction)) == wanted
    if condition in CONTACT_CONDITIONS:
        return bool(contact_matches())
    return True


def no_reaction(_reaction):
    """``reacted`` of a contact assumed not to react (the preview)."""
    return False


def step_outcome(action, met, holdout):
    """What a due step of ``action`` does, its condition ``met`` or not, for a
    participant in the control group (``holdout``) or not."""
    if action == "branch":
        return StepOutcome(BRANCH, "yes" if met else "no")
    if not met:
        return StepOutcome(SKIPPED)
    if holdout and action in SMS_ACTIONS:
        return StepOutcome(HELD_OUT)
    return StepOutcome(RUN)


def ends_journey(outcome, action):
    """Whether the participant stops at this step: an ending step that ran."""
    return outcome.kind == RUN and action in ENDING_ACTIONS


def step_done_at(now, sent_at=None):
    """When a step run at ``now`` counts as done, for the next step's wait: when its
    SMS goes (``sent_at``, deferred by quiet hours or caps), never before ``now``."""
    return max(sent_at or now, now)


def wait_delta(amount, unit, gap_factor=0.0, gap_days=None):
    """The ``timedelta`` of a step's wait (``unit`` is ``'hours'`` or ``'days'``).

    ``'gap'`` waits ``gap_factor`` times the contact's order gap (``gap_days``, the
    rhythm of ``rhythm.py``): a customer who orders every week is reminded sooner than
    one who orders twice a year. A contact without a gap waits ``amount`` days."""
    if unit not in WAIT_UNITS:
        raise ValueError(f"unknown wait unit {unit!r}")
    if unit == "gap" and gap_days and gap_days > 0:
        return timedelta(days=max(gap_factor or 0.0, 0.0) * gap_days)
    amount = max(amount or 0, 0)
    return timedelta(hours=amount) if unit == "hours" else timedelta(days=amount)


def step_due_time(
    enrolled_at, previous_at, amount, unit, wait_from="previous", gap_factor=0.0, gap_days=None
):
    """When a step is due: its wait (``wait_delta``) counted from the previous step (or
    the enrolment for the first step) or, with ``wait_from='enrolment'``, from the
    enrolment."""
    base = enrolled_at if wait_from == "enrolment" or previous_at is None else previous_at
    return base + wait_delta(amount, unit, gap_factor, gap_days)


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
