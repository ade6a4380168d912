from odoo import fields, models


class SmsGatewayMessage(models.Model):
    """Keep the SMS template on the outbox row, so replies can be matched to it."""

    _inherit = "sms.gateway.message"

    template_id = fields.Many2one(
        "sms.template", "SMS template", readonly=True, index="btree_not_null", ondelete="set null"
    )

    def _prepare_outbox_values(self, gateway, sms):
        vals = super()._prepare_outbox_values(gateway, sms)
        vals["template_id"] = sms.template_id.id
        return vals
