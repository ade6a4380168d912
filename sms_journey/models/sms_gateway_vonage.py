import dataclasses

from odoo import fields, models

from ..tools.gateways.vonage import DEFAULT_SIGNATURE_METHOD, VonageClient


class SmsGateway(models.Model):
    """Vonage (``tools/gateways/vonage.py``): the API key and secret of the generic
    credentials, plus a signature secret and method of its own for webhooks."""

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
    signature_method = fields.Selection(
        [
            ("sha256", "SHA-256 HMAC"),
            ("sha512", "SHA-512 HMAC"),
            ("sha1", "SHA-1 HMAC"),
            ("md5", "MD5 HMAC"),
            ("md5hash", "MD5 hash (legacy)"),
        ],
        string="Signature method",
        required=True,
        groups="base.group_system",
        default=DEFAULT_SIGNATURE_METHOD,
        help="The signature method chosen in Vonage's dashboard (Settings): webhooks signed "
        "with any other method are refused, as Vonage's own client does.",
    )

    def _get_client_class(self):
        if self.code != "vonage":
            return super()._get_client_class()
        return VonageClient

    def _get_client_config(self):
        config = super()._get_client_config()
        if self.code != "vonage":
            return config
        gateway = self.sudo()
        return dataclasses.replace(
            config,
            signature_secret=gateway.signature_secret or None,
            signature_method=gateway.signature_method,
        )
