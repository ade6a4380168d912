from odoo import api, models


class IrUiMenu(models.Model):
    _inherit = "ir.ui.menu"

    @api.model
    def _visible_menu_ids(self, debug=False):
        """The Sandbox phone's menu shows only while a sandbox gateway exists: with a
        real provider there is no phone to show. Checked on each menu load (Odoo caches
        the visible menus per groups, not per data)."""
        visible = super()._visible_menu_ids(debug)
        menu = self.env.ref("sms_journey.sms_sandbox_phone_menu", raise_if_not_found=False)
        if (
            menu
            and menu.id in visible
            and not self.env["sms.gateway"].search_count([("code", "=", "sandbox")], limit=1)
        ):
            return visible - {menu.id}
        return visible
