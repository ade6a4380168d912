"""One contact's SMS conversation: which numbers are the contact's, and one vocabulary of
delivery states for the three places an SMS leaves a trace.

An SMS sent through one of our gateways is a row of the outbox; one sent through Odoo's
IAP service leaves only its chatter notification (the ``sms.sms`` row is deleted once
sent); a reply is an interaction. The conversation shows them side by side, so their
states are mapped here to one list: ``received`` for replies, and for what we sent
``queued`` (not sent yet), ``sent``, ``delivered``, ``failed`` (with the provider's reason)
or ``canceled`` (with the policy's reason).
"""

from .phone import try_normalize

RECEIVED = "received"
QUEUED = "queued"
SENT = "sent"
DELIVERED = "delivered"
FAILED = "failed"
CANCELED = "canceled"

STATES = (RECEIVED, QUEUED, SENT, DELIVERED, FAILED, CANCELED)

# sms.gateway.message.state → conversation state. "sending" is claimed but not answered
# yet; "review" is a send whose outcome was lost in a crash: not known to be sent.
OUTBOX_STATES = {
    "queued": QUEUED,
    "sending": QUEUED,
    "review": QUEUED,
    "sent": SENT,
    "delivered": DELIVERED,
    "failed": FAILED,
    "canceled": CANCELED,
}

# mail.notification.notification_status of an SMS (Odoo's IAP path) → conversation state:
# Odoo calls an SMS accepted by IAP "pending" (shown "Sent") and a delivered one "sent".
NOTIFICATION_STATES = {
    "ready": QUEUED,
    "process": QUEUED,
    "pending": SENT,
    "sent": DELIVERED,
    "bounce": FAILED,
    "exception": FAILED,
    "canceled": CANCELED,
}


def contact_numbers(sanitized, numbers, region=None):
    """The E.164 numbers of a contact: its ``phone_sanitized`` (already E.164) and each of
    ``numbers`` (phone, mobile as typed) that parses, with ``region`` for national
    spellings; sorted, without duplicates or unparsable numbers.

    >>> contact_numbers("+393331234567", ["333 123 4567", "02 1234 5678", "n/a"], "IT")
    ['+390212345678', '+393331234567']
    """
    found = {sanitized} if sanitized else set()
    for number in numbers:
        if not number:
            continue
        e164 = try_normalize(number, region)
        if e164:
            found.add(e164)
    return sorted(found)
