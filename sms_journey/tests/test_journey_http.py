from datetime import datetime

from odoo.tests import tagged

from .common import LINK, JourneyCaseMixin, SmsJourneyHttpCase

T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestJourneyHttp(JourneyCaseMixin, SmsJourneyHttpCase):
    """Clicks through the short-link route and replies through the inbound webhook."""

    def test_click_route_and_reply_webhook(self):
        journey = self.make_journey([self.sms_step(self.tpl_link)], end_on_click=True)
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        trace = self.traces(journey)
        with self.frozen_now(T0):
            self.dispatch()
        self.assertEqual(len(self.received("+393331234567")), 1)
        self.assertIn(f"/j/{trace.id}", self.received("+393331234567")[0]["body"])
        self.post_status(trace.outbox_message_id, "delivered")
        self.assertEqual(trace.sms_state, "delivered")
        self.env["sms.result.snapshot"]._refresh()  # as the cron does
        journey.invalidate_recordset()
        self.assertEqual(journey.delivered_count, 1)
        self.assertEqual(journey.sent_count, 1)
        self.assertGreater(journey.cost, 0)
        # the reply lands on the trace through the real webhook
        status, _text = self.post_inbound("Yes please", message_id="SMjourney1")
        self.assertEqual(status, 200)
        self.env.invalidate_all()
        self.assertTrue(trace.replied_at)
        self.assertEqual(trace.reply_body, "Yes please")
        interaction = self.env["sms.interaction"].search(
            [("provider_message_id", "=", "SMjourney1")]
        )
        self.assertEqual(interaction.sms_journey_participant_id, trace.participant_id)
        # the click: recorded on the trace, redirected to the original URL
        code, trace_id, signature = LINK.search(trace.body).groups()
        self.env.flush_all()
        # a guessed trace id with a link of another SMS counts for nobody
        other = self.env["link.tracker"].create({"url": "https://other.example.com", "title": "x"})
        self.url_open(f"/r/{other.code}/j/{trace_id}/{signature}", allow_redirects=False)
        self.env.invalidate_all()
        self.assertFalse(trace.clicked_at)
        response = self.url_open(f"/r/{code}/j/{trace_id}/{signature}", allow_redirects=False)
        self.assertEqual(response.status_code, 301)
        self.assertIn("shop.example.com/promo", response.headers["Location"])
        self.env.invalidate_all()
        self.assertTrue(trace.clicked_at)
        self.assertEqual(trace.participant_id.state, "completed")
        click = self.env["link.tracker.click"].search([("sms_journey_trace_id", "=", trace.id)])
        self.assertEqual(len(click), 1)
