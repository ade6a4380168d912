from datetime import datetime, timedelta

from odoo.tests import tagged

from odoo.addons.sms_journey.tests.common import (
    JourneyCaseMixin,
    SmsJourneyCase,
    new_product_template,
)

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window


@tagged("post_install", "-at_install")
class TestBackInStock(JourneyCaseMixin, SmsJourneyCase):
    """A contact on a sold-out product's "notify me" list gets one SMS naming and
    linking it when the product is back in stock, through the sending policy."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tpl_product = new_product_template(cls.env, "Back in stock", "{{ product }} is back:")
        cls.kettle = cls.env["product.product"].create(
            {"name": "Kettle", "is_storable": True, "is_published": True, "list_price": 30}
        )
        cls.stock = (
            cls.env["stock.warehouse"]
            .search([("company_id", "=", cls.env.company.id)], limit=1)
            .lot_stock_id
        )

    def set_stock(self, quantity, at):
        with self.frozen_now(at):
            self.env["stock.quant"].with_context(inventory_mode=True).create(
                {
                    "product_id": self.kettle.id,
                    "location_id": self.stock.id,
                    "inventory_quantity": quantity,
                }
            ).action_apply_inventory()

    def test_back_in_stock(self):
        bruno = self.make_partner("Bruno", "+39 333 765 4321")
        self.kettle.stock_notification_partner_ids = self.partner | bruno
        journey = self.make_journey(
            [self.sms_step(self.tpl_product, unit="hours", landing_type="product")],
            trigger="back_in_stock",
            audience_domain=f"[('id', 'in', {(self.partner | bruno).ids})]",
        )
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0 + timedelta(minutes=30))
        self.assertFalse(journey.participant_ids, "still sold out")
        self.set_stock(4, T0 + timedelta(hours=1))
        with self.frozen_now(T0 + timedelta(hours=1, minutes=1)):
            action = journey.action_preview()
        preview = self.env["sms.journey.preview"].browse(action["res_id"])
        self.assertEqual(preview.line_ids.product_id, self.kettle)
        self.assertEqual(preview.line_ids.partner_id, self.partner | bruno)
        self.run_crons(T0 + timedelta(hours=1, minutes=5))
        self.assertEqual(journey.participant_ids.partner_id, self.partner | bruno)
        traces = self.traces(journey)
        self.assertEqual(traces.mapped("state"), ["sent", "sent"])
        self.assertIn("Kettle is back", traces[0].body)
        # more stock later is no new crossing
        self.set_stock(10, T0 + timedelta(hours=2))
        self.run_crons(T0 + timedelta(hours=2, minutes=5))
        self.assertEqual(len(journey.participant_ids), 2)
