from datetime import datetime

from odoo.tests import tagged

from .common import SmsJourneyVonageHttpCase

NUMBER = "+393331234567"


@tagged("post_install", "-at_install")
class TestVonageGateway(SmsJourneyVonageHttpCase):
    """The same flows through the Vonage SMS API format, end to end over loopback HTTP."""

    def send(self, body="Your order shipped"):
        self.partner._message_sms(body, partner_ids=self.partner.ids)
        message = self.outbox(partner_id=self.partner.id)[-1:]
        self.dispatch()
        return message

    def test_send_receipt_and_reply(self):
        message = self.send()
        self.assertEqual(message.state, "sent")
        received = self.provider.messages[0]
        self.assertEqual(received["to"], "393331234567")
        self.assertEqual(received["from"], "Acme")
        self.assertEqual(received["client_ref"], message.sms_uuid)
        status, _body = self.post_status(message, "delivered")
        self.assertLess(status, 300)
        self.assertEqual(message.state, "delivered")
        status, _body = self.post_inbound("STOP")
        self.assertLess(status, 300)
        self.assertEqual(self.partner.sms_consent_state, "opted_out")

    def test_unicode_body_is_sent_as_unicode(self):
        message = self.send("Ciao 😀, il tuo ordine è partito")
        self.assertEqual(message.encoding, "UCS-2")
        self.assertEqual(self.provider.messages[0]["type"], "unicode")

    def test_errors(self):
        # opted_out last: it opts the number out, and later SMS would be canceled.
        for kind, state in (
            ("invalid_number", "failed"),
            ("auth", "failed"),
            ("rate_limited", "queued"),
            ("server_error", "queued"),
            ("opted_out", "failed"),
        ):
            with self.subTest(kind=kind):
                self.provider.reset()
                self.provider.fail_next(kind=kind)
                with self.frozen_now(datetime(2026, 6, 15, 10, 0)):
                    message = self.send()
                self.assertEqual(message.state, state, message.failure_reason)
                self.assertEqual(message.error_code, kind)

    def test_forged_receipt_is_refused(self):
        message = self.send()
        self.env.flush_all()
        params = {
            "messageId": message.provider_message_id,
            "status": "delivered",
            "msisdn": "393331234567",
            "sig": "0" * 32,
            "timestamp": "1",
        }
        status, _body = self.provider._post(self.gateway._webhook_url("status"), params)
        self.assertEqual(status, 403)
        self.env.invalidate_all()
        self.assertEqual(message.state, "sent")

    def test_stale_claim_is_flagged_for_review(self):
        """Vonage cannot look a message up: an interrupted send is never resent blindly."""
        message = self.send()
        self.provider.reset()
        message.write({"state": "sending", "claimed_at": datetime(2020, 1, 1)})
        self.env["sms.gateway.message"]._cron_reconcile()
        self.assertEqual(message.state, "review")
        self.dispatch()
        self.assertFalse(self.provider.messages)
        message.action_resend()
        self.dispatch()
        self.assertEqual(message.state, "sent")
        self.assertEqual(len(self.provider.messages), 1)
