"""One contact's SMS conversation: which numbers are the contact's, and one vocabulary of
delivery states for the three places an SMS leaves a trace.

An SMS sent through one of our gateways is a row of the outbox; one sent through Odoo's
IAP service leaves only its chatter notification (the ``sms.sms`` row is deleted once
sent); a reply is an interaction. The conversation shows them side by side, so their
states are mapped here to one list: ``received`` for replies, and for what we sent
``queued`` (not sent yet), ``sent``, ``delivered``, ``failed`` (with the provider's reason)
or ``canceled`` (with the policy's reason).

The screens that show conversations are told what changed (:func:`add_changes`,
:func:`change_payloads`): per company, which contacts and numbers, never a text.
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


def add_changes(pending, changes, replies=False):
    """Add ``changes`` to ``pending``: what changed in a transaction, gathered per
    company so that a batch of any size makes one notification per company.

    :param pending: {company id: {"partner_ids": set, "numbers": set, "replies": bool}},
        updated in place
    :param changes: (company id, partner id, number) of each SMS sent or received that
        changed; rows without a company are left out (every outbox row and reply has its
        gateway's company)
    :param replies: whether these are replies (the inbox lists replies only)

    >>> pending = {}
    >>> add_changes(pending, [(1, 7, "+39333"), (1, False, "+39444"), (False, 8, "+1")])
    >>> change_payloads(pending)
    {1: {'partner_ids': [7], 'numbers': ['+39333', '+39444'], 'replies': False}}
    """
    for company_id, partner_id, number in changes:
        if not company_id:
            continue
        change = pending.setdefault(
            company_id, {"partner_ids": set(), "numbers": set(), "replies": False}
        )
        if partner_id:
            change["partner_ids"].add(partner_id)
        if number:
            change["numbers"].add(number)
        change["replies"] = change["replies"] or replies


def change_payloads(pending):
    """The notification of each company in ``pending`` (see :func:`add_changes`): the
    contacts and numbers whose conversation changed, sorted, and whether replies came.

    >>> change_payloads({2: {"partner_ids": {9, 3}, "numbers": set(), "replies": True}})
    {2: {'partner_ids': [3, 9], 'numbers': [], 'replies': True}}
    """
    return {
        company_id: {
            "partner_ids": sorted(change["partner_ids"]),
            "numbers": sorted(change["numbers"]),
            "replies": change["replies"],
        }
        for company_id, change in pending.items()
    }
