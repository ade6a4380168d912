"""Odoo's Twilio sends at once, with no outbox of ours: a marketing SMS whose
destination's legal send window is closed stays in Odoo's queue and is posted to Twilio
by the queue's cron when the window opens (``sms_journey`` ``policy.Rules.legal_hold``)."""

from datetime import datetime
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import TransactionCase, tagged

from .common import OdooTwilioCompanyMixin

EVENING_IN_MIAMI = datetime(2026, 3, 11, 0, 30)  # 20:30: Florida allows 8:00-20:00
MORNING_IN_MIAMI = datetime(2026, 3, 11, 12, 0)  # 08:00


@tagged("post_install", "-at_install")
class TestTwilioLegalHold(OdooTwilioCompanyMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls._customer("Miami", "+1 305 555 0142", "base.us")
        cls.partner._sms_consent_set("opted_in", "web_form", "form")

    def at(self, moment):
        return freeze_time(moment), patch.object(self.env.cr, "now", lambda: moment)

    def test_held_in_odoos_queue_until_the_window_opens(self):
        clock, cr_now = self.at(EVENING_IN_MIAMI)
        with clock, cr_now, self.mock_sms_twilio_send():
            self.env["sms.composer"].with_context(
                default_composition_mode="mass",
                default_res_model="res.partner",
                default_res_ids=self.partner.ids,
            ).create({"body": "Spring sale", "mass_force_send": True}).action_send_sms()
            self.assertFalse(self._sms, "nothing posted to Twilio at 20:30 in Miami")
        held = self.env["sms.sms"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual(held.state, "outgoing")
        self.assertEqual(held.sms_journey_send_after, MORNING_IN_MIAMI)
        clock, cr_now = self.at(MORNING_IN_MIAMI)
        with clock, cr_now, self.mock_sms_twilio_send():
            self.env["sms.sms"].sudo()._process_queue()
            self.assertEqual([sms["number"] for sms in self._sms], ["+13055550142"])
