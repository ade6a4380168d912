from odoo import fields, models
from odoo.http import request


class ProductTemplate(models.Model):
    """The open SMS back-in-stock requests of a product, for SMS users (smart button),
    and what the product page needs to show "Text me when it's back" on a sold-out
    variant (the combination info, read by ``static/src/xml/back_in_stock.xml``)."""

    _inherit = "product.template"

    sms_back_in_stock_count = fields.Integer(
        "SMS back-in-stock requests",
        compute="_compute_sms_back_in_stock_count",
        groups="sms_journey.group_sms_journey_user",
    )

    def _compute_sms_back_in_stock_count(self):
        counts = self.env["sms.back.in.stock.request"]._count_by("product_tmpl_id", self, True)
        for template in self:
            template.sms_back_in_stock_count = counts.get(template, 0)

    def action_view_sms_back_in_stock(self):
        self.ensure_one()
        return self.env["sms.back.in.stock.request"]._action_for("product_tmpl_id", self, True)

    def _get_additionnal_combination_info(self, product_or_template, quantity, date, website):
        res = super()._get_additionnal_combination_info(
            product_or_template, quantity, date, website
        )
        if (
            request
            and product_or_template.is_product_variant
            and product_or_template.sudo().is_storable
            and res.get("free_qty", 0) <= 0
        ):
            res["sms_back_in_stock"] = {
                "csrf_token": request.csrf_token(),
                "ask_phone": website.is_public_user(),
            }
        return res
