from odoo import fields, models


class ResCompanyActivity(models.Model):
    """Thresholds of the customer facts kept on partners (see ``res_partner_activity``)."""

    _inherit = "res.company"

    sms_inactivity_days = fields.Integer(
        "Inactive after (days)",
        default=90,
        help="A customer without order, SMS reply or click for this many days is inactive.",
    )
    sms_loyalty_window_days = fields.Integer(
        "Loyalty window (days)",
        default=365,
        help="A repeat order within this many days of the previous one makes a loyal " "customer.",
    )
