from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from ..models.sms_interaction import LINGER, STALE_CLAIM, WAKE_UP_WINDOW
from ..models.sms_sender import SmsRequest
from ..tools.inbound_batch import InboundBatch
from .common import SmsJourneyCase, assert_same_message

NUMBER = "+393331234567"
OTHER = "+393337654321"
THIRD = "+393339999999"
# the inbound worker logs what fails in its batches
WORKER_LOG = "odoo.addons.sms_journey.models.sms_interaction_worker"


# What each reply costs on its own in the worker: its savepoint (2 round trips). Its
# processed state, courtesy mark and customer facts are written with its batch, the
# keyword rules and the courtesy check are looked up per batch; the batch steps
# (contacts, chatter, answers, surveys, journeys, mailings, courtesy replies already
# sent) come on top, once.
PER_REPLY_QUERIES = 2


class Killed(BaseException):
    """What a SIGKILL does to the worker's transaction: nothing after it is committed
    (not an Exception, so no savepoint of the worker catches it)."""


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
        first._pipeline_write({"pipeline_state": "processing", "claimed_at": fields.Datetime.now()})
        claimed = self.env["sms.interaction"]._claim_received(10)
        self.assertEqual(claimed, other)
        self.assertEqual(second.pipeline_state, "received")
        # once the first is done, the second is next
        first._pipeline_write({"pipeline_state": "processed"})
        self.assertEqual(self.env["sms.interaction"]._claim_received(10), second)

    def test_stale_claim_of_a_dead_worker_is_processed_again(self):
        interaction = self.store_inbound("Hello")
        interaction._pipeline_write(
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
        SmsInteraction = type(self.env["sms.interaction"])
        run = SmsInteraction._run_pipeline

        def run_or_fail(interaction, batch):
            if interaction.body == "boom":
                self.partner.name = "changed before the error"
                raise ValueError("no way")
            return run(interaction, batch)

        with (
            patch.object(SmsInteraction, "_run_pipeline", run_or_fail),
            self.assertLogs(WORKER_LOG, "ERROR"),
        ):
            self.process_inbound()
        self.assertEqual(bad.pipeline_state, "failed")
        self.assertIn("no way", bad.last_error)
        self.assertEqual(good.pipeline_state, "processed")
        self.assertNotEqual(self.partner.name, "changed before the error")

    def test_a_reply_failing_late_sends_nothing(self):
        """A reply that fails after queueing its answers and its chatter post: both are
        dropped with its savepoint; the batch's other replies are answered."""
        self.company.sms_courtesy_reply = "Acme: thanks, we got your message."
        other = self.env["res.partner"].create({"name": "Other", "mobile": OTHER})
        bad = self.store_inbound("boom")
        good = self.store_inbound("fine", sender=OTHER)
        SmsInteraction = type(self.env["sms.interaction"])
        run = SmsInteraction._run_pipeline

        def run_then_fail(interaction, batch):
            run(interaction, batch)
            if interaction.body == "boom":
                raise ValueError("late failure")

        with (
            patch.object(SmsInteraction, "_run_pipeline", run_then_fail),
            self.assertLogs(WORKER_LOG, "ERROR"),
        ):
            self.process_inbound()
        self.assertEqual((bad.pipeline_state, good.pipeline_state), ("failed", "processed"))
        self.assertFalse(bad.mail_message_id)
        self.assertTrue(good.mail_message_id)
        outbox = self.env["sms.gateway.message"]
        self.assertFalse(outbox.search_count([("number", "=", NUMBER)]))
        self.assertEqual(outbox.search_count([("number", "=", OTHER)]), 1)
        # what the batch records together follows the same split
        self.assertEqual((bad.courtesy_sent, good.courtesy_sent), (False, True))
        self.assertFalse(self.partner.last_interaction_date)
        self.assertEqual(other.last_interaction_date, good.received_at)

    def test_contacts_with_several_replies_in_a_batch(self):
        """Every contact of the batch replied twice: each reply is posted on its
        contact's chatter, in arrival order, without the batch failing."""
        self.env["res.partner"].create({"name": "Other", "mobile": OTHER})
        replies = self.env["sms.interaction"]
        for body in ("one", "two"):
            replies |= self.store_inbound(body) | self.store_inbound(body, sender=OTHER)
        with self.assertNoLogs(WORKER_LOG, "ERROR"):
            self.process_inbound()
        self.assertEqual(set(replies.mapped("pipeline_state")), {"processed"})
        self.assertEqual(len(replies.mail_message_id), 4)
        for reply in replies:
            self.assertIn(reply.body, reply.mail_message_id.body)
            self.assertEqual(reply.mail_message_id.res_id, reply.partner_id.id)

    def test_one_wake_up_per_window(self):
        """The webhook books one wake-up of the worker per window, not one per reply."""
        cron = self.env.ref("sms_journey.ir_cron_sms_interaction_process")
        triggers = self.env["ir.cron.trigger"].sudo()
        triggers.search([("cron_id", "=", cron.id)]).unlink()
        interaction = self.store_inbound("one", message_id="SMw1")
        self.store_inbound("two", sender=OTHER)
        self.store_inbound("one", message_id="SMw1")  # replayed: nothing booked
        self.assertEqual(triggers.search_count([("cron_id", "=", cron.id)]), 1)
        self.assertTrue(interaction._wake_up_booked(WAKE_UP_WINDOW + LINGER))
        triggers.search([("cron_id", "=", cron.id)]).unlink()
        self.assertFalse(interaction._wake_up_booked(WAKE_UP_WINDOW + LINGER))

    def test_worker_killed_mid_batch_loses_nothing(self):
        """Killed in the middle of a batch, the worker committed nothing of it: once its
        claims are stale another worker processes each reply exactly once."""
        self.company.sms_courtesy_reply = "Acme: thanks, we got your message."
        self.env["res.partner"].create(
            [{"name": "Other", "mobile": OTHER}, {"name": "Third", "mobile": THIRD}]
        )
        replies = (
            self.store_inbound("one")
            | self.store_inbound("two", sender=OTHER)
            | self.store_inbound("three", sender=THIRD)
        )
        Interaction = self.env["sms.interaction"].sudo()
        claimed = Interaction._claim_received(10)  # committed before any work
        self.assertEqual(claimed, replies)
        SmsInteraction = type(Interaction)
        run = SmsInteraction._process_received
        calls = []

        def killed_at_the_second(interaction, batch):
            calls.append(interaction)
            if len(calls) == 2:
                raise Killed
            return run(interaction, batch)

        with (
            patch.object(SmsInteraction, "_process_received", killed_at_the_second),
            self.assertRaises(Killed),
            self.env.cr.savepoint(),  # the batch's transaction, never committed
        ):
            claimed._process_batch()
        self.env.invalidate_all()
        self.assertEqual(set(replies.mapped("pipeline_state")), {"processing"})
        self.assertFalse(replies.mail_message_id)
        numbers = [NUMBER, OTHER, THIRD]
        outbox = self.env["sms.gateway.message"]
        self.assertFalse(outbox.search([("number", "in", numbers)]))
        # not before the claims are stale: the worker might only be slow
        self.assertFalse(self.process_inbound())
        with self.frozen_now(fields.Datetime.now() + STALE_CLAIM + timedelta(minutes=1)):
            self.assertEqual(self.process_inbound(), replies)
        self.assertEqual(set(replies.mapped("pipeline_state")), {"processed"})
        self.assertEqual(len(replies.mail_message_id), 3)
        self.assertTrue(all(replies.mapped("courtesy_sent")))
        courtesy = outbox.search([("number", "in", numbers)])
        self.assertEqual(sorted(courtesy.mapped("number")), sorted(numbers))

    def test_answers_failing_together_are_sent_one_by_one(self):
        self.company.sms_courtesy_reply = "Acme: thanks, we got your message."
        replies = self.store_inbound("one") | self.store_inbound("two", sender=OTHER)
        send = type(self.env["sms.sender"])._send

        def fails_for_two(sender, requests, **kwargs):
            if len(requests) > 1:
                raise ValueError("the batch is refused")
            return send(sender, requests, **kwargs)

        with (
            patch.object(type(self.env["sms.sender"]), "_send", fails_for_two),
            self.assertLogs(WORKER_LOG, "ERROR"),
        ):
            self.process_inbound()
        self.assertEqual(set(replies.mapped("pipeline_state")), {"processed"})
        outbox = self.env["sms.gateway.message"].search([("number", "in", [NUMBER, OTHER])])
        self.assertEqual(len(outbox), 2)

    def test_batch_posts_what_message_post_posts(self):
        """A batch's chatter messages are the ones ``message_post`` writes (values and
        notifications), in arrival order, before the answers."""
        salesman = self.env["res.users"].create(
            {"name": "Sam Sales", "login": "sam.sales", "email": "sam@acme.test"}
        )
        self.partner.user_id = salesman
        other = self.env["res.partner"].create({"name": "Other", "mobile": OTHER})
        self.company.sms_courtesy_reply = "Acme: thanks, we got your message."
        first = self.store_inbound("first of two")
        alone = self.store_inbound("Hello there", sender=OTHER)
        second = self.store_inbound("second of two")
        self.process_inbound()
        batch = alone.mail_message_id
        self.assertEqual(batch.author_id, other)
        # the contact with two replies in the batch: posted one by one, in order
        self.assertLess(first.mail_message_id.id, second.mail_message_id.id)
        self.assertIn(salesman.partner_id, first.mail_message_id.notification_ids.res_partner_id)
        answer = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", other.id), ("message_type", "=", "sms")]
        )
        self.assertGreater(answer.id, batch.id)  # the answer comes after the reply
        # the same reply through message_post (the path outside the worker)
        alone._pipeline_write({"mail_message_id": False})
        alone._post_on_chatter()
        assert_same_message(self, batch, alone.mail_message_id)

    def test_batch_notifies_the_salesperson(self):
        salesman = self.env["res.users"].create(
            {"name": "Sam Sales", "login": "sam.sales", "email": "sam@acme.test"}
        )
        self.partner.user_id = salesman
        interaction = self.store_inbound("Is my order ready?")
        self.process_inbound()
        message = interaction.mail_message_id
        self.assertEqual(message.partner_ids, salesman.partner_id)
        self.assertEqual(message.notification_ids.res_partner_id, salesman.partner_id)


@tagged("post_install", "-at_install")
class TestInboundWorkerQueries(SmsJourneyCase):
    """The inbound worker's batch steps cost the same queries for N and 10×N replies;
    what runs per reply (its savepoint, chatter post, journeys, rules) stays bounded."""

    def setUp(self):
        super().setUp()
        self.company.sms_courtesy_reply = "Acme: thanks, we got your message."
        self.offset = iter(range(0, 10**6, 10_000))

    def claim(self, count):
        first = next(self.offset)
        partners = self.bulk_partners(count, prefix=f"Replier{first}", start=first)
        for partner in partners:
            self.store_inbound("See you tomorrow", sender=partner.phone_sanitized)
        claimed = self.env["sms.interaction"].sudo()._claim_received(count)
        self.assertEqual(len(claimed), count)
        return claimed

    def test_senders_and_answers_in_batch(self):
        root = self.env.ref("base.partner_root").id

        def run(count):
            claimed = self.claim(count)
            with self.count_queries() as resolve:
                claimed._resolve_senders()
            self.assertTrue(all(claimed.mapped("partner_id")))
            batch = InboundBatch()
            for interaction in claimed:
                request = SmsRequest(
                    body="Thanks",
                    partner=interaction.partner_id,
                    number=interaction.number,
                    author_id=root,
                )
                batch.answer(interaction, request)
            with self.count_queries() as send:
                claimed._send_replies(batch)
            outbox = self.env["sms.gateway.message"].search_count(
                [("number", "in", claimed.mapped("number")), ("body", "=", "Thanks")]
            )
            self.assertEqual(outbox, count)
            return resolve[0] + send[0]

        self.assertQueriesFlat(run, 20, 200)

    def test_whole_batch_per_reply_cost(self):
        def run(count):
            claimed = self.claim(count)
            with self.count_queries() as queries:
                claimed._process_batch()
            self.assertEqual(set(claimed.mapped("pipeline_state")), {"processed"})
            self.assertTrue(all(claimed.mapped("courtesy_sent")))
            return queries[0]

        few, many = run(20), run(200)
        per_reply = (many - few) / 180
        self.assertLessEqual(per_reply, PER_REPLY_QUERIES, f"20: {few}, 200: {many} queries")
