"""Test bases other sms_journey tests (and modules built on it) reuse.

``SmsJourneyCommon`` starts a loopback Twilio-format provider (the sandbox server) for
the class, points a sandbox gateway of the main company at it and gives helpers to run
the outbox and to play the provider's callbacks.
"""

import uuid
from contextlib import contextmanager
from unittest.mock import patch

from odoo.tests import HttpCase, TransactionCase, freeze_time, new_test_user

from ..tools.gateways.loopback import TwilioFormatServer, VonageFormatServer

AUTH_TOKEN = "test-token"
ACCOUNT_SID = "ACtest"


class SmsJourneyMixin:
    """Shared setup; combine with TransactionCase or HttpCase."""

    provider_server_class = TwilioFormatServer
    gateway_code = "sandbox"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls._start_provider()
        cls.addClassCleanup(cls.provider.stop)
        cls.company = cls.env.company
        cls.company.write(
            {
                "sms_send_window_start": 8.0,
                "sms_send_window_end": 21.0,
                "sms_frequency_cap": 1,
                "sms_frequency_cap_hours": 24,
                "sms_frequency_cap_policy": "defer",
                "sms_brand_name": "Acme",
                "sms_support_contact": "help@acme.test",
            }
        )
        cls.gateway = cls.env["sms.gateway"].create(cls._gateway_values())
        cls.company.sms_gateway_id = cls.gateway
        cls.partner = cls.env["res.partner"].create(
            {
                "name": "Giulia Rossi",
                "mobile": "+39 333 123 4567",
                "country_id": cls.env.ref("base.it").id,
                "tz": "Europe/Rome",
                "email": "giulia@example.com",
            }
        )

    @classmethod
    def _start_provider(cls):
        server = cls.provider_server_class(auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID)
        server.start()
        return server

    @classmethod
    def _gateway_values(cls):
        return {
            "name": "Loopback sandbox",
            "code": cls.gateway_code,
            "api_url": cls.provider.url,
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "sender": "+15005550006",
            "rate_limit": 200,
            "max_concurrency": 4,
            "timeout": 2,
            "price_per_segment": 0.01,
            "company_id": cls.env.company.id,
        }

    def setUp(self):
        super().setUp()
        self.provider.reset()

    # helpers ---------------------------------------------------------------

    def dispatch(self):
        """Run the outbox cron once, as the cron worker would."""
        return self.env["sms.gateway.message"]._cron_dispatch()

    def post_inbound(self, body, sender="+393331234567", message_id=None):
        """The provider posts a signed inbound SMS to our webhook."""
        self.env.flush_all()  # the request runs on the same transaction
        status, text = self.provider.post_inbound(
            self.gateway._webhook_url("inbound"),
            sender,
            self.gateway.sender,
            body,
            message_id=message_id,
        )
        self.env.invalidate_all()
        return status, text

    def receive(self, body, sender="+393331234567", message_id=None):
        """An inbound SMS handed straight to the model (no HTTP: TransactionCase)."""
        from ..tools.gateways.base import InboundSms

        return self.env["sms.interaction"]._receive(
            self.gateway,
            InboundSms(
                provider_message_id=message_id or f"SM{uuid.uuid4().hex}",
                sender=sender,
                recipient=self.gateway.sender,
                body=body,
            ),
        )

    def post_status(self, message, status, error_code=None):
        """The provider posts a signed delivery report for an outbox message."""
        self.env.flush_all()
        result = self.provider.post_status(
            message.provider_message_id, status, error_code=error_code
        )
        self.env.invalidate_all()
        return result

    def outbox(self, **filters):
        domain = [(key, "=", value) for key, value in filters.items()]
        return self.env["sms.gateway.message"].search(domain, order="id")

    def received(self, number=None):
        """What the provider received (optionally for one number)."""
        return [m for m in self.provider.messages if number is None or m["to"] == number]

    # assertions ------------------------------------------------------------

    def assertSmsSent(self, number, body=None, count=None):
        """The provider received SMS for ``number`` (E.164), with ``body`` if given."""
        bodies = [message["body"] for message in self.received(number)]
        self.assertTrue(bodies, f"no SMS reached {number}; the provider got {self.received()}")
        if body is not None:
            self.assertIn(body, bodies)
        if count is not None:
            self.assertEqual(len(bodies), count)

    def assertSmsNotSent(self, number):
        self.assertFalse(self.received(number), f"an SMS reached {number}")

    def assertSmsCanceled(self, partner=None, number=None, reason=None):
        """The outbox canceled an SMS to ``partner`` (or ``number``) with the policy's
        ``reason`` (``tools/policy.py`` cancel reason), and its chatter notification
        says so."""
        domain = [("state", "=", "canceled")]
        if partner is not None:
            domain.append(("partner_id", "=", partner.id))
        if number is not None:
            domain.append(("number", "=", number))
        canceled = self.env["sms.gateway.message"].search(domain)
        self.assertTrue(canceled, f"no canceled SMS for {partner or number}")
        if reason is not None:
            self.assertEqual(set(canceled.mapped("error_code")), {reason})
        return canceled

    def overdue_invoice(self, partner, invoice_date, due_date, amount=80):
        """A posted customer invoice of ``partner`` due on ``due_date`` (skips the test
        when the company has no sale journal, i.e. no chart of accounts)."""
        if not self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", self.env.company.id)], limit=1
        ):
            self.skipTest("no sale journal (no chart of accounts)")
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": invoice_date,
                "invoice_date_due": due_date,
                "invoice_line_ids": [(0, 0, {"name": "Service", "price_unit": amount})],
            }
        )
        invoice.action_post()
        invoice.invoice_date_due = due_date  # posting recomputes it from the terms
        return invoice

    @contextmanager
    def frozen_now(self, moment):
        """Freeze ``fields.Datetime.now`` and the cursor's ``now``."""
        with patch.object(self.env.cr, "now", lambda: moment), freeze_time(moment):
            yield


class SmsJourneyCase(SmsJourneyMixin, TransactionCase):
    pass


class SmsJourneyHttpCase(SmsJourneyMixin, HttpCase):
    pass


__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "SmsJourneyCase",
    "SmsJourneyHttpCase",
    "SmsJourneyMixin",
    "VonageFormatServer",
]


def new_sms_user(env, login, groups="sms_journey.group_sms_journey_user"):
    """A user of the main company with ``groups`` only (the SMS user group by default):
    tests run with the lowest rights that the feature needs."""
    return new_test_user(env, login=login, groups=groups, name=login.title())
