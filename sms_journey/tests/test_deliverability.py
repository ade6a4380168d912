"""Deliverability: the report of failures, the gateway failure-rate alert, and the
marketing suppression of numbers that fail permanently several times in a row."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models.sms_sender import SmsRequest
from ..tools.gateways.base import StatusReport
from .common import SmsJourneyCase, new_sms_user

NUMBER = "+393331234567"


@tagged("post_install", "-at_install")
class TestDeliverability(SmsJourneyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner._sms_consent_set("opted_in", "api", "test")
        cls.company.write({"sms_frequency_cap": 0, "sms_send_window_start": 0.0,
                           "sms_send_window_end": 24.0})  # fmt: skip

    def send(self, kind="transactional", body="Hello"):
        sent = self.env["sms.sender"]._send(
            [SmsRequest(body=body, partner=self.partner, thread=self.partner, kind=kind)]
        )[0]
        self.dispatch()
        return sent.outbox

    def report(self, outbox, status, code=None, error="invalid_number"):
        self.env["sms.gateway.message"]._process_status_reports(
            self.gateway,
            [
                StatusReport(
                    provider_message_id=outbox.provider_message_id,
                    status=status,
                    error_code=error if status == "failed" else None,
                    error_message=f"Twilio error {code}" if code else None,
                    provider_error_code=code,
                )
            ],
        )

    def fail(self, code="30005", error="invalid_number"):
        outbox = self.send()
        self.report(outbox, "failed", code, error)
        return outbox

    def test_outbox_stores_country_and_carrier_code(self):
        outbox = self.fail("30006")
        self.assertEqual(outbox.destination_country, "IT")
        self.assertEqual(outbox.provider_error_code, "30006")
        self.assertTrue(outbox.permanent_failure)
        temporary = self.fail("30003", "not_delivered")
        self.assertFalse(temporary.permanent_failure)

    def test_report_rows(self):
        self.fail("30005")
        self.fail("30003", "not_delivered")
        delivered = self.send()
        self.report(delivered, "delivered")
        self.env.flush_all()
        rows = self.env["sms.deliverability.report"].search([("gateway_id", "=", self.gateway.id)])
        by_code = {row.provider_error_code: row for row in rows}
        self.assertEqual(by_code["30005"].failed_count, 1)
        self.assertTrue(by_code["30005"].permanent_failure)
        self.assertEqual(by_code["30003"].failed_count, 1)
        self.assertEqual(by_code[False].delivered_count, 1)
        self.assertEqual(sum(rows.mapped("sent_count")), 3)
        self.assertEqual(set(rows.mapped("country_id.code")), {"IT"})
        self.assertTrue(all(rows.mapped("day")))
        # an SMS user reads it
        user = new_sms_user(self.env, "deliver_reader")
        totals = (
            self.env["sms.deliverability.report"]
            .with_user(user)
            .read_group([], ["failed_count:sum"], ["gateway_id"])
        )
        self.assertEqual(totals[0]["failed_count"], 2)

    def test_suppressed_after_permanent_failures_in_a_row(self):
        self.company.sms_suppress_after_failures = 3
        self.fail()
        self.fail()
        self.fail("30003", "not_delivered")  # temporary: neither counts nor resets
        self.assertFalse(self.partner.sms_suppressed_number)
        self.fail()
        self.assertEqual(self.partner.sms_suppressed_number, NUMBER)
        self.assertIn("3 permanent delivery failures", self.partner.sms_suppressed_reason)
        # marketing refused, transactional still sent
        self.provider.reset()
        self.send(kind="marketing", body="Promo")
        self.assertSmsCanceled(partner=self.partner, reason="undeliverable")
        self.assertSmsNotSent(NUMBER)
        self.send(kind="transactional", body="Your order shipped")
        self.assertSmsSent(NUMBER, "Your order shipped")

    def test_delivery_in_between_resets(self):
        self.company.sms_suppress_after_failures = 3
        self.fail()
        self.fail()
        self.report(self.send(), "delivered")
        self.fail()
        self.fail()
        self.assertFalse(self.partner.sms_suppressed_number)
        self.fail()
        self.assertEqual(self.partner.sms_suppressed_number, NUMBER)

    def test_lift_by_manager_only(self):
        self.company.sms_suppress_after_failures = 1
        self.fail()
        self.assertEqual(self.partner.sms_suppressed_number, NUMBER)
        user = new_sms_user(self.env, "deliver_user")
        with self.assertRaises(AccessError):
            self.partner.with_user(user).action_sms_lift_suppression()
        with self.assertRaises(AccessError):
            self.partner.with_user(user).write({"sms_suppressed_number": False})
        manager = new_sms_user(
            self.env, "deliver_manager", groups="sms_journey.group_sms_journey_manager"
        )
        self.partner.with_user(manager).action_sms_lift_suppression()
        self.assertFalse(self.partner.sms_suppressed_number)
        self.assertIn("lifted by Deliver_Manager", self.partner.message_ids[0].body)
        self.provider.reset()
        self.send(kind="marketing", body="Promo again")
        self.assertSmsSent(NUMBER, "Promo again")

    def test_failures_before_the_lift_no_longer_count(self):
        self.company.sms_suppress_after_failures = 2
        before = self.fail() | self.fail()
        # sent an hour before the lift
        before.write({"sent_at": fields.Datetime.now() - timedelta(hours=1)})
        self.assertEqual(self.partner.sms_suppressed_number, NUMBER)
        manager = new_sms_user(
            self.env, "deliver_lifter", groups="sms_journey.group_sms_journey_manager"
        )
        self.partner.with_user(manager).action_sms_lift_suppression()
        self.fail()
        self.assertFalse(self.partner.sms_suppressed_number)
        self.fail()
        self.assertEqual(self.partner.sms_suppressed_number, NUMBER)

    def test_failure_rate_activity_once_per_gateway_and_day(self):
        self.company.write({"sms_failure_alert_rate": 10, "sms_failure_alert_min_volume": 5})
        manager = new_sms_user(
            self.env, "deliver_alert", groups="sms_journey.group_sms_journey_manager"
        )
        for _i in range(4):
            self.report(self.send(), "delivered")
        self.fail("30007", "rejected")
        Activity = self.env["mail.activity"]
        domain = [("user_id", "=", manager.id), ("summary", "ilike", self.gateway.name)]
        self.env["sms.gateway"]._cron_deliverability_alerts()
        self.assertEqual(Activity.search_count(domain), 1)
        self.env["sms.gateway"]._cron_deliverability_alerts()
        self.assertEqual(Activity.search_count(domain), 1)

    def test_no_alert_below_volume(self):
        self.company.write({"sms_failure_alert_rate": 10, "sms_failure_alert_min_volume": 50})
        self.fail("30007", "rejected")
        self.env["sms.gateway"]._cron_deliverability_alerts()
        self.assertFalse(self.gateway.failure_alert_date)
