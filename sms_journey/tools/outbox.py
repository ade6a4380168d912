"""The outbox's second question to the policy: what happens to a held SMS.

An SMS waits in the outbox (``queued``: deferred by quiet hours or a frequency cap, or
waiting for a retry) between the moment the policy let it in and the moment the
provider gets it. Consent can change meanwhile (STOP, "No marketing", a blacklist entry,
the company's consent rule), so the policy is asked again:

1. just before the provider gets it (the dispatch, for each claimed SMS): what the
   policy refuses now is canceled with its reason; what it defers (quiet hours, the
   frequency cap) goes back to the queue until then; the rest is sent;
2. when consent changes (``HELD`` SMS of that number or company): what the policy
   refuses now is canceled at once. Timing is left to the dispatch: a consent change
   says nothing about the clock;
3. when a person resends a message: refused → canceled with the reason, else queued
   again at the time the policy gives.

The frequency cap counts different SMS depending on when it is asked. When an SMS is
queued, the SMS already queued for the contact count as planned sends (so a burst is
spread at once). Just before sending, only what left (or is leaving) counts: the SMS
asking must not count itself, nor those still waiting behind it.

No Odoo import: plain data in, plain data out.
"""

from dataclasses import dataclass, field
from datetime import datetime

from . import policy

#: Not yet handed to the provider: a consent change may still cancel it.
HELD = ("queued",)
#: The marketing SMS that count towards the frequency cap when one is queued ...
CAP_STATES_AT_ENQUEUE = ("queued", "sending", "sent", "delivered", "review")
#: ... and when one is about to be sent (the SMS being sent excluded).
CAP_STATES_AT_DISPATCH = ("sending", "sent", "delivered", "review")


@dataclass
class Plan:
    """What to do with each SMS of a batch the policy was asked about again, by index."""

    send: list[int] = field(default_factory=list)
    defer: list[tuple[int, datetime, tuple[str, ...]]] = field(default_factory=list)
    cancel: list[tuple[int, str]] = field(default_factory=list)


def plan(decisions, timing=True):
    """The :class:`Plan` of ``decisions`` (``policy.Decision`` each, in order).

    ``timing``: the policy was asked with quiet hours and caps (the dispatch, a
    resend); without it (a consent change) only cancellations matter and the others stay
    as they are (``send``)."""
    result = Plan()
    for index, decision in enumerate(decisions):
        if decision.canceled:
            result.cancel.append((index, decision.reason))
        elif timing and decision.action == policy.DEFER:
            result.defer.append((index, decision.due_at, decision.deferred_by))
        else:
            result.send.append(index)
    return result
