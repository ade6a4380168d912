from odoo import fields, models


class ProductCategory(models.Model):
    """The prior rhythm of a product category: what a customer whose only order started
    with a product of this category is expected to follow (``res_partner_rhythm.py``)."""

    _inherit = "product.category"

    sms_order_gap_prior_days = fields.Float(
        "Typical days between orders",
        readonly=True,
        help="The median rhythm of the customers whose first order was in this category.",
    )
