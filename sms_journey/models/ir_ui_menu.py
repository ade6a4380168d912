from odoo import api, models


class IrUiMenu(models.Model):
    _inherit = "ir.ui.menu"

    @api.model
    def _visible_menu_ids(self, debug=False):
        """The Sandbox phone's menu shows only while a sandbox gateway of the user's
        companies exists: with a real provider there is no phone to show. Checked on each
        menu load (Odoo caches the visible menus per groups, not per data).

        Menus load at every login and page load, for every user: the gateways are
        counted under ``sudo()`` (a visibility test, nothing is shown of them), as a user
        who may not read gateways (any employee without SMS rights) must still log in."""
        visible = super()._visible_menu_ids(debug)
        menu_id = self.env["ir.model.data"]._xmlid_to_res_id(
            "sms_journey.sms_sandbox_phone_menu", raise_if_not_found=False
        )
        if menu_id in visible and not self.env["sms.gateway"].sudo().search_count(
            [("code", "=", "sandbox"), ("company_id", "in", self.env.companies.ids)], limit=1
        ):
            return visible - {menu_id}
        return visible
