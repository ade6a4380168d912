import dataclasses

from odoo import fields, models

from ..tools.gateways.vonage import VonageClient


class SmsGateway(models.Model):
    """Vonage (``tools/gateways/vonage.py``): the API key and secret of the generic
    credentials, plus a signature secret of its own for webhooks."""

    _inherit = "sms.gateway"

    code = fields.Selection(
        selection_add=[("vonage", "Vonage")], ondelete={"vonage": "set default"}
    )
    signature_secret = fields.Char(
        "Signature secret",
        groups="base.group_system",
        help="Vonage's signature secret, used to verify the signature of delivery reports "
        "and inbound messages.",
    )

    def _get_client_class(self):
        if self.code != "vonage":
            return super()._get_client_class()
        return VonageClient

    def _get_client_config(self):
        config = super()._get_client_config()
        if self.code != "vonage":
            return config
        return dataclasses.replace(config, signature_secret=self.sudo().signature_secret or None)
