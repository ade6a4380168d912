from datetime import datetime
from unittest.mock import patch

import requests

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import LINK, JourneyCaseMixin, SmsJourneyCase, SmsJourneyHttpCase, new_sms_user

NUMBER = "+393331234567"
T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestSandboxReplySecurity(SmsJourneyCase):
    """The Sandbox phone types replies on sandbox gateways only, without HTTP."""

    gateway_code = "sandbox"

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
            self.process_inbound()
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

    def test_deleting_the_partner_keeps_its_log(self):
        self.partner.unlink()
        self.assertTrue(self.log.exists())
        self.assertEqual(self.log.number, "+393331234567")


@tagged("post_install", "-at_install")
class TestShortLinkSignature(JourneyCaseMixin, SmsJourneyHttpCase):
    """A journey short link counts only for the trace it was signed for."""

    def test_tampered_trace_id_counts_for_nobody(self):
        template = self.env["sms.template"].create(
            {
                "name": "Same text for everyone",
                "model_id": self.env.ref("base.model_res_partner").id,
                "body": "New arrivals: https://shop.example.com/promo?x=1",
            }
        )
        other = self.make_partner("Marco Bianchi", "+39 333 765 4321")
        journey = self.make_journey(
            [self.sms_step(template)],
            audience_domain=f"[('id', 'in', {(self.partner | other).ids})]",
        )
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        traces = self.traces(journey)
        mine = traces.filtered(lambda trace: trace.participant_id.partner_id == self.partner)
        theirs = traces - mine
        code, trace_id, signature = LINK.search(mine.body).groups()
        self.assertEqual(int(trace_id), mine.id)
        self.assertEqual(LINK.search(theirs.body).group(1), code, "one short code per text")
        self.env.flush_all()

        # my link with their trace id, signed or not: redirected, counted for nobody
        for path in (f"/r/{code}/j/{theirs.id}/{signature}", f"/r/{code}/j/{theirs.id}"):
            response = self.url_open(path, allow_redirects=False)
            self.assertEqual(response.status_code, 301)
            self.assertIn("shop.example.com/promo", response.headers["Location"])
        self.env.invalidate_all()
        self.assertFalse(theirs.clicked_at)
        self.assertFalse(mine.clicked_at)
        tracker = self.env["link.tracker.code"].search([("code", "=", code)]).link_id
        clicks = self.env["link.tracker.click"].search([("link_id", "=", tracker.id)])
        self.assertEqual(len(clicks), 2, "plain clicks of the link are still counted")
        self.assertFalse(clicks.sms_journey_trace_id)

        # the genuine link counts for its own trace
        response = self.url_open(f"/r/{code}/j/{trace_id}/{signature}", allow_redirects=False)
        self.assertEqual(response.status_code, 301)
        self.env.invalidate_all()
        self.assertTrue(mine.clicked_at)
        self.assertFalse(theirs.clicked_at)
