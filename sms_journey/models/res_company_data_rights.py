from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    sms_retention_months = fields.Integer(
        "Keep SMS texts (months)",
        default=24,
        help="SMS bodies and replies older than this are replaced by a marker and their "
        "numbers hashed by a daily job; counts, costs and consent proofs stay. 0 keeps "
        "them forever.",
    )
