from datetime import datetime, timedelta

from odoo.tests import tagged

from .common import ShopViewsMixin, SmsJourneyCase

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window


@tagged("post_install", "-at_install")
class TestJourneyBehaviour(ShopViewsMixin, SmsJourneyCase):
    """Browse abandonment and price drop, from the page views to the SMS through the
    sending policy, at frozen times."""

    def test_browse_abandonment(self):
        anna = self.partner
        bruno = self.make_partner("Bruno", "+39 333 765 4321")
        journey = self.behaviour_journey("browse_abandonment", anna | bruno, browse_idle_hours=2)
        with self.frozen_now(T0):
            journey.action_start()
        self.view(anna, self.shoes, T0 + timedelta(minutes=10))
        self.view(bruno, self.shoes, T0 + timedelta(minutes=10))
        self.add_to_cart(bruno, self.shoes, T0 + timedelta(minutes=30))
        # a second view in the same window is the same abandonment
        self.view(anna, self.shoes, T0 + timedelta(minutes=40))

        with self.frozen_now(T0 + timedelta(minutes=45)):
            action = journey.action_preview()
        preview = self.env["sms.journey.preview"].browse(action["res_id"])
        self.assertEqual(preview.line_ids.partner_id, anna)
        self.assertEqual(preview.line_ids.product_id, self.shoes)
        self.assertEqual(preview.line_ids.scheduled_at, T0 + timedelta(hours=2, minutes=10))
        self.assertIn("Trail shoes", preview.line_ids.body)
        self.assertIn(self.shoes.website_url, preview.line_ids.body)

        self.run_crons(T0 + timedelta(hours=1, minutes=30))
        self.assertFalse(journey.participant_ids, "not idle for two hours yet")
        self.run_crons(T0 + timedelta(hours=2, minutes=15))
        participant = journey.participant_ids
        self.assertEqual(participant.partner_id, anna)
        self.assertEqual(
            (participant.source_model, participant.source_res_id),
            ("product.product", self.shoes.id),
        )
        trace = self.traces(journey)
        self.assertEqual(trace.state, "sent", trace.skip_reason)
        self.assertIn("Giulia Rossi", trace.body)
        self.assertIn("still thinking about Trail shoes?", trace.body)
        self.assertEqual(
            self.link_of(trace)[1], f"{journey.get_base_url()}{self.shoes.website_url}"
        )
        with self.frozen_now(T0 + timedelta(hours=2, minutes=20)):
            self.dispatch()
        self.assertSmsSent(anna._sms_number(), count=1)
        # the second view (40 minutes) fell idle at 2:40: still one SMS
        self.run_crons(T0 + timedelta(hours=4))
        self.assertEqual(len(journey.participant_ids), 1)
        self.assertEqual(len(self.traces(journey)), 1)

    def test_browse_abandonment_without_consent_is_canceled_by_the_policy(self):
        carla = self.make_partner("Carla", "+39 333 111 2222", consent=False)
        journey = self.behaviour_journey("browse_abandonment", carla, browse_idle_hours=1)
        with self.frozen_now(T0):
            journey.action_start()
        self.view(carla, self.hat, T0)
        self.run_crons(T0 + timedelta(hours=1, minutes=5))
        self.assertEqual(journey.participant_ids.partner_id, carla)
        with self.frozen_now(T0 + timedelta(hours=1, minutes=10)):
            self.dispatch()
        self.assertSmsCanceled(partner=carla, reason="no_consent")
        self.assertSmsNotSent(carla._sms_number())

    def test_price_drop(self):
        anna = self.partner
        bruno = self.make_partner("Bruno", "+39 333 765 4321")
        journey = self.behaviour_journey(
            "price_drop", anna | bruno, viewed_days=30, price_drop_percent=10
        )
        self.view(anna, self.shoes, T0 - timedelta(days=3))
        self.view(bruno, self.hat, T0 - timedelta(days=3))
        with self.frozen_now(T0):
            journey.action_start()
        # the first run only remembers the prices of the viewed products
        self.run_crons(T0 + timedelta(minutes=5))
        self.assertFalse(journey.participant_ids)
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.shoes.lst_price = 80  # -20 %
            self.hat.lst_price = 95  # -5 %
            action = journey.action_preview()
        preview = self.env["sms.journey.preview"].browse(action["res_id"])
        self.assertEqual(preview.line_ids.partner_id, anna)
        self.assertEqual(preview.line_ids.product_id, self.shoes)
        self.run_crons(T0 + timedelta(hours=1, minutes=5))
        participant = journey.participant_ids
        self.assertEqual(participant.partner_id, anna)
        self.assertEqual(participant.source_res_id, self.shoes.id)
        trace = self.traces(journey)
        self.assertEqual(trace.state, "sent", trace.skip_reason)
        self.assertIn("Trail shoes", trace.body)
        # the prices are remembered: the next run finds no new drop
        self.run_crons(T0 + timedelta(hours=2))
        self.assertEqual(len(journey.participant_ids), 1)

    def test_price_drop_in_chunks(self):
        """Over the cron's limit, a window's drops enrol in chunks across calls: each
        contact once, the prices recorded (and the window closed) after the last; a
        price changing meanwhile is the next window's."""
        anna = self.partner
        bruno = self.make_partner("Bruno", "+39 333 765 4321")
        carla = self.make_partner("Carla", "+39 333 111 2222")
        dora = self.make_partner("Dora", "+39 333 111 3333")
        journey = self.behaviour_journey(
            "price_drop", anna | bruno | carla | dora, viewed_days=30, price_drop_percent=10
        )
        for partner in anna | bruno | carla:
            self.view(partner, self.shoes, T0 - timedelta(days=2))
        self.view(dora, self.hat, T0 - timedelta(days=2))
        with self.frozen_now(T0):
            journey.action_start()
            journey._enrol(T0, 2)
        seen = self.env["sms.journey.price"].search([("journey_id", "=", journey.id)])
        shoes = seen.filtered(lambda price: price.product_id == self.shoes)
        later = T0 + timedelta(hours=1)
        with self.frozen_now(later):
            self.shoes.lst_price = 80
            # the window's first call scans and stages it, the next ones enrol it
            self.assertEqual(journey._enrol(later, 2), (0, 3))
            self.assertEqual(journey._enrol(later, 2), (2, 1))
        self.assertEqual(journey.participant_ids.partner_id, anna | bruno)
        self.assertEqual(set(shoes.mapped("price")), {100})
        self.assertEqual(journey.enrol_checked_at, T0)
        with self.frozen_now(later + timedelta(minutes=2)):
            self.hat.lst_price = 80
        # the next call goes on with the pending window, whatever its own time
        self.assertEqual(journey._enrol(later + timedelta(minutes=5), 2), (1, 0))
        self.assertEqual(journey.participant_ids.partner_id, anna | bruno | carla)
        seen.invalidate_recordset()
        self.assertEqual(set(shoes.mapped("price")), {80})
        self.assertEqual(set((seen - shoes).mapped("price")), {100})
        self.assertEqual(journey.enrol_checked_at, later)
        self.assertIsNone(journey._pending_window())
        # the hat's drop, during the pending window, is the next window's
        with self.frozen_now(later + timedelta(minutes=10)):
            self.assertEqual(journey._enrol(later + timedelta(minutes=10), 2), (1, 0))
        self.assertEqual(journey.participant_ids.partner_id, anna | bruno | carla | dora)

    def test_price_drop_for_the_contacts_pricelist(self):
        """A rule of Bruno's pricelist takes 20 % off the hat: he is texted, Anna (on
        another pricelist, the hat at its sales price) is not."""
        anna = self.partner
        bruno = self.make_partner("Bruno", "+39 333 765 4321")
        Pricelist = self.env["product.pricelist"]
        anna.property_product_pricelist = Pricelist.create({"name": "Retail"})
        vip = Pricelist.create({"name": "VIP"})
        bruno.property_product_pricelist = vip
        journey = self.behaviour_journey("price_drop", anna | bruno, price_drop_percent=10)
        self.view(anna, self.hat, T0 - timedelta(days=1))
        self.view(bruno, self.hat, T0 - timedelta(days=1))
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0 + timedelta(minutes=5))
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.env["product.pricelist.item"].create(
                {
                    "pricelist_id": vip.id,
                    "applied_on": "0_product_variant",
                    "product_id": self.hat.id,
                    "compute_price": "percentage",
                    "percent_price": 20,
                }
            )
        self.run_crons(T0 + timedelta(hours=1, minutes=5))
        self.assertEqual(journey.participant_ids.partner_id, bruno)
