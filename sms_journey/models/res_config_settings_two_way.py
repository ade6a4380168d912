from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sms_courtesy_reply = fields.Char(related="company_id.sms_courtesy_reply", readonly=False)
