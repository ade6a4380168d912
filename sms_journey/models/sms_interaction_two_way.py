from datetime import timedelta

from odoo import _, fields, models
from odoo.exceptions import UserError

# A contact who keeps writing things we do not understand gets one courtesy reply a day,
# not one per message.
COURTESY_INTERVAL = timedelta(hours=24)


class SmsInteraction(models.Model):
    """Two-way SMS: keyword rules answer replies, the rest get a courtesy reply.

    Consent keywords keep priority (handled before this hook): a reply with a
    ``consent_action`` never runs a rule.
    """

    _inherit = "sms.interaction"

    matched_rule_id = fields.Many2one(
        "sms.keyword.rule", "Keyword rule", readonly=True, index="btree_not_null"
    )
    matched_keyword = fields.Char("Keyword", readonly=True)
    courtesy_sent = fields.Boolean("Courtesy reply sent", readonly=True)

    def _after_receive(self):
        result = super()._after_receive()
        for interaction in self:
            interaction._apply_keyword_rules()
        return result

    def _apply_keyword_rules(self):
        """Run the winning keyword rule, or fall back to the courtesy reply."""
        self.ensure_one()
        if self.consent_action:
            return
        rule, keyword = self.env["sms.keyword.rule"]._find_for_interaction(self)
        if rule:
            self.write({"matched_rule_id": rule.id, "matched_keyword": keyword})
            rule._run_actions(self)
        elif not self._handle_unmatched():
            self._send_courtesy_reply()

    def _handle_unmatched(self):
        """Hook for features that understand free replies (e.g. an open survey
        question). Return True when the reply was used, so no courtesy reply goes out."""
        return False

    def _send_courtesy_reply(self):
        """Answer with the company's courtesy text, unless this number already got one
        in the last 24 hours."""
        self.ensure_one()
        text = (self.company_id or self.env.company).sms_courtesy_reply
        if not text:
            return False
        already = self.search_count(
            [
                ("number", "=", self.number),
                ("courtesy_sent", "=", True),
                ("received_at", ">", self.received_at - COURTESY_INTERVAL),
                ("id", "!=", self.id),
            ],
            limit=1,
        )
        if already:
            return False
        self.courtesy_sent = True
        self._reply(text)
        return True

    def action_send_sms_to_contacts(self):
        """Open Odoo's SMS composer in mass mode on exactly the contacts who wrote these
        replies (re-targeting)."""
        partners = self.partner_id
        if not partners:
            raise UserError(_("These replies come from unknown numbers: link them to contacts."))
        return {
            "type": "ir.actions.act_window",
            "name": _("Send SMS"),
            "res_model": "sms.composer",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_composition_mode": "mass",
                "default_res_model": "res.partner",
                "default_res_ids": repr(partners.ids),
                "default_mass_keep_log": True,
                "active_model": "res.partner",
                "active_ids": partners.ids,
                "active_id": False,
            },
        }

    def action_export_csv(self):
        """Open the CSV export of replies, preset to the selected ones."""
        return {
            "type": "ir.actions.act_window",
            "name": _("Export replies"),
            "res_model": "sms.interaction.export",
            "view_mode": "form",
            "target": "new",
            "context": {"default_interaction_ids": self.ids, "default_mode": "selected"},
        }
