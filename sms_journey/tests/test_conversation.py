from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import SmsJourneyCase, SmsJourneyHttpCase, new_sms_user

T0 = datetime(2026, 3, 2, 10, 0)  # a Monday, 11:00 in Rome
NUMBER = "+393331234567"


@tagged("post_install", "-at_install")
class TestConversation(SmsJourneyHttpCase):
    """One conversation per contact: what we sent, whatever record it was logged on,
    and what the contact answered, in time order."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mute_automatic_answers()
        cls.journey = cls.env["sms.journey"].create({"name": "Abandoned cart test"})
        cls.order = cls.env["sale.order"].create({"partner_id": cls.partner.id})
        cls.event = cls.env["calendar.event"].create(
            {
                "name": "Fitting",
                "start": T0 + timedelta(days=1),
                "stop": T0 + timedelta(days=1, hours=1),
                "partner_ids": [Command.link(cls.partner.id)],
            }
        )

    def at(self, minutes):
        return self.frozen_now(T0 + timedelta(minutes=minutes))

    def cart_reminder_and_reply(self):
        """A journey SMS logged on the order, a reminder logged on the event, a reply."""
        with self.at(0):
            self.send_on(self.order, "Your cart is waiting", journey=self.journey)
        with self.at(5):
            self.event._message_sms("Reminder: fitting tomorrow", partner_ids=self.partner.ids)
            self.dispatch()
        with self.at(10):
            self.receive("See you tomorrow")

    def test_order_event_and_reply_in_one_conversation(self):
        self.cart_reminder_and_reply()
        rows = self.assertConversation(
            self.partner,
            ["Your cart is waiting", "Reminder: fitting tomorrow", "See you tomorrow"],
        )
        cart, reminder, reply = rows
        self.assertEqual((cart["direction"], cart["state"]), ("out", "sent"))
        self.assertEqual(cart["source"]["model"], "sale.order")
        self.assertEqual(cart["source"]["id"], self.order.id)
        self.assertEqual(cart["journey"]["name"], "Abandoned cart test")
        self.assertEqual(reminder["source"]["model"], "calendar.event")
        self.assertEqual((reply["direction"], reply["state"]), ("in", "received"))
        self.assertEqual(reply["source"]["model"], "res.partner")
        # delivery reports move the state on
        self.post_status(self.outbox(body="Your cart is waiting"), "delivered")
        self.assertEqual(self.conversation()["messages"][0]["state"], "delivered")
        # at a glance
        self.partner.invalidate_recordset()
        self.assertEqual((self.partner.sms_sent_count, self.partner.sms_received_count), (2, 1))
        self.assertEqual(self.partner.sms_journey_participant_count, 1)
        self.assertIn("See you tomorrow", self.partner.sms_last_message)

    def test_tour_conversation_and_reply(self):
        self.cart_reminder_and_reply()
        self.start_tour(
            f"/odoo/res.partner/{self.partner.id}", "sms_journey_conversation", login="admin"
        )
        self.env.invalidate_all()
        self.dispatch()
        self.assertSmsSent(NUMBER, "Great, see you at 10")

    def test_pages_newest_at_the_bottom(self):
        for minute in range(5):
            with self.at(minute):
                self.receive(f"message {minute}")
        page = self.conversation(limit=2)
        self.assertTrue(page["has_more"])
        self.assertEqual([r["body"] for r in page["messages"]], ["message 3", "message 4"])
        older = self.partner.sms_conversation_read(offset=2, limit=2)
        self.assertEqual([r["body"] for r in older["messages"]], ["message 1", "message 2"])

    def test_canceled_with_the_policy_reason(self):
        self.partner.action_sms_opt_out()  # STOP: transactional SMS are canceled too
        self.send_on(self.order, "Your order shipped")
        row = self.conversation()["messages"][-1]
        self.assertEqual((row["body"], row["state"]), ("Your order shipped", "canceled"))
        self.assertIn("opted out", row["failure_reason"])

    def test_failed_with_the_provider_reason(self):
        outbox = self.send_on(self.order, "Your order shipped")
        self.post_status(outbox, "undelivered", error_code="30003")
        row = self.conversation()["messages"][-1]
        self.assertEqual(row["state"], "failed")
        self.assertTrue(row["failure_reason"])

    def test_reply_box_sends_through_the_door(self):
        self.receive("Is my order ready?")
        page = self.partner.sms_conversation_send("Yes, come by at 5pm")
        self.assertEqual(page["messages"][-1]["body"], "Yes, come by at 5pm")
        sent = self.outbox(body="Yes, come by at 5pm")
        self.assertEqual((sent.sms_kind, sent.partner_id), ("transactional", self.partner))
        self.assertEqual(sent.mail_message_id.model, "res.partner")
        self.dispatch()
        self.assertSmsSent(NUMBER, "Yes, come by at 5pm")

    def test_reply_box_applies_the_policy(self):
        self.partner.action_sms_opt_out()
        page = self.partner.sms_conversation_send("Are you still interested?")
        self.assertEqual(page["messages"][-1]["state"], "canceled")
        self.dispatch()
        self.assertSmsNotSent(NUMBER)

    def test_number_shared_by_two_contacts(self):
        spouse = self.partner.copy({"name": "Marco Rossi"})
        self.assertEqual(spouse.phone_sanitized, NUMBER)
        with self.at(0):
            self.send_on(self.order, "Order for Giulia")
        with self.at(1):
            self.send_on(spouse, "Hello Marco", partner=spouse)
        bodies = ["Order for Giulia", "Hello Marco"]
        # the number's SMS, whoever they were addressed to: both read the same phone
        self.assertConversation(self.partner, bodies)
        self.assertConversation(spouse, bodies)

    def test_contact_with_phone_and_mobile(self):
        self.partner.phone = "02 1234 5678"  # national, Italian landline
        with self.at(0):
            self.send_on(self.partner, "To the mobile")
        with self.at(1):
            self.receive("From the landline", sender="+390212345678")
        self.assertConversation(self.partner, ["To the mobile", "From the landline"])

    def test_company_and_its_people(self):
        company = self.env["res.partner"].create(
            {"name": "Rossi Srl", "is_company": True, "phone": "+39 02 8765 4321"}
        )
        self.partner.parent_id = company
        with self.at(0):
            self.send_on(company, "Invoice for Rossi Srl", partner=company)
        with self.at(1):
            self.receive("Giulia here")
        # the company sees its own SMS and its people's; a person only their own
        self.assertConversation(company, ["Invoice for Rossi Srl", "Giulia here"])
        self.assertConversation(self.partner, ["Giulia here"])

    def test_unknown_number_linked_later(self):
        stranger = "+393339999999"
        self.company.sms_courtesy_reply = "Acme: thanks, we got your message."
        with self.at(0):
            reply = self.receive("Hi, who is this?", sender=stranger)
        self.assertFalse(reply.partner_id)
        courtesy = self.outbox(number=stranger)
        self.assertTrue(courtesy, "the courtesy reply went to the unknown number")
        self.assertConversation(self.partner, [])
        reply.link_partner(self.partner)
        self.assertConversation(
            self.partner, ["Hi, who is this?", "Acme: thanks, we got your message."]
        )

    def test_sent_through_odoo_iap(self):
        self.company.sms_gateway_id = False
        with self.at(0), self.mock_iap():
            self.order._message_sms("Sent by IAP", partner_ids=self.partner.ids)
        row = self.assertConversation(self.partner, ["Sent by IAP"])[0]
        self.assertEqual((row["state"], row["source"]["model"]), ("sent", "sale.order"))

    def test_multi_company(self):
        other = self.env["res.company"].create(
            {"name": "Other Co", "country_id": self.company.country_id.id}
        )
        other_gateway = self.env["sms.gateway"].create(
            dict(self._gateway_values(), name="Other gateway", company_id=other.id)
        )
        other.sms_gateway_id = other_gateway
        with self.at(0):
            self.send_on(self.partner, "From Acme")
        with self.at(1):
            self.env["sms.sender"].with_company(other)._send([self._request("From Other Co")])
        mine = new_sms_user(self.env, "conv_one_company")
        both = new_sms_user(self.env, "conv_two_companies")
        both.company_ids |= other
        self.assertConversation(self.partner, ["From Acme"], user=mine)
        self.assertConversation(
            self.partner.with_context(allowed_company_ids=[self.company.id, other.id]),
            ["From Acme", "From Other Co"],
            user=both,
        )

    def _request(self, body):
        from ..models.sms_sender import SmsRequest

        return SmsRequest(body=body, partner=self.partner)

    def test_salesperson_without_sms_rights_sees_no_conversation(self):
        self.receive("Hello")
        salesperson = new_test_user(
            self.env, login="conv_sales", groups="base.group_user,sales_team.group_sale_salesman"
        )
        with self.assertRaises(AccessError):
            self.partner.with_user(salesperson).sms_conversation_read()
        with self.assertRaises(AccessError):
            self.partner.with_user(salesperson).sms_conversation_send("Hi")
        self.assertTrue(self.conversation(user=new_sms_user(self.env, "conv_sms_user"))["messages"])


@tagged("post_install", "-at_install")
class TestConversationInbox(SmsJourneyCase):
    """The inbox: the contacts and unknown numbers that wrote, unread first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mute_automatic_answers()
        cls.salesman = new_sms_user(cls.env, "conv_inbox_sales")
        cls.partner.user_id = cls.salesman
        cls.other = cls.env["res.partner"].create({"name": "Other", "mobile": "+393330000001"})

    def inbox(self, domain=(), user=None):
        model = self.env["sms.conversation"]
        return (model.with_user(user) if user else model).search(list(domain))

    def test_unread_first_assigned_to_me_and_done(self):
        with self.frozen_now(T0):
            self.receive("First")
        with self.frozen_now(T0 + timedelta(minutes=1)):
            self.receive("From the other", sender="+393330000001")
        with self.frozen_now(T0 + timedelta(minutes=2)):
            self.receive("Second")
        inbox = self.inbox()
        self.assertEqual(inbox.partner_id, self.partner | self.other)
        mine = inbox.filtered(lambda c: c.partner_id == self.partner)
        self.assertEqual((mine.reply_count, mine.unread_count, mine.last_body), (2, 2, "Second"))
        self.assertEqual(inbox[0], mine, "the latest unread conversation comes first")
        self.assertEqual(self.inbox([("user_id", "=", self.salesman.id)], self.salesman), mine)
        mine.action_mark_done()
        inbox = self.inbox()
        self.assertEqual(inbox[0].partner_id, self.other, "unread before read")
        self.assertFalse(inbox[1].has_unread)
        self.assertEqual(mine.action_open()["res_id"], self.partner.id)

    def test_unanswered_reply_reminds_the_salesperson(self):
        self.company.sms_reply_reminder_hours = 2.0
        with self.frozen_now(T0):
            self.receive("Can you call me?")
            self.receive("From the other", sender="+393330000001")  # no salesperson
        activities = self.partner.activity_ids
        with self.frozen_now(T0 + timedelta(minutes=30)):
            self.env["sms.interaction"]._cron_remind_unanswered()
        self.assertFalse(self.partner.activity_ids)
        with self.frozen_now(T0 + timedelta(days=1)):
            self.env["sms.interaction"]._cron_remind_unanswered()
            self.env["sms.interaction"]._cron_remind_unanswered()
        reminder = self.partner.activity_ids - activities
        self.assertEqual(len(reminder), 1, "one reminder, once")
        self.assertEqual(reminder.user_id, self.salesman)
        self.assertFalse(self.other.activity_ids)

    def test_unknown_number_becomes_a_contact(self):
        self.receive("Hello?", sender="+393339999999")
        self.receive("Anyone?", sender="+393339999999")
        unknown = self.inbox([("partner_id", "=", False)])
        self.assertEqual((unknown.number, unknown.reply_count), ("+393339999999", 2))
        action = unknown.action_create_partner()
        partner = self.env["res.partner"].browse(action["res_id"])
        self.assertEqual(self.inbox([("partner_id", "=", partner.id)]).reply_count, 2)
        self.assertConversation(partner, ["Hello?", "Anyone?"])

    def test_unknown_number_linked_to_a_contact(self):
        self.receive("It's Giulia from my office phone", sender="+390298765432")
        unknown = self.inbox([("partner_id", "=", False)])
        wizard = (
            self.env["sms.conversation.link"]
            .with_context(**unknown.action_link_partner()["context"])
            .create({"partner_id": self.partner.id})
        )
        wizard.action_link()
        self.assertFalse(self.inbox([("partner_id", "=", False)]))
        self.assertConversation(self.partner, ["It's Giulia from my office phone"])

    def test_other_company_and_no_sms_rights(self):
        self.receive("Hello")
        salesperson = new_test_user(
            self.env,
            login="conv_inbox_plain",
            groups="base.group_user,sales_team.group_sale_salesman",
        )
        with self.assertRaises(AccessError):
            self.inbox(user=salesperson)
        other = self.env["res.company"].create({"name": "Other Co"})
        elsewhere = new_sms_user(self.env, "conv_inbox_other")
        elsewhere.write({"company_ids": [Command.set(other.ids)], "company_id": other.id})
        self.assertFalse(self.inbox(user=elsewhere))
