from datetime import date, datetime, timedelta

from odoo.tests import tagged

from .common import LINK, JourneyCaseMixin, SmsJourneyCase


@tagged("post_install", "-at_install")
class TestJourneyShipped(JourneyCaseMixin, SmsJourneyCase):
    """The three shipped journeys, end to end."""

    def _make_cart(self, partner, when):
        product = self.env["product.product"].create({"name": "Mug", "list_price": 12.0})
        with self.frozen_now(when):
            order = self.env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "website_id": self.env.ref("website.default_website").id,
                    "order_line": [(0, 0, {"product_id": product.id, "product_uom_qty": 2})],
                }
            )
            order.date_order = when
        return order

    def test_abandoned_cart(self):
        journey = self.shipped("sms_journey.sms_journey_abandoned_cart", self.partner)
        t0 = datetime(2026, 3, 2, 9, 0)
        with self.frozen_now(t0):
            journey.action_start()
        cart = self._make_cart(self.partner, t0)
        with self.frozen_now(t0 + timedelta(minutes=10)):
            action = journey.action_preview()
        preview = self.env["sms.journey.preview"].browse(action["res_id"])
        self.assertEqual(preview.line_ids.scheduled_at, t0 + timedelta(hours=1))
        self.assertIn("your cart is waiting", preview.line_ids.body)
        self.assertIn("/shop/cart?access_token=", preview.line_ids.body)
        self.run_crons(t0 + timedelta(minutes=30))
        self.assertFalse(journey.participant_ids, "not idle for an hour yet")
        self.run_crons(t0 + timedelta(hours=1, minutes=5))
        participant = journey.participant_ids
        self.assertEqual(participant.source_model, "sale.order")
        self.assertEqual(participant.source_res_id, cart.id)
        trace = self.traces(journey)
        self.assertEqual(trace.state, "sent")
        self.assertTrue(cart.access_token)
        code, _trace_id, _signature = LINK.search(trace.body).groups()
        tracker = self.env["link.tracker.code"].search([("code", "=", code)]).link_id
        self.assertIn(f"/shop/cart?access_token={cart.access_token}", tracker.url)
        self.assertEqual(trace.outbox_message_id.sms_kind, "marketing")
        self.assertEqual(participant.state, "completed")
        # one SMS per abandonment: later runs do not enrol the cart again
        self.run_crons(t0 + timedelta(hours=3))
        self.assertEqual(len(journey.participant_ids), 1)
        with self.frozen_now(t0 + timedelta(hours=2)):
            self.dispatch()
            cart.action_confirm()
        self.assertEqual(cart.sms_journey_id, journey)
        self.assertTrue(trace.converted)
        self.assertEqual(journey.order_count, 1)
        self.assertGreater(journey.revenue, 0)

    def test_started_journey_enrols_an_idle_cart_in_the_same_second(self):
        """The crons run right after *Start* (same second: an empty window) still enrol
        a cart that is idle already."""
        journey = self.shipped("sms_journey.sms_journey_abandoned_cart", self.partner)
        t0 = datetime(2026, 3, 2, 9, 0)
        self._make_cart(self.partner, t0 - timedelta(hours=2))
        with self.frozen_now(t0):
            journey.action_start()
        self.run_crons(t0)
        self.assertEqual(len(journey.participant_ids), 1)

    def test_abandoned_cart_exits_when_ordered(self):
        journey = self.shipped("sms_journey.sms_journey_abandoned_cart", self.partner)
        journey.step_ids[:1].wait_amount = 2  # second chance after 2 hours
        t0 = datetime(2026, 3, 2, 9, 0)
        with self.frozen_now(t0):
            journey.action_start()
        cart = self._make_cart(self.partner, t0)
        self.run_crons(t0 + timedelta(hours=1, minutes=5))
        participant = journey.participant_ids
        self.assertEqual(participant.state, "running")
        with self.frozen_now(t0 + timedelta(hours=2)):
            cart.action_confirm()
        self.assertEqual(participant.state, "exited")
        self.assertEqual(participant.exit_reason, "Placed an order")
        self.run_crons(t0 + timedelta(hours=4))
        self.assertFalse(self.traces(journey))

    def test_birthday_two_timezones_and_29_february(self):
        rome = self.partner
        rome.birthdate_date = date(1992, 2, 29)
        new_york = self.make_partner(
            "John Smith", "+1 212 555 0100", tz="America/New_York", birthdate_date=date(1980, 2, 28)
        )
        new_york.country_id = self.env.ref("base.us")
        journey = self.shipped("sms_journey.sms_journey_birthday", rome | new_york)
        with self.frozen_now(datetime(2027, 2, 27, 12, 0)):
            journey.action_start()
        self.run_crons(datetime(2027, 2, 28, 8, 30))  # 09:30 in Rome, 03:30 in New York
        self.assertFalse(journey.participant_ids)
        self.run_crons(datetime(2027, 2, 28, 9, 5))  # 10:05 in Rome
        self.assertEqual(journey.participant_ids.partner_id, rome)
        self.assertEqual(len(self.traces(journey, state="sent")), 1)
        self.run_crons(datetime(2027, 2, 28, 15, 5))  # 10:05 in New York
        self.assertEqual(journey.participant_ids.partner_id, rome | new_york)
        sent = self.traces(journey, state="sent")
        self.assertEqual(len(sent), 2)
        self.assertIn("Happy birthday John Smith", sent[-1].body)
        # once a year
        self.run_crons(datetime(2027, 3, 1, 15, 5))
        self.assertEqual(len(self.traces(journey)), 2)
        # leap year: 29 February itself
        self.run_crons(datetime(2028, 2, 28, 15, 5))
        self.assertEqual(journey.participant_ids.mapped("key"), ["2028", "2027", "2027"])
        self.run_crons(datetime(2028, 2, 29, 9, 5))
        self.assertEqual(len(journey.participant_ids.filtered(lambda p: p.key == "2028")), 2)

    def _reactivation(self):
        journey = self.shipped("sms_journey.sms_journey_reactivation", self.partner)
        d0 = datetime(2026, 1, 10, 9, 0)
        self.partner.last_order_date = d0.date()
        other = self.make_partner("Marco Bianchi", "+39 333 765 4321")
        other.last_order_date = d0.date()
        journey.audience_domain = f"[('id', 'in', {(self.partner | other).ids})]"
        with self.frozen_now(d0):
            journey.action_start()
        return journey, d0, other

    def test_reactivation_silence_opts_out(self):
        journey, d0, other = self._reactivation()
        self.run_crons(d0 + timedelta(days=29))
        self.assertFalse(journey.participant_ids)
        self.run_crons(d0 + timedelta(days=30))
        self.assertEqual(len(journey.participant_ids), 2)
        self.assertEqual(len(self.traces(journey, state="sent")), 2)
        self.assertIn("we miss you", self.traces(journey)[0].body)
        self.run_crons(d0 + timedelta(days=59))
        self.assertEqual(len(self.traces(journey)), 2)
        self.run_crons(d0 + timedelta(days=60))
        self.assertEqual(len(self.traces(journey, state="sent")), 4)
        self.assertIn("contest", self.traces(journey)[-1].body)
        self.run_crons(d0 + timedelta(days=90))
        self.assertEqual(len(self.traces(journey, state="sent")), 6)
        self.assertIn("20% coupon just for you: code 044", self.traces(journey)[-1].body)
        self.run_crons(d0 + timedelta(days=104))
        self.assertEqual(set(journey.participant_ids.mapped("state")), {"opted_out"})
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertEqual(journey.opted_out_count, 2)

    def test_reactivation_click_ends_as_active(self):
        journey, d0, other = self._reactivation()
        self.run_crons(d0 + timedelta(days=30))
        first = self.traces(journey, partner_id=self.partner.id)
        with self.frozen_now(d0 + timedelta(days=45)):
            self.click(first)
        self.assertTrue(first.clicked_at)
        mine = journey.participant_ids.filtered(lambda p: p.partner_id == self.partner)
        self.assertEqual(mine.state, "completed")
        self.assertEqual(self.partner.last_activity_date, (d0 + timedelta(days=45)).date())
        self.run_crons(d0 + timedelta(days=60))
        self.run_crons(d0 + timedelta(days=90))
        self.run_crons(d0 + timedelta(days=104))
        self.assertEqual(len(self.traces(journey, partner_id=self.partner.id)), 1)
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        self.assertEqual(len(self.traces(journey, partner_id=other.id, state="sent")), 3)
        self.env["sms.result.snapshot"]._refresh()  # as the cron does
        journey.invalidate_recordset()
        self.assertEqual(journey.clicked_count, 1)

    def test_shipped_reactivation_steps(self):
        """The seeds' 30/60/90 reactivation ships as a branching journey: a reply at day
        60 or 90 moves back to active, silence gets the next SMS, then the opt-out."""
        journey = self.env.ref("sms_journey.sms_journey_reactivation")
        self.assertEqual(journey.state, "draft")
        main = journey.step_ids.filtered(lambda s: not s.parent_id).sorted()
        self.assertEqual(main.mapped("action"), ["sms", "branch"])
        day60 = main[1]
        self.assertEqual(day60.condition, "replied")

        def path(branch, side):
            return branch.child_ids.filtered(lambda s: s.branch_side == side).sorted()

        self.assertEqual(path(day60, "yes").mapped("action"), ["set_active", "end"])
        self.assertEqual(path(day60, "no").mapped("action"), ["sms", "branch"])
        day90 = path(day60, "no")[1]
        self.assertEqual(path(day90, "yes").mapped("action"), ["set_active", "end"])
        self.assertEqual(path(day90, "no").mapped("action"), ["sms", "opt_out"])
        sms = journey.step_ids.filtered(lambda s: s.action == "sms")
        self.assertEqual(len(sms), 3)
        self.assertTrue(all(s.body_info for s in sms))
        self.assertEqual((day60.wait_amount, day90.wait_amount), (30, 60))
        self.assertTrue(journey.end_on_click)
        self.assertEqual(journey.inactivity_days, 30)

    def test_reactivation_reply_at_day_60_moves_back_to_active(self):
        journey, d0, other = self._reactivation()
        self.run_crons(d0 + timedelta(days=30))
        with self.frozen_now(d0 + timedelta(days=31)):
            self.dispatch()
            self.receive("I'd love more sizes", message_id="SMreact1")
        self.run_crons(d0 + timedelta(days=60))
        mine = journey.participant_ids.filtered(lambda p: p.partner_id == self.partner)
        self.assertEqual(mine.state, "completed")
        self.assertIn(": yes", mine.path)
        self.assertEqual(self.partner.last_activity_date, (d0 + timedelta(days=60)).date())
        self.assertEqual(len(self.traces(journey, partner_id=self.partner.id, state="sent")), 1)
        theirs = journey.participant_ids - mine
        self.assertIn(": no", theirs.path)
        self.assertEqual(len(self.traces(journey, partner_id=other.id, state="sent")), 2)

    def test_abandoned_cart_too_old_is_left_alone(self):
        journey = self.shipped("sms_journey.sms_journey_abandoned_cart", self.partner)
        t0 = datetime(2026, 3, 2, 9, 0)
        self._make_cart(self.partner, t0 - timedelta(hours=50))
        with self.frozen_now(t0):
            journey.action_start()
        self.run_crons(t0 + timedelta(minutes=15))
        self.assertFalse(journey.participant_ids)
