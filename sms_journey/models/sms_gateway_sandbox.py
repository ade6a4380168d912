from odoo import fields, models

from ..tools.gateways.sandbox import SandboxClient


class SmsGateway(models.Model):
    """The sandbox: a provider that speaks Twilio's API to a loopback server
    (``tools/gateways/loopback.py``, run by ``sandbox_server.py``), for demos and tests;
    nothing leaves the machine.

    It deliberately reuses Twilio: its client, ``SandboxClient``, is ``TwilioClient`` with
    the loopback server as default URL, and it takes the same account SID and auth token,
    so the sandbox exercises the real Twilio code path. The sandbox phone's replies
    (``wizards/sms_sandbox_reply.py``) are signed the Twilio way too.
    """

    _inherit = "sms.gateway"

    code = fields.Selection(
        selection_add=[("sandbox", "Sandbox")], ondelete={"sandbox": "set default"}
    )

    def _get_client_class(self):
        if self.code != "sandbox":
            return super()._get_client_class()
        return SandboxClient
