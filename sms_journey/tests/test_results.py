from datetime import datetime, timedelta

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from ..models.sms_result_snapshot import REFRESH_LOCK
from .common import (
    SmsJourneyCase,
    SmsResultsAssertions,
    new_other_company_user,
    new_partner_template,
    new_segment_journey,
    new_sms_mailing,
    new_sms_user,
)

T0 = datetime(2026, 3, 2, 8, 0)  # 09:00 in Rome
H = timedelta(hours=1)
D = timedelta(days=1)


@tagged("post_install", "-at_install")
class TestResults(SmsResultsAssertions, SmsJourneyCase):
    """Figures, attribution and the campaign report on crafted data: a journey step and
    an SMS mailing touching the same contact, two clicks on one SMS, a canceled and a
    failed SMS, orders inside and outside the windows, one in another currency."""

    # the SMS figures of the journey's crafted SMS (no order confirmed)
    JOURNEY_SMS = {
        "sent": 2,
        "delivered": 1,
        "failed": 1,
        "canceled": 1,
        "clicked": 1,
        "clicks": 2,
        "replied": 1,
        "cost": 0.03,
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.company.partner_id.tz = "Europe/Rome"
        env.company.write({"sms_attribution_click_days": 5, "sms_attribution_delivery_hours": 12})
        cls.giulia = cls.partner
        cls.marco = env["res.partner"].create({"name": "Marco", "mobile": "+39 333 765 4321"})
        cls.anna = env["res.partner"].create({"name": "Anna", "mobile": "+39 333 111 2222"})
        cls.journey = new_segment_journey(
            env, "Promo journey", new_partner_template(env, "Promo", "Hi")
        )
        cls.step = cls.journey.step_ids
        cls.trace1 = cls._journey_sms(cls.giulia, "delivered", cost=0.02)
        cls.trace2 = cls._journey_sms(cls.marco, "canceled", skip="No marketing consent")
        cls.trace3 = cls._journey_sms(cls.marco, "failed", cost=0.01)
        cls.trace1.write(
            {"clicked_at": T0 + 0.5 * H, "click_count": 2, "replied_at": T0 + 15.5 * H}
        )
        cls.link = link = env["link.tracker"].create(
            {"url": "https://shop.example.com", "title": "Shop"}
        )
        cls.Snapshot = env["sms.result.snapshot"]
        cls.clicks = env["link.tracker.click"].create(
            [{"link_id": link.id, "sms_journey_trace_id": cls.trace1.id} for _i in range(2)]
        )
        cls._set_create_date(cls.clicks[0], T0 + 0.5 * H)
        cls._set_create_date(cls.clicks[1], T0 + 2 * D)  # the second click
        cls._interaction(T0 + 15.5 * H, journey_trace=cls.trace1)  # 00:30 in Rome, next day

        cls.mailing = new_sms_mailing(env, "Promo", name="March promo")
        cls.mt_giulia = cls._mailing_sms(cls.giulia, "sent")
        cls.mt_marco = cls._mailing_sms(cls.marco, "sent")
        cls.mt_anna = cls._mailing_sms(cls.anna, "cancel", failure_type="sms_blacklist")
        cls.mt_giulia.write(
            {"reply_datetime": T0 + D + 23.5 * H, "sms_opted_out_at": T0 + D + 23.5 * H}
        )
        cls._interaction(T0 + D + 23.5 * H, mailing_trace=cls.mt_giulia, opt_out=True)

        currency = env.company.currency_id
        cls.other_currency = env.ref("base.EUR" if currency.name != "EUR" else "base.USD")
        cls.other_currency.active = True
        env["res.currency.rate"].create(
            {
                "currency_id": cls.other_currency.id,
                "rate": 2.0,
                "name": T0.date() - D,
                "company_id": env.company.id,
            }
        )
        env["res.currency.rate"].search(
            [("currency_id", "=", currency.id), ("name", ">=", T0.date() - 3 * D)]
        ).unlink()
        cls.other_pricelist = env["product.pricelist"].create(
            {"name": "Other currency", "currency_id": cls.other_currency.id}
        )
        cls.product = env["product.product"].create(
            {"name": "Widget", "list_price": 100.0, "taxes_id": [(5, 0, 0)]}
        )

    @classmethod
    def _journey_sms(cls, partner, state, cost=0.0, skip=None, key=""):
        participant = cls.env["sms.journey.participant"].create(
            {
                "journey_id": cls.journey.id,
                "partner_id": partner.id,
                "key": f"test-{partner.id}-{state}{key}",
                "state": "completed",
            }
        )
        uuid = f"uuid-{partner.id}-{state}{key}"
        outbox = cls.env["sms.gateway.message"].create(
            {
                "sms_uuid": uuid,
                "gateway_id": cls.gateway.id,
                "number": partner.phone_sanitized,
                "partner_id": partner.id,
                "state": state,
                "sent_at": T0 if state != "canceled" else False,
                "delivered_at": T0 + timedelta(minutes=1) if state == "delivered" else False,
                "cost": cost,
            }
        )
        return cls.env["sms.journey.trace"].create(
            {
                "participant_id": participant.id,
                "step_id": cls.step.id,
                "action": "sms",
                "state": "skipped" if skip else "sent",
                "skip_reason": skip,
                "executed_at": T0,
                "sms_uuid": uuid,
                "outbox_message_id": outbox.id,
            }
        )

    @classmethod
    def _mailing_sms(cls, partner, status, failure_type=False):
        trace = cls.env["mailing.trace"].create(
            {
                "trace_type": "sms",
                "mass_mailing_id": cls.mailing.id,
                "model": "res.partner",
                "res_id": partner.id,
                "sms_number": partner.phone_sanitized,
                "trace_status": status,
                "failure_type": failure_type,
                "sent_datetime": T0 + D if status == "sent" else False,
            }
        )
        cls._set_create_date(trace, T0 + D)
        return trace

    @classmethod
    def _set_create_date(cls, records, when):
        records.flush_recordset()
        cls.env.cr.execute(
            f"UPDATE {records._table} SET create_date = %s WHERE id IN %s",
            (when, tuple(records.ids)),
        )
        records.invalidate_recordset(["create_date"])

    @classmethod
    def _interaction(cls, when, journey_trace=None, mailing_trace=None, opt_out=False):
        return cls.env["sms.interaction"].create(
            {
                "number": "+393331234567",
                "gateway_id": cls.gateway.id,
                "body": "STOP" if opt_out else "Thanks",
                "received_at": when,
                "consent_action": "opt_out" if opt_out else False,
                "sms_journey_trace_id": journey_trace and journey_trace.id,
                "mailing_trace_id": mailing_trace and mailing_trace.id,
            }
        )

    def _order(self, partner, when, qty=1, pricelist=None):
        vals = {
            "partner_id": partner.id,
            "order_line": [
                (0, 0, {"product_id": self.product.id, "product_uom_qty": qty, "price_unit": 100})
            ],
        }
        if pricelist:
            vals["pricelist_id"] = pricelist.id
        order = self.env["sale.order"].create(vals)
        with self.frozen_now(when):
            order.action_confirm()
        return order

    def _confirm_all(self):
        eur = self._order(self.giulia, T0 + D + 2 * H, pricelist=self.other_pricelist)
        clicked_twice = self._order(self.giulia, T0 + 2 * D + H, qty=2)
        by_mailing = self._order(self.marco, T0 + D + 3 * H)
        too_late = self._order(self.marco, T0 + 3 * D)
        outside = self._order(self.giulia, T0 + 7 * D + H)
        return eur, clicked_twice, by_mailing, too_late, outside

    def test_attribution(self):
        eur, clicked_twice, by_mailing, too_late, outside = self._confirm_all()
        # a click (5 days) beats a mailing delivered 2 hours before the order
        self.assertAttributed(eur, self.trace1, "click", T0 + 0.5 * H)
        self.assertEqual(eur.sms_attributed_revenue, 50.0, "100 at a rate of 2, untaxed")
        # the second click is the last touch
        self.assertAttributed(clicked_twice, self.trace1, "click", T0 + 2 * D)
        self.assertEqual(clicked_twice.sms_attributed_revenue, 200.0)
        self.assertEqual(clicked_twice.sms_journey_step_id, self.step)
        # Marco's journey SMS were canceled and failed: the mailing's delivery 3 h before
        self.assertAttributed(by_mailing, self.mt_marco, "delivery", T0 + D)
        # the delivery window (12 h) and the click window (5 days) are over
        for order in (too_late, outside):
            self.assertFalse(order.sms_attribution_kind)
            self.assertFalse(order.sms_journey_id or order.sms_mailing_id)

    def test_windows_follow_the_company(self):
        self.env.company.sms_attribution_delivery_hours = 1
        by_mailing = self._order(self.marco, T0 + D + 3 * H)
        self.assertFalse(by_mailing.sms_attribution_kind)
        self.env.company.sms_attribution_click_days = 6
        outside = self._order(self.giulia, T0 + 7 * D + H)
        self.assertAttributed(outside, self.trace1, "click", T0 + 2 * D)

    def test_figures(self):
        self._confirm_all()
        journey_figures = {**self.JOURNEY_SMS, "orders": 2, "revenue": 250.0}
        self.assertFigures(self.journey, **journey_figures)
        self.assertFigures(self.step, **journey_figures)
        self.assertAlmostEqual(self.journey.roas, 250.0 / 0.03, places=2)
        self.assertAlmostEqual(self.journey.roi, (250.0 - 0.03) / 0.03, places=2)
        self.assertFigures(
            self.mailing,
            sent=2,
            delivered=2,
            canceled=1,
            replied=1,
            opted_out=1,
            orders=1,
            revenue=100.0,
        )
        self.assertEqual(self.mailing.roas, 0.0, "no cost: no ROAS")
        Result = self.env["sms.result"]
        reasons = dict(Result._read_group([("canceled", "=", 1)], ["cancel_reason"], ["__count"]))
        self.assertEqual(reasons, {"No marketing consent": 1, "sms_blacklist": 1})

    def test_campaign_report(self):
        Event = self.env["sms.result.event"]
        self.refresh_results()

        def buckets(domain, bucket):
            return {
                (kind, value): count
                for kind, value, count in Event._read_group(
                    domain + [(bucket, "!=", False)], ["kind", bucket], ["event_count:sum"]
                )
            }

        journey = [("journey_id", "=", self.journey.id)]
        # sent at 09:00 in Rome (the failed SMS was sent too); a click after 30 minutes,
        # a reply after 15.5 hours (00:30 the next day in Rome), a second click 2 days on
        self.assertEqual(
            buckets(journey, "hour_after"),
            {("sent", 1): 2, ("click", 1): 1, ("reply", 16): 1},
        )
        self.assertEqual(
            buckets(journey, "day_after"),
            {("sent", 1): 2, ("click", 1): 1, ("reply", 2): 1, ("click", 3): 1},
        )
        self.assertEqual(
            buckets([("step_id", "=", self.step.id)], "day_after"),
            buckets(journey, "day_after"),
        )
        mailing = [("mailing_id", "=", self.mailing.id)]
        self.assertEqual(
            buckets(mailing, "hour_after"),
            {("sent", 1): 2, ("reply", 24): 1, ("opt_out", 24): 1},
        )
        reply = Event.search(journey + [("kind", "=", "reply")])
        self.assertEqual(
            (reply.local_hour, str(reply.local_date), reply.event_count), ("00:00", "2026-03-03", 1)
        )
        # in UTC the reply falls on the day of the send, at 23:00
        self.env.company.partner_id.tz = "UTC"
        self.refresh_results()
        reply = Event.search(journey + [("kind", "=", "reply")])
        self.assertEqual((reply.day_after, reply.local_hour), (1, "23:00"))

    def test_program_dashboard(self):
        self._confirm_all()
        self.env.company.sms_inactivity_days = 90
        self.refresh_results()
        Month = self.env["sms.program.month"]

        def row(month):
            return Month.search([("company_id", "=", self.env.company.id), ("month", "=", month)])

        march = row("2026-03-01")
        self.assertEqual(
            (march.inbound, march.sent, march.opted_out, march.churned, march.reactivated),
            (2, 4, 0, 0, 0),
        )
        self.assertAlmostEqual(march.cost, 0.03)
        self.assertAlmostEqual(march.revenue, 350.0)
        self.assertEqual(march.opt_out_rate, 0.0)
        action = march.action_open_inbound()
        self.assertEqual(self.env[action["res_model"]].search_count(action["domain"]), 2)
        action = march.action_open_revenue()
        self.assertEqual(self.env[action["res_model"]].search_count(action["domain"]), 3)
        # every figure's button opens as many records as the figure counts
        for method, figure in (
            ("action_open_calls", march.calls),
            ("action_open_emails", march.emails),
            ("action_open_surveys", march.survey_count),
            ("action_open_sent", march.sent),
            ("action_open_opt_outs", march.opted_out),
            ("action_open_reminded", march.reminded),
            ("action_open_paid", march.paid),
        ):
            action = getattr(march, method)()
            count = self.env[action["res_model"]].search_count(action["domain"])
            self.assertEqual(count, figure, method)
        # 90 days after each customer's last order: Marco's on 3 June, Giulia's on
        # 7 June (her earlier orders were followed by another within 90 days)
        june = row("2026-06-01")
        self.assertEqual((june.churned, june.reactivated), (2, 0))
        action = june.action_open_churned()
        orders = self.env["sale.order"].search(action["domain"])
        self.assertEqual(orders.partner_id, self.marco | self.giulia)
        self.assertEqual(orders.mapped("date_order"), [T0 + 7 * D + H, T0 + 3 * D])

    def test_reply_answers_the_latest_sms(self):
        # the mailing (T0 + 1 day) came after the journey SMS (T0): a STOP answers it
        with self.frozen_now(T0 + D + H):
            interaction = self.receive("STOP", sender=self.giulia.phone_sanitized)
        self.assertEqual(interaction.mailing_trace_id, self.mt_giulia)
        self.assertFalse(interaction.sms_journey_trace_id)
        self.assertEqual(self.mt_giulia.trace_status, "reply")
        self.assertEqual(self.mt_giulia.sms_opted_out_at, T0 + D + H)
        self.assertFalse(self.trace1.opted_out_at)

    def test_refresh(self):
        """The SMS figures and the reports are stored rows: what happens after the last
        refresh (a send, a click, a reply) counts from the next one, orders at once."""
        self.refresh_results()
        self.assertFigures(self.step, refresh=False, **self.JOURNEY_SMS)
        self.assertEqual(self.journey.sms_figures_as_of, self.Snapshot._refreshed_at())
        # after the refresh: a second SMS to Giulia, delivered, clicked, answered by STOP
        trace = self._journey_sms(self.giulia, "delivered", cost=0.02, key="later")
        trace.write({"clicked_at": T0 + H, "click_count": 1, "replied_at": T0 + 2 * H})
        trace.write({"opted_out_at": T0 + 2 * H})
        click = self.env["link.tracker.click"].create(
            {"link_id": self.link.id, "sms_journey_trace_id": trace.id}
        )
        self._set_create_date(click, T0 + H)
        self._interaction(T0 + 2 * H, journey_trace=trace, opt_out=True)
        order = self._order(self.giulia, T0 + 3 * H)
        self.assertAttributed(order, trace, "click", T0 + H)
        # not yet in the SMS figures nor the reports; the order counts at once
        self.assertFigures(self.step, refresh=False, **self.JOURNEY_SMS, orders=1, revenue=100.0)
        Event = self.env["sms.result.event"]
        journey = [("journey_id", "=", self.journey.id), ("hour_after", "!=", False)]
        self.assertEqual(sum(Event.search(journey).mapped("event_count")), 4)
        # the cron rebuilds them
        self.env.ref("sms_journey.ir_cron_sms_result_refresh").method_direct_trigger()
        self.env.invalidate_all()
        self.assertFigures(
            self.step,
            refresh=False,
            sent=3,
            delivered=2,
            failed=1,
            canceled=1,
            clicked=2,
            clicks=3,
            replied=2,
            opted_out=1,
            orders=1,
            revenue=100.0,
            cost=0.05,
        )
        kinds = dict(Event._read_group(journey, ["kind"], ["event_count:sum"]))
        self.assertEqual(kinds, {"sent": 3, "click": 2, "reply": 2, "opt_out": 1})
        month = self.env["sms.program.month"].search([("month", "=", "2026-03-01")])
        self.assertEqual(month.sent, 5)

    def test_refresh_button(self):
        user = new_sms_user(self.env, "results_user")
        action = self.env["sms.result"].with_user(user).action_refresh()
        self.assertEqual(action["params"]["next"]["tag"], "soft_reload")
        self.assertEqual(
            self.env["sms.result.event"].search_count(
                [("journey_id", "=", self.journey.id), ("kind", "=", "sent")]
            ),
            1,
        )
        title = self.journey.with_user(user).action_view_sms_campaign_report()["name"]
        self.assertIn("as of", title)
        with self.assertRaises(AccessError):
            self.env["sms.program.month"].with_user(
                new_test_user(self.env, "nobody")
            ).action_refresh()
        # the reports follow the user's companies
        outsider = new_other_company_user(self.env, "results_outsider")
        for model in ("sms.result", "sms.result.event", "sms.program.month"):
            self.assertTrue(self.env[model].with_user(user).search_count([]), model)
            self.assertFalse(self.env[model].with_user(outsider).search_count([]), model)

    def test_one_refresh_at_a_time(self):
        """While another transaction refreshes, a refresh leaves the rows alone (both
        would move the totals by the same difference) and the button says so. (Not
        refreshed before in this test: the lock would be this transaction's until its
        end.)"""
        self.trace3.click_count = 4
        self.env.flush_all()

        def stored_clicks():
            rows = self.env.execute_query(
                SQL("SELECT click_count FROM sms_result WHERE id = %s", self.trace3.id * 2)
            )
            return rows[0][0] if rows else None

        before = stored_clicks()
        self.assertNotEqual(before, 4)
        with self.registry.cursor() as other:
            other.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [REFRESH_LOCK])
            self.assertFalse(self.Snapshot._refresh())
            action = self.Snapshot.with_user(new_sms_user(self.env, "impatient")).action_refresh()
            self.assertEqual(action["params"]["type"], "warning")
            self.assertIn("already under way", action["params"]["message"])
            self.assertEqual(stored_clicks(), before)
            other.rollback()
        self.assertTrue(self.Snapshot._refresh())
        self.assertEqual(stored_clicks(), 4)

    def test_variants_and_control_group(self):
        """A/B variants have their figures; the control group's SMS not sent show as
        held out."""
        variant_a, variant_b = self.env["sms.journey.step.variant"].create(
            [
                {"step_id": self.step.id, "name": "A", "template_id": self.step.template_id.id},
                {"step_id": self.step.id, "name": "B", "template_id": self.step.template_id.id},
            ]
        )
        self.trace1.variant_id = variant_a
        self.trace3.variant_id = variant_b
        participant = self.env["sms.journey.participant"].create(
            {
                "journey_id": self.journey.id,
                "partner_id": self.anna.id,
                "key": "control",
                "state": "completed",
                "holdout": True,
            }
        )
        self.env["sms.journey.trace"].create(
            {
                "participant_id": participant.id,
                "step_id": self.step.id,
                "action": "sms",
                "state": "held_out",
                "executed_at": T0,
            }
        )
        self._confirm_all()
        self.assertFigures(
            variant_a,
            clicked=1,
            clicks=2,
            replied=1,
            orders=2,
            revenue=250.0,
            cost=0.02,
            sent=variant_a.sent_count,
            delivered=1,
        )
        self.assertFigures(variant_b, sent=variant_b.sent_count, failed=1, cost=0.01)
        self.assertEqual((variant_a.sent_count, variant_b.sent_count), (1, 1))
        Result = self.env["sms.result"]
        rows = Result.search([("journey_id", "=", self.journey.id), ("held_out", "=", 1)])
        self.assertEqual((rows.partner_id, rows.state, rows.sent), (self.anna, "held_out", 0))
        by_variant = dict(
            Result._read_group([("journey_id", "=", self.journey.id)], ["variant_id"], ["sent:sum"])
        )
        self.assertEqual(by_variant, {variant_a: 1, variant_b: 1, variant_a.browse(): 0})
        # the journey's figures are unchanged by the held-out row
        self.assertFigures(self.journey, **self.JOURNEY_SMS, orders=2, revenue=250.0)
