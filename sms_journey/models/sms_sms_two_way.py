from odoo import api, fields, models


class SmsSms(models.Model):
    """Remember which SMS template an SMS was written from.

    Keyword rules can be scoped to "replies to template X": the template travels from the
    sender (composer, ``_message_sms_with_template``, rule replies) through the context key
    ``sms_journey_template_id`` to the SMS and then to its outbox row, which outlives the
    SMS itself.
    """

    _inherit = "sms.sms"

    template_id = fields.Many2one("sms.template", "SMS template", ondelete="set null")

    @api.model_create_multi
    def create(self, vals_list):
        template_id = self.env.context.get("sms_journey_template_id")
        if template_id:
            for vals in vals_list:
                vals.setdefault("template_id", template_id)
        return super().create(vals_list)
