from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.gateways.base import InboundSms

# Parts of one long SMS arrive within seconds; a part left alone longer than this belongs
# to a message whose other parts were lost, and its concatenation reference may be reused.
PART_LIFETIME = timedelta(days=1)


class SmsInboundPart(models.Model):
    """One part of a long inbound SMS that the provider delivers in pieces (Vonage's
    ``concat``), kept until the other parts arrive.

    ``_collect`` stores a part and, when it completes its message, hands the whole
    message on and forgets the parts: the message then enters the inbound pipeline once,
    under the provider id of its first part. A part delivered twice is ignored by the
    unique key; parts may come in any order; two workers receiving the last two parts at
    once are serialised by a transaction lock on the message, so one of them completes it.
    """

    _name = "sms.inbound.part"
    _description = "Part of a long inbound SMS"
    _order = "id"
    _log_access = False

    gateway_id = fields.Many2one("sms.gateway", required=True, ondelete="cascade")
    # written with the row (the INSERT below), from the webhook's cached gateway
    company_id = fields.Many2one(related="gateway_id.company_id", store=True)
    sender = fields.Char(required=True)
    recipient = fields.Char()
    reference = fields.Char(required=True)
    part_number = fields.Integer(required=True)
    part_total = fields.Integer(required=True)
    provider_message_id = fields.Char()
    body = fields.Text()
    received_at = fields.Datetime(required=True, index=True)

    _sql_constraints = [
        (
            "part_unique",
            "UNIQUE(gateway_id, sender, reference, part_total, part_number)",
            "A part of a long SMS is kept once.",
        )
    ]

    @api.model
    def _collect(self, gateway, inbound):
        """The complete message ``inbound`` belongs to, or None while parts are missing
        (or when ``inbound`` is a part already stored)."""
        part = inbound.part
        if part is None:
            return inbound
        if part.total == 1:
            return InboundSms(
                inbound.provider_message_id, inbound.sender, inbound.recipient, inbound.body
            )
        key = f"sms.inbound.part:{gateway.id}:{inbound.sender}:{part.reference}:{part.total}"
        self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", key))
        now = fields.Datetime.now()
        inserted = self.env.execute_query(
            SQL(
                """INSERT INTO sms_inbound_part
                       (gateway_id, company_id, sender, recipient, reference, part_number,
                        part_total, provider_message_id, body, received_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (gateway_id, sender, reference, part_total, part_number)
                   DO NOTHING
                   RETURNING id""",
                gateway.id,
                gateway._webhook_company_id(),
                inbound.sender,
                inbound.recipient,
                part.reference,
                part.number,
                part.total,
                inbound.provider_message_id,
                inbound.body,
                now,
            )
        )
        if not inserted:
            return None  # delivered twice: the first copy is already waiting
        parts = self.search(
            [
                ("gateway_id", "=", gateway.id),
                ("sender", "=", inbound.sender),
                ("reference", "=", part.reference),
                ("part_total", "=", part.total),
                ("received_at", ">=", now - PART_LIFETIME),
            ],
            order="part_number",
        )
        if parts.mapped("part_number") != list(range(1, part.total + 1)):
            return None
        first = parts[0]
        complete = InboundSms(
            provider_message_id=first.provider_message_id,
            sender=inbound.sender,
            recipient=first.recipient or inbound.recipient,
            body="".join(p.body or "" for p in parts),
        )
        parts.unlink()
        return complete

    @api.autovacuum
    def _gc_lonely_parts(self):
        """Forget parts whose message never completed."""
        self.search([("received_at", "<", fields.Datetime.now() - PART_LIFETIME)]).unlink()
