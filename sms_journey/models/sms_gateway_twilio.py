from odoo import fields, models

from ..tools.gateways.twilio import TwilioClient


class SmsGateway(models.Model):
    """Twilio (``tools/gateways/twilio.py``): the account SID and auth token of the
    generic credentials, which also sign Twilio's webhooks."""

    _inherit = "sms.gateway"

    code = fields.Selection(
        selection_add=[("twilio", "Twilio")], ondelete={"twilio": "set default"}
    )

    def _get_client_class(self):
        if self.code != "twilio":
            return super()._get_client_class()
        return TwilioClient
