from datetime import date, datetime

from odoo import Command
from odoo.tests import tagged

from .common import PartnerActivityMixin, SmsJourneyCase, SmsJourneyHttpCase


@tagged("post_install", "-at_install")
class TestPartnerActivity(PartnerActivityMixin, SmsJourneyCase):
    def test_orders_set_dates_and_stages(self):
        partner = self.Partner.create({"name": "Anna"})
        self.assertEqual(partner.journey_stage, "first_contact")
        quote = self.order(partner)
        self.assertEqual(partner.journey_stage, "orientation")
        self.assertFalse(partner.first_order_date)

        with self.frozen_now(datetime(2024, 1, 10, 9, 30)):
            quote.action_confirm()
        self.assertEqual(partner.first_order_date, date(2024, 1, 10))
        self.assertEqual(partner.last_order_date, date(2024, 1, 10))
        self.assertEqual(partner.last_interaction_date, datetime(2024, 1, 10, 9, 30))
        self.assertEqual(partner.last_activity_date, date(2024, 1, 10))
        self.assertEqual(partner.journey_stage, "interaction")

        # A repeat order within the loyalty window.
        self.order(partner, confirm_at=datetime(2024, 6, 1, 12, 0))
        self.assertEqual(partner.first_order_date, date(2024, 1, 10))
        self.assertEqual(partner.last_order_date, date(2024, 6, 1))
        self.assertEqual(partner.last_activity_date, date(2024, 6, 1))
        self.assertEqual(partner.journey_stage, "loyalty")

    def test_repeat_outside_loyalty_window(self):
        partner = self.Partner.create({"name": "Bruno"})
        self.order(partner, confirm_at=datetime(2022, 1, 1, 10, 0))
        self.order(partner, confirm_at=datetime(2023, 6, 1, 10, 0))
        self.assertEqual(partner.journey_stage, "interaction")
        self.company.sms_loyalty_window_days = 600
        self.order(partner, confirm_at=datetime(2024, 1, 1, 10, 0))
        self.assertEqual(partner.journey_stage, "loyalty")

    def test_expansion_is_never_downgraded(self):
        partner = self.Partner.create({"name": "Carla", "journey_stage": "expansion"})
        self.order(partner)
        self.order(partner, confirm_at=datetime(2024, 3, 1, 10, 0))
        self.assertEqual(partner.journey_stage, "expansion")
        self.assertEqual(partner.first_order_date, date(2024, 3, 1))

    def test_cancel_recomputes_order_dates_only(self):
        partner = self.Partner.create({"name": "Dario"})
        self.order(partner, confirm_at=datetime(2024, 1, 1, 10, 0))
        second = self.order(partner, confirm_at=datetime(2024, 2, 1, 10, 0))
        self.assertEqual(partner.journey_stage, "loyalty")
        second.with_context(disable_cancel_warning=True).action_cancel()
        self.assertEqual(second.state, "cancel")
        self.assertEqual(partner.last_order_date, date(2024, 1, 1))
        # The confirmation still was an interaction, and stages never go back.
        self.assertEqual(partner.last_interaction_date, datetime(2024, 2, 1, 10, 0))
        self.assertEqual(partner.last_activity_date, date(2024, 2, 1))
        self.assertEqual(partner.journey_stage, "loyalty")

    def test_commercial_partner_rule(self):
        company = self.Partner.create({"name": "Acme SpA", "is_company": True})
        alice = self.Partner.create({"name": "Alice", "parent_id": company.id})
        bob = self.Partner.create({"name": "Bob", "parent_id": company.id})
        self.order(alice, confirm_at=datetime(2024, 1, 5, 10, 0))
        self.order(bob, confirm_at=datetime(2024, 3, 5, 10, 0))
        self.assertEqual(alice.first_order_date, date(2024, 1, 5))
        self.assertEqual(alice.last_order_date, date(2024, 1, 5))
        self.assertEqual(alice.journey_stage, "interaction")
        self.assertEqual(bob.first_order_date, date(2024, 3, 5))
        # The company sees the orders of all its contacts.
        self.assertEqual(company.first_order_date, date(2024, 1, 5))
        self.assertEqual(company.last_order_date, date(2024, 3, 5))
        self.assertEqual(company.journey_stage, "loyalty")
        alice._sms_touch_interaction(datetime(2024, 4, 1, 8, 0))
        self.assertEqual(company.last_interaction_date, datetime(2024, 4, 1, 8, 0))
        self.assertEqual(bob.last_interaction_date, datetime(2024, 3, 5, 10, 0))

    def test_order_created_confirmed_counts(self):
        # Imports may create confirmed orders directly.
        partner = self.Partner.create({"name": "Elena"})
        self.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "state": "sale",
                "date_order": datetime(2023, 5, 5, 10, 0),
                "order_line": [Command.create({"product_id": self.product.id})],
            }
        )
        self.assertEqual(partner.first_order_date, date(2023, 5, 5))
        self.assertEqual(partner.journey_stage, "interaction")

    def test_touch_interaction_only_moves_forward(self):
        partner = self.Partner.create({"name": "Franco"})
        partner._sms_touch_interaction(datetime(2024, 5, 1, 10, 0))
        partner._sms_touch_interaction(datetime(2024, 4, 1, 10, 0))
        self.assertEqual(partner.last_interaction_date, datetime(2024, 5, 1, 10, 0))
        self.assertEqual(partner.last_activity_date, date(2024, 5, 1))
        self.Partner.browse()._sms_touch_interaction(datetime(2024, 5, 1))  # no-op

    def test_days_inactive(self):
        old = self.Partner.create({"name": "Old"})
        recent = self.Partner.create({"name": "Recent"})
        never = self.Partner.create({"name": "Never"})
        old._sms_touch_interaction(datetime(2024, 3, 3, 23, 0))  # 90 days before 1 June
        recent._sms_touch_interaction(datetime(2024, 3, 4, 1, 0))  # 89 days
        partners = old | recent | never
        with self.frozen_now(datetime(2024, 6, 1, 12, 0)):
            partners.invalidate_recordset(["days_inactive", "is_inactive"])
            self.assertEqual(partners.mapped("days_inactive"), [90, 89, 0])
            self.assertEqual(partners.mapped("is_inactive"), [True, False, False])
            self.assertEqual(
                self.Partner._search_days_inactive(">=", 90),
                [("last_activity_date", "<=", date(2024, 3, 3))],
            )
            domain = [("id", "in", partners.ids)]
            self.assertEqual(self.Partner.search(domain + [("days_inactive", ">=", 90)]), old)
            self.assertEqual(
                self.Partner.search(domain + [("days_inactive", "<", 90)]), recent | never
            )
            self.assertEqual(self.Partner.search(domain + [("is_inactive", "=", True)]), old)
            self.assertEqual(
                self.Partner.search(domain + [("is_inactive", "=", False)]), recent | never
            )
            self.company.sms_inactivity_days = 89
            self.assertEqual(
                self.Partner.search(domain + [("is_inactive", "=", True)]), old | recent
            )

    def test_inactive_crossing_ids(self):
        values = {
            "before": date(2024, 3, 2),
            "since": date(2024, 3, 3),
            "until": date(2024, 3, 4),
            "after": date(2024, 3, 5),
        }
        partners = {}
        for name, day in values.items():
            partners[name] = self.Partner.create({"name": name})
            partners[name]._sms_touch_interaction(datetime.combine(day, datetime.min.time()))
        archived = self.Partner.create({"name": "archived"})
        archived._sms_touch_interaction(datetime(2024, 3, 4, 10, 0))
        archived.active = False
        ids = self.Partner._sms_inactive_crossing_ids(date(2024, 3, 3), date(2024, 3, 4))
        self.assertEqual(ids, partners["until"].ids)
        ids = self.Partner._sms_inactive_crossing_ids(date(2024, 3, 1), date(2024, 3, 4))
        self.assertCountEqual(ids, (partners["before"] | partners["since"] | partners["until"]).ids)

    def test_birthday_ids(self):
        feb28 = self.Partner.create({"name": "28 Feb", "birthdate_date": date(1990, 2, 28)})
        feb29 = self.Partner.create({"name": "29 Feb", "birthdate_date": date(1992, 2, 29)})
        mar1 = self.Partner.create({"name": "1 Mar", "birthdate_date": date(1991, 3, 1)})
        archived = self.Partner.create(
            {"name": "archived", "birthdate_date": date(1980, 2, 28), "active": False}
        )
        mine = (feb28 | feb29 | mar1 | archived).ids

        def found(day):
            return {pid for pid in self.Partner._sms_birthday_ids(day) if pid in mine}

        self.assertEqual(found(date(2025, 2, 28)), {feb28.id, feb29.id})  # non-leap year
        self.assertEqual(found(date(2024, 2, 28)), {feb28.id})  # leap year
        self.assertEqual(found(date(2024, 2, 29)), {feb29.id})
        self.assertEqual(found(date(2025, 3, 1)), {mar1.id})
        self.assertEqual(found(date(2025, 3, 2)), set())

    def test_anniversary_ids(self):
        partner = self.Partner.create({"name": "Gino"})
        self.order(partner, confirm_at=datetime(2023, 7, 14, 10, 0))
        self.assertIn(partner.id, self.Partner._sms_anniversary_ids(date(2024, 7, 14)))
        # Not on the day of the first order itself.
        self.assertNotIn(partner.id, self.Partner._sms_anniversary_ids(date(2023, 7, 14)))
        with self.assertRaises(ValueError):
            self.Partner._sms_anniversary_ids(date(2024, 7, 14), "name; DROP TABLE res_partner")

    def test_backfill_from_existing_orders(self):
        company = self.Partner.create({"name": "Beta Srl", "is_company": True})
        contact = self.Partner.create({"name": "Carlo", "parent_id": company.id})
        lone = self.Partner.create({"name": "Lone"})
        self.order(contact, confirm_at=datetime(2023, 1, 2, 10, 0))
        self.order(contact, confirm_at=datetime(2023, 2, 2, 10, 0))
        self.order(lone)
        partners = company | contact | lone
        self.reset_facts(partners)
        self.assertGreaterEqual(self.Partner._sms_recompute_activity_facts(), 3)
        for partner in company | contact:
            self.assertEqual(partner.first_order_date, date(2023, 1, 2))
            self.assertEqual(partner.last_order_date, date(2023, 2, 2))
            self.assertEqual(partner.last_interaction_date, datetime(2023, 2, 2, 10, 0))
            self.assertEqual(partner.last_activity_date, date(2023, 2, 2))
            self.assertEqual(partner.journey_stage, "loyalty")
        self.assertEqual(lone.journey_stage, "orientation")
        self.assertFalse(lone.last_activity_date)


@tagged("post_install", "-at_install")
class TestPartnerActivityInbound(PartnerActivityMixin, SmsJourneyHttpCase):
    def test_inbound_sms_moves_last_interaction(self):
        company = self.Partner.create({"name": "Rossi Srl", "is_company": True})
        self.partner.parent_id = company
        self.partner._sms_touch_interaction(datetime(2020, 1, 1, 10, 0))
        status, _text = self.post_inbound("hello")
        self.assertEqual(status, 200)
        interaction = self.env["sms.interaction"].search(
            [("partner_id", "=", self.partner.id)], limit=1
        )
        self.assertTrue(interaction)
        self.assertGreater(interaction.received_at, datetime(2020, 1, 1, 10, 0))
        self.assertEqual(self.partner.last_interaction_date, interaction.received_at)
        self.assertEqual(self.partner.last_activity_date, interaction.received_at.date())
        self.assertEqual(company.last_interaction_date, interaction.received_at)
