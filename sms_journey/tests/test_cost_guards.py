"""Cost guards (issue 24, item 4): the destinations a gateway may send to, the price per
segment by destination country, and the company's monthly marketing budget."""

from datetime import datetime

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from ..models.sms_sender import SmsRequest
from ..tools import policy
from .common import SmsJourneyCase, marketing_preview

ROME = "+393331234567"
NEW_YORK = "+12125551234"
# 12:00 in Rome, 06:00 in New York: inside every window
MORNING = datetime(2026, 6, 15, 10, 0)
# the next month starts at midnight in the company's zone (UTC here); the SMS waits
# for 08:00 in Rome
NEXT_MONTH_MORNING = datetime(2026, 7, 1, 6, 0)


@tagged("post_install", "-at_install")
class TestCostGuards(SmsJourneyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sms_frequency_cap = 0  # the budget alone
        cls.company.partner_id.tz = "UTC"
        cls.italy, cls.usa = cls.env.ref("base.it"), cls.env.ref("base.us")
        cls.partner._sms_consent_set("opted_in", "staff", "signed form")
        cls.american = cls.env["res.partner"].create(
            {"name": "Sam Jones", "mobile": NEW_YORK, "country_id": cls.usa.id}
        )

    def send(self, kind, partner=None, body=None):
        sent = self.env["sms.sender"]._send(
            [SmsRequest(body=body or f"A {kind} SMS", partner=partner or self.partner, kind=kind)]
        )
        return sent[0].outbox

    # --- allowed destinations ------------------------------------------------------

    def test_a_destination_outside_the_allow_list_is_canceled_whatever_the_kind(self):
        self.gateway.allowed_country_ids = self.italy
        with self.frozen_now(MORNING):
            for kind in policy.KINDS:
                message = self.send(kind, partner=self.american)
                self.assertEqual(message.state, "canceled", kind)
                self.assertEqual(message.error_code, policy.DESTINATION_NOT_ALLOWED)
                self.assertEqual(message.cost, 0.0)
                self.assertEqual(
                    message.failure_reason, "Destination not allowed by the gateway: United States"
                )
            allowed = self.send("transactional")
            self.dispatch()
        self.assertSmsNotSent(NEW_YORK)
        self.assertEqual(allowed.state, "sent")
        self.assertSmsCanceled(self.american, reason=policy.DESTINATION_NOT_ALLOWED)

    def test_an_allow_list_changed_before_dispatch_cancels_the_queued_sms(self):
        with self.frozen_now(MORNING):
            queued = self.send("transactional", partner=self.american)
            self.assertEqual(queued.state, "queued", "an empty list allows every country")
            self.gateway.allowed_country_ids = self.italy
            self.dispatch()
        self.assertEqual(queued.state, "canceled")
        self.assertEqual(queued.error_code, policy.DESTINATION_NOT_ALLOWED)
        self.assertIn("United States", queued.failure_reason)
        self.assertSmsNotSent(NEW_YORK)

    def test_a_new_gateway_allows_its_company_and_sender_countries(self):
        self.company.country_id = self.usa
        form = Form(self.env["sms.gateway"])
        form.name = "Italian numbers"
        self.assertEqual(form.allowed_country_ids[:], self.usa)
        form.sender = "+393401234567"
        self.assertEqual(set(form.allowed_country_ids[:]), {self.usa, self.italy})

    # --- price per destination country ------------------------------------------------

    def test_the_price_of_the_destination_country_is_used_by_the_outbox_and_preview(self):
        self.gateway.price_ids = [
            Command.create({"country_id": self.italy.id, "price_per_segment": 0.05})
        ]
        with self.frozen_now(MORNING):
            italian = self.send("transactional", body="Your order shipped")
            american = self.send("transactional", partner=self.american, body="Shipped")
            self.assertEqual(italian.cost, 0.05)
            self.assertEqual(american.cost, 0.01, "other countries: the gateway's price")
            preview = marketing_preview(self.env, self.partner)
        self.assertEqual(preview.line_ids.mapped("cost"), [0.05])

    # --- the monthly marketing budget ---------------------------------------------------

    def test_the_budget_holds_marketing_at_100_percent_and_lets_transactional_through(self):
        self.company.sms_marketing_budget = 0.02  # two SMS at 0.01
        with self.frozen_now(MORNING):
            marketing = [self.send("marketing", body=f"Offer {i}") for i in range(3)]
            self.assertEqual({m.state for m in marketing}, {"queued"})
            self.dispatch()
            self.assertEqual([m.state for m in marketing], ["sent", "sent", "queued"])
            held = marketing[2]
            self.assertEqual(held.due_at, NEXT_MONTH_MORNING)
            self.assertIn("budget", held.deferred_reason)
            # spent: the next one waits from the enqueue on; transactional ones go
            later = self.send("marketing", body="Offer 3")
            self.assertEqual(later.due_at, NEXT_MONTH_MORNING)
            transactional = self.send("transactional", body="Your order shipped")
            self.dispatch()
        self.assertEqual(transactional.state, "sent")
        self.assertEqual((held.state, later.state), ("queued", "queued"))
        with self.frozen_now(NEXT_MONTH_MORNING):
            self.dispatch()
        self.assertEqual((held.state, later.state), ("sent", "sent"), "a new month's budget")

    def test_raising_the_budget_releases_what_it_held(self):
        self.company.sms_marketing_budget = 0.01
        with self.frozen_now(MORNING):
            first, second = (self.send("marketing", body=f"Offer {i}") for i in range(2))
            self.dispatch()
            self.assertEqual((first.state, second.state), ("sent", "queued"))
            self.assertEqual(second.due_at, NEXT_MONTH_MORNING)
            self.company.sms_marketing_budget = 0.02
            self.assertEqual(second.due_at, MORNING)
            self.dispatch()
        self.assertEqual(second.state, "sent")

    def test_the_80_percent_activity_is_created_once_for_sms_managers(self):
        manager = new_test_user(
            self.env, login="budget_manager", groups="sms_journey.group_sms_journey_manager"
        )
        new_test_user(self.env, login="budget_user", groups="sms_journey.group_sms_journey_user")
        self.company.sms_marketing_budget = 0.05
        activities = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", self.company.partner_id.id)]
        )
        with self.frozen_now(MORNING):
            for i in range(3):
                self.send("marketing", body=f"Offer {i}")
            self.dispatch()  # 0.03: 60 %
            self.assertFalse(activities.search([("id", "not in", activities.ids),
                                                ("summary", "like", "budget")]))  # fmt: skip
            self.send("marketing", body="Offer 3")
            self.dispatch()  # 0.04: 80 %
            self.send("marketing", body="Offer 4")
            self.dispatch()  # 0.05: 100 %
        new = self.env["mail.activity"].search(
            [("id", "not in", activities.ids), ("res_id", "=", self.company.partner_id.id),
             ("res_model", "=", "res.partner")]
        )  # fmt: skip
        managers = self.env.ref("sms_journey.group_sms_journey_manager").users.filtered(
            lambda user: user.active and not user.share
        )
        self.assertIn(manager, new.user_id)
        self.assertEqual(new.user_id, managers, "one activity per SMS manager, no one else")
        self.assertEqual(len(new), len(managers), "once a month")
        self.assertIn("80 %", new[0].summary)

    # --- who may change them ------------------------------------------------------------

    def test_only_sms_managers_edit_the_cost_guards(self):
        sms_user = new_test_user(
            self.env, login="guard_user", groups="sms_journey.group_sms_journey_user"
        )
        admin = new_test_user(self.env, login="guard_admin", groups="base.group_system")
        manager = new_test_user(
            self.env,
            login="guard_manager",
            groups="sms_journey.group_sms_journey_manager,base.group_system",
        )
        for user in (sms_user, admin):
            with self.assertRaises(AccessError):
                self.gateway.with_user(user).write({"allowed_country_ids": self.italy.ids})
            with self.assertRaises(AccessError):
                self.company.with_user(user).write({"sms_marketing_budget": 100})
        with self.assertRaises(AccessError):
            self.env["sms.gateway.price"].with_user(sms_user).create(
                {"gateway_id": self.gateway.id, "country_id": self.italy.id,
                 "price_per_segment": 0.1}
            )  # fmt: skip
        self.gateway.with_user(manager).write(
            {"allowed_country_ids": self.italy.ids,
             "price_ids": [Command.create({"country_id": self.italy.id,
                                           "price_per_segment": 0.05})]}
        )  # fmt: skip
        self.company.with_user(manager).write({"sms_marketing_budget": 100})
        self.assertEqual(self.gateway.allowed_country_ids, self.italy)
        self.assertEqual(self.company.sms_marketing_budget, 100)
