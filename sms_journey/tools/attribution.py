"""Which SMS an order is attributed to: the rule, without Odoo.

An order is credited to at most one SMS, a *touch* of the customer:

- a **click** on a link of the SMS counts for ``windows.click`` (default 5 days) after the
  click;
- a **delivery** of the SMS counts for ``windows.delivery`` (default 12 hours) after the
  delivery (or the send, when the provider reports no delivery);
- a click beats a delivery, whatever their times: someone who clicked came for the SMS;
- among touches of the same kind the latest wins (last touch), across journeys and
  mailings alike; a touch after the order never counts.

Each clicked link counts as its own touch, so a second click on the same SMS moves the
click window forward.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

CLICK = "click"
DELIVERY = "delivery"
KINDS = (CLICK, DELIVERY)


@dataclass(frozen=True)
class Windows:
    """How long a touch keeps its credit."""

    click: timedelta = timedelta(days=5)
    delivery: timedelta = timedelta(hours=12)

    def of(self, kind):
        return self.click if kind == CLICK else self.delivery


@dataclass(frozen=True)
class Touch:
    """One click or delivery of one SMS: ``source`` names the SMS, e.g.
    ``("sms.journey.trace", 42)`` or ``("mailing.trace", 7)``."""

    kind: str
    at: datetime
    source: tuple

    def counts_for(self, order_at, windows):
        """Whether this touch may take the credit of an order placed at ``order_at``."""
        return self.at <= order_at and order_at - self.at <= windows.of(self.kind)


DEFAULT_WINDOWS = Windows()


def rank(touch):
    """Sort key of eligible touches: clicks first, then the latest; the source breaks
    ties so that the choice never depends on the order touches were read in."""
    return (touch.kind == CLICK, touch.at, touch.source)


def attribute(touches, order_at, windows=DEFAULT_WINDOWS):
    """The touch credited with an order placed at ``order_at``, or ``None``."""
    eligible = [touch for touch in touches if touch.counts_for(order_at, windows)]
    return max(eligible, key=rank, default=None)
