from odoo import models


class ResPartner(models.Model):
    _inherit = "res.partner"

    def action_sms_export_data(self):
        """Download the contact's SMS data (GDPR art. 15) as a zip of JSON and CSV files."""
        self.ensure_one()
        rights = self.env["sms.data.rights"]
        rights._check_manager()
        self.check_access("read")
        return {
            "type": "ir.actions.act_url",
            "url": rights._export(self),
            "target": "self",
        }

    def action_sms_erase_data(self):
        """Erase the contact's SMS data (GDPR art. 17): texts and numbers of its SMS,
        running journeys; the consent log keeps the proof of an opt-out."""
        self.ensure_one()
        rights = self.env["sms.data.rights"]
        rights._check_manager()
        self.check_access("read")
        rights._erase(self)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("The SMS data of %s were erased.", self.display_name),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
