import base64
import hashlib
import hmac
import json
import random
import socket
import time
from urllib.parse import urlsplit

from odoo.tests import tagged

from ..controllers.main import MAX_WEBHOOK_BODY
from ..tools.gateways.twilio import compute_signature
from .common import AUTH_TOKEN, SmsJourneyHttpCase, SmsJourneyVonageHttpCase

NUMBER = "+393331234567"


def inbound_form(body="hello", sender=NUMBER, sid="SMhard0001", **extra):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


@tagged("post_install", "-at_install")
class TestWebhookHardening(SmsJourneyHttpCase):
    """Hostile input on the real controller over HTTP: never a 500, nothing lost."""

    def interaction(self, sid):
        return self.env["sms.interaction"].search([("provider_message_id", "=", sid)])

    def test_nul_and_control_characters_are_recorded_cleaned(self):
        response = self.post_webhook("inbound", inbound_form("hi\x00there\x07!", sid="SMnul"))
        self.assertAnswered(response, 200)
        self.assertEqual(self.interaction("SMnul").body, "hi\ufffdthere\ufffd!")

    def test_invalid_utf8_is_recorded_cleaned(self):
        body = b"MessageSid=SMutf&From=%2B393331234567&To=%2B15005550006&Body=caf%E9%FF%00"
        self.assertAnswered(self.post_webhook("inbound", body), 200)
        # werkzeug keeps bytes that are not UTF-8 percent-escaped: nothing is lost
        self.assertEqual(self.interaction("SMutf").body, "caf%E9%FF\ufffd")

    def test_oversized_body_is_refused_before_reading(self):
        start = time.perf_counter()
        form = inbound_form("x" * (MAX_WEBHOOK_BODY + 1), sid="SMbig")
        response = self.post_webhook("inbound", form)
        self.assertAnswered(response, 413)
        self.assertLess(time.perf_counter() - start, 2.0)
        self.assertFalse(self.interaction("SMbig"))
        # a long reply within the cap is fine
        response = self.post_webhook("inbound", inbound_form("y" * 1600, sid="SMlong"))
        self.assertAnswered(response, 200)

    def test_hostile_field_names_and_headers(self):
        form = inbound_form(sid="SMself", self="1", gateway_id="999", **{"\x00k\u202e": "\x00"})
        self.assertAnswered(self.post_webhook("inbound", form), 200)
        self.assertTrue(self.interaction("SMself"))
        for signature in ("é" * 28, "\x01\x02", "A" * 8000):
            response = self.post_webhook(
                "inbound",
                inbound_form(sid="SMforged"),
                headers={"X-Twilio-Signature": signature.encode("latin-1")},
                sign=False,
            )
            self.assertAnswered(response, 403)
        self.assertFalse(self.interaction("SMforged"))

    def test_ids_and_numbers_too_long_are_400(self):
        response = self.post_webhook("inbound", inbound_form(sender="+39" * 5000, sid="SMx"))
        self.assertAnswered(response, 400)
        response = self.post_webhook("inbound", inbound_form(sid="SM" + "9" * 5000))
        self.assertAnswered(response, 400)

    def test_status_values_and_hostile_reference(self):
        form = {"MessageSid": "SMnone", "MessageStatus": "delivered"}
        self.assertAnswered(self.post_webhook("status", form, query="?ref=%00%FF"), 200)
        for status in ("receiving", "received", "partially_delivered", "read", "scheduled"):
            with self.subTest(status=status):
                form = {"MessageSid": "SMnone", "MessageStatus": status}
                self.assertAnswered(self.post_webhook("status", form), 200)
        form = {"MessageSid": "SMnone", "MessageStatus": "exploded\x00"}
        response = self.post_webhook("status", form)
        self.assertAnswered(response, 400)
        self.assertIn("Unknown Twilio message status", response.text)

    def test_get_callback_signs_the_url(self):
        self.partner._message_sms("Your order shipped", partner_ids=self.partner.ids)
        message = self.outbox(partner_id=self.partner.id)[-1:]
        self.dispatch()
        query = f"?ref={message.sms_uuid}&MessageSid={message.provider_message_id}"
        query += "&MessageStatus=delivered"
        url = self.gateway._webhook_url("status") + query
        headers = {"X-Twilio-Signature": compute_signature(AUTH_TOKEN, url, {})}
        response = self.post_webhook("status", None, headers, query, "GET", sign=False)
        self.assertAnswered(response, 200)
        self.assertEqual(message.state, "delivered")

    def test_mms_media_are_kept_as_links(self):
        media = [
            (
                "https://api.twilio.com/2010-04-01/Accounts/ACtest/Messages/MM1/Media/ME1",
                "image/jpeg",
            ),
            (
                "https://api.twilio.com/2010-04-01/Accounts/ACtest/Messages/MM1/Media/ME2",
                "video/mp4",
            ),
        ]
        self.env.flush_all()
        status, _text = self.provider.post_inbound(
            self.gateway._webhook_url("inbound"),
            NUMBER,
            self.gateway.sender,
            "look at this",
            message_id="MMmedia",
            media=media,
        )
        self.env.invalidate_all()
        self.assertEqual(status, 200)
        interaction = self.interaction("MMmedia")
        self.assertEqual(interaction.body, "look at this")
        self.assertEqual(
            interaction.media_urls.splitlines(),
            [f"{url} ({content_type})" for url, content_type in media],
        )

    def test_raw_bytes_that_are_not_utf8(self):
        url = self.gateway._webhook_url("inbound")
        body = b"MessageSid=SMraw&From=%2B393331234567&To=%2B15005550006&Body=caf\xe9"
        escaped = b"MessageSid=SMraw&From=%2B393331234567&To=%2B15005550006&Body=caf%E9"
        form = {
            "MessageSid": "SMraw",
            "From": "+393331234567",
            "To": "+15005550006",
            "Body": "caf%E9",
        }
        headers = {"X-Twilio-Signature": compute_signature(AUTH_TOKEN, url, form)}
        self.assertNotEqual(body, escaped)
        response = self.post_webhook("inbound", body, headers, sign=False)
        self.assertAnswered(response, 200)
        self.assertEqual(self.interaction("SMraw").body, "caf%E9")
        # in the query string too (no client library sends raw bytes there: a socket does)
        path = urlsplit(self.gateway._webhook_url("status")).path.encode() + b"?ref=\xe9\xff"
        with socket.create_connection(("127.0.0.1", self.http_port()), timeout=10) as sock:
            sock.sendall(
                b"POST " + path + b" HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
            )
            answer = sock.recv(100)
        self.assertRegex(answer, rb"^HTTP/1\.[01] [1-4]\d\d ")

    def test_random_bytes_never_500(self):
        rng = random.Random(10)
        for index in range(25):
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
            for sign in (True, False):
                response = self.post_webhook("inbound" if index % 2 else "status", body, sign=sign)
                self.assertAnswered(response)


@tagged("post_install", "-at_install")
class TestVonageInboundParts(SmsJourneyVonageHttpCase):
    """Vonage long replies arrive as parts: one interaction once all are in."""

    def long_reply(self, text, order=None):
        self.env.flush_all()
        answers = self.provider.post_long_inbound(
            self.gateway._webhook_url("inbound"), NUMBER, "Acme", text, order=order
        )
        self.env.invalidate_all()
        for status, _body in answers:
            self.assertLess(status, 300)

    def interactions(self):
        return self.env["sms.interaction"].search([("number", "=", NUMBER)])

    def test_parts_out_of_order_and_twice_make_one_interaction(self):
        text = "".join(f"word{i} " for i in range(80))[:400]  # 3 parts of 153 characters
        self.long_reply(text, order=[3, 1, 3, 2, 1])
        self.assertEqual(len(self.interactions()), 1)
        self.assertEqual(self.interactions().body, text)
        # the late copy of part 1 waits alone until the autovacuum forgets it; were all
        # parts delivered again, the message would be recognised by its provider id
        self.assertEqual(self.env["sms.inbound.part"].search([]).part_number, 1)

    def test_missing_part_waits(self):
        text = "a" * 400
        self.long_reply(text, order=[1, 3])
        self.assertFalse(self.interactions())
        self.assertEqual(len(self.env["sms.inbound.part"].search([])), 2)

    def test_gateway_form_shows_the_callback_url_limit(self):
        self.assertFalse(self.gateway.webhook_warning)
        self.env["ir.config_parameter"].set_param(
            "web.base.url", "https://" + "x" * 50 + ".example.com"
        )
        self.gateway.invalidate_recordset(["webhook_warning", "status_url"])
        self.assertIn("at most 100 characters", self.gateway.webhook_warning)
        self.assertIn(self.gateway.status_url, self.gateway.webhook_warning)

    def test_messages_api_jwt(self):
        body = json.dumps(
            {"msisdn": "393331234567", "to": "Acme", "messageId": "JWT1", "text": "hi"}
        ).encode()

        def b64(data):
            return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

        claims = {"iat": int(time.time()), "payload_hash": hashlib.sha256(body).hexdigest()}
        head = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}"
        secret = self.provider.signature_secret.encode()
        signature = hmac.new(secret, head.encode(), hashlib.sha256).digest()
        token = f"{head}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        response = self.post_webhook("inbound", body, headers, sign=False)
        self.assertAnswered(response, 204)
        self.assertEqual(self.interactions().body, "hi")
        response = self.post_webhook("inbound", body + b" ", headers, sign=False)
        self.assertAnswered(response, 403)
