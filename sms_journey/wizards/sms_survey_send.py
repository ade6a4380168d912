from odoo import api, fields, models


class SmsSurveySend(models.TransientModel):
    """Ask contacts an SMS survey question (from the contacts list or the question)."""

    _name = "sms.survey.send"
    _description = "Send an SMS survey question"

    question_id = fields.Many2one("sms.survey.question", required=True)
    partner_ids = fields.Many2many("res.partner", string="Contacts", required=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") == "res.partner" and context.get("active_ids"):
            values["partner_ids"] = [fields.Command.set(context["active_ids"])]
        elif context.get("active_model") == "sms.survey.question" and context.get("active_id"):
            values["question_id"] = context["active_id"]
        return values

    def action_send(self):
        self.ensure_one()
        self.question_id._send_to(self.partner_ids)
        return {"type": "ir.actions.act_window_close"}
