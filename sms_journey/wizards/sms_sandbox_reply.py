import uuid

import requests

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..tools.gateways.twilio import compute_signature


class SmsSandboxReply(models.TransientModel):
    """Type a reply on the Sandbox phone.

    The reply is posted, signed like the provider signs it, to the gateway's real inbound
    webhook: the same path a Twilio reply takes, end to end.
    """

    _name = "sms.sandbox.reply"
    _description = "Reply from the Sandbox phone"

    gateway_id = fields.Many2one("sms.gateway", required=True, domain="[('code', '=', 'sandbox')]")
    number = fields.Char("From (the phone)", required=True)
    body = fields.Text("Reply", required=True)

    def action_send(self):
        self.ensure_one()
        gateway = self.gateway_id.sudo()
        url = gateway._webhook_url("inbound")
        params = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": gateway.account_sid or "",
            "From": self.number,
            "To": gateway.sender or "",
            "Body": self.body,
            "NumMedia": "0",
        }
        # The sandbox speaks Twilio's format, signature included.
        headers = {"X-Twilio-Signature": compute_signature(gateway.auth_token or "", url, params)}
        try:
            response = requests.post(url, data=params, headers=headers, timeout=30)
        except requests.RequestException as error:
            raise UserError(_("The reply could not reach Odoo's inbound webhook: %s", error))
        if response.status_code >= 300:
            raise UserError(
                _(
                    "The inbound webhook refused the reply (HTTP %(status)s): %(text)s",
                    status=response.status_code,
                    text=response.text[:200],
                )
            )
        return {"type": "ir.actions.act_window_close"}
