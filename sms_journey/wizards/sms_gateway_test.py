from odoo import fields, models
from odoo.exceptions import UserError

from ..tools import phone as phone_tools


class SmsGatewayTest(models.TransientModel):
    """The gateway form's "Send test SMS": one message through the real outbox."""

    _name = "sms.gateway.test"
    _description = "Send a test SMS"

    gateway_id = fields.Many2one("sms.gateway", required=True)
    number = fields.Char(required=True)
    body = fields.Text(
        required=True, default=lambda self: self.env._("Test SMS from Odoo: your gateway works.")
    )

    def action_send(self):
        self.ensure_one()
        try:
            e164 = phone_tools.normalize(self.number, self.env.company.country_id.code or None)
        except phone_tools.InvalidPhoneNumber as error:
            raise UserError(str(error)) from error
        sms = self.env["sms.sms"].sudo().create({"number": e164, "body": self.body})
        message = self.env["sms.gateway.message"].sudo()._enqueue_sms(self.gateway_id, sms)
        message.filtered(lambda m: m.state == "queued")._send_now()
        return {
            "type": "ir.actions.act_window",
            "res_model": "sms.gateway.message",
            "res_id": message.id,
            "view_mode": "form",
            "target": "current",
        }
