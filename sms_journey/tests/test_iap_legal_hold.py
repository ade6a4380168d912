"""Without a gateway of ours (Odoo's IAP, Odoo's Twilio) SMS leave at once, but the law
still binds: a marketing SMS whose destination's legal send window is closed stays in
Odoo's queue (``sms.sms``, held until the window opens) and leaves with the queue's cron;
a STOP meanwhile cancels it at once; what is due is never kept waiting behind it."""

from datetime import datetime

from odoo.tests import tagged

from odoo.addons.sms.tests.common import MockSMS

from ..models.sms_sender import SmsRequest
from .common import SmsJourneyMixin

# 20:30 in Miami (EDT): Florida's law allows marketing SMS 8:00-20:00; 01:30 in Rome
EVENING_IN_MIAMI = datetime(2026, 3, 11, 0, 30)
# 08:00 in Miami: the law and the company's window (8:00-20:00) allow it
MORNING_IN_MIAMI = datetime(2026, 3, 11, 12, 0)


@tagged("post_install", "-at_install")
class TestIapLegalHold(SmsJourneyMixin, MockSMS):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sms_gateway_id = False
        Partner = cls.env["res.partner"]
        cls.miami = Partner.create(
            {"name": "Miami", "mobile": "+1 305 555 0142", "country_id": cls.env.ref("base.us").id}
        )
        cls.rome = Partner.create(
            {"name": "Rome", "mobile": "+39 333 000 0142", "country_id": cls.env.ref("base.it").id}
        )
        (cls.miami | cls.rome)._sms_consent_set("opted_in", "web_form", "form")
        cls.queue_cron = cls.env.ref("sms.ir_cron_sms_scheduler_action")

    def setUp(self):
        super().setUp()
        patcher = self.mockSMSGateway()
        patcher.__enter__()
        self.addCleanup(patcher.__exit__, None, None, None)

    def at(self, moment):
        frozen = self.frozen_now(moment)
        frozen.__enter__()
        self.addCleanup(frozen.__exit__, None, None, None)

    def mass_sms(self, partners, body="Spring sale"):
        self.env["sms.composer"].with_context(
            default_composition_mode="mass",
            default_res_model="res.partner",
            default_res_ids=partners.ids,
        ).create({"body": body, "mass_force_send": True}).action_send_sms()
        return self.env["sms.sms"].search([("partner_id", "in", partners.ids), ("body", "=", body)])

    def sent_numbers(self):
        return sorted(sms["number"] for sms in self._sms)

    def test_the_law_holds_marketing_until_its_window(self):
        self.at(EVENING_IN_MIAMI)
        held = self.mass_sms(self.miami | self.rome).filtered(lambda s: s.partner_id == self.miami)
        # Rome has no legal rule: the company's own hours need the outbox, it leaves now
        self.assertEqual(self.sent_numbers(), [self.rome.phone_sanitized])
        self.assertEqual(held.state, "outgoing")
        self.assertEqual(held.sms_journey_send_after, MORNING_IN_MIAMI)
        trigger = self.env["ir.cron.trigger"].search([("cron_id", "=", self.queue_cron.id)])
        self.assertIn(MORNING_IN_MIAMI, trigger.mapped("call_at"))
        # the queue's cron before the window: still held, whoever asks
        self.env["sms.sms"].sudo()._process_queue()
        held.send()
        self.assertEqual(self.sent_numbers(), [self.rome.phone_sanitized])
        self.assertEqual(held.state, "outgoing")

    def test_the_queue_sends_it_when_the_window_opens(self):
        self.at(EVENING_IN_MIAMI)
        held = self.mass_sms(self.miami)
        self._clear_sms_sent()
        with self.frozen_now(MORNING_IN_MIAMI):
            self.env["sms.sms"].sudo()._process_queue()
        self.assertEqual(self.sent_numbers(), [self.miami.phone_sanitized])
        self.assertFalse(held.exists() and held.state == "outgoing")

    def test_transactional_and_due_sms_are_not_held(self):
        self.at(EVENING_IN_MIAMI)
        self.env["sms.sms"].sudo().create(
            {"number": "+13055550142", "body": "Your order shipped", "partner_id": self.miami.id}
        ).send()
        self.assertEqual(self.sent_numbers(), [self.miami.phone_sanitized])
        held = self.mass_sms(self.miami)
        due = (
            self.env["sms.sms"]
            .sudo()
            .create({"number": "+393330000142", "body": "Queued", "partner_id": self.rome.id})
        )
        queue = self.env["sms.sms"].with_context(sms_journey_due_only=True)
        self.assertIn(due, queue.search([("state", "=", "outgoing")]))
        self.assertNotIn(held, queue.search([("state", "=", "outgoing")]))

    def test_stop_cancels_a_held_sms_at_once(self):
        self.at(EVENING_IN_MIAMI)
        held = self.mass_sms(self.miami)
        self.miami._sms_consent_opt_out_number(self.miami.phone_sanitized, "keyword", "STOP")
        self.assertEqual(held.state, "canceled")
        with self.frozen_now(MORNING_IN_MIAMI):
            self.env["sms.sms"].sudo()._process_queue()
        self.assertFalse(self._sms)

    def test_our_senders_hold_it_too(self):
        """A journey's or a reminder's SMS through ``sms.sender`` without a gateway."""
        self.at(EVENING_IN_MIAMI)
        sent = self.env["sms.sender"]._send(
            [SmsRequest(body="Back in stock", partner=self.miami, kind="marketing")]
        )
        self.assertFalse(self._sms)
        self.assertEqual(sent[0].sms.state, "outgoing")
        self.assertEqual(sent[0].sms.sms_journey_send_after, MORNING_IN_MIAMI)
        with self.frozen_now(MORNING_IN_MIAMI):
            self.env["sms.sms"].sudo()._process_queue()
        self.assertEqual(self.sent_numbers(), [self.miami.phone_sanitized])
