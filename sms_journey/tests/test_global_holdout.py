"""The company's global control group: a share of contacts drawn with a recorded seed
gets no marketing SMS from journeys, SMS mailings or re-targeting for a period (the one
policy cancels them, ``global_holdout``), transactional SMS still go, and the report
compares what treated and held-out contacts bought."""

import math
from datetime import datetime, timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from ..models.sms_sender import SmsRequest
from .common import (
    JourneyCaseMixin,
    PartnerActivityMixin,
    SmsJourneyCase,
    new_company_actors,
    new_sms_mailing,
    new_sms_user,
)

T0 = datetime(2026, 3, 10, 9, 0)  # 10:00 in Rome: inside the sending window
Z_95 = 1.959963984540054


@tagged("post_install", "-at_install")
class TestGlobalHoldout(PartnerActivityMixin, JourneyCaseMixin, SmsJourneyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_sms_user(
            cls.env, "holdout_manager", groups="sms_journey.group_sms_journey_manager"
        )
        cls.sms_user = new_sms_user(cls.env, "holdout_user")
        cls.Period = cls.env["sms.global.holdout.period"]

    def setUp(self):
        super().setUp()
        # a journey SMS and a mailing SMS the same day
        self.company.sms_frequency_cap = 0
        frozen = self.frozen_now(T0)
        frozen.__enter__()
        self.addCleanup(frozen.__exit__, None, None, None)

    def run_and_dispatch(self, moment):
        self.run_crons(moment)
        with self.frozen_now(moment):
            self.dispatch()

    def send_queued(self):
        self.env["sms.sms"].sudo()._process_queue()  # mailings queue their SMS
        self.dispatch()

    def start_period(self, percent, days=30):
        return self.company.with_user(self.manager)._sms_start_global_holdout(percent, days)

    def split(self, period, count, prefix):
        """``count`` held-out and ``count`` treated opted-in contacts of ``period``."""
        held, treated = self.env["res.partner"], self.env["res.partner"]
        for i in range(200):
            partner = self.make_partner(f"{prefix} {i}", f"+39 333 1{len(prefix)}0 {i:04d}")
            if period._holds_out(partner):
                held |= partner
            else:
                treated |= partner
            if len(held) >= count and len(treated) >= count:
                return held[:count], treated[:count]
        raise AssertionError("no split in 200 contacts")

    # the draw ----------------------------------------------------------------

    def test_share_held_out_with_recorded_seed(self):
        period = self.start_period(10, days=90)
        self.assertEqual(period.user_id, self.manager)
        self.assertEqual((period.percent, period.date_start), (10, T0))
        self.assertEqual(period.date_end, T0 + timedelta(days=90))
        self.assertEqual(len(period.seed), 16)
        partners = self.bulk_partners(3000)
        held = partners.filtered(period._holds_out)
        # 10 % of 3,000: 300, 4 standard errors = 66
        self.assertLess(abs(len(held) - 300), 66)
        # the report's SQL draw is the same draw
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM res_partner WHERE id = ANY(%s) AND %s",
                partners.ids,
                period._held_out_sql(SQL("id")),
            )
        )
        self.assertEqual({row[0] for row in rows}, set(held.ids))
        # visible on the contact for SMS users
        as_user = held[:1].with_user(self.sms_user)
        self.assertEqual(as_user.sms_global_holdout_until, period.date_end)
        self.assertFalse((partners - held)[:1].with_user(self.sms_user).sms_global_holdout_until)
        employee = new_test_user(self.env, login="holdout_employee", groups="base.group_user")
        with self.assertRaises(AccessError):
            held[:1].with_user(employee).read(["sms_global_holdout_until"])
        # a new period: the running one ends now, a new seed draws anew
        later = T0 + timedelta(days=5)
        with self.frozen_now(later):
            second = self.start_period(10)
        self.assertEqual(period.date_end, later)
        self.assertNotEqual(second.seed, period.seed)
        self.assertNotEqual(partners.filtered(second._holds_out), held)
        self.assertEqual(self.Period._running(self.company, later), second)

    def test_only_sms_managers_change_it(self):
        period = self.start_period(10)
        user_period = period.with_user(self.sms_user)
        self.assertEqual(user_period.seed, period.seed)  # SMS users read it
        with self.assertRaises(AccessError):
            user_period.write({"percent": 20})
        with self.assertRaises(AccessError):
            user_period.write({"date_end": T0})
        with self.assertRaises(AccessError):
            self.Period.with_user(self.sms_user).create(
                {"percent": 20, "date_start": T0, "date_end": T0 + timedelta(days=1)}
            )
        with self.assertRaises(AccessError):
            self.company.with_user(self.sms_user)._sms_start_global_holdout(20, 30)
        with self.assertRaises(AccessError):
            self.company.with_user(self.sms_user)._sms_end_global_holdout()
        # a manager cannot change the draw of a running period either: a new period
        with self.assertRaises(UserError):
            period.with_user(self.manager).write({"percent": 20})
        with self.assertRaises(UserError):
            period.with_user(self.manager).write({"seed": "chosen"})
        self.assertEqual((period.percent, self.Period._running(self.company)), (10, period))

    # the policy ----------------------------------------------------------------

    def test_held_out_contact_gets_no_marketing_but_transactional(self):
        period = self.start_period(50)
        held, treated = self.split(period, 1, "Split")
        journey = self.make_journey(
            [self.sms_step()], audience_domain=f"[('id', 'in', {(held | treated).ids})]"
        )
        journey.action_start()
        self.run_crons(T0)
        participant = journey.participant_ids.filtered(lambda p: p.partner_id == held)
        # a participant of the journey's control comparison, never texted
        self.assertTrue(participant.holdout)
        self.assertEqual(self.traces(journey, partner_id=held.id).state, "held_out")
        self.assertFalse(
            journey.participant_ids.filtered(lambda p: p.partner_id == treated).holdout
        )
        new_sms_mailing(self.env, "Spring sale", partners=held | treated).action_send_sms()
        self.send_queued()
        self.assertSmsSent(treated.phone_sanitized, count=2)
        self.assertSmsNotSent(held.phone_sanitized)
        canceled = self.assertSmsCanceled(partner=held, reason="global_holdout")
        self.assertEqual(len(canceled), 1)  # the mailing's
        self.assertIn("global control group", canceled.failure_reason)
        # re-targeting from the contacts: the composer's marketing SMS, the same policy
        composer = (
            self.env["sms.composer"]
            .with_context(active_model="res.partner", active_ids=(held | treated).ids)
            .create({"body": "Back in stock", "mass_force_send": True, "sms_kind": "marketing"})
        )
        composer.action_send_sms()
        self.send_queued()
        self.assertEqual(len(self.assertSmsCanceled(partner=held, reason="global_holdout")), 2)
        # transactional (and essential) SMS are never held out
        self.env["sms.sender"]._send(
            [SmsRequest(body="Your order has shipped", partner=held, kind="transactional")]
        )
        self.dispatch()
        self.assertSmsSent(held.phone_sanitized, body="Your order has shipped", count=1)

    def test_journey_sms_of_a_period_started_later_canceled(self):
        # enrolled before the period: treated participants, whose next marketing SMS
        # the policy cancels once their contact is held out
        partners = self.make_partners(12)
        journey = self.make_journey(
            [self.sms_step(), self.sms_step(wait=1)],
            audience_domain=f"[('id', 'in', {partners.ids})]",
        )
        journey.action_start()
        self.run_crons(T0)
        self.assertFalse(journey.participant_ids.filtered("holdout"))
        self.dispatch()
        period = self.start_period(50)
        held = partners.filtered(period._holds_out)
        self.assertTrue(held and held != partners)
        self.run_and_dispatch(T0 + timedelta(days=1, hours=1))
        self.assertSmsCanceled(partner=held[0], reason="global_holdout")
        for partner in partners - held:
            self.assertSmsSent(partner.phone_sanitized, count=2)

    def test_transactional_journey_never_held_out(self):
        period = self.start_period(50)
        held, _treated = self.split(period, 1, "Trans")
        journey = self.make_journey(
            [self.sms_step()], sms_kind="transactional", audience_domain=f"[('id', '=', {held.id})]"
        )
        journey.action_start()
        self.run_crons(T0)
        self.dispatch()
        self.assertFalse(journey.participant_ids.holdout)
        self.assertSmsSent(held.phone_sanitized, count=1)

    # the report ----------------------------------------------------------------

    def paid(self, partner, moment):
        order = self.order(partner, confirm_at=moment)
        self.assertEqual(order.state, "sale")
        return order.amount_total

    def test_report_equals_hand_computation(self):
        period = self.start_period(50, days=30)
        held, treated = self.split(period, 3, "Report")
        a, b, _c = treated
        d, e, _f = held
        day = T0 + timedelta(days=2)
        revenue = {
            a: self.paid(a, day) + self.paid(a, day + timedelta(days=1)),
            b: self.paid(b, day),
            d: self.paid(d, day),
        }
        self.paid(d, T0 - timedelta(days=3))  # before the period: not counted
        self.paid(a, T0 + timedelta(days=31))  # after it: not counted
        self.order(e)  # a quote never confirmed: not counted
        journey = self.make_journey(
            [self.sms_step()], audience_domain=f"[('id', 'in', {(held | treated).ids})]"
        )
        journey.action_start()
        self.run_crons(T0)
        mailing = new_sms_mailing(self.env, "Promo", partners=held[:2] | treated[:2])
        mailing.action_send_sms()
        Report = self.env["sms.global.holdout.report"].with_user(self.sms_user)
        with self.frozen_now(T0 + timedelta(days=40)):
            # the period's sums are built by the results refresh, never on opening
            Report._action_open()
            self.assertFalse(Report.search([("period_id", "=", period.id)]))
            self.env["sms.result.snapshot"]._refresh()
            action = Report._action_open()
        self.assertEqual(action["res_model"], "sms.global.holdout.report")
        rows = Report.search([("period_id", "=", period.id)])
        row = rows.filtered(lambda r: r.journey_id == journey)

        # by hand: treated a (2 orders), b (1), c (none); held out d (1), e, f (none)
        rev_t = [revenue[a], revenue[b], 0.0]
        rev_c = [revenue[d], 0.0, 0.0]
        self.assertEqual((row.treated_count, row.held_out_count), (3, 3))
        self.assertEqual((row.treated_converted, row.held_out_converted), (2, 1))
        self.assertAlmostEqual(row.treated_conversion, 200 / 3, places=4)
        self.assertAlmostEqual(row.held_out_conversion, 100 / 3, places=4)
        self.assertAlmostEqual(row.treated_revenue_per_head, sum(rev_t) / 3, places=2)
        self.assertAlmostEqual(row.held_out_revenue_per_head, sum(rev_c) / 3, places=2)
        p_t, p_c = 2 / 3, 1 / 3
        margin = Z_95 * math.sqrt(p_t * (1 - p_t) / 3 + p_c * (1 - p_c) / 3)
        self.assertAlmostEqual(row.conversion_lift, 100 / 3, places=4)
        self.assertAlmostEqual(row.conversion_lift_low, 100 * (1 / 3 - margin), places=4)
        self.assertAlmostEqual(row.conversion_lift_high, 100 * (1 / 3 + margin), places=4)

        def variance(values):
            mean = sum(values) / len(values)
            return sum((v - mean) ** 2 for v in values) / (len(values) - 1)

        diff = (sum(rev_t) - sum(rev_c)) / 3
        margin = Z_95 * math.sqrt(variance(rev_t) / 3 + variance(rev_c) / 3)
        self.assertAlmostEqual(row.revenue_lift, diff, places=2)
        self.assertAlmostEqual(row.revenue_lift_low, diff - margin, places=2)
        self.assertAlmostEqual(row.revenue_lift_high, diff + margin, places=2)
        self.assertFalse(row.significant)

        by_mailing = rows.filtered(lambda r: r.mailing_id == mailing)
        self.assertEqual((by_mailing.treated_count, by_mailing.held_out_count), (2, 2))
        self.assertEqual((by_mailing.treated_converted, by_mailing.held_out_converted), (2, 1))
        overall = rows.filtered(lambda r: r.program == "overall")
        heads = self.env["res.partner"].search_count(
            [("phone_sanitized", "!=", False), ("company_id", "in", [False, self.company.id])]
        )
        self.assertEqual(overall.treated_count + overall.held_out_count, heads)
        self.assertEqual((overall.treated_converted, overall.held_out_converted), (2, 1))
        # per head in the currency's cents
        self.assertAlmostEqual(
            overall.treated_revenue_per_head, sum(rev_t) / overall.treated_count, delta=0.006
        )
        self.assertAlmostEqual(
            overall.held_out_revenue_per_head, sum(rev_c) / overall.held_out_count, delta=0.006
        )

        # another company's SMS user sees nothing of this company's
        other = new_company_actors(self.env, prefix="holdout_other")
        for _label, user in other.users():
            self.assertFalse(self.Period.with_user(user).search([]))
            self.assertFalse(self.env["sms.global.holdout.report"].with_user(user).search([]))
            self.env["sms.global.holdout.report"].with_user(user)._action_open()
            self.assertFalse(self.env["sms.global.holdout.report"].with_user(user).search([]))
            with self.assertRaises(AccessError):
                rows.with_user(user).read(["treated_count"])
            # the contact's badge is about the user's own company
            self.assertFalse(d.with_user(user).sms_global_holdout_until)
