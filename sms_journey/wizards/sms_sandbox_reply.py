import uuid

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools import phone as phone_tools
from ..tools.gateways.base import InboundSms


class SmsSandboxReply(models.TransientModel):
    """Type a reply on the Sandbox phone.

    The reply enters the inbound pipeline (``sms.interaction._receive``) exactly as a
    parsed webhook would, without any HTTP request: the worker must not call its own server
    (with one worker it would wait for itself). Only sandbox gateways take replies, and only
    from numbers they texted (``sms.gateway._sandbox_has_texted``, the rule the sandbox
    webhook applies too), checked here on the server: a user must not be able to forge an
    inbound SMS — a STOP, a YES — on a real provider's gateway.
    """

    _name = "sms.sandbox.reply"
    _description = "Reply from the Sandbox phone"

    gateway_id = fields.Many2one("sms.gateway", required=True, domain="[('code', '=', 'sandbox')]")
    number = fields.Char("From (the phone)", required=True)
    body = fields.Text("Reply", required=True)

    @api.constrains("gateway_id", "number")
    def _check_sandbox_gateway(self):
        """Replies are typed on sandbox gateways only, from a number they sent an SMS to."""
        for wizard in self:
            # read as the user: a gateway of a company they can't see is refused as well
            if wizard.gateway_id.code != "sandbox":
                raise ValidationError(
                    self.env._(
                        "Only a sandbox gateway takes replies from the Sandbox phone, "
                        "not %(gateway)s.",
                        gateway=wizard.gateway_id.display_name,
                    )
                )
            # the sandbox's own rule, the one its webhook applies
            texted = wizard.gateway_id._sandbox_has_texted(wizard.number)
            if not texted:
                raise ValidationError(
                    self.env._(
                        "The Sandbox phone holds only the numbers %(gateway)s sent an SMS to; "
                        "%(number)s is not one of them.",
                        gateway=wizard.gateway_id.display_name,
                        number=wizard.number,
                    )
                )

    def _texted_from(self, gateway):
        """The sender the sandbox last texted the number from: the reply is written to
        it, as a phone answers a conversation."""
        last = (
            self.env["sms.gateway.message"]
            .sudo()
            .search(
                gateway._sandbox_texted_domain(
                    [phone_tools.try_normalize(self.number) or self.number]
                ),
                limit=1,
            )
        )
        return last.sender_id.value or gateway.sender or ""

    def action_send(self):
        """Hand the reply to the inbound pipeline, as the webhook does with a parsed SMS."""
        self.ensure_one()
        # again at send time: the gateway may have changed since the wizard was created
        self._check_sandbox_gateway()
        gateway = self.gateway_id.sudo()
        inbound = InboundSms(
            provider_message_id=f"SM{uuid.uuid4().hex}",
            sender=self.number,
            recipient=self._texted_from(gateway),
            body=self.body,
        )
        self.env["sms.interaction"].sudo()._receive(gateway, inbound)
        return {"type": "ir.actions.act_window_close"}
