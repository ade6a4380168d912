from odoo import api, models


class SaleOrder(models.Model):
    """Keeps the customer facts of ``res.partner`` (see ``res_partner_activity``) current
    when quotes, carts and orders are created, confirmed or cancelled."""

    _inherit = "sale.order"

    @api.model_create_multi
    def create(self, vals_list):
        orders = super().create(vals_list)
        # Imports may create confirmed orders directly; quotes and carts only need the
        # cheap stage update (carts of the public partner come by the thousand).
        orders.filtered(lambda o: o.state == "sale")._sms_refresh_partner_facts()
        orders.filtered(lambda o: o.state != "sale").partner_id._sms_mark_orientation()
        return orders

    def write(self, vals):
        if not vals.get("partner_id"):
            return super().write(vals)
        confirmed = self.filtered(lambda o: o.state == "sale")
        previous_partners = confirmed.partner_id
        res = super().write(vals)
        # A cart's customer becomes known at checkout.
        self.partner_id._sms_mark_orientation()
        if confirmed:
            # A confirmed order moved to another customer: both sides change.
            partners = (previous_partners | confirmed.partner_id)._sms_activity_partners()
            self.env["res.partner"]._sms_recompute_activity_facts(partners.ids)
        return res

    def _action_confirm(self):
        res = super()._action_confirm()
        self._sms_refresh_partner_facts()
        return res

    def _action_cancel(self):
        res = super()._action_cancel()
        self._sms_refresh_partner_facts()
        return res

    def _sms_refresh_partner_facts(self):
        """Recompute the facts of these orders' customers and their commercial partners,
        in one statement for the whole batch."""
        partners = self.partner_id._sms_activity_partners()
        if partners:
            self.env["res.partner"]._sms_recompute_activity_facts(partners.ids)
