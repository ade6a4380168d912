"""sms.gateway: its senders (``sms.gateway.sender``) and the choice of the sender of an
SMS by destination, or of the sender a reply was written to (``tools/routing.py``)."""

from odoo import api, fields, models, tools

from ..tools import cost_guard, routing


class SmsGateway(models.Model):
    _inherit = "sms.gateway"

    sender_ids = fields.One2many(
        "sms.gateway.sender",
        "gateway_id",
        string="Senders",
        help="The senders of this account and the destinations each serves. An SMS "
        "leaves from the most specific sender of its country; none serving it: from the "
        "default sender above.",
    )

    def _sender_for(self, e164):
        """The id of the sender of an SMS to ``e164`` through this gateway, or None for
        the default sender (cached: enqueue path)."""
        self.ensure_one()
        options, _default = self._sender_options_of(self.id)
        return routing.choose_sender(cost_guard.destination_country(e164), options)

    def _sender_of_recipient(self, recipient):
        """The sender a reply written to ``recipient`` (its "To") came in on: its id,
        False for the default sender, None when unknown."""
        self.ensure_one()
        options, default = self._sender_options_of(self.id)
        return routing.sender_of_recipient(recipient, options, default)

    @api.model
    @tools.ormcache("gateway_id")
    def _sender_options_of(self, gateway_id):
        """(the active senders of a gateway as ``routing.SenderOption``, its default
        sender), cached; any change of a sender or gateway clears it."""
        gateway = self.sudo().browse(gateway_id)
        senders = self.env["sms.gateway.sender"].sudo().search([("gateway_id", "=", gateway_id)])
        options = tuple(
            routing.SenderOption(
                id=sender.id,
                countries=frozenset(sender.country_ids.mapped("code")),
                sequence=sender.sequence,
                value=sender.value,
            )
            for sender in senders
        )
        return options, gateway.sender or None
