"""Legal send windows per destination (issue 24, item 1): the shipped rules, their
model, and the policy applying them with the company's window on every SMS that goes
through the outbox."""

from datetime import datetime, timedelta

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from ..models.sms_sender import SmsRequest
from ..tools import policy
from .common import SmsJourneyCase, marketing_preview

MIAMI = "+13055551234"
SAN_FRANCISCO = "+14155551234"
PARIS = "+33612345678"


@tagged("post_install", "-at_install")
class TestSendRules(SmsJourneyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the legal maximum alone, not the company's own cap
        cls.company.sms_frequency_cap = 0
        cls.florida = cls.env.ref("sms_journey.sms_send_rule_us_florida")

    def contact(self, number, **values):
        partner = self.env["res.partner"].create({"name": f"Contact {number}", "mobile": number,
                                                  **values})  # fmt: skip
        partner._sms_consent_set("opted_in", "staff", "signed form")
        return partner

    def send(self, partner, kind="marketing", body="Spring sale: 20% off"):
        sent = self.env["sms.sender"]._send([SmsRequest(body=body, partner=partner, kind=kind)])
        return sent[0].outbox

    # --- the shipped rules -----------------------------------------------------------

    def test_shipped_rules_cite_their_source(self):
        rules = self.env["sms.send.rule"].search([])
        self.assertEqual(
            set(rules.mapped(lambda r: (r.country_id.code, r.state_id.code or ""))),
            {("US", ""), ("US", "FL"), ("FR", "")},
            "a country without a sourced rule has no row",
        )
        for rule in rules:
            self.assertTrue(rule.source and rule.source_url, rule.name)
        self.assertEqual(self.florida.max_per_day, 3)
        self.assertEqual((self.florida.hour_start, self.florida.hour_end), (8.0, 20.0))

    def test_a_rule_it_cannot_read_is_refused(self):
        with self.assertRaises(ValidationError):
            self.florida.holidays = "12/25"
        with self.assertRaises(ValidationError):
            self.florida.number_prefixes = "305"
        with self.assertRaises(ValidationError):
            self.florida.number_prefixes = False  # a state rule needs its area codes

    def test_sms_users_read_the_rules_and_managers_edit_them(self):
        user = new_test_user(self.env, "sms_user", groups="sms_journey.group_sms_journey_user")
        manager = new_test_user(
            self.env, "sms_manager", groups="sms_journey.group_sms_journey_manager"
        )
        self.assertTrue(self.florida.with_user(user).source)
        with self.assertRaises(AccessError):
            self.florida.with_user(user).max_per_day = 5
        self.florida.with_user(manager).max_per_day = 2
        self.assertEqual(self.florida.max_per_day, 2)

    def test_an_archived_rule_no_longer_applies(self):
        partner = self.contact(MIAMI)
        self.florida.active = False
        with self.frozen_now(datetime(2026, 3, 11, 0, 30)):  # 20:30 in Miami
            self.assertEqual(self.send(partner).due_at, datetime(2026, 3, 11, 0, 30))

    # --- the policy ----------------------------------------------------------------

    def test_florida_at_half_past_eight_in_the_evening_waits_for_the_morning(self):
        partner = self.contact(MIAMI)
        with self.frozen_now(datetime(2026, 3, 11, 0, 30)):  # 20:30 in Miami (EDT)
            message = self.send(partner)
        self.assertEqual(message.state, "queued")
        self.assertEqual(message.due_at, datetime(2026, 3, 11, 12, 0))  # 08:00 in Miami
        self.assertIn("Florida", message.deferred_reason)
        self.assertIn("America/New_York", message.deferred_reason)

    def test_france_is_never_texted_on_a_sunday(self):
        partner = self.contact(PARIS)
        with self.frozen_now(datetime(2026, 3, 8, 10, 0)):  # Sunday 11:00 in Paris
            message = self.send(partner)
        self.assertEqual(message.due_at, datetime(2026, 3, 9, 7, 0))  # Monday 08:00
        with self.frozen_now(datetime(2026, 4, 6, 10, 0)):  # Easter Monday 2026
            message = self.send(partner)
        self.assertEqual(message.due_at, datetime(2026, 4, 7, 6, 0))  # Tuesday 08:00

    def test_a_us_number_without_a_contact_zone_gets_its_area_codes_window(self):
        partner = self.contact(SAN_FRANCISCO)
        self.company.partner_id.tz = "Europe/Rome"
        with self.frozen_now(datetime(2026, 3, 11, 4, 30)):  # 21:30 in San Francisco
            message = self.send(partner)
        self.assertEqual(message.due_at, datetime(2026, 3, 11, 15, 0))  # 08:00 there
        self.assertIn("TCPA", message.deferred_reason)

    def test_the_contacts_zone_wins_over_the_prefix(self):
        partner = self.contact(MIAMI, tz="America/Los_Angeles")
        now = datetime(2026, 3, 11, 0, 30)  # 20:30 in Miami, 17:30 in Los Angeles
        with self.frozen_now(now):
            message = self.send(partner)
        self.assertEqual(message.due_at, now)
        self.assertFalse(message.deferred_reason)

    def test_a_florida_resident_keeps_the_florida_rule_with_another_number(self):
        partner = self.contact(
            SAN_FRANCISCO, state_id=self.env.ref("base.state_us_10").id, tz="America/New_York"
        )
        with self.frozen_now(datetime(2026, 3, 11, 0, 30)):  # 20:30 in New York
            message = self.send(partner)
        self.assertEqual(message.due_at, datetime(2026, 3, 11, 12, 0))
        self.assertIn("Florida", message.deferred_reason)

    def test_the_fourth_marketing_sms_in_a_day_to_florida_is_refused(self):
        partner = self.contact(MIAMI)
        noon = datetime(2026, 3, 10, 16, 0)  # 12:00 in Miami
        for minutes in range(3):
            with self.frozen_now(noon + timedelta(minutes=minutes)):
                self.assertEqual(self.send(partner).state, "queued")
                self.dispatch()
        with self.frozen_now(noon + timedelta(hours=1)):
            fourth = self.send(partner)
        self.assertSmsCanceled(partner, reason=policy.LEGAL_CAP)
        self.assertIn("Florida", fourth.failure_reason)
        self.assertEqual(self.outbox(partner_id=partner.id, state="sent").mapped("state"),
                         ["sent"] * 3)  # fmt: skip
        # a day after the first, one more may go
        with self.frozen_now(noon + timedelta(hours=24, minutes=1)):
            self.assertEqual(self.send(partner).state, "queued")

    def test_transactional_sms_ignore_the_legal_rules(self):
        partner = self.contact(MIAMI)
        night = datetime(2026, 3, 11, 5, 0)  # 01:00 in Miami
        with self.frozen_now(night):
            for _index in range(5):
                message = self.send(partner, kind="transactional", body="Your order shipped")
                self.assertEqual((message.state, message.due_at), ("queued", night))

    def test_the_preview_shows_the_legal_windows_per_recipient(self):
        miami, rome = self.contact(MIAMI), self.contact("+393331234567", tz="Europe/Rome")
        with self.frozen_now(datetime(2026, 3, 11, 0, 30)):  # 20:30 in Miami
            preview = marketing_preview(self.env, miami | rome)
        by_partner = {line.partner_id: line for line in preview.line_ids}
        self.assertIn("Florida", by_partner[miami].legal_windows)
        self.assertIn("America/New_York", by_partner[miami].legal_windows)
        self.assertEqual(by_partner[miami].scheduled_at, datetime(2026, 3, 11, 12, 0))
        self.assertFalse(by_partner[rome].legal_windows, "Italy has no sourced rule")
