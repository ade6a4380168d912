from datetime import date, datetime, timedelta
from unittest.mock import Mock

from odoo.tests import tagged

from odoo.addons.website.tools import MockRequest

from ..controllers.consent import WebsiteFormSmsConsent, WebsiteSaleSmsConsent
from .common import JourneyCaseMixin, SmsJourneyCase, new_partner_template

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window


@tagged("post_install", "-at_install")
class TestProgramConsent(JourneyCaseMixin, SmsJourneyCase):
    """Consent at first contact: checkout, website forms, double opt-in."""

    def setUp(self):
        super().setUp()
        self.partner._sms_consent_set("unknown", "api", "reset")
        self.company.write({"sms_consent_text": "Yes, text me offers. STOP to opt out."})
        self.website = self.env["website"].search([], limit=1)
        self.product = self.env["product.product"].create({"name": "Desk", "list_price": 100})

    def web_request(self, **kwargs):
        """A mocked website request of a visitor (the public user, as at checkout) from
        203.0.113.7 on the checkout address page."""
        public = self.website.user_id
        mock = MockRequest(
            self.env(user=public),
            website=self.website.with_user(public),
            remote_addr="203.0.113.7",
            **kwargs,
        )
        request = mock.__enter__()
        self.addCleanup(mock.__exit__, None, None, None)
        request.httprequest.referrer = "https://shop.example.com/shop/address"
        request.httprequest.user_agent = Mock(string="TestBrowser/1.0")
        return request

    def expected_proof(self):
        return (
            "Text shown: Yes, text me offers. STOP to opt out.\n"
            "Page: https://shop.example.com/shop/address\n"
            "Time (UTC): 2026-03-02 09:00:00\n"
            "IP: 203.0.113.7\n"
            "User agent: TestBrowser/1.0"
        )

    def cart(self):
        return self.env["sale.order"].create(
            {
                "partner_id": self.partner.id,
                "website_id": self.website.id,
                "order_line": [(0, 0, {"product_id": self.product.id})],
            }
        )

    def test_checkout_consent_asks_the_number_and_its_yes_opts_in(self):
        order = self.cart()
        self.web_request(sale_order_id=order.id)
        with self.frozen_now(T0):
            WebsiteSaleSmsConsent()._handle_extra_form_data(
                {"sms_consent": "on"}, {"phone": "+39 333 123 4567"}
            )
            self.dispatch()
        self.assertTrue(order.sms_consent_given)
        self.assertEqual(order.sms_consent_proof, self.expected_proof())
        # a website form never opts a contact in: the number typed is asked
        self.assertEqual(self.partner.sms_consent_state, "unknown")
        self.assertIn("reply YES", self.received("+393331234567")[0]["body"])
        with self.frozen_now(T0):
            self.receive("YES")
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        self.assertEqual(self.partner.sms_consent_source, "keyword")
        log = self.env["sms.consent.log"].search(
            [("partner_id", "=", self.partner.id)], order="id desc", limit=1
        )
        self.assertEqual((log.action, log.source), ("opted_in", "keyword"))
        self.assertIn(self.expected_proof(), log.proof)

    def test_checkout_without_the_box_ticked_records_nothing(self):
        order = self.cart()
        self.web_request(sale_order_id=order.id)
        WebsiteSaleSmsConsent()._handle_extra_form_data({}, {})
        self.assertFalse(order.sms_consent_given)
        self.assertEqual(self.partner.sms_consent_state, "unknown")
        self.assertFalse(self.env["sms.consent.request"].search([]))

    def test_contact_form_consent_changes_no_contact_found_by_number(self):
        logs_before = self.partner.sms_consent_log_ids
        request = self.web_request()
        request.params = {"sms_consent": "on", "phone": "+39 333 123 4567", "name": "Giulia"}
        with self.frozen_now(T0):
            WebsiteFormSmsConsent()._sms_journey_consent(request)
        self.assertEqual(self.partner.sms_consent_state, "unknown")
        self.assertEqual(self.partner.sms_consent_log_ids, logs_before)
        asked = self.env["sms.consent.request"].search([("number", "=", "+393331234567")])
        self.assertEqual((asked.state, asked.ip), ("pending", "203.0.113.7"))
        # a new number: the contact is created by its YES only
        request.params = {"sms_consent": "on", "phone": "+39 347 000 1111", "name": "Luca"}
        WebsiteFormSmsConsent()._sms_journey_consent(request)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Luca")]))
        self.receive("yes", sender="+393470001111")
        luca = self.env["res.partner"].search([("name", "=", "Luca")])
        self.assertEqual(luca.phone_sanitized, "+393470001111")
        self.assertEqual(luca.sms_consent_state, "opted_in")

    def test_a_stop_withdraws_the_pending_question(self):
        request = self.web_request()
        request.params = {"sms_consent": "on", "phone": "+39 347 000 1111", "name": "Luca"}
        WebsiteFormSmsConsent()._sms_journey_consent(request)
        self.receive("STOP", sender="+393470001111")
        self.receive("YES", sender="+393470001111")
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Luca")]))
        asked = self.env["sms.consent.request"].search([("number", "=", "+393470001111")])
        self.assertEqual(asked.state, "canceled")


@tagged("post_install", "-at_install")
class TestProgramOrders(JourneyCaseMixin, SmsJourneyCase):
    """Orders carry the gap since the customer's previous order and the reactivation."""

    def setUp(self):
        super().setUp()
        self.product = self.env["product.product"].create({"name": "Desk", "list_price": 100})
        self.company.sms_inactivity_days = 90

    def confirm_order(self, moment, partner=None):
        order = self.env["sale.order"].create(
            {
                "partner_id": (partner or self.partner).id,
                "order_line": [(0, 0, {"product_id": self.product.id})],
            }
        )
        with self.frozen_now(moment):
            order.action_confirm()
        return order

    def test_days_since_previous_order_and_reactivation(self):
        first = self.confirm_order(T0)
        self.assertTrue(first.sms_first_order, "the order form reads 'First order'")
        self.assertFalse(first.sms_reactivation, "a first order is no reactivation")
        second = self.confirm_order(T0 + timedelta(days=30))
        self.assertFalse(second.sms_first_order)
        self.assertEqual(second.sms_days_since_previous_order, 30)
        self.assertFalse(second.sms_reactivation)
        third = self.confirm_order(T0 + timedelta(days=125))
        self.assertEqual(third.sms_days_since_previous_order, 95)
        self.assertTrue(third.sms_reactivation)
        found = self.env["sale.order"].search(
            [("sms_reactivation", "=", True), ("partner_id", "=", self.partner.id)]
        )
        self.assertEqual(found, third)
        groups = self.env["sale.order"]._read_group(
            [("partner_id", "=", self.partner.id)], ["sms_reactivation"], ["__count"]
        )
        self.assertEqual(dict(groups), {False: 2, True: 1})
        # a first order has no gap: it stays out of the average
        [(average,)] = self.env["sale.order"]._read_group(
            [("partner_id", "=", self.partner.id)], [], ["sms_days_since_previous_order:avg"]
        )
        self.assertEqual(average, (30 + 95) / 2)

    def test_orders_of_a_company_contact_count_for_the_company(self):
        company = self.env["res.partner"].create({"name": "Rossi Srl", "is_company": True})
        self.partner.parent_id = company
        colleague = self.env["res.partner"].create({"name": "Marco", "parent_id": company.id})
        self.confirm_order(T0, partner=colleague)
        order = self.confirm_order(T0 + timedelta(days=100))
        self.assertEqual(order.sms_days_since_previous_order, 100)
        self.assertTrue(order.sms_reactivation)


@tagged("post_install", "-at_install")
class TestProgramPaymentReminder(JourneyCaseMixin, SmsJourneyCase):
    """The shipped payment-reminder journey: portal link, exit on payment."""

    def test_reminder_carries_the_pay_link_and_exits_on_payment(self):
        journey = self.shipped("sms_journey.sms_journey_payment_reminder", self.partner)
        journey.audience_domain = "[]"
        with self.frozen_now(T0):
            journey.action_start()
        invoice = self.overdue_invoice(self.partner, date(2026, 2, 1), date(2026, 3, 2))
        self.run_crons(datetime(2026, 3, 6, 9, 0))  # three days overdue
        participant = journey.participant_ids
        self.assertEqual(participant.source_res_id, invoice.id)
        trace = self.traces(journey, state="sent")
        self.assertEqual(len(trace), 1)
        self.assertIn(invoice.name, trace.body)
        self.assertTrue(invoice.access_token, "the portal link carries the access token")
        links = self.env["link.tracker"].search([("url", "like", f"/my/invoices/{invoice.id}")])
        self.assertIn(f"access_token={invoice.access_token}", links[:1].url)
        # paid before the second reminder: the journey ends
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"payment_date": date(2026, 3, 7)})._create_payments()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.run_crons(datetime(2026, 3, 14, 9, 0))
        self.assertEqual(participant.state, "exited")
        self.assertEqual(len(self.traces(journey, state="sent")), 1, "no second reminder")

    def pay(self, invoice, day):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"payment_date": day})._create_payments()

    def test_days_to_pay_compared_with_invoices_not_reminded(self):
        journey = self.shipped("sms_journey.sms_journey_payment_reminder", self.partner)
        with self.frozen_now(T0):
            journey.action_start()
        other = self.make_partner("Marco Bianchi", "+39 333 765 4321")
        due = date(2026, 3, 2)
        reminded = self.overdue_invoice(self.partner, date(2026, 2, 1), due)
        late = self.overdue_invoice(other, date(2026, 2, 1), due)
        early = self.overdue_invoice(other, date(2026, 2, 1), due)
        self.pay(early, date(2026, 3, 3))  # paid before any reminder: not comparable
        self.run_crons(datetime(2026, 3, 6, 9, 0))
        self.assertEqual(journey.participant_ids.source_res_id, reminded.id)
        self.pay(reminded, date(2026, 3, 7))
        self.pay(late, date(2026, 3, 22))
        journey.invalidate_recordset()
        self.assertEqual((journey.reminder_invoice_count, journey.reminder_paid_count), (1, 1))
        self.assertEqual(journey.reminder_days_to_pay, 5.0)
        self.assertEqual((journey.unreminded_invoice_count, journey.unreminded_paid_count), (1, 1))
        self.assertEqual(journey.unreminded_days_to_pay, 20.0)


@tagged("post_install", "-at_install")
class TestProgramContest(JourneyCaseMixin, SmsJourneyCase):
    """Contests: keyword entries within a window, a draw reproduced from its seed."""

    def make_contest(self, **vals):
        return self.env["sms.contest"].create(
            dict(
                {
                    "name": "Spring contest",
                    "keyword": "WIN",
                    "date_start": T0,
                    "date_end": T0 + timedelta(days=7),
                    "winner_count": 2,
                    "entry_reply": "You are in! Good luck.",
                    "winner_message": "You won the Spring contest!",
                },
                **vals,
            )
        )

    def test_one_entry_per_number_within_the_window(self):
        contest = self.make_contest()
        contest.action_open()
        with self.frozen_now(T0 - timedelta(hours=1)):
            self.receive("win", sender="+393330000001")  # too early
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.receive("WIN", sender="+393330000001")
            self.receive("win", sender="+393330000001")  # second entry of the number
            self.receive("Win", sender="+393330000002")
        with self.frozen_now(T0 + timedelta(days=8)):
            self.receive("WIN", sender="+393330000003")  # too late
        self.assertEqual(contest.entry_ids.mapped("number"), ["+393330000001", "+393330000002"])

    def test_draw_is_reproduced_from_its_seed_and_winners_get_an_sms(self):
        from ..tools.contest import draw

        contest = self.make_contest()
        contest.action_open()
        numbers = [f"+39333000000{i}" for i in range(1, 6)]
        with self.frozen_now(T0 + timedelta(hours=1)):
            for number in numbers:
                self.receive("WIN", sender=number)
        self.assertEqual(contest.entry_count, 5)
        with self.frozen_now(T0 + timedelta(days=7, hours=1)):
            contest.action_draw()
            self.dispatch()
        self.assertEqual(contest.state, "drawn")
        self.assertTrue(contest.seed)
        winners = contest.winner_ids
        self.assertEqual(len(winners), 2)
        # anyone re-runs it from the seed and the list of entries
        self.assertEqual(
            sorted(draw(reversed(numbers), 2, contest.seed)), sorted(winners.mapped("number"))
        )
        self.assertEqual(contest.action_verify_draw()["params"]["type"], "success")
        for number in winners.mapped("number"):
            self.assertSmsSent(number, "You won the Spring contest!")
        self.assertFalse(contest.rule_id.active, "no entries after the draw")


@tagged("post_install", "-at_install")
class TestProgramCoupons(JourneyCaseMixin, SmsJourneyCase):
    """Journey SMS hand out single-use loyalty coupons; redemption is attributed."""

    def setUp(self):
        super().setUp()
        self.program = self.env.ref("sms_journey.loyalty_program_reactivation")
        self.product = self.env["product.product"].create({"name": "Desk", "list_price": 100})
        self.tpl_coupon = new_partner_template(
            self.env, "Coupon", "Hi {{ object.name }}, your code {{ coupon_code }}"
        )

    def send_coupons(self, partners):
        step = self.sms_step(
            self.tpl_coupon, loyalty_program_id=self.program.id, coupon_validity_days=7
        )
        journey = self.make_journey(
            [step], audience_domain=f"[('id', 'in', {partners.ids})]", goal_days=0
        )
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        return journey

    def order_with_code(self, code, moment):
        order = self.env["sale.order"].create(
            {"partner_id": self.partner.id, "order_line": [(0, 0, {"product_id": self.product.id})]}
        )
        with self.frozen_now(moment):
            result = order._try_apply_code(code)
            if "error" not in result:
                for card, rewards in result.items():
                    order._apply_program_reward(rewards[0], card)
            order.action_confirm()
        return order, result

    def journey_cards(self, journey):
        return self.env["loyalty.card"].search(
            [("sms_journey_participant_id", "in", journey.participant_ids.ids)]
        )

    def test_one_code_per_participant_in_its_sms_and_its_redemption_attributed(self):
        other = self.make_partner("Marco", "+39 333 765 4321")
        journey = self.send_coupons(self.partner | other)
        cards = self.journey_cards(journey)
        self.assertEqual(cards.partner_id, self.partner | other)
        self.assertEqual(set(cards.mapped("expiration_date")), {date(2026, 3, 9)})
        for card in cards:
            trace = self.traces(journey, partner_id=card.partner_id.id)
            self.assertIn(f"your code {card.code}", trace.body)
        card = cards.filtered(lambda c: c.partner_id == self.partner)
        order, result = self.order_with_code(card.code, T0 + timedelta(days=2))
        self.assertNotIn("error", result)
        self.assertEqual(order.sms_journey_coupon_id, card)
        self.assertEqual(order.sms_journey_id, journey)
        self.assertEqual(order.sms_journey_trace_id.step_id, journey.step_ids)
        self.assertLess(order.amount_total, 100, "the 20% discount applied")
        # credited like a touch: the step, the kind, the revenue in the figures
        self.assertEqual(order.sms_journey_step_id, journey.step_ids)
        self.assertEqual(order.sms_attribution_kind, "coupon")
        self.assertEqual(order.sms_attributed_revenue, order.amount_untaxed)
        self.assertEqual((journey.order_count, journey.revenue), (1, order.amount_untaxed))

    def test_expired_coupon_is_refused_and_not_attributed(self):
        journey = self.send_coupons(self.partner)
        card = self.journey_cards(journey)
        order, result = self.order_with_code(card.code, T0 + timedelta(days=10))
        self.assertEqual(result.get("error"), "This coupon is expired.")
        self.assertFalse(order.order_line.coupon_id)
        self.assertFalse(order.sms_journey_coupon_id)
        self.assertFalse(order.sms_journey_id)

    def test_shipped_birthday_and_reactivation_steps_hand_out_coupons(self):
        birthday = self.env.ref("sms_journey.sms_journey_birthday_step_sms")
        reactivation = self.env.ref("sms_journey.sms_journey_reactivation_step_coupon")
        self.assertEqual(birthday.loyalty_program_id.program_type, "coupons")
        self.assertEqual(reactivation.loyalty_program_id, self.program)
        self.assertIn("{{ coupon_code }}", birthday.template_id.body)
        self.assertNotIn("BDAY15", birthday.template_id.body)
