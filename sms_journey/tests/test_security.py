from unittest.mock import patch

import requests

from odoo.exceptions import AccessError, UserError, ValidationError
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


@tagged("post_install", "-at_install")
class TestConsentLogAppendOnly(SmsJourneyCase):
    """The consent log is an audit trail: users read it, nobody edits it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sms_user = new_sms_user(cls.env, "sms_user")
        cls.sms_manager = new_sms_user(
            cls.env, "sms_manager", groups="sms_journey.group_sms_journey_manager"
        )
        cls.employee = new_sms_user(cls.env, "employee", groups="base.group_user")
        cls.partner._sms_consent_set("opted_in", "api", "signed form #42")
        cls.log = cls.partner.sms_consent_log_ids

    def test_users_read_but_do_not_create_write_or_unlink(self):
        self.assertEqual(len(self.log), 1)
        for user in (self.sms_user, self.sms_manager, self.employee):
            with self.subTest(user=user.login):
                log = self.log.with_user(user)
                self.assertEqual(log.read(["proof"])[0]["proof"], "signed form #42")
                with self.assertRaises(AccessError):
                    self.env["sms.consent.log"].with_user(user).create(
                        {
                            "partner_id": self.partner.id,
                            "action": "opted_out",
                            "source": "staff",
                        }
                    )
                with self.assertRaises(UserError):  # AccessError is a UserError
                    log.write({"proof": "forged"})
                with self.assertRaises(UserError):  # AccessError is a UserError
                    log.unlink()
        self.assertEqual(self.log.proof, "signed form #42")

    def test_even_the_superuser_does_not_rewrite_history(self):
        with self.assertRaises(UserError):
            self.log.sudo().write({"action": "opted_out"})
        self.assertEqual(self.log.action, "opted_in")

    def test_consent_methods_still_log(self):
        self.partner.with_user(self.sms_user)._sms_consent_set("opted_out", "staff", "phone")
        self.assertEqual(len(self.partner.sms_consent_log_ids), 2)

    def test_deleting_the_partner_deletes_its_log(self):
        self.partner.unlink()
        self.assertFalse(self.log.exists())
