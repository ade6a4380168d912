"""Deliverability rules: which failed deliveries say the number itself is dead, when a
number is suppressed for marketing, and when a gateway's failure rate calls a manager.

- A *permanent* failure is one the provider reports about the number, not the sender or
  the content: Twilio 30005 (unknown destination handset: the number does not exist or
  was deactivated), 30006 (landline or unreachable carrier), 21211/21614/21407 (not a
  valid mobile number, or one that cannot take SMS); Vonage DLR err-code 3 (absent
  subscriber, permanent) and 12 (destination unreachable). Not permanent: Twilio 30003
  (handset switched off or out of coverage: temporary), 30007 (carrier filtering: the
  content), 30034/30032 (unregistered 10DLC or toll-free sender: the sender's problem),
  21610 (the recipient texted STOP: consent handles it through the blacklist); Vonage 2
  (absent subscriber, temporary), 4 and 9 (barred or opted out: consent), 6 and 50-54
  (filters). Providers without raw codes (the sandbox) count the normalised
  ``invalid_number``.
- A number is suppressed after ``threshold`` permanent failures *in a row*: a delivery
  in between resets the count; temporary failures neither count nor reset (a phone
  switched off between two reports of a dead number says nothing about the number).
- A gateway alerts when, over its last 24 hours, at least ``min_volume`` SMS reached the
  provider and the failed share is at least ``rate_percent`` %.

No Odoo import: plain data in, plain data out.
"""

from .gateways.base import ERROR_INVALID_NUMBER

#: provider code → raw provider error codes that condemn the number
PERMANENT_CODES = {
    "twilio": frozenset({"30005", "30006", "21211", "21614", "21407"}),
    "vonage": frozenset({"3", "12"}),
}

DELIVERED, FAILED = "delivered", "failed"


def is_permanent(provider, provider_error_code, error_code):
    """Whether a failed delivery of ``provider`` (the gateway's code) with the raw
    ``provider_error_code`` (and our normalised ``error_code``) says the number is dead."""
    codes = PERMANENT_CODES.get(provider)
    if codes is None:
        return error_code == ERROR_INVALID_NUMBER
    return str(provider_error_code or "") in codes


def permanent_failures_in_a_row(outcomes):
    """How many permanent failures end the history ``outcomes``.

    :param outcomes: ``(state, permanent)`` pairs, newest first; ``state`` is
        ``delivered`` or ``failed`` (others are ignored)
    """
    count = 0
    for state, permanent in outcomes:
        if state == DELIVERED:
            break
        if state == FAILED and permanent:
            count += 1
    return count


def suppressed(outcomes, threshold):
    """Whether the history ``outcomes`` (see :func:`permanent_failures_in_a_row`)
    suppresses the number for marketing; a threshold below 1 never does."""
    return threshold >= 1 and permanent_failures_in_a_row(outcomes) >= threshold


def failure_rate(reached, failed):
    """The failed share of the SMS that ``reached`` the provider, in percent (0 without
    any)."""
    return 100.0 * failed / reached if reached else 0.0


def rate_alert(reached, failed, rate_percent, min_volume):
    """Whether a gateway with ``failed`` of ``reached`` SMS over the window calls a
    manager: enough volume to mean something, and a failure rate at the threshold."""
    return reached >= max(min_volume, 1) and failure_rate(reached, failed) >= rate_percent
