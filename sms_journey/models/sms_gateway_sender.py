"""sms.gateway.sender: one sender of a gateway (a number, an alphanumeric ID or a
messaging service) and the destination countries it serves (``tools/routing.py``)."""

import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools import phone as phone_tools

SMS_MANAGER = "sms_journey.group_sms_journey_manager"

# an alphanumeric sender ID: up to 11 letters, digits and spaces, at least one letter
ALPHANUMERIC = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


class SmsGatewaySender(models.Model):
    """A "From" of a gateway: the outbox picks one per SMS by its destination country
    (the most specific, then the sequence; none serving it: the gateway's default
    sender), and automatic answers leave from the sender the customer wrote to."""

    _name = "sms.gateway.sender"
    _inherit = ["sms.cached.lookup.mixin"]
    _description = "SMS gateway sender"
    _order = "gateway_id, sequence, id"
    _rec_name = "value"

    gateway_id = fields.Many2one("sms.gateway", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="gateway_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    kind = fields.Selection(
        [
            ("number", "Phone number"),
            ("alphanumeric", "Alphanumeric ID"),
            ("messaging_service", "Messaging service"),
        ],
        required=True,
        default="number",
    )
    value = fields.Char(
        "Sender",
        required=True,
        help="A number in E.164 (+393331234567), an alphanumeric ID of up to 11 letters "
        "and digits, or the provider's messaging service id (Twilio's MG…).",
    )
    country_ids = fields.Many2many(
        "res.country",
        "sms_gateway_sender_country_rel",
        "sender_id",
        "country_id",
        string="Destinations",
        help="The destination countries this sender serves; empty: every country. A "
        "sender naming the country wins over one serving every country.",
    )
    registration_reference = fields.Char(
        help="The registration of an alphanumeric ID with the destination's regulator or "
        "carriers (e.g. the sender ID registry's reference), kept for audits."
    )
    can_receive_replies = fields.Boolean(
        compute="_compute_can_receive_replies",
        store=True,
        readonly=False,
        help="Customers can answer SMS from this sender: numbers can, alphanumeric IDs "
        "cannot. Features asking for a reply fall back to links from a one-way sender.",
    )

    _sql_constraints = [
        (
            "gateway_value_unique",
            "unique(gateway_id, value)",
            "A gateway holds each sender once.",
        ),
    ]

    @api.depends("kind")
    def _compute_can_receive_replies(self):
        for sender in self:
            sender.can_receive_replies = sender.kind != "alphanumeric"

    @api.constrains("kind", "value")
    def _check_value(self):
        for sender in self:
            value = (sender.value or "").strip()
            if sender.kind == "number" and not phone_tools.try_normalize(value):
                raise ValidationError(
                    self.env._("%s is not a phone number in international format.", value)
                )
            if sender.kind == "alphanumeric" and not ALPHANUMERIC.match(value):
                raise ValidationError(
                    self.env._(
                        "An alphanumeric sender ID has 1 to 11 letters, digits or spaces, "
                        "with at least one letter: %s",
                        value,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        return super().create([self._normalized(vals) for vals in vals_list])

    def write(self, vals):
        return super().write(self._normalized(vals))

    def _normalized(self, vals):
        """Numbers are stored in E.164, as providers write the "To" of a reply."""
        value = vals.get("value")
        kind = vals.get("kind") or (self[:1].kind if self else "number")
        if value and kind == "number":
            vals = dict(vals, value=phone_tools.try_normalize(value.strip()) or value.strip())
        return vals
