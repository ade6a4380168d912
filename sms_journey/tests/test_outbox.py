from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.tests import tagged

from ..models import sms_gateway_message_dispatch
from .common import SmsJourneyCase, new_sms_mailing

NUMBER = "+393331234567"


@tagged("post_install", "-at_install")
class TestOutboxCompliance(SmsJourneyCase):
    """Consent, quiet hours and caps hold at send time."""

    def send(self, partner=None, body="Hello from Acme", kind="transactional"):
        partner = partner or self.partner
        with self.env["sms.sms"]._sms_journey_source(kind):
            partner._message_sms(body, partner_ids=partner.ids)
        return self.outbox(partner_id=partner.id)[-1:]

    def test_marketing_without_consent_is_canceled_with_reason(self):
        with self.frozen_now(datetime(2026, 6, 15, 10, 0)):
            message = self.send(kind="marketing")
        self.assertEqual(message.state, "canceled")
        self.assertEqual(message.error_code, "no_consent")
        self.assertIn("consent", message.failure_reason)
        notification = self.env["mail.notification"].search(
            [("sms_tracker_ids.sms_uuid", "=", message.sms_uuid)]
        )
        self.assertEqual(notification.notification_status, "canceled")
        self.assertIn("consent", notification.failure_reason)
        self.dispatch()
        self.assertFalse(self.received())

    def test_marketing_with_consent_inside_window_goes_out(self):
        self.partner._sms_consent_set("opted_in", "staff", "test")
        with self.frozen_now(datetime(2026, 6, 15, 10, 0)):
            message = self.send(kind="marketing")
            self.assertEqual(message.state, "queued")
            self.dispatch()
        self.assertEqual(message.state, "sent")
        self.assertEqual([m["body"] for m in self.received(NUMBER)], ["Hello from Acme"])

    def test_quiet_hours_defer_to_next_local_morning(self):
        self.partner._sms_consent_set("opted_in", "staff", "test")
        # 20:30 UTC is 22:30 in Rome (CEST): wait for 08:00 Rome = 06:00 UTC.
        with self.frozen_now(datetime(2026, 6, 15, 20, 30)):
            message = self.send(kind="marketing")
            self.dispatch()
        self.assertEqual(message.state, "queued")
        self.assertEqual(message.due_at, datetime(2026, 6, 16, 6, 0))
        self.assertIn("quiet hours", message.deferred_reason)
        self.assertFalse(self.received())
        with self.frozen_now(datetime(2026, 6, 16, 6, 0)):
            self.dispatch()
        self.assertEqual(message.state, "sent")

    def test_quiet_hours_follow_recipient_time_zone(self):
        new_yorker = self.env["res.partner"].create(
            {"name": "Jo", "mobile": "+1 212 555 0142", "tz": "America/New_York"}
        )
        (self.partner | new_yorker)._sms_consent_set("opted_in", "staff", "test")
        # 11:00 UTC: 13:00 in Rome (allowed), 07:00 in New York (too early).
        with self.frozen_now(datetime(2026, 6, 15, 11, 0)):
            rome = self.send(kind="marketing")
            ny = self.send(new_yorker, kind="marketing")
        self.assertEqual(rome.due_at, datetime(2026, 6, 15, 11, 0))
        self.assertEqual(ny.due_at, datetime(2026, 6, 15, 12, 0))

    def test_time_zone_from_number_when_partner_has_none(self):
        partner = self.env["res.partner"].create({"name": "Ion", "mobile": "+40 721 234 567"})
        partner._sms_consent_set("opted_in", "staff", "test")
        # 19:30 UTC is 22:30 in Bucharest (EEST): deferred to 08:00 = 05:00 UTC.
        with self.frozen_now(datetime(2026, 6, 15, 19, 30)):
            message = self.send(partner, kind="marketing")
        self.assertEqual(message.due_at, datetime(2026, 6, 16, 5, 0))

    def test_transactional_skips_quiet_hours_and_caps(self):
        with self.frozen_now(datetime(2026, 6, 15, 23, 0)):
            first = self.send()
            second = self.send()
            self.dispatch()
        self.assertEqual((first | second).mapped("state"), ["sent", "sent"])

    def test_frequency_cap_defers_second_marketing_sms(self):
        self.partner._sms_consent_set("opted_in", "staff", "test")
        with self.frozen_now(datetime(2026, 6, 15, 10, 0)):
            first = self.send(kind="marketing")
            second = self.send(body="Another offer", kind="marketing")
            self.dispatch()
        self.assertEqual(first.state, "sent")
        self.assertEqual(second.state, "queued")
        self.assertEqual(second.due_at, datetime(2026, 6, 16, 10, 0))
        self.assertIn("frequency cap", second.deferred_reason)

    def test_frequency_cap_skip_policy(self):
        self.company.sms_frequency_cap_policy = "skip"
        self.partner._sms_consent_set("opted_in", "staff", "test")
        with self.frozen_now(datetime(2026, 6, 15, 10, 0)):
            self.send(kind="marketing")
            second = self.send(body="Another offer", kind="marketing")
        self.assertEqual(second.state, "canceled")
        self.assertEqual(second.error_code, "frequency_cap")

    def test_opted_out_number_gets_no_transactional_sms(self):
        self.partner._sms_consent_set("opted_out", "keyword", stop=True)
        message = self.send()
        self.assertEqual(message.state, "canceled")
        self.assertEqual(message.error_code, "opted_out")

    def test_essential_sms_reaches_opted_out_number(self):
        self.partner._sms_consent_set("opted_out", "keyword", stop=True)
        message = self.send(body="Your code is 1234", kind="essential")
        self.dispatch()
        self.assertEqual(message.state, "sent")

    def test_invalid_number_is_canceled_with_clear_reason(self):
        partner = self.env["res.partner"].create({"name": "Bad", "mobile": "12"})
        message = self.send(partner)
        self.assertEqual(message.state, "canceled")
        self.assertEqual(message.error_code, "invalid_number")
        self.assertTrue(message.failure_reason)

    def test_mass_mailing_sms_is_marketing(self):
        mailing = new_sms_mailing(
            self.env, "Summer sale!", self.partner, sms_allow_unsubscribe=False
        )
        mailing.action_send_sms()
        self.env["sms.sms"]._process_queue()
        message = self.outbox(partner_id=self.partner.id)
        self.assertEqual(message.sms_kind, "marketing")
        self.assertEqual(message.error_code, "no_consent")


@tagged("post_install", "-at_install")
class TestOutboxDispatch(SmsJourneyCase):
    """Sending through the provider: happy path, errors, retries, claims."""

    def queue(self, body="Your order shipped"):
        self.partner._message_sms(body, partner_ids=self.partner.ids)
        return self.outbox(partner_id=self.partner.id)[-1:]

    def simulate_crash(self, message):
        """The worker died after the request: the result was never recorded."""
        message.write(
            {
                "state": "sending",
                "provider_message_id": False,
                "claimed_at": datetime.now() - timedelta(hours=1),
            }
        )

    def test_chatter_sms_goes_through_gateway(self):
        message = self.queue()
        self.assertEqual(message.state, "queued")
        self.dispatch()
        self.assertEqual(message.state, "sent")
        self.assertTrue(message.provider_message_id)
        sent = self.received(NUMBER)
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["body"], "Your order shipped")
        self.assertEqual(sent[0]["from"], "+15005550006")
        self.assertIn(f"/sms_journey/{self.gateway.id}/status", sent[0]["status_callback"])
        notification = self.env["mail.notification"].search(
            [("sms_tracker_ids.sms_uuid", "=", message.sms_uuid)]
        )
        self.assertEqual(notification.notification_status, "pending")
        self.assertAlmostEqual(message.cost, 0.01)

    def test_dispatch_never_sends_twice(self):
        self.queue()
        self.dispatch()
        self.dispatch()
        self.assertEqual(len(self.received(NUMBER)), 1)

    def test_invalid_number_at_provider_fails_at_once(self):
        self.provider.fail_next(kind="invalid_number")
        message = self.queue()
        self.dispatch()
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_code, "invalid_number")
        self.assertTrue(message.failure_reason)
        notification = self.env["mail.notification"].search(
            [("sms_tracker_ids.sms_uuid", "=", message.sms_uuid)]
        )
        self.assertEqual(notification.notification_status, "exception")
        self.assertEqual(notification.failure_type, "sms_number_format")

    def test_opted_out_at_provider_fails_and_records_opt_out(self):
        self.provider.fail_next(kind="opted_out")
        message = self.queue()
        self.dispatch()
        self.assertEqual(message.state, "failed")
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertEqual(self.partner.sms_consent_source, "provider")

    def test_auth_error_fails_at_once(self):
        self.provider.fail_next(kind="auth")
        message = self.queue()
        self.dispatch()
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_code, "auth")

    def test_temporary_errors_retry_with_backoff(self):
        for kind in ("rate_limited", "server_error", "timeout"):
            with self.subTest(kind=kind):
                self.provider.reset()
                self.provider.fail_next(kind=kind)
                # Odoo's test mode raises request time-outs below 10 s to 10 s.
                self.provider.timeout_sleep = 10.5
                now = datetime(2026, 6, 15, 10, 0)
                with self.frozen_now(now):
                    message = self.queue()
                    self.dispatch()
                self.assertEqual(message.state, "queued")
                self.assertEqual(message.error_code, kind)
                self.assertGreater(message.due_at, now)
                self.assertLessEqual(message.due_at, now + timedelta(hours=1))
                with self.frozen_now(message.due_at):
                    self.dispatch()
                self.assertEqual(message.state, "sent")
                self.assertEqual(message.attempts, 2)

    def test_retries_stop_at_the_limit(self):
        self.gateway.max_attempts = 2
        self.provider.fail_next(kind="server_error", times=5)
        now = datetime(2026, 6, 15, 10, 0)
        with self.frozen_now(now):
            message = self.queue()
            self.dispatch()
        with self.frozen_now(message.due_at):
            self.dispatch()
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.attempts, 2)

    def test_stale_claim_is_reconciled_not_resent(self):
        """A worker died after the request: the provider has it, we mark it sent."""
        message = self.queue()
        self.dispatch()
        self.assertEqual(len(self.received(NUMBER)), 1)
        self.simulate_crash(message)
        self.env["sms.gateway.message"]._cron_reconcile()
        self.assertEqual(message.state, "sent")
        self.assertTrue(message.provider_message_id)
        self.dispatch()
        self.assertEqual(len(self.received(NUMBER)), 1)

    def test_stale_claim_held_queued_at_provider_is_not_resent(self):
        """Beyond the sender's MPS Twilio holds accepted messages queued, without a
        DateSent: the lookup after a crash must find them all the same."""
        self.provider.queue_hold = 3600
        self.addCleanup(setattr, self.provider, "queue_hold", 0)
        message = self.queue()
        self.dispatch()
        [held] = self.received(NUMBER)
        self.assertEqual((held["status"], held["date_sent"]), ("queued", None))
        self.simulate_crash(message)
        self.env["sms.gateway.message"]._cron_reconcile()
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.provider_message_id, held["sid"])
        self.dispatch()
        self.assertEqual(len(self.received(NUMBER)), 1)

    def test_queueing_wakes_every_dispatch_lane(self):
        lanes = self.env.ref("sms_journey.ir_cron_sms_gateway_dispatch") | self.env.ref(
            "sms_journey.ir_cron_sms_gateway_dispatch_lane_2"
        )
        self.env["ir.cron.trigger"].search([("cron_id", "in", lanes.ids)]).unlink()
        self.queue()
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "in", lanes.ids)])
        self.assertEqual(triggers.cron_id, lanes)

    def test_a_run_sends_what_the_rate_allows_in_its_budget(self):
        self.gateway.rate_limit = 2
        budget = timedelta(seconds=5)
        self.assertEqual(self.gateway._dispatch_quota(500, budget), 10)
        self.assertEqual(self.gateway._dispatch_quota(4, budget), 4)
        self.assertEqual(self.gateway._dispatch_quota(500, timedelta(0)), 1)

    def test_a_lane_out_of_time_gives_its_thread_back(self):
        """A lane whose budget is spent with messages left books its next run instead
        of asking Odoo to run it again at once on the same cron thread."""
        lane = self.env.ref("sms_journey.ir_cron_sms_gateway_dispatch")
        messages = self.queue("one") | self.queue("two") | self.queue("three")
        triggers = self.env["ir.cron.trigger"]
        triggers.search([("cron_id", "=", lane.id)]).unlink()
        with patch.object(sms_gateway_message_dispatch, "DISPATCH_BUDGET", timedelta(0)):
            sent = self.env["sms.gateway.message"].with_context(cron_id=lane.id)._cron_dispatch()
        self.assertEqual(len(sent), 1)  # one claim: the quota of a spent budget
        self.assertEqual(sorted(messages.mapped("state")), ["queued", "queued", "sent"])
        self.assertTrue(triggers.search_count([("cron_id", "=", lane.id)]))
        self.dispatch()  # with time left, a run sends all that is due
        self.assertEqual(set(messages.mapped("state")), {"sent"})

    def test_workers_book_consecutive_sending_windows(self):
        """Workers share the account's rate: each booked window starts where the one
        booked before ends, on the database's clock."""
        from ..models.sms_gateway import book_send_window

        registry, cr = self.env.registry, self.env.cr
        self.assertEqual(book_send_window(registry, self.gateway.id, 0.5, cr), 0.0)
        second = book_send_window(registry, self.gateway.id, 0.5, cr)
        third = book_send_window(registry, self.gateway.id, 0.5, cr)
        self.assertAlmostEqual(second, 0.5, delta=0.1)
        self.assertAlmostEqual(third, 1.0, delta=0.1)
        other = self.gateway.copy()
        self.assertEqual(book_send_window(registry, other.id, 0.5, cr), 0.0)
        self.assertEqual(self.gateway._shared_rate().rate, self.gateway.rate_limit)

    def test_stale_claim_not_at_provider_is_queued_again(self):
        message = self.queue()
        message._claim_due(10)
        message.claimed_at = datetime.now() - timedelta(hours=1)
        self.env["sms.gateway.message"]._cron_reconcile()
        self.assertEqual(message.state, "queued")
        self.dispatch()
        self.assertEqual(len(self.received(NUMBER)), 1)

    def test_without_gateway_odoo_iap_path_is_untouched(self):
        self.company.sms_gateway_id = False
        with self.mock_iap() as calls:
            self.partner._message_sms("Via IAP", partner_ids=self.partner.ids)
        self.assertEqual(len(calls), 1)
        self.assertFalse(self.outbox(partner_id=self.partner.id))


@tagged("post_install", "-at_install")
class TestOutboxDispatchTwilio(TestOutboxDispatch):
    """The dispatch suite again with the Twilio provider code (same wire format)."""

    gateway_code = "twilio"
    allow_inherited_tests_method = True  # Odoo's loader skips inherited tests otherwise
