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
        counts = dict(
            self.env["sms.back.in.stock.request"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.sms_back_in_stock_count = counts.get(partner, 0)

    def action_view_sms_back_in_stock(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_journey_website_sale_stock.sms_back_in_stock_request_action"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"search_default_open": 0}
        return action
