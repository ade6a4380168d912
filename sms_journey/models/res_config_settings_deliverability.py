from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sms_failure_alert_rate = fields.Float(
        related="company_id.sms_failure_alert_rate", readonly=False
    )
    sms_failure_alert_min_volume = fields.Integer(
        related="company_id.sms_failure_alert_min_volume", readonly=False
    )
    sms_suppress_after_failures = fields.Integer(
        related="company_id.sms_suppress_after_failures", readonly=False
    )
