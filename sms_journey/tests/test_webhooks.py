import requests

from odoo.tests import tagged

from .common import AUTH_TOKEN, SmsJourneyHttpCase

NUMBER = "+393331234567"


@tagged("post_install", "-at_install")
class TestWebhooks(SmsJourneyHttpCase):
    """Delivery reports and inbound SMS through the real controller over HTTP."""

    def setUp(self):
        super().setUp()
        self.partner.user_id = self.env.ref("base.user_admin")

    def send_and_dispatch(self, body="Your order shipped"):
        self.partner._message_sms(body, partner_ids=self.partner.ids)
        message = self.outbox(partner_id=self.partner.id)[-1:]
        self.dispatch()
        self.assertEqual(message.state, "sent")
        return message

    def inbound_url(self):
        return self.gateway._webhook_url("inbound")

    def reply(self, body, sender=NUMBER, message_id=None):
        status, _text = self.post_inbound(body, sender=sender, message_id=message_id)
        self.assertEqual(status, 200)

    # delivery reports ---------------------------------------------------

    def test_delivered_report_updates_message_and_notification(self):
        message = self.send_and_dispatch()
        status, _text = self.post_status(message, "delivered")
        self.assertEqual(status, 200)
        self.assertEqual(message.state, "delivered")
        self.assertTrue(message.delivered_at)
        notification = self.env["mail.notification"].search(
            [("sms_tracker_ids.sms_uuid", "=", message.sms_uuid)]
        )
        self.assertEqual(notification.notification_status, "sent")  # "Delivered" in Odoo

    def test_failed_report_keeps_reason(self):
        message = self.send_and_dispatch()
        self.post_status(message, "undelivered", error_code="30003")
        self.assertEqual(message.state, "failed")
        self.assertTrue(message.failure_reason)
        notification = self.env["mail.notification"].search(
            [("sms_tracker_ids.sms_uuid", "=", message.sms_uuid)]
        )
        self.assertEqual(notification.notification_status, "exception")

    def test_out_of_order_and_duplicate_reports(self):
        message = self.send_and_dispatch()
        for status in ("delivered", "sent", "delivered", "queued"):
            self.post_status(message, status)
        self.assertEqual(message.state, "delivered")

    def test_forged_or_unsigned_callbacks_are_refused(self):
        message = self.send_and_dispatch()
        self.env.flush_all()
        url = self.gateway._webhook_url("status", ref=message.sms_uuid)
        data = {"MessageSid": message.provider_message_id, "MessageStatus": "delivered"}
        unsigned = requests.post(url, data=data, timeout=10)
        self.assertEqual(unsigned.status_code, 403)
        forged = requests.post(
            url, data=data, headers={"X-Twilio-Signature": "Zm9yZ2Vk"}, timeout=10
        )
        self.assertEqual(forged.status_code, 403)
        inbound = requests.post(
            self.inbound_url(),
            data={"MessageSid": "SMx", "From": NUMBER, "To": "+1500", "Body": "STOP"},
            timeout=10,
        )
        self.assertEqual(inbound.status_code, 403)
        self.env.invalidate_all()
        self.assertEqual(message.state, "sent")
        self.assertEqual(self.partner.sms_consent_state, "unknown")
        self.assertFalse(self.env["sms.interaction"].search([]))

    def test_unknown_gateway_is_404(self):
        response = requests.post(
            self.base_url() + "/sms_journey/999999/inbound", data={}, timeout=10
        )
        self.assertEqual(response.status_code, 404)

    def test_a_changed_gateway_is_seen_by_the_next_webhook(self):
        """The webhook reads its gateway from a cache: a change of the gateway clears it."""
        data = {"MessageSid": "SMcache1", "From": NUMBER, "To": "+1500", "Body": "Hi"}
        self.assertAnswered(self.post_webhook("inbound", data), 200)
        self.gateway.auth_token = "rotated-token"
        data["MessageSid"] = "SMcache2"
        self.assertAnswered(self.post_webhook("inbound", data), 403)  # signed with the old one
        self.gateway.auth_token = AUTH_TOKEN
        self.gateway.active = False
        self.assertAnswered(self.post_webhook("inbound", data), 404)
        self.gateway.active = True
        self.assertAnswered(self.post_webhook("inbound", data), 200)
        stored = self.env["sms.interaction"].search([("number", "=", NUMBER)])
        self.assertEqual(sorted(stored.mapped("provider_message_id")), ["SMcache1", "SMcache2"])
        self.assertEqual(stored.company_id, self.gateway.company_id)

    # inbound --------------------------------------------------------------

    def test_reply_lands_on_partner_chatter_in_thread_order(self):
        self.send_and_dispatch("Can we deliver tomorrow?")
        self.reply("Yes, after 3pm please")
        interaction = self.env["sms.interaction"].search([("number", "=", NUMBER)])
        self.assertEqual(interaction.partner_id, self.partner)
        self.assertEqual(interaction.body, "Yes, after 3pm please")
        self.assertTrue(interaction.outbox_message_id)
        outgoing = self.partner.message_ids.filtered(
            lambda m: m.message_type == "sms" and "Can we deliver tomorrow?" in m.body
        )
        incoming = self.partner.message_ids.filtered(lambda m: "after 3pm" in (m.body or ""))
        self.assertEqual(len(outgoing), 1)
        self.assertEqual(len(incoming), 1)
        self.assertGreater(incoming.id, outgoing.id)  # one thread, in order
        self.assertEqual(incoming.author_id, self.partner)
        # the salesperson is notified
        self.assertIn(self.env.ref("base.user_admin").partner_id, incoming.notified_partner_ids)

    def test_webhook_stores_the_reply_and_the_worker_processes_it(self):
        self.send_and_dispatch("Can we deliver tomorrow?")
        cron = self.env.ref("sms_journey.ir_cron_sms_interaction_process")
        triggers_before = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        status, _text = self.post_inbound("Yes, after 3pm please", process=False)
        self.assertEqual(status, 200)
        interaction = self.env["sms.interaction"].search([("number", "=", NUMBER)])
        # the webhook only stored it and woke the worker up
        self.assertEqual(interaction.pipeline_state, "received")
        self.assertFalse(interaction.partner_id)
        self.assertFalse(interaction.mail_message_id)
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            triggers_before + 1,
        )
        self.assertEqual(self.process_inbound(), interaction)
        self.assertEqual(interaction.pipeline_state, "processed")
        self.assertEqual(interaction.partner_id, self.partner)
        self.assertTrue(interaction.outbox_message_id)
        self.assertIn("after 3pm", interaction.mail_message_id.body)

    def test_same_provider_message_twice_is_recorded_once(self):
        self.reply("Hello", message_id="SMdup0001")
        self.reply("Hello", message_id="SMdup0001")
        self.assertEqual(self.env["sms.interaction"].search_count([("number", "=", NUMBER)]), 1)

    def test_unknown_sender_is_kept_and_can_become_a_contact(self):
        self.reply("Who is this?", sender="+40721000111")
        interaction = self.env["sms.interaction"].search([("number", "=", "+40721000111")])
        self.assertTrue(interaction)
        self.assertFalse(interaction.partner_id)
        interaction.action_create_partner()
        self.assertEqual(interaction.partner_id.phone_sanitized, "+40721000111")
        self.assertIn("Who is this?", interaction.partner_id.message_ids[0].body)

    def test_stop_opts_out_at_once_and_confirms(self):
        self.partner._sms_consent_set("opted_in", "staff", "test")
        for word in ("STOP", "basta", "Dezabonare", "baja", "arrêt", "abmelden"):
            with self.subTest(word=word):
                # subscribed again from the number: staff cannot lift a STOP
                self.partner._sms_consent_set("opted_in", "keyword", "START")
                self.provider.reset()
                self.reply(f"{word} grazie")
                self.assertEqual(self.partner.sms_consent_state, "opted_out")
                self.assertTrue(self.partner.phone_sanitized_blacklisted)
                self.dispatch()
                confirmations = self.received(NUMBER)
                self.assertEqual(len(confirmations), 1, word)
                self.assertIn("unsubscribed", confirmations[0]["body"])

    def test_start_opts_back_in(self):
        self.partner._sms_consent_set("opted_out", "keyword", stop=True)
        self.reply("START")
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        self.assertFalse(self.partner.phone_sanitized_blacklisted)

    def test_help_answers_with_brand_rates_and_support(self):
        self.reply("HELP")
        self.dispatch()
        answer = self.received(NUMBER)[0]["body"]
        self.assertIn("Acme", answer)
        self.assertIn("Msg & data rates may apply", answer)
        self.assertIn("help@acme.test", answer)

    def test_help_is_answered_after_stop(self):
        self.partner._sms_consent_set("opted_out", "keyword", stop=True)
        self.reply("HELP")
        self.dispatch()
        self.assertSmsSent(NUMBER, count=1)
        self.assertIn("Reply STOP", self.received(NUMBER)[0]["body"])

    def test_double_opt_in_yes_records_proof(self):
        self.partner.action_sms_request_consent()
        self.reply("Si")
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        self.assertEqual(self.partner.sms_consent_source, "keyword")
        self.assertIn("Si", self.partner.sms_consent_proof)
        log = self.partner.sms_consent_log_ids[:1]
        self.assertTrue(log.interaction_id)

    def test_yes_without_pending_request_changes_nothing(self):
        self.reply("yes")
        self.assertEqual(self.partner.sms_consent_state, "unknown")
