from odoo import api, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    sms_gateway_id = fields.Many2one(
        "sms.gateway",
        string="SMS Gateway",
        help="Every SMS of this company goes through this gateway. "
        "Empty: Odoo's IAP SMS service.",
    )
    sms_send_window_start = fields.Float(
        "Send marketing SMS from",
        default=8.0,
        help="Marketing SMS are sent only from this hour (recipient's local time).",
    )
    sms_send_window_end = fields.Float(
        "Send marketing SMS until",
        default=21.0,
        help="Marketing SMS are not sent from this hour on (recipient's local time).",
    )
    sms_frequency_cap = fields.Integer(
        "Marketing SMS per contact",
        default=1,
        help="At most this many marketing SMS per contact within the cap window. "
        "0 disables the cap.",
    )
    sms_frequency_cap_hours = fields.Integer("Cap window (hours)", default=24)
    sms_frequency_cap_policy = fields.Selection(
        [("defer", "Defer until allowed"), ("skip", "Skip the message")],
        "Over the cap",
        default="defer",
        required=True,
    )
    sms_brand_name = fields.Char(
        "SMS brand name", help="Named in HELP answers and opt-out confirmations."
    )
    sms_support_contact = fields.Char(
        "SMS support contact",
        help="Phone, e-mail or URL given in HELP answers.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("sms_gateway_id") for vals in vals_list):
            self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        if "sms_gateway_id" in vals:
            self.env.registry.clear_cache()
        return super().write(vals)
