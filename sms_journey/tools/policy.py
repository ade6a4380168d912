"""The sending policy: what happens to one SMS at send time.

One function, :func:`decide`, answers for one SMS: send now, defer until a time, or
cancel with a reason. Every path that sends (Odoo's ``sms.sms``, the outbox, the journey
batch, automatic answers) and the journey preview ask it, so they cannot disagree.

The rules, in order:

1. A number that cannot be parsed is canceled (``invalid_number``), whatever the kind;
   so is a number outside the gateway's allowed destinations (``destination_not_allowed``,
   ``tools/cost_guard.py``: fraud protection, every kind).
2. ``essential`` SMS (security codes, the STOP confirmation) go out at once: nothing else
   applies to them.
3. A blacklisted number (STOP, CTIA: the ``phone.blacklist``) gets nothing else
   (``opted_out``).
4. ``transactional`` SMS (order, delivery, appointment, one-to-one answers) then go out at
   once: marketing consent, quiet hours and caps are for marketing.
5. ``marketing`` SMS need consent: never to a contact who revoked marketing consent
   (``marketing_opt_out``); with ``consent_required`` only to an explicit opt-in or a
   mailing-list subscriber (``no_consent``); never to a number suppressed after
   repeated permanent delivery failures (``undeliverable``, ``tools/deliverability.py``);
   never to a contact of the company's global control group while its period runs
   (``global_holdout``, ``tools/global_holdout.py``): held out of every marketing
   program, journeys, SMS mailings and re-targeting alike.
6. With ``timing`` (SMS that go through the outbox), the legal maximum of the
   destination (``tools/send_rules.py``: Florida, 3 per 24 hours) cancels it when
   reached (``legal_cap``); the company's monthly marketing budget, once it cannot pay
   for the SMS, holds it until the next month (``marketing_budget``); the company's
   frequency cap defers the SMS until enough
   recent ones leave the window, or cancels it (``frequency_cap``) when the company
   says so; then the SMS waits for the first instant at which the company's window
   (quiet hours) and the legal windows of the destination all hold, in every zone the
   recipient may be in, or is canceled (``no_send_window``) when none comes within the
   horizon.

Datetimes follow Odoo's convention: naive UTC. No Odoo import: plain data in, plain data
out.
"""

import dataclasses
import functools
import operator
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import cost_guard, schedule, send_rules

KINDS = ("marketing", "transactional", "essential")

SEND, DEFER, CANCEL = "send", "defer", "cancel"

# cancel reasons
INVALID_NUMBER = "invalid_number"
OPTED_OUT = "opted_out"
MARKETING_OPT_OUT = "marketing_opt_out"
NO_CONSENT = "no_consent"
FREQUENCY_CAP = "frequency_cap"
LEGAL_CAP = "legal_cap"
NO_SEND_WINDOW = "no_send_window"
DESTINATION_NOT_ALLOWED = "destination_not_allowed"
UNDELIVERABLE = "undeliverable"
GLOBAL_HOLDOUT = "global_holdout"
CANCEL_REASONS = (
    INVALID_NUMBER, OPTED_OUT, MARKETING_OPT_OUT, NO_CONSENT, FREQUENCY_CAP, LEGAL_CAP,
    NO_SEND_WINDOW, DESTINATION_NOT_ALLOWED, UNDELIVERABLE, GLOBAL_HOLDOUT,
)  # fmt: skip

# defer reasons
QUIET_HOURS = "quiet_hours"
LEGAL_WINDOW = "legal_window"
MARKETING_BUDGET = "marketing_budget"

#: The window of the legal maximum of marketing SMS (``send_rules.SendRule.max_per_day``).
LEGAL_CAP_HOURS = 24


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
    # Without ``timing`` (Odoo's IAP path, Odoo's Twilio): Odoo's queue (``sms.sms``)
    # holds a marketing SMS for the legal windows of its destination only. The law binds
    # every way out; the company's own quiet hours, caps and budget need the outbox.
    legal_hold: bool = False
    # How far a deferral may go: with no allowed instant within it, the SMS is canceled.
    horizon: timedelta = timedelta(days=31)
    # the gateway's allowed destinations (ISO codes; empty: every country)
    allowed_countries: frozenset = frozenset()
    # when the company's marketing budget starts again (the next month): where an SMS
    # it cannot pay for (``Recipient.over_budget``) is held until
    budget_resets_at: datetime | None = None

    @property
    def window(self):
        """The company's window as a ``send_rules.Window`` (all days)."""
        return _company_window(self.window_start, self.window_end)


@functools.lru_cache(maxsize=256)
def _company_window(start, end):
    return send_rules.Window(start, end, label=QUIET_HOURS)


@dataclass(frozen=True)
class Recipient:
    """What the policy needs to know about who gets one SMS."""

    e164: str | None
    blacklisted: bool = False
    consent: str = "unknown"  # the contact's marketing consent state (res.partner)
    list_consent: bool = False  # a subscriber of the mailing list the SMS is sent to
    tz: str = "UTC"
    recent_marketing: tuple[datetime, ...] = ()  # send times of its recent marketing SMS
    # every zone the recipient may be in (``send_rules.recipient_zones``); empty: ``tz``
    zones: tuple[str, ...] = ()
    # the legal rules of its destination (``send_rules.applicable_rules``)
    legal_rules: tuple[send_rules.SendRule, ...] = ()
    # the company's marketing budget cannot pay for this SMS now (``tools/cost_guard.py``)
    over_budget: bool = False
    # the number is suppressed for marketing after repeated permanent delivery failures
    undeliverable: bool = False
    # in the company's global control group (``tools/global_holdout.py``)
    global_holdout: bool = False


# every field of a recipient but its number, in order: the key of a decision
_facts_of = operator.attrgetter(*[f.name for f in dataclasses.fields(Recipient)][1:])
assert dataclasses.fields(Recipient)[0].name == "e164"


@dataclass(frozen=True)
class Decision:
    action: str  # SEND, DEFER or CANCEL
    due_at: datetime
    reason: str | None = None  # a cancel reason
    # MARKETING_BUDGET, FREQUENCY_CAP, QUIET_HOURS and/or LEGAL_WINDOW
    deferred_by: tuple[str, ...] = ()
    # the names of the legal rules that deferred or canceled it (LEGAL_WINDOW,
    # NO_SEND_WINDOW, LEGAL_CAP)
    rule_names: tuple[str, ...] = ()

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


def destination_allowed(e164, rules):
    """Whether the gateway of ``rules`` may send to the number ``e164`` (rule 1)."""
    if not rules.allowed_countries:
        return True  # no parsing: most gateways have no list
    return cost_guard.allowed(cost_guard.destination_country(e164), rules.allowed_countries)


def decide(kind, recipient, rules, now):
    """The :class:`Decision` for one SMS of ``kind`` to ``recipient`` at ``now``."""
    if kind not in KINDS:
        raise ValueError(f"unknown SMS kind {kind!r}")
    if not recipient.e164:
        return Decision(CANCEL, now, INVALID_NUMBER)
    if not destination_allowed(recipient.e164, rules):
        return Decision(CANCEL, now, DESTINATION_NOT_ALLOWED)
    # beyond this point the number counts only through what ``recipient`` says of it
    # (zones, legal rules): the recipients of a batch share a few decisions, computed once
    # (bench/bench_send_rules.py)
    return _decide_valid_number(kind, _facts_of(recipient), rules, now)


@functools.lru_cache(maxsize=4096)
def _decide_valid_number(kind, facts, rules, now):
    """:func:`decide` for a valid number the gateway may send to, whose recipient has
    the ``facts`` of ``_facts_of``."""
    recipient = Recipient(None, *facts)
    if kind == "essential":
        return Decision(SEND, now)
    if recipient.blacklisted:
        return Decision(CANCEL, now, OPTED_OUT)
    if kind == "transactional":
        return Decision(SEND, now)
    if not has_marketing_consent(recipient, rules):
        reason = MARKETING_OPT_OUT if recipient.consent == "opted_out" else NO_CONSENT
        return Decision(CANCEL, now, reason)
    if recipient.undeliverable:
        return Decision(CANCEL, now, UNDELIVERABLE)
    if recipient.global_holdout:
        return Decision(CANCEL, now, GLOBAL_HOLDOUT)
    if not rules.timing:
        if rules.legal_hold and recipient.legal_rules:
            held = _in_send_windows(recipient, rules, now, now, [], company_window=False)
            if held.action == DEFER:
                # held by the law, it leaves when the company's window allows too (not
                # at midnight on a French Monday)
                return _in_send_windows(recipient, rules, now, now, [])
            return held
        return Decision(SEND, now)
    legal_cap = send_rules.strictest_daily_maximum(recipient.legal_rules)
    if schedule.cap_release_time(recipient.recent_marketing, legal_cap, LEGAL_CAP_HOURS, now):
        capping = tuple(r.name for r in recipient.legal_rules if r.max_per_day == legal_cap)
        return Decision(CANCEL, now, LEGAL_CAP, rule_names=capping)
    due, deferred_by = now, []
    if recipient.over_budget and rules.budget_resets_at:
        due = max(due, rules.budget_resets_at)
        deferred_by.append(MARKETING_BUDGET)
    release = schedule.cap_release_time(recipient.recent_marketing, rules.cap, rules.cap_hours, now)
    if release:
        if rules.cap_policy == "skip":
            return Decision(CANCEL, now, FREQUENCY_CAP)
        due = max(due, release)
        deferred_by.append(FREQUENCY_CAP)
    return _in_send_windows(recipient, rules, now, due, deferred_by)


def _in_send_windows(recipient, rules, now, due, deferred_by, company_window=True):
    """The decision once ``due`` (after the caps) meets the company's window (unless
    ``company_window`` is false) and the legal windows of the destination, in every zone
    of the recipient."""
    # an unknown zone name (a typo on the contact) falls back to UTC, as it always did
    zones = send_rules.known_zones(recipient.zones) or send_rules.known_zones((recipient.tz,))
    zones = zones or ("UTC",)
    legal_windows = tuple(rule.window for rule in recipient.legal_rules)
    windows = (rules.window, *legal_windows) if company_window else legal_windows
    slot = send_rules.first_allowed(due, windows, zones, rules.horizon)
    legal = ()
    if recipient.legal_rules and slot.closed_by:
        by_label = {rule.window.label: rule.name for rule in recipient.legal_rules}
        legal = tuple(by_label[label] for label in slot.closed_by if label in by_label)
    if slot.at is None:
        return Decision(CANCEL, now, NO_SEND_WINDOW, rule_names=legal)
    if slot.at > due:
        due = slot.at
        if QUIET_HOURS in slot.closed_by:
            deferred_by.append(QUIET_HOURS)
        if legal:
            deferred_by.append(LEGAL_WINDOW)
    if due > now:
        return Decision(DEFER, due, deferred_by=tuple(deferred_by), rule_names=legal)
    return Decision(SEND, now)
