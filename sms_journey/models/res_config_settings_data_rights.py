from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sms_retention_months = fields.Integer(related="company_id.sms_retention_months", readonly=False)
