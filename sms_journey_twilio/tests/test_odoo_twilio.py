"""sms_journey on Odoo's Twilio (``sms_twilio``): replies to the company's Twilio numbers
over HTTP, automatic answers through Odoo's Twilio, the one choice of SMS transport.

Odoo's Twilio is mocked at its one HTTP door as sms_twilio's own tests do
(``MockSmsTwilioApi``: ``SmsApiTwilio._sms_twilio_send_request`` recorded, the Twilio
REST API answered by the test's request handler)."""

import uuid

import requests

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, tagged

from odoo.addons.sms_journey.tests.common import new_partner_template
from odoo.addons.sms_journey.tools.gateways.twilio import compute_signature

from .common import OdooTwilioCompanyMixin

TWILIO_NUMBER = "+32455998877"  # the Belgian number of MockSmsTwilioApi._setup_sms_twilio
CUSTOMER = "+32470123456"


@tagged("post_install", "-at_install")
class TestOdooTwilio(OdooTwilioCompanyMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "sms_courtesy_reply": "Acme: thanks, we got your message.",
                "sms_brand_name": "Acme",
                "sms_support_contact": "help@acme.test",
            }
        )
        cls.token = cls.company.sudo().sms_twilio_auth_token
        cls.anchor = cls.company._sms_journey_twilio_gateway()
        cls.partner = cls._customer("Lotte Peeters", CUSTOMER, "base.be")
        cls.env["sms.keyword.rule"].search([]).active = False

    # helpers ---------------------------------------------------------------

    def post_reply(self, body, sender=CUSTOMER, to=TWILIO_NUMBER, token=None, sign=True, **extra):
        """Twilio posts an SMS received on ``to`` to the inbound webhook, signed with
        the company's auth token (or ``token``) as Twilio signs."""
        url = f"{self.base_url()}/sms_journey_twilio/inbound"
        data = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": self.company.sudo().sms_twilio_account_sid,
            "From": sender,
            "To": to,
            "Body": body,
            **extra,
        }
        data = {key: value for key, value in data.items() if value is not None}
        headers = {}
        if sign:
            headers["X-Twilio-Signature"] = compute_signature(token or self.token, url, data)
        self.env.flush_all()  # the request runs on the test's transaction
        response = requests.post(url, data=data, headers=headers, timeout=30)
        self.env.invalidate_all()
        self.assertLess(response.status_code, 500, response.text[:300])
        return response

    def process(self):
        """The inbound worker, as the cron the webhook wakes runs it, with Odoo's Twilio
        mocked; returns what Odoo's Twilio was asked to send."""
        with self.mock_sms_twilio_send():
            while self.env["sms.interaction"].sudo()._cron_process_received():
                pass
            sent = list(self._sms)
        self.env.invalidate_all()
        return sent

    def replies(self):
        return self.env["sms.interaction"].sudo().search([("company_id", "=", self.company.id)])

    # inbound ------------------------------------------------------------------

    def test_signed_reply_reaches_the_contacts_conversation(self):
        response = self.post_reply("Hello, is the shop open on Sunday?")
        self.assertEqual(response.status_code, 200)
        self.assertIn("<Response>", response.text)  # the empty TwiML of our Twilio client
        reply = self.replies()
        self.assertEqual(len(reply), 1)
        self.assertEqual(reply.gateway_id, self.anchor)
        self.assertEqual(reply.recipient, TWILIO_NUMBER)
        self.assertEqual(self.anchor.inbound_url, f"{self.base_url()}/sms_journey_twilio/inbound")

        sent = self.process()
        self.assertEqual(reply.partner_id, self.partner)
        self.assertIn("is the shop open", reply.mail_message_id.body)
        self.assertEqual(reply.mail_message_id.res_id, self.partner.id)
        conversation = self.env["sms.conversation.message"].search(
            [("number", "=", CUSTOMER), ("direction", "=", "in")]
        )
        self.assertTrue(conversation, "the reply is in the contact's SMS conversation")
        # the courtesy reply (an automatic answer) left through Odoo's Twilio
        self.assertEqual([sms["number"] for sms in sent], [CUSTOMER])
        self.assertIn("we got your message", sent[0]["body"])
        sms = self.env["sms.sms"].sudo().search([("uuid", "=", sent[0]["uuid"])])
        self.assertEqual(sms.record_company_id, self.company)
        self.assertFalse(
            self.env["sms.gateway.message"].sudo().search([("number", "=", CUSTOMER)]),
            "nothing goes through an outbox of ours",
        )

    def test_stop_opts_out_and_is_confirmed_through_odoo_twilio(self):
        self.assertEqual(self.post_reply("STOP").status_code, 200)
        sent = self.process()
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertTrue(
            self.env["phone.blacklist"].sudo().search([("number", "=", CUSTOMER)]),
            "STOP puts the number on Odoo's phone blacklist",
        )
        self.assertEqual(len(sent), 1, "one confirmation, through Odoo's Twilio")
        self.assertEqual(sent[0]["number"], CUSTOMER)

    def test_help_is_answered_through_odoo_twilio(self):
        self.post_reply("HELP")
        sent = self.process()
        self.assertEqual(len(sent), 1)
        self.assertIn("Acme", sent[0]["body"])
        self.assertIn("help@acme.test", sent[0]["body"])
        self.assertEqual(self._sms_twilio_send_mock.call_count, 1)

    def test_keyword_answer_goes_through_odoo_twilio(self):
        template = new_partner_template(self.env, "Price", "Hi {{ object.name }}, it is 10 EUR.")
        self.env["sms.keyword.rule"].create(
            {
                "name": "PRICE",
                "keywords": "PRICE",
                "match_mode": "first_word",
                "action_ids": [Command.create({"type": "reply", "template_id": template.id})],
            }
        )
        self.post_reply("price?")
        sent = self.process()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["body"], "Hi Lotte Peeters, it is 10 EUR.")
        self.assertEqual(self._sms_twilio_send_mock.call_count, 1)

    def test_bad_signature_is_refused_and_nothing_stored(self):
        for response in (
            self.post_reply("forged", token="not-the-token"),
            self.post_reply("unsigned", sign=False),
        ):
            self.assertEqual(response.status_code, 403)
        self.assertFalse(self.replies())

    def test_unknown_number_and_bad_payload(self):
        # a number of no company's Odoo's Twilio (nor its account): nothing to verify with
        response = self.post_reply("hello", to="+15550009999", AccountSid="ACunknown")
        self.assertEqual(response.status_code, 404)
        # signed but without a sender
        response = self.post_reply("hello", sender=None)
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.replies())

    def test_another_companys_numbers_are_its_own(self):
        other = self.env["res.company"].create({"name": "Other shop"})
        other.sudo().write(
            {
                "sms_provider": "twilio",
                "sms_twilio_account_sid": "AC11111222223333344444555556666677",
                "sms_twilio_auth_token": "other-token",
                "sms_twilio_number_ids": [
                    Command.create(
                        {"number": "+32455111222", "country_id": self.env.ref("base.be").id}
                    )
                ],
            }
        )
        # signed with our token for their number: refused
        self.assertEqual(self.post_reply("hi", to="+32455111222").status_code, 403)
        response = self.post_reply(
            "hi",
            to="+32455111222",
            token="other-token",
            AccountSid="AC11111222223333344444555556666677",
        )
        self.assertEqual(response.status_code, 200)
        reply = self.env["sms.interaction"].sudo().search([("body", "=", "hi")])
        self.assertEqual(reply.company_id, other)

    # settings -----------------------------------------------------------------

    def test_settings_show_one_place(self):
        admin = self.env.ref("base.user_admin")
        admin.groups_id |= self.env.ref("sms_journey.group_sms_journey_manager")
        views = self.env["res.config.settings"].with_user(admin).get_views([(False, "form")])
        arch = views["views"]["form"]["arch"]
        self.assertIn('name="sms_journey_transport"', arch)
        self.assertIn("is chosen in SMS Journeys' settings", arch)

    def test_one_choice_of_transport(self):
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.sms_journey_transport, "twilio")
        self.assertFalse(settings.sms_journey_twilio_bypassed)

        gateway = self.env["sms.gateway"].create(
            {"name": "Our Vonage", "code": "twilio", "company_id": self.company.id}
        )
        settings = self.env["res.config.settings"].create(
            {"sms_journey_transport": "gateway", "sms_gateway_id": gateway.id}
        )
        self.assertTrue(settings.sms_journey_twilio_bypassed, "the UI says Twilio is bypassed")
        settings.execute()
        self.assertEqual(self.company.sms_gateway_id, gateway)
        self.assertEqual(self.company.sms_provider, "twilio", "Odoo's setting is kept, not hidden")
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.sms_journey_transport, "gateway")

        self.env["res.config.settings"].create({"sms_journey_transport": "iap"}).execute()
        self.assertFalse(self.company.sms_gateway_id)
        self.assertEqual(self.company.sms_provider, "iap")

        self.env["res.config.settings"].create({"sms_journey_transport": "twilio"}).execute()
        self.assertFalse(self.company.sms_gateway_id)
        self.assertEqual(self.company.sms_provider, "twilio")

        with self.assertRaises(ValidationError):
            self.company.sms_gateway_id = self.anchor
