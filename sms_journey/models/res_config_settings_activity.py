from odoo import fields, models


class ResConfigSettingsActivity(models.TransientModel):
    _inherit = "res.config.settings"

    sms_inactivity_days = fields.Integer(related="company_id.sms_inactivity_days", readonly=False)
    sms_loyalty_window_days = fields.Integer(
        related="company_id.sms_loyalty_window_days", readonly=False
    )
