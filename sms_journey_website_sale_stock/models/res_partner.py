from odoo import fields, models


class ResPartner(models.Model):
    """The SMS back-in-stock requests of a contact, for SMS users (smart button)."""

    _inherit = "res.partner"

    sms_back_in_stock_count = fields.Integer(
        "SMS back-in-stock requests",
        compute="_compute_sms_back_in_stock_count",
        groups="sms_journey.group_sms_journey_user",
    )

    def _compute_sms_back_in_stock_count(self):
        counts = self.env["sms.back.in.stock.request"]._count_by("partner_id", self)
        for partner in self:
            partner.sms_back_in_stock_count = counts.get(partner, 0)

    def action_view_sms_back_in_stock(self):
        self.ensure_one()
        return self.env["sms.back.in.stock.request"]._action_for("partner_id", self)
