from odoo import fields, models


class SmsConversationLink(models.TransientModel):
    """Link the replies of an unknown number to an existing contact (from the inbox)."""

    _name = "sms.conversation.link"
    _description = "Link an SMS conversation to a contact"
    _check_company_auto = True

    number = fields.Char(required=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", required=True, check_company=True)

    def action_link(self):
        self.ensure_one()
        conversations = self.env["sms.conversation"]
        conversations._link_number(self.number, self.company_id, self.partner_id)
        return conversations._partner_form_action(self.partner_id)
