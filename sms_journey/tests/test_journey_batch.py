from datetime import datetime
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SmsJourneyCase
from .test_journey_engine import LINK, JourneyCaseMixin

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
        journey._create_participants(
            [{"partner_id": self.partner.id, "key": key, "moment": T0} for key in ("a", "b")]
        )
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

        def failing(self_, step, items, advance=True):
            if any(item["participant"].partner_id == other for item in items):
                raise ValueError("broken")
            return send_batch(self_, step, items, advance=advance)

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
