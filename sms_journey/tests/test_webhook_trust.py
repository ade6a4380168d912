import uuid
from unittest.mock import patch

import requests

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import SmsJourneyHttpCase, SmsJourneyVonageHttpCase

NUMBER = "+393331234567"
STRANGER = "+393339999999"
# ids a client may put in a webhook URL that are not a positive 32-bit integer
HOSTILE_IDS = ("0", "-1", "00", str(2**31), str(2**63), "9" * 40, "abc", "1e3", "0x10", "%20")


@tagged("post_install", "-at_install")
class TestWebhookGatewayIds(SmsJourneyHttpCase):
    """The gateway id of a webhook URL is chosen by the client: out of range, 404 before
    any lookup; in range but unknown, 404 without a cache entry."""

    def cached_setup_ids(self):
        """The gateway ids the webhook's per-id cache holds (``_webhook_setup_of``)."""
        cache = self.registry._Registry__caches["default"]
        return {
            key[2]
            for key in list(cache)
            if key[0] == "sms.gateway" and getattr(key[1], "__name__", "") == "_webhook_setup_of"
        }

    def call(self, gateway_id, kind="inbound", method="POST"):
        url = f"{self.base_url()}/sms_journey/{gateway_id}/{kind}"
        self.env.flush_all()
        return requests.request(method, url, data={"Body": "hi"}, timeout=10)

    def test_ids_that_are_no_positive_int32_are_404_before_any_lookup(self):
        Gateway = self.registry["sms.gateway"]
        with patch.object(Gateway, "_webhook_setup", side_effect=AssertionError("looked up")):
            for gateway_id in HOSTILE_IDS:
                for kind in ("status", "inbound"):
                    for method in ("GET", "POST"):
                        with self.subTest(gateway_id=gateway_id, kind=kind, method=method):
                            self.assertEqual(self.call(gateway_id, kind, method).status_code, 404)

    def test_unknown_ids_answer_404_and_are_not_cached(self):
        archived = self.gateway.copy({"name": "Archived", "active": False})
        self.env.registry.clear_cache()
        self.assertAnswered(self.post_webhook("inbound", {"MessageSid": "SMc1", "From": NUMBER}))
        self.assertEqual(self.cached_setup_ids(), {self.gateway.id})
        unknown = [archived.id, self.gateway.id + 1000, 2**31 - 1, 1]
        unknown = [gateway_id for gateway_id in unknown if gateway_id != self.gateway.id]
        for gateway_id in unknown:
            with self.subTest(gateway_id=gateway_id):
                self.assertEqual(self.call(gateway_id).status_code, 404)
        self.assertEqual(self.cached_setup_ids(), {self.gateway.id})

    def test_the_largest_id_is_looked_up(self):
        """2**31 - 1 is a valid id: it reaches the (cached) set of gateways, answers 404."""
        with patch.object(
            self.registry["sms.gateway"], "_webhook_setup", autospec=True, return_value=None
        ) as setup:
            self.assertEqual(self.call(2**31 - 1).status_code, 404)
        self.assertEqual(setup.call_args.args[1], 2**31 - 1)


@tagged("post_install", "-at_install")
class TestSandboxWebhook(SmsJourneyHttpCase):
    """The sandbox takes replies only from the numbers it texted, canceled rows excluded:
    the same rule for its webhook, its reply wizard and its phone."""

    gateway_code = "sandbox"

    def outbox_row(self, number, state):
        return self.env["sms.gateway.message"].create(
            {
                "sms_uuid": uuid.uuid4().hex,
                "gateway_id": self.gateway.id,
                "number": number,
                "body": "Hello",
                "state": state,
            }
        )

    def webhook_reply(self, number, body="STOP"):
        sid = f"SM{uuid.uuid4().hex}"
        data = {"MessageSid": sid, "From": number, "To": self.gateway.sender, "Body": body}
        response = self.post_webhook("inbound", data)
        stored = self.env["sms.interaction"].search([("provider_message_id", "=", sid)])
        return response, stored

    def wizard_accepts(self, number):
        try:
            self.env["sms.sandbox.reply"].create(
                {"gateway_id": self.gateway.id, "number": number, "body": "STOP"}
            )
        except ValidationError:
            return False
        return True

    def test_reply_from_a_texted_number_is_recorded(self):
        self.send_on(self.partner, "Your order shipped")
        response, stored = self.webhook_reply(NUMBER)
        self.assertAnswered(response, 200)
        self.assertEqual(stored.number, NUMBER)

    def test_reply_from_a_number_never_texted_is_refused(self):
        self.send_on(self.partner, "Your order shipped")
        response, stored = self.webhook_reply(STRANGER)
        self.assertAnswered(response, 403)
        self.assertFalse(stored)

    def test_canceled_rows_do_not_count_as_texted(self):
        self.outbox_row(STRANGER, "canceled")
        response, stored = self.webhook_reply(STRANGER)
        self.assertAnswered(response, 403)
        self.assertFalse(stored)
        self.assertFalse(self.wizard_accepts(STRANGER))
        numbers = [row["number"] for row in self.env["sms.gateway"].sandbox_phone_numbers()]
        self.assertNotIn(STRANGER, numbers)

    def test_webhook_wizard_and_phone_apply_one_rule(self):
        cases = {
            "+393330000001": ["sent"],
            "+393330000002": ["queued"],
            "+393330000003": ["failed", "canceled"],
            "+393330000004": ["canceled"],
            "+393330000005": ["canceled", "canceled"],
            "+393330000006": [],
        }
        for number, states in cases.items():
            for state in states:
                self.outbox_row(number, state)
        phone = {row["number"] for row in self.env["sms.gateway"].sandbox_phone_numbers()}
        for number, states in cases.items():
            with self.subTest(number=number, states=states):
                texted = any(state != "canceled" for state in states)
                self.assertEqual(self.wizard_accepts(number), texted)
                self.assertEqual(number in phone, texted)
                response, stored = self.webhook_reply(number, body="hello")
                self.assertAnswered(response, 200 if texted else 403)
                self.assertEqual(bool(stored), texted)

    def test_each_sandbox_gets_a_random_token(self):
        Gateway = self.env["sms.gateway"]
        first, second = Gateway.create(
            [{"name": "Sandbox A", "code": "sandbox"}, {"name": "Sandbox B", "code": "sandbox"}]
        )
        self.assertNotEqual(first.auth_token, second.auth_token)
        self.assertGreaterEqual(len(first.auth_token), 40)
        copied = first.copy()
        self.assertTrue(copied.auth_token)
        self.assertNotEqual(copied.auth_token, first.auth_token)
        given = Gateway.create({"name": "Given", "code": "sandbox", "auth_token": "chosen"})
        self.assertEqual(given.auth_token, "chosen")
        twilio = Gateway.create({"name": "Twilio", "code": "twilio"})
        self.assertFalse(twilio.auth_token, "real providers' tokens come from the provider")


@tagged("post_install", "-at_install")
class TestVonageSignatureMethod(SmsJourneyVonageHttpCase):
    """The Vonage webhook verifies with the gateway's signature method, no other."""

    def send(self):
        self.partner._message_sms("Your order shipped", partner_ids=self.partner.ids)
        message = self.outbox(partner_id=self.partner.id)[-1:]
        self.dispatch()
        return message

    def test_default_is_sha256(self):
        self.assertEqual(self.gateway.signature_method, "sha256")
        message = self.send()
        status, _body = self.post_status(message, "delivered")
        self.assertLess(status, 300)
        self.assertEqual(message.state, "delivered")

    def test_a_signature_of_another_method_is_refused(self):
        self.addCleanup(setattr, self.provider, "signature_method", self.provider.signature_method)
        message = self.send()
        for method in ("md5hash", "md5", "sha1", "sha512"):
            with self.subTest(method=method):
                self.provider.signature_method = method
                status, _body = self.post_status(message, "delivered")
                self.assertEqual(status, 403)
                self.assertEqual(message.state, "sent")
        self.gateway.signature_method = "md5hash"  # the account's dashboard says so
        self.provider.signature_method = "md5hash"
        status, _body = self.post_status(message, "delivered")
        self.assertLess(status, 300)
        self.assertEqual(message.state, "delivered")
