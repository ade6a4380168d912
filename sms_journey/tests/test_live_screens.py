"""The live screens: the bus notifications that delivery reports, the dispatch and the
inbound worker leave for the screens showing conversations (``sms_conversation_live.py``):
one per company and batch, on the company's channel, without texts."""

import uuid
from unittest.mock import patch

from odoo.tests import tagged

from ..models.sms_conversation_live import SUBCHANNEL
from ..tools.gateways.base import InboundSms, StatusReport
from .common import NUMBER, SmsJourneyCase, new_company_actors, new_sms_user


@tagged("post_install", "-at_install")
class TestLiveScreens(SmsJourneyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = new_company_actors(cls.env, "live")
        cls.other_gateway = cls.env["sms.gateway"].create(
            dict(
                cls._gateway_values(),
                name="Other company's gateway",
                sender="+15005550007",
                company_id=cls.other.company.id,
            )
        )
        cls.other.company.sms_gateway_id = cls.other_gateway
        cls.customers = cls.env["res.partner"].create(
            [{"name": f"Live customer {n}", "mobile": f"+39333000000{n}"} for n in range(3)]
        )

    def report(self, messages, status):
        """The provider's reports of ``messages`` in one batch (one webhook call)."""
        return self.env["sms.gateway.message"]._process_status_reports(
            self.gateway,
            [
                StatusReport(provider_message_id=m.provider_message_id, status=status)
                for m in messages
            ],
        )

    def test_delivery_reports_notify_the_company_once_per_batch(self):
        sent = self.env["sms.gateway.message"].union(
            *(self.send_on(c, "Your order shipped", partner=c) for c in self.customers)
        )
        self.assertEqual(set(sent.mapped("state")), {"sent"})
        start = self.last_bus_id()
        self.report(sent, "delivered")
        [payload] = self.conversation_notifications(after=start)
        self.assertEqual(
            payload,
            {
                "partner_ids": sorted(self.customers.ids),
                "numbers": sorted(sent.mapped("number")),
                "replies": False,
            },
        )
        self.assertNotIn("Your order shipped", str(payload), "never a text on the bus")
        self.assertFalse(self.conversation_notifications(self.other.company, after=start))

    def test_replayed_report_notifies_nothing(self):
        sent = self.send_on(self.partner, "Your order shipped")
        self.report(sent, "delivered")
        start = self.last_bus_id()
        self.report(sent, "delivered")
        self.report(sent, "sent")  # late and out of order: the message stays delivered
        self.assertEqual(sent.state, "delivered")
        self.assertFalse(self.conversation_notifications(after=start))

    def test_failed_report_notifies(self):
        sent = self.send_on(self.partner, "Your order shipped")
        start = self.last_bus_id()
        self.report(sent, "failed")
        [payload] = self.conversation_notifications(after=start)
        self.assertEqual(payload["partner_ids"], self.partner.ids)
        self.assertEqual(payload["numbers"], [sent.number])

    def test_dispatch_notifies_once_per_batch(self):
        from ..models.sms_sender import SmsRequest

        start = self.last_bus_id()
        queued = self.env["sms.sender"]._send(
            [SmsRequest(body="Hello", partner=customer) for customer in self.customers]
        )
        [payload] = self.conversation_notifications(after=start)
        self.assertEqual(payload["partner_ids"], sorted(self.customers.ids), "queued: shown")
        start = self.last_bus_id()
        self.dispatch()
        self.assertEqual({entry.outbox.state for entry in queued}, {"sent"})
        [payload] = self.conversation_notifications(after=start)
        self.assertEqual(payload["partner_ids"], sorted(self.customers.ids))
        self.assertFalse(payload["replies"])

    def test_processed_replies_notify_their_company_only(self):
        self.send_on(self.partner, "Your order shipped")
        start = self.last_bus_id()
        self.receive("Thanks!", process=False)
        self.assertFalse(self.conversation_notifications(after=start), "stored, not processed")
        self.process_inbound()
        payloads = self.conversation_notifications(after=start)
        self.assertIn(
            {"partner_ids": self.partner.ids, "numbers": [NUMBER], "replies": True},
            payloads,
        )
        self.assertFalse(self.conversation_notifications(self.other.company, after=start))
        # a reply on the other company's gateway: its channel, not ours
        start = self.last_bus_id()
        self.env["sms.interaction"]._receive(
            self.other_gateway,
            InboundSms(
                provider_message_id=f"SM{uuid.uuid4().hex}",
                sender="+393339990000",
                recipient=self.other_gateway.sender,
                body="Hello",
            ),
        )
        self.process_inbound()
        self.assertFalse(self.conversation_notifications(after=start))
        payloads = self.conversation_notifications(self.other.company, after=start)
        self.assertIn({"partner_ids": [], "numbers": ["+393339990000"], "replies": True}, payloads)

    def test_notifying_costs_no_query(self):
        """The reports' batch gathers what changed from what it fetched: the same
        queries with and without the notification (written at commit, one per company)."""
        Conversation = type(self.env["sms.conversation"])

        def queries(customers):
            sent = self.env["sms.gateway.message"].union(
                *(self.send_on(c, "Shipped", partner=c) for c in customers)
            )
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.report(sent, "delivered")
            return self.env.cr.sql_log_count - before

        more = self.env["res.partner"].create(
            [{"name": f"Live other {n}", "mobile": f"+39333000001{n}"} for n in range(3)]
        )
        with patch.object(Conversation, "_notify_changed", lambda *args, **kwargs: None):
            without = queries(more)
        self.assertEqual(queries(self.customers), without)

    def test_only_sms_users_of_the_company_join_its_channel(self):
        Websocket = self.env["ir.websocket"]
        wanted = {self.company.id, self.other.company.id}
        ours = new_sms_user(self.env, "live_ours")
        self.assertEqual(
            Websocket.with_user(ours)._sms_conversation_channels(wanted),
            [(self.company, SUBCHANNEL)],
        )
        self.assertEqual(
            Websocket.with_user(self.other.sms_user)._sms_conversation_channels(wanted),
            [(self.other.company, SUBCHANNEL)],
        )
        salesman = new_sms_user(self.env, "live_salesman", groups="base.group_user")
        self.assertFalse(Websocket.with_user(salesman)._sms_conversation_channels(wanted))
        portal = new_sms_user(self.env, "live_portal", groups="base.group_portal")
        self.assertFalse(Websocket.with_user(portal)._sms_conversation_channels(wanted))

    def test_the_widget_knows_its_contacts_and_numbers(self):
        page = self.partner.sms_conversation_read()
        self.assertEqual(page["partner_ids"], self.partner.ids)
        self.assertEqual(page["numbers"], [NUMBER])
