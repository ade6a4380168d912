"""The sending policy: what happens to one SMS at send time.

One function, :func:`decide`, answers for one SMS: send now, defer until a time, or
cancel with a reason. Every path that sends (Odoo's ``sms.sms``, the outbox, the journey
batch, automatic answers) and the journey preview ask it, so they cannot disagree.

The rules, in order:

1. A number that cannot be parsed is canceled (``invalid_number``), whatever the kind.
2. ``essential`` SMS (security codes, the STOP confirmation) go out at once: nothing else
   applies to them.
3. A blacklisted number (STOP, CTIA: the ``phone.blacklist``) gets nothing else
   (``opted_out``).
4. ``transactional`` SMS (order, delivery, appointment, one-to-one answers) then go out at
   once: marketing consent, quiet hours and caps are for marketing.
5. ``marketing`` SMS need consent: never to a contact who revoked marketing consent
   (``marketing_opt_out``); with ``consent_required`` only to an explicit opt-in or a
   mailing-list subscriber (``no_consent``).
6. With ``timing`` (SMS that go through the outbox), the frequency cap defers the SMS
   until enough recent ones leave the window, or cancels it (``frequency_cap``) when the
   company says so; then quiet hours in the recipient's time zone defer it to the next
   allowed minute.

Datetimes follow Odoo's convention: naive UTC. No Odoo import: plain data in, plain data
out.
"""

from dataclasses import dataclass
from datetime import datetime

from . import schedule

KINDS = ("marketing", "transactional", "essential")

SEND, DEFER, CANCEL = "send", "defer", "cancel"

# cancel reasons
INVALID_NUMBER = "invalid_number"
OPTED_OUT = "opted_out"
MARKETING_OPT_OUT = "marketing_opt_out"
NO_CONSENT = "no_consent"
FREQUENCY_CAP = "frequency_cap"
CANCEL_REASONS = (INVALID_NUMBER, OPTED_OUT, MARKETING_OPT_OUT, NO_CONSENT, FREQUENCY_CAP)

# defer reasons
QUIET_HOURS = "quiet_hours"


@dataclass(frozen=True)
class Rules:
    """A company's sending rules (its settings)."""

    consent_required: bool = True
    window_start: float = 8.0
    window_end: float = 20.0
    cap: int = 0
    cap_hours: int = 24
    cap_policy: str = "defer"  # or "skip"
    # Quiet hours and caps need a queue that can hold an SMS until later: the outbox of
    # a gateway has one, Odoo's IAP path sends at once.
    timing: bool = True


@dataclass(frozen=True)
class Recipient:
    """What the policy needs to know about who gets one SMS."""

    e164: str | None
    blacklisted: bool = False
    consent: str = "unknown"  # the contact's marketing consent state (res.partner)
    list_consent: bool = False  # a subscriber of the mailing list the SMS is sent to
    tz: str = "UTC"
    recent_marketing: tuple[datetime, ...] = ()  # send times of its recent marketing SMS


@dataclass(frozen=True)
class Decision:
    action: str  # SEND, DEFER or CANCEL
    due_at: datetime
    reason: str | None = None  # a cancel reason
    deferred_by: tuple[str, ...] = ()  # FREQUENCY_CAP and/or QUIET_HOURS

    @property
    def canceled(self):
        return self.action == CANCEL


def has_marketing_consent(recipient, rules):
    """Whether marketing SMS may reach ``recipient`` (blacklist aside)."""
    if recipient.consent == "opted_out":
        return False
    if not rules.consent_required:
        return True
    return recipient.consent == "opted_in" or recipient.list_consent


def always_sends(kind, blacklist_empty):
    """Whether :func:`decide` sends an SMS of ``kind`` to a valid number whatever the
    recipient's consent, time zone and history (rules 2 and 4): essential SMS always,
    transactional ones while no number is blacklisted. Lets the dispatch, a hot path,
    skip gathering facts it would not read."""
    return kind == "essential" or (kind == "transactional" and blacklist_empty)


def decide(kind, recipient, rules, now):
    """The :class:`Decision` for one SMS of ``kind`` to ``recipient`` at ``now``."""
    if kind not in KINDS:
        raise ValueError(f"unknown SMS kind {kind!r}")
    if not recipient.e164:
        return Decision(CANCEL, now, INVALID_NUMBER)
    if kind == "essential":
        return Decision(SEND, now)
    if recipient.blacklisted:
        return Decision(CANCEL, now, OPTED_OUT)
    if kind == "transactional":
        return Decision(SEND, now)
    if not has_marketing_consent(recipient, rules):
        reason = MARKETING_OPT_OUT if recipient.consent == "opted_out" else NO_CONSENT
        return Decision(CANCEL, now, reason)
    if not rules.timing:
        return Decision(SEND, now)
    due, deferred_by = now, []
    release = schedule.cap_release_time(recipient.recent_marketing, rules.cap, rules.cap_hours, now)
    if release:
        if rules.cap_policy == "skip":
            return Decision(CANCEL, now, FREQUENCY_CAP)
        due = release
        deferred_by.append(FREQUENCY_CAP)
    try:
        allowed = schedule.next_allowed_time(
            due, recipient.tz, rules.window_start, rules.window_end
        )
    except schedule.UnknownTimezone:
        allowed = schedule.next_allowed_time(due, "UTC", rules.window_start, rules.window_end)
    if allowed > due:
        due = allowed
        deferred_by.append(QUIET_HOURS)
    if due > now:
        return Decision(DEFER, due, deferred_by=tuple(deferred_by))
    return Decision(SEND, now)
