"""Routing: which gateway carries an SMS to a destination country, and which of that
gateway's senders it leaves from.

- **Gateway.** A company may route destination countries to gateways of its own (as
  OCA's ``sms_alternative_provider`` does by country): an SMS to a routed country goes
  through that gateway, any other through the company's gateway. The chosen gateway's
  allowed destinations still apply (``tools/cost_guard.py``).
- **Sender.** A gateway holds several senders (numbers, alphanumeric IDs, messaging
  services), each serving a set of destination countries (none: every country). The
  sender of an SMS is the most specific one serving its country: one that names the
  country before one that serves every country, one naming fewer countries before one
  naming more; then the lowest sequence, then the oldest. When none serves it, the SMS
  leaves from the gateway's default sender (:func:`choose_sender` returns None).
- **Answers.** An automatic answer to a reply leaves from the sender the customer wrote
  to (:func:`sender_of_recipient`), whatever the rule above would pick.

No Odoo import.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class SenderOption:
    """One sender of a gateway, as the choice sees it."""

    id: int
    countries: frozenset  # ISO alpha-2 codes; empty: every country
    sequence: int = 10
    value: str = ""


def _rank(option):
    # names the country (0) before serves any (1); fewer countries first
    return (0 if option.countries else 1, len(option.countries), option.sequence, option.id)


def choose_sender(country, options):
    """The id of the sender of ``options`` (:class:`SenderOption`) for an SMS to
    ``country`` (ISO code, or None when unknown), or None for the gateway's default
    sender. A number of unknown country is served only by senders of every country."""
    serving = [
        option
        for option in options
        if not option.countries or (country is not None and country in option.countries)
    ]
    return min(serving, key=_rank).id if serving else None


def route_gateway(country, routes, default):
    """The gateway id for an SMS to ``country``: its route in ``routes`` ({ISO code:
    gateway id}), else ``default`` (the company's gateway, may be None)."""
    return routes.get(country, default) if country else default


def _address(value):
    """A sender address as providers write it: digits with one leading ``+`` for
    numbers (Vonage drops the ``+``), letters as they are, case-insensitive."""
    value = (value or "").strip()
    digits = "".join(ch for ch in value if ch.isdigit())
    if digits and all(ch.isdigit() or ch in "+ -()." for ch in value):
        return "+" + digits
    return value.casefold()


def sender_of_recipient(recipient, options, default_value=None):
    """Which sender a customer wrote to: the id of the option whose value is
    ``recipient`` (the reply's "To"), False when it is the gateway's default sender
    ``default_value``, None when neither (then the answer's sender is chosen by
    destination)."""
    address = _address(recipient)
    if not address:
        return None
    for option in options:
        if _address(option.value) == address:
            return option.id
    if default_value and _address(default_value) == address:
        return False
    return None
