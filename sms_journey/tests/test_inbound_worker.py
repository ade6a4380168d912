from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from ..models.sms_interaction import STALE_CLAIM, SmsInteraction
from .common import SmsJourneyCase

NUMBER = "+393331234567"
OTHER = "+393337654321"


@tagged("post_install", "-at_install")
class TestInboundWorker(SmsJourneyCase):
    """The inbound worker: claims in arrival order per number, survives a dead worker,
    isolates a reply that fails."""

    def setUp(self):
        super().setUp()
        self.company.sms_courtesy_reply = False

    def test_receive_stores_once_and_processes_later(self):
        first = self.store_inbound("Hello", message_id="SMonce")
        again = self.store_inbound("Hello", message_id="SMonce")
        self.assertEqual(first, again)
        self.assertEqual(first.pipeline_state, "received")
        self.assertFalse(first.partner_id)
        self.assertEqual(self.process_inbound(), first)
        self.assertEqual(first.pipeline_state, "processed")
        self.assertEqual(first.partner_id, self.partner)
        self.assertFalse(self.process_inbound())

    def test_arrival_order_per_number(self):
        first = self.store_inbound("one")
        second = self.store_inbound("two")
        other = self.store_inbound("elsewhere", sender=OTHER)
        # another worker holds the first reply of NUMBER: its later reply waits
        first.write({"pipeline_state": "processing", "claimed_at": fields.Datetime.now()})
        claimed = self.env["sms.interaction"]._claim_received(10)
        self.assertEqual(claimed, other)
        self.assertEqual(second.pipeline_state, "received")
        # once the first is done, the second is next
        first.pipeline_state = "processed"
        self.assertEqual(self.env["sms.interaction"]._claim_received(10), second)

    def test_stale_claim_of_a_dead_worker_is_processed_again(self):
        interaction = self.store_inbound("Hello")
        interaction.write(
            {
                "pipeline_state": "processing",
                "claimed_at": fields.Datetime.now() - STALE_CLAIM - timedelta(minutes=1),
            }
        )
        self.assertEqual(self.process_inbound(), interaction)
        self.assertEqual(interaction.pipeline_state, "processed")
        self.assertEqual(interaction.partner_id, self.partner)
        self.assertEqual(len(interaction.mail_message_id), 1)

    def test_a_failing_reply_does_not_stop_the_others(self):
        bad = self.store_inbound("boom")
        good = self.store_inbound("fine", sender=OTHER)
        run = SmsInteraction._run_pipeline

        def run_or_fail(interaction):
            if interaction.body == "boom":
                self.partner.name = "changed before the error"
                raise ValueError("no way")
            return run(interaction)

        with (
            patch.object(SmsInteraction, "_run_pipeline", run_or_fail),
            self.assertLogs("odoo.addons.sms_journey.models.sms_interaction", "ERROR"),
        ):
            self.process_inbound()
        self.assertEqual(bad.pipeline_state, "failed")
        self.assertIn("no way", bad.last_error)
        self.assertEqual(good.pipeline_state, "processed")
        self.assertNotEqual(self.partner.name, "changed before the error")
