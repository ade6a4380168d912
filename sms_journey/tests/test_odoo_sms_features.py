from datetime import datetime

from odoo.tests import tagged

from .common import SmsJourneyCase, new_partner_template, new_sms_mailing

NUMBER = "+393331234567"
# inside the company's marketing send window (8:00-21:00, contact in Europe/Rome)
DAYTIME = datetime(2026, 3, 2, 10, 0)


@tagged("post_install", "-at_install")
class TestOdooSmsFeatures(SmsJourneyCase):
    """Odoo's own SMS features all reach the provider through the gateway."""

    def composer(self, **values):
        return (
            self.env["sms.composer"]
            .with_context(active_model="res.partner", active_id=self.partner.id)
            .create(values)
        )

    def test_composer_comment_mode(self):
        self.composer(body="From the composer", composition_mode="comment").action_send_sms()
        self.dispatch()
        self.assertEqual([m["body"] for m in self.received(NUMBER)], ["From the composer"])

    def test_composer_mass_mode(self):
        self.partner._sms_consent_set("opted_in", "staff", "test")
        # marketing: inside the send window (8-21 in Rome), whatever the hour of the run
        with self.frozen_now(datetime(2026, 3, 2, 9, 0)):
            self.env["sms.composer"].with_context(
                default_composition_mode="mass",
                default_res_model="res.partner",
                default_res_ids=self.partner.ids,
            ).create({"body": "Mass hello", "mass_force_send": True}).action_send_sms()
            self.dispatch()
        self.assertEqual([m["body"] for m in self.received(NUMBER)], ["Mass hello"])

    def test_sms_template(self):
        template = new_partner_template(
            self.env, "Greeting", "Hello {{ object.name }}", sms_kind="transactional"
        )
        self.partner._message_sms_with_template(template=template, partner_ids=self.partner.ids)
        self.dispatch()
        self.assertEqual(self.received(NUMBER)[0]["body"], "Hello Giulia Rossi")

    def test_gateway_test_button(self):
        action = self.gateway.action_send_test_sms()
        wizard = (
            self.env[action["res_model"]]
            .with_context(**action["context"])
            .create({"number": "+39 333 765 4321"})
        )
        result = wizard.action_send()
        message = self.env["sms.gateway.message"].browse(result["res_id"])
        self.assertEqual(message.state, "sent")
        self.assertEqual(self.received("+393337654321")[0]["body"], wizard.body)

    def test_gateway_test_button_rejects_bad_number(self):
        wizard = self.env["sms.gateway.test"].create(
            {"gateway_id": self.gateway.id, "number": "not a number"}
        )
        with self.assertRaises(Exception):  # noqa: B017 - UserError with the parser's reason
            wizard.action_send()
        self.assertFalse(self.received())

    def test_mass_mailing_test_button(self):
        # a mailing's test is marketing: the number tested on consents (inside the window)
        tester = self.env["res.partner"].create({"name": "Tester", "mobile": "+39 333 765 4321"})
        tester._sms_consent_set("opted_in", "staff", "signed form")
        mailing = new_sms_mailing(self.env, "Test of the summer sale")
        with self.frozen_now(DAYTIME):
            self.env["mailing.sms.test"].create(
                {"mailing_id": mailing.id, "numbers": "+39 333 765 4321\nnot-a-number"}
            ).action_send_sms()
        self.assertEqual(self.received("+393337654321")[0]["body"], "Test of the summer sale")
        log = mailing.message_ids[0].body
        self.assertIn("successfully sent", log)
        self.assertIn("not-a-number", log)


@tagged("post_install", "-at_install")
class TestResend(SmsJourneyCase):
    def test_odoo_resend_reuses_the_outbox_row(self):
        self.provider.fail_next(kind="invalid_number")
        self.partner._message_sms("Try me", partner_ids=self.partner.ids)
        message = self.outbox(partner_id=self.partner.id)
        self.dispatch()
        self.assertEqual(message.state, "failed")
        sms = message.sms_id
        self.assertEqual(sms.state, "error")
        sms.resend_failed()
        self.dispatch()
        self.assertEqual(self.outbox(partner_id=self.partner.id), message)
        self.assertEqual(message.state, "sent")
        self.assertEqual(len(self.received(NUMBER)), 1)
