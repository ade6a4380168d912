from datetime import datetime, timedelta
from unittest.mock import patch

import lxml.html

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.sms.tools.sms_tools import sms_content_to_rendered_html

from ..tools.gateways.base import StatusReport
from ..tools.journey import Candidate
from .common import LINK, JourneyCaseMixin, SmsJourneyCase, assert_same_message

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window


@tagged("post_install", "-at_install")
class TestJourneyBatch(JourneyCaseMixin, SmsJourneyCase):
    """The step cron sends the SMS of a step in one batch, as Odoo's mass SMS do."""

    def _journey(self, partners, template=None):
        journey = self.make_journey(
            [self.sms_step(template)],
            audience_domain=f"[('id', 'in', {partners.ids})]",
        )
        with self.frozen_now(T0):
            journey.action_start()
        return journey

    def test_batch_sends_one_sms_and_one_log_per_participant(self):
        partners = self.partner | self.make_partner("Marco", "+39 333 765 4321")
        partners |= self.make_partner("Luca", "+39 333 111 2222", consent=False)
        journey = self._journey(partners, self.tpl_link)
        self.run_crons(T0)
        traces = self.traces(journey)
        self.assertEqual(len(traces), 3)
        sent = traces.filtered(lambda t: t.state == "sent")
        self.assertEqual(sent.partner_id, partners[:2])
        skipped = traces - sent
        self.assertIn("consent", skipped.skip_reason)
        for trace in traces:
            # each SMS carries its own trace id in its links
            self.assertEqual(int(LINK.search(trace.body).group(2)), trace.id)
            outbox = trace.outbox_message_id
            self.assertEqual(outbox.sms_uuid, trace.sms_uuid)
            self.assertEqual(outbox.body, trace.body)
            self.assertEqual(outbox.sms_kind, "marketing")
            # the chatter shows the SMS, with a notification tracked by the SMS uuid
            message = outbox.mail_message_id
            self.assertEqual((message.model, message.res_id), ("res.partner", trace.partner_id.id))
            self.assertEqual(message.message_type, "sms")
            notification = message.notification_ids
            self.assertEqual(notification.res_partner_id, trace.partner_id)
            self.assertEqual(notification.sms_tracker_ids.sms_uuid, trace.sms_uuid)
        self.assertEqual(skipped.outbox_message_id.state, "canceled")
        self.assertTrue(skipped.outbox_message_id.mail_message_id.notification_ids.failure_reason)
        # one shortened link shared by the batch
        codes = {LINK.search(trace.body).group(1) for trace in traces}
        self.assertEqual(len(codes), 1)
        with self.frozen_now(T0):
            self.dispatch()
        self.assertIn(f"/j/{sent[0].id}", self.received("+393331234567")[0]["body"])

    def test_same_contact_twice_in_a_batch(self):
        journey = self._journey(self.partner)
        journey.sms_kind = "transactional"
        journey._create_participants([Candidate(self.partner.id, key, T0) for key in ("a", "b")])
        self.run_crons(T0)
        traces = self.traces(journey, state="sent")
        self.assertGreaterEqual(len(traces), 2)
        messages = traces.outbox_message_id.mail_message_id
        self.assertEqual(len(messages), len(traces), "one chatter message per SMS")

    def test_broken_participant_leaves_alone(self):
        other = self.make_partner("Marco", "+39 333 765 4321")
        journey = self._journey(self.partner | other)
        Participant = type(self.env["sms.journey.participant"])
        send_batch = Participant._send_sms_batch

        def failing(self_, step, items):
            if any(item.participant.partner_id == other for item in items):
                raise ValueError("broken")
            return send_batch(self_, step, items)

        with (
            patch.object(Participant, "_send_sms_batch", failing),
            mute_logger("odoo.addons.sms_journey.models.sms_journey_participant"),
        ):
            self.run_crons(T0)
        mine = journey.participant_ids.filtered(lambda p: p.partner_id == self.partner)
        broken = journey.participant_ids - mine
        self.assertEqual(self.traces(journey, partner_id=self.partner.id).state, "sent")
        self.assertEqual(mine.state, "completed")
        self.assertEqual(broken.state, "exited")
        self.assertEqual(self.traces(journey, partner_id=other.id).state, "skipped")
        self.assertFalse(self.outbox(partner_id=other.id))

    def test_chatter_notifications_follow_the_sms(self):
        """The bulk path writes the notifications in their state (queued: processing;
        canceled: the reason) and their trackers move them with the delivery reports."""
        refused = self.make_partner("Luca", "+39 333 111 2222", consent=False)
        journey = self._journey(self.partner | refused)
        self.run_crons(T0)
        sent = self.traces(journey, state="sent")
        skipped = self.traces(journey, state="skipped")
        notification = sent.outbox_message_id.mail_message_id.notification_ids
        self.assertEqual(notification.notification_status, "process")
        self.assertEqual(notification.sms_number, "+393331234567")
        self.assertEqual(sent.outbox_message_id.template_id, self.tpl_hello)
        self.assertEqual(sent.sms_state, "queued")
        self.assertAlmostEqual(sent.cost, 0.01)
        self.assertEqual(sent.participant_id.last_sms_at, T0)
        self.assertEqual(sent.participant_id.state, "completed")
        self.assertFalse(skipped.participant_id.last_sms_at)
        canceled = skipped.outbox_message_id.mail_message_id.notification_ids
        self.assertEqual(canceled.notification_status, "canceled")
        self.assertEqual(canceled.failure_type, "sms_optout")
        self.assertEqual(canceled.failure_reason, skipped.skip_reason)
        with self.frozen_now(T0):
            self.dispatch()
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual(sent.sms_state, "sent")
        outbox = sent.outbox_message_id
        self.env["sms.gateway.message"]._process_status_reports(
            self.gateway,
            [StatusReport(provider_message_id=outbox.provider_message_id, status="delivered")],
        )
        self.assertEqual(notification.notification_status, "sent")
        self.assertEqual(sent.sms_state, "delivered")

    def test_log_rows_are_odoos(self):
        """The journey's one-INSERT chatter log writes what ``_message_log_batch`` does."""
        partner = self.partner
        text = (
            'Hi Giulia & <co>, it\'s "ok"\n'
            "see https://shop.example.com/r/abc/j/5?a=1&b=2 now\n\nbye"
        )
        ours = partner._sms_journey_log_batch({partner.id: text})
        odoo = partner._message_log_batch(
            bodies={partner.id: sms_content_to_rendered_html(text)}, message_type="sms"
        )
        assert_same_message(self, ours, odoo)
        self.assertIn('<a href="https://shop.example.com/r/abc/j/5?a=1&amp;b=2"', ours.body)
        self.assertIn(ours, partner.message_ids)
        # no sanitiser on this path: a crafted link in a rendered field stays inert
        evil = partner._sms_journey_log_batch({partner.id: 'see https://x.y/?a="onclick="alert(1)'})
        link = lxml.html.fragment_fromstring(str(evil.body)).find("a")
        self.assertEqual(sorted(link.attrib), ["href", "rel", "target"])
        self.assertEqual(link.get("href"), 'https://x.y/?a="onclick="alert(1)')

    def test_company_without_gateway_uses_odoos_sms(self):
        """Without a gateway the journey's SMS go through sms.sms to Odoo's IAP."""
        self.company.sms_gateway_id = False
        journey = self._journey(self.partner)
        journey.sms_kind = "transactional"
        with patch(
            "odoo.addons.sms.tools.sms_api.SmsApi._send_sms_batch",
            side_effect=lambda messages, **kw: [
                {"uuid": number["uuid"], "state": "success", "credit": 1}
                for message in messages
                for number in message["numbers"]
            ],
        ) as iap:
            self.run_crons(T0)
        self.assertEqual(iap.call_count, 1)
        trace = self.traces(journey)
        self.assertEqual(trace.state, "sent")
        self.assertFalse(trace.outbox_message_id)
        self.assertFalse(self.outbox(partner_id=self.partner.id))
        notification = (
            self.env["sms.tracker"].search([("sms_uuid", "=", trace.sms_uuid)]).mail_notification_id
        )
        self.assertEqual(notification.notification_status, "pending")

    def test_failed_journey_sms_can_be_resent_from_the_chatter(self):
        """A journey SMS has no sms.sms: Odoo's resend wizard on its failed chatter
        notification makes a new SMS, queued in the outbox like any other."""
        journey = self._journey(self.partner)
        self.run_crons(T0)
        outbox = self.traces(journey).outbox_message_id
        self.provider.fail_next(kind="invalid_number")
        with self.frozen_now(T0):
            self.dispatch()
        self.assertEqual(outbox.state, "failed")
        message = outbox.mail_message_id
        self.assertEqual(message.notification_ids.notification_status, "exception")
        with self.frozen_now(T0):
            wizard = self.env["sms.resend"].with_context(default_mail_message_id=message.id)
            wizard.create({}).action_resend()
        again = self.outbox(partner_id=self.partner.id) - outbox
        self.assertEqual(again.mail_message_id, message)
        self.assertEqual(again.state, "queued")
        with self.frozen_now(T0 + timedelta(days=1)):
            self.dispatch()
        self.assertEqual(again.state, "sent")
        self.assertEqual(len(self.received("+393331234567")), 1)
