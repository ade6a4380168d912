from unittest.mock import patch

import requests

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import SmsJourneyCase, new_sms_user

NUMBER = "+393331234567"


@tagged("post_install", "-at_install")
class TestSandboxReplySecurity(SmsJourneyCase):
    """The Sandbox phone types replies on sandbox gateways only, without HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sms_user = new_sms_user(cls.env, "sms_user")
        cls.twilio = cls.env["sms.gateway"].create(
            {
                "name": "Real Twilio",
                "code": "twilio",
                "account_sid": "ACreal",
                "auth_token": "real-token",
                "sender": "+15005550007",
            }
        )

    def _texted(self):
        """The sandbox gateway sends one SMS to the partner (so the phone holds the number)."""
        self.partner._message_sms("Your order shipped", partner_ids=self.partner.ids)
        self.dispatch()
        self.assertEqual(len(self.received(NUMBER)), 1)

    def _reply(self, gateway, body="STOP", number=NUMBER):
        return (
            self.env["sms.sandbox.reply"]
            .with_user(self.sms_user)
            .create({"gateway_id": gateway.id, "number": number, "body": body})
        )

    def test_no_reply_on_a_real_gateway(self):
        self._texted()
        with self.assertRaises(ValidationError):
            self._reply(self.twilio)
        self.assertFalse(self.env["sms.interaction"].search([("gateway_id", "=", self.twilio.id)]))

    def test_no_reply_from_a_number_never_texted(self):
        self._texted()
        with self.assertRaises(ValidationError):
            self._reply(self.gateway, number="+393339999999")

    def test_reply_refused_at_send_when_the_gateway_is_no_sandbox(self):
        self._texted()
        wizard = self._reply(self.gateway)
        self.gateway.code = "twilio"
        with self.assertRaises(ValidationError):
            wizard.action_send()
        self.assertFalse(self.env["sms.interaction"].search([("number", "=", NUMBER)]))

    def test_reply_enters_the_pipeline_without_http(self):
        self._texted()
        wizard = self._reply(self.gateway, body="Typed on the phone")
        with patch.object(requests.Session, "send") as send:
            wizard.action_send()
        send.assert_not_called()
        interaction = self.env["sms.interaction"].search([("body", "=", "Typed on the phone")])
        self.assertEqual(len(interaction), 1)
        self.assertEqual(interaction.gateway_id, self.gateway)
        self.assertEqual(interaction.partner_id, self.partner)
        self.assertRegex(interaction.provider_message_id, r"^SM[0-9a-f]{32}$")
