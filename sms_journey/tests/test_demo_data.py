"""The demo data as a new user meets it: one contact per person, and the demo's SMS
traffic on those contacts. Runs on a database installed with demo data (the demo check
of ``scripts/test.sh``); elsewhere the class says it was skipped and why."""

from collections import Counter

from odoo.tests import TransactionCase, tagged

# Contacts the demo means to share a name or a number with another contact: none today.
SHARED_ON_PURPOSE = frozenset()


@tagged("post_install", "-at_install")
class TestDemoContacts(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.demo_loaded = bool(
            cls.env.ref("sms_journey.res_partner_journey_demo_andrei", raise_if_not_found=False)
        )
        Partner = cls.env["res.partner"].with_context(active_test=False)
        # Our demo's contacts: those with an xml id of ours, and those its functions made
        # (the two months of results) which the demo's SMS traffic reaches.
        cls.demo_contacts = (
            Partner.browse(
                cls.env["ir.model.data"]
                .search([("module", "=", "sms_journey"), ("model", "=", "res.partner")])
                .mapped("res_id")
            )
            | cls.env["sms.gateway.message"].search([]).partner_id
        )
        cls.all_contacts = Partner.search([])

    def setUp(self):
        super().setUp()
        if not self.demo_loaded:
            self.skipTest("sms_journey's demo data is not installed on this database")

    def test_one_contact_per_person(self):
        self.assertGreater(len(self.demo_contacts), 4)
        names = Counter(self.all_contacts.mapped("name"))
        shared_names = {
            name
            for name in self.demo_contacts.mapped("name")
            if names[name] > 1 and name not in SHARED_ON_PURPOSE
        }
        self.assertFalse(shared_names, "demo people with more than one contact")
        numbers = Counter(self.all_contacts.filtered("phone_sanitized").mapped("phone_sanitized"))
        shared_numbers = {
            number
            for number in self.demo_contacts.filtered("phone_sanitized").mapped("phone_sanitized")
            if numbers[number] > 1 and number not in SHARED_ON_PURPOSE
        }
        self.assertFalse(shared_numbers, "numbers of demo contacts shared by several contacts")

    def test_story_refers_to_the_one_andrei(self):
        andrei = self.env.ref("sms_journey.res_partner_journey_demo_andrei")
        cart = self.env.ref("sms_journey.sale_order_journey_demo_cart")
        self.assertEqual(cart.partner_id, andrei)
        self.assertEqual(andrei.sms_consent_state, "opted_in")
        giulia = self.env.ref("sms_journey.res_partner_journey_demo_giulia")
        appointment = self.env.ref("sms_journey.calendar_event_sms_reply_demo")
        self.assertIn(giulia, appointment.partner_ids)

    def test_demo_replies_are_on_their_contacts(self):
        numbers = set(self.demo_contacts.filtered("phone_sanitized").mapped("phone_sanitized"))
        replies = self.env["sms.interaction"].search([])
        self.assertTrue(replies, "the demo ships replies to its SMS")
        unlinked = replies.filtered(lambda r: not r.partner_id and r.number in numbers)
        self.assertFalse(
            unlinked.mapped("number"), "replies from demo contacts' numbers left unknown"
        )
        conversations = self.env["sms.conversation"].search([("partner_id", "=", False)])
        self.assertFalse(
            {c.number for c in conversations} & numbers,
            "Messages → Conversations lists demo contacts as unknown senders",
        )
