from datetime import date, datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from ..tools import policy, rhythm
from .common import (
    NUMBER,
    JourneyCaseMixin,
    JsonRpcActorMixin,
    PartnerActivityMixin,
    SmsJourneyCase,
    new_company_actors,
)

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window
EVERY_20_DAYS = [datetime(2026, 1, 1, 10), datetime(2026, 1, 21, 10), datetime(2026, 2, 10, 10)]


class RhythmMixin(PartnerActivityMixin, JourneyCaseMixin):
    def orders(self, partner, moments, product=None):
        """Orders of ``partner`` confirmed at ``moments`` (of ``product``)."""
        for moment in moments:
            order = self.env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [Command.create({"product_id": (product or self.product).id})],
                }
            )
            with self.frozen_now(moment):
                order.action_confirm()
        self.env.invalidate_all()

    def facts(self, partner):
        partner.invalidate_recordset()
        return (
            partner.sms_order_gap_days,
            partner.sms_order_gap_source,
            partner.sms_next_order_predicted,
        )


@tagged("post_install", "-at_install")
class TestRhythmFacts(RhythmMixin, SmsJourneyCase):
    """The rhythm facts, kept in SQL with the order facts, agree with tools/rhythm.py."""

    def test_own_median_as_the_tools_compute_it(self):
        moments = [datetime(2026, 1, 1), datetime(2026, 1, 11, 23), datetime(2026, 1, 31, 1)]
        self.orders(self.partner, moments)
        gap, source = rhythm.rhythm(moments)
        self.assertEqual((gap, source), (15.0, "own"))
        self.assertEqual(
            self.facts(self.partner),
            (15.0, "own", rhythm.predicted_next(moments[-1], gap)),
        )
        self.assertEqual(self.partner.sms_next_order_predicted, date(2026, 2, 15))
        # a company sees the orders of its contacts
        company = self.Partner.create({"name": "Acme SpA", "is_company": True})
        self.partner.parent_id = company
        self.env["res.partner"]._sms_recompute_activity_facts((self.partner | company).ids)
        self.assertEqual(self.facts(company), self.facts(self.partner))

    def test_one_order_gets_the_prior_of_its_category_else_the_company(self):
        cat_a = self.env["product.category"].create({"name": "Coffee"})
        cat_b = self.env["product.category"].create({"name": "Machines"})
        coffee = self.env["product.product"].create({"name": "Beans", "categ_id": cat_a.id})
        machine = self.env["product.product"].create({"name": "Espresso", "categ_id": cat_b.id})
        regular = self.make_partner("Regular", "+39 333 100 0001")
        frequent = self.make_partner("Frequent", "+39 333 100 0002")
        self.orders(regular, [datetime(2026, 1, 1), datetime(2026, 1, 21)], coffee)
        self.orders(frequent, [datetime(2026, 1, 1), datetime(2026, 1, 11)], coffee)
        self.Partner._sms_refresh_rhythm_priors()
        self.assertEqual(cat_a.sms_order_gap_prior_days, 15.0, "median of 20 and 10")
        self.assertFalse(cat_b.sms_order_gap_prior_days, "nobody started with a machine")
        company_prior = self.company.sms_order_gap_prior_days
        self.assertTrue(company_prior)
        newcomer = self.make_partner("Newcomer", "+39 333 100 0003")
        self.orders(newcomer, [datetime(2026, 2, 1)], coffee)
        self.assertEqual(self.facts(newcomer), (15.0, "prior", date(2026, 2, 16)))
        buyer = self.make_partner("Buyer", "+39 333 100 0004")
        self.orders(buyer, [datetime(2026, 2, 1)], machine)
        gap, source, predicted = self.facts(buyer)
        self.assertEqual((gap, source), (company_prior, "prior"))
        self.assertEqual(predicted, rhythm.predicted_next(date(2026, 2, 1), company_prior))

    def test_priors_cron_moves_the_one_order_contacts(self):
        """The weekly priors cron also moves the expected date (and the gap shown) of
        the contacts with one order day whose prior changed, in SQL: nobody else's row
        is written, ``write_date`` stays."""
        tea = self.env["product.category"].create({"name": "Tea"})
        leaves = self.env["product.product"].create({"name": "Leaves", "categ_id": tea.id})
        regular = self.make_partner("Regular", "+39 333 100 0011")
        frequent = self.make_partner("Frequent", "+39 333 100 0012")
        newcomer = self.make_partner("Newcomer", "+39 333 100 0013")
        self.orders(regular, [datetime(2026, 1, 1), datetime(2026, 1, 21)], leaves)
        self.orders(frequent, [datetime(2026, 1, 1), datetime(2026, 1, 11)], leaves)
        self.orders(newcomer, [datetime(2026, 2, 1)], leaves)
        self.assertFalse(tea.sms_order_gap_prior_days, "no prior before the first run")
        with self.frozen_now(T0):
            self.Partner._sms_refresh_rhythm_priors()
        self.assertEqual(self.facts(newcomer), (15.0, "prior", date(2026, 2, 16)))
        # a slower customer moves the category's median (10, 20, 40): the newcomer keeps
        # the old prior until the next run
        slow = self.make_partner("Slow", "+39 333 100 0014")
        self.orders(slow, [datetime(2026, 1, 1), datetime(2026, 2, 10)], leaves)
        self.assertEqual(self.facts(newcomer)[2], date(2026, 2, 16))
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE res_partner SET write_date = '2026-01-01' WHERE id = ANY(%s)",
            [(newcomer | regular).ids],
        )
        self.env.invalidate_all()
        ctid = "SELECT id, ctid::text FROM res_partner WHERE id = ANY(%s) ORDER BY id"
        others = (regular | frequent | slow).ids
        self.env.cr.execute(ctid, [others])
        versions = self.env.cr.fetchall()
        with self.frozen_now(T0 + timedelta(days=7)):
            self.Partner._sms_refresh_rhythm_priors()
        self.assertEqual(tea.sms_order_gap_prior_days, 20.0)
        self.assertEqual(self.facts(newcomer), (20.0, "prior", date(2026, 2, 21)))
        self.assertEqual(newcomer.write_date, datetime(2026, 1, 1))
        self.env.cr.execute(ctid, [others])
        self.assertEqual(self.env.cr.fetchall(), versions, "own rhythms not written")
        # nothing changed since: a run writes nobody
        with self.frozen_now(T0 + timedelta(days=14)):
            self.assertFalse(self.Partner._sms_rhythm_update_priors())
            self.assertEqual(self.Partner._sms_rhythm_follow_priors(), 0)

    def test_no_orders_no_rhythm_and_a_cancellation_takes_it_back(self):
        self.assertEqual(self.facts(self.partner), (0.0, False, False))
        self.orders(self.partner, [datetime(2026, 1, 1), datetime(2026, 1, 8)])
        self.assertEqual(self.facts(self.partner)[:2], (7.0, "own"))
        orders = self.env["sale.order"].search([("partner_id", "=", self.partner.id)])
        orders._action_cancel()
        self.assertEqual(self.facts(self.partner), (0.0, False, False))

    def test_backfill_rebuilds_the_same_rhythm(self):
        self.orders(self.partner, EVERY_20_DAYS)
        other = self.make_partner("Other", "+39 333 100 0005")
        self.orders(other, [datetime(2026, 1, 1), datetime(2026, 1, 4), datetime(2026, 2, 1)])
        expected = [self.facts(self.partner), self.facts(other)]
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE res_partner SET sms_order_gap_days = NULL, sms_order_gap_source = NULL,"
            " sms_next_order_predicted = NULL WHERE id = ANY(%s)",
            [(self.partner | other).ids],
        )
        self.env.invalidate_all()
        self.Partner._sms_facts_backfill_start()
        self.assertEqual([self.facts(self.partner), self.facts(other)], expected)
        self.assertEqual(expected[1][:2], (15.5, "own"))

    def test_orders_during_a_staging_win_over_the_staged_rhythm(self):
        """Every contact's rhythm is staged, then written by id range: a contact whose
        orders moved since, or whose rhythm was written since, keeps the newer value."""
        untouched = self.partner
        ordering = self.make_partner("Ordering", "+39 333 100 0006")
        rewritten = self.make_partner("Rewritten", "+39 333 100 0007")
        for partner in untouched | ordering | rewritten:
            self.orders(partner, EVERY_20_DAYS[:2])
        expected = self.facts(untouched)
        self.env.flush_all()
        ids = (untouched | ordering | rewritten).ids
        # facts to rebuild, orders written long before the staging
        self.env.cr.execute(
            "UPDATE res_partner SET sms_order_gap_days = NULL, sms_order_gap_source = NULL,"
            " sms_next_order_predicted = NULL WHERE id = ANY(%s);"
            "UPDATE sale_order SET write_date = '2026-01-01' WHERE partner_id = ANY(%s)",
            [ids, ids],
        )
        self.env.invalidate_all()
        self.assertEqual(self.Partner._sms_rhythm_stage(), 3)
        self.orders(ordering, [datetime(2026, 2, 12, 10)])  # the event: gaps 20 and 22
        self.env.cr.execute(
            "UPDATE res_partner SET sms_order_gap_days = 99 WHERE id = %s", [rewritten.id]
        )
        self.env.invalidate_all()
        self.Partner._sms_recompute_rhythm_facts(id_range=(min(ids), max(ids)))
        self.assertEqual(self.facts(untouched), expected, "written from the stage")
        self.assertEqual(self.facts(ordering), (21.0, "own", date(2026, 3, 5)), "the event's")
        self.assertEqual(self.facts(rewritten)[0], 99.0, "a value written meanwhile is kept")


@tagged("post_install", "-at_install")
class TestDueToReorder(RhythmMixin, SmsJourneyCase):
    """Trigger → policy → send → result, at frozen times."""

    def reorder_journey(self, partners, **vals):
        return self.make_journey(
            [self.sms_step()],
            trigger="due_to_reorder",
            audience_domain=f"[('id', 'in', {partners.ids})]",
            **vals,
        )

    def test_enrols_exactly_the_due_contacts_and_texts_through_the_policy(self):
        due = self.partner
        silent = self.make_partner("Silent", "+39 333 200 0001", consent=False)
        later = self.make_partner("Later", "+39 333 200 0002")
        reordered = self.make_partner("Reordered", "+39 333 200 0003")
        for partner in due | silent | reordered:
            self.orders(partner, EVERY_20_DAYS)
        self.orders(later, [datetime(2026, 1, 1), datetime(2026, 2, 1)])  # due 4 March
        self.orders(reordered, [datetime(2026, 2, 28, 10)])  # no longer due on 2 March
        self.assertEqual(due.sms_next_order_predicted, date(2026, 3, 2))
        self.assertEqual(reordered.sms_next_order_predicted, date(2026, 3, 20))
        journey = self.reorder_journey(due | silent | later | reordered)
        with self.frozen_now(T0 - timedelta(days=1)):
            journey.action_start()
        self.run_crons(T0)
        with self.frozen_now(T0 + timedelta(minutes=5)):
            self.dispatch()
        participants = journey.participant_ids
        self.assertEqual(participants.partner_id, due | silent)
        self.assertEqual(set(participants.mapped("key")), {"reorder:2026-03-02"})
        self.assertSmsSent(NUMBER, count=1)
        self.assertSmsCanceled(partner=silent, reason=policy.NO_CONSENT)
        # the next day: Later is not due yet, nobody enters twice
        self.run_crons(T0 + timedelta(days=1))
        self.assertEqual(journey.participant_ids.partner_id, due | silent)
        self.run_crons(T0 + timedelta(days=2))
        self.assertEqual(journey.participant_ids.partner_id, due | silent | later)
        # the result: the reminded customer orders, leaves the journey, the rhythm moves
        self.orders(due, [T0 + timedelta(days=3)])
        mine = journey.participant_ids.filtered(lambda p: p.partner_id == due)
        self.assertNotEqual(mine.state, "running")
        self.assertEqual(due.sms_next_order_predicted, date(2026, 3, 25))

    def test_waits_relative_to_the_rhythm_else_fixed_days(self):
        steady = self.partner
        new = self.make_partner("New", "+39 333 300 0001")
        self.orders(steady, [datetime(2026, 1, 1), datetime(2026, 1, 11)])  # every 10 days
        relative = self.sms_step(
            wait=30, unit="gap", wait_gap_factor=1.5, wait_from="enrolment", sequence=20
        )
        journey = self.make_journey(
            [self.sms_step(), relative],
            audience_domain=f"[('id', 'in', {(steady | new).ids})]",
            exit_on_order=False,
        )
        with self.frozen_now(T0):
            preview = self.env["sms.journey.preview"].create({"journey_id": journey.id, "days": 40})
            preview.action_compute()
        second = journey.step_ids.sorted("sequence")[1]
        self.assertEqual(second._wait_label(), "after 1.5 × the contact's rhythm (else 30 days)")
        planned = {
            line.partner_id: (line.scheduled_at, line.order_gap_days)
            for line in preview.line_ids
            if line.step_id == second
        }
        self.assertEqual(planned[steady], (T0 + timedelta(days=15), 10.0))
        self.assertEqual(planned[new], (T0 + timedelta(days=30), 0.0))
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        due = {p.partner_id: p.next_action_at for p in journey.participant_ids}
        self.assertEqual(due, {steady: T0 + timedelta(days=15), new: T0 + timedelta(days=30)})
        with self.frozen_now(T0 + timedelta(minutes=5)):
            self.dispatch()
        self.run_crons(T0 + timedelta(days=15))
        with self.frozen_now(T0 + timedelta(days=15, minutes=5)):
            self.dispatch()
        self.assertSmsSent(NUMBER, count=2)
        self.assertSmsSent("+393333000001", count=1)


@tagged("post_install", "-at_install")
class TestRhythmAccess(RhythmMixin, SmsJourneyCase):
    """The rhythm is an SMS user's fact: employees without SMS rights and the SMS staff of
    another company see nothing of it."""

    def test_employee_without_sms_rights_sees_no_rhythm(self):
        self.orders(self.partner, EVERY_20_DAYS)
        employee = new_test_user(self.env, login="rhythm_employee", groups="base.group_user")
        partner = self.partner.with_user(employee)
        self.assertEqual(partner.read(["name"])[0]["name"], self.partner.name)
        with self.assertRaises(AccessError):
            partner.read(["sms_order_gap_days"])
        with self.assertRaises(AccessError):
            partner.search([("sms_next_order_predicted", "!=", False)])
        arch = partner.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("sms_order_gap_days", arch)
        self.assertNotIn("sms_next_order_predicted", arch)

    def test_other_company_sees_neither_the_journey_nor_its_contacts(self):
        mine = self.make_partner("Mine", "+39 333 400 0001", company_id=self.company.id)
        self.orders(mine, EVERY_20_DAYS)
        journey = self.make_journey(
            [self.sms_step()], trigger="due_to_reorder", audience_domain="[]"
        )
        actors = new_company_actors(self.env, "rhythm")
        for _label, user in actors.users():
            with self.assertRaises(AccessError):
                journey.with_user(user).read(["name"])
            with self.assertRaises(AccessError):
                self.env["sms.journey.preview"].with_user(user).create(
                    {"journey_id": journey.id}
                ).action_compute()
        # their own journey never enrols the contacts of our company
        theirs = (
            self.env["sms.journey"]
            .with_user(actors.sms_manager)
            .create(
                {
                    "name": "Their reorder",
                    "trigger": "due_to_reorder",
                    "step_ids": [Command.create({"template_id": self.tpl_hello.id})],
                }
            )
        )
        candidates = theirs.sudo()._candidates(T0 - timedelta(days=1), T0)
        self.assertNotIn(mine.id, [c.partner_id for c in candidates])
        ours = journey._candidates(T0 - timedelta(days=1), T0)
        self.assertIn(mine.id, [c.partner_id for c in ours])


@tagged("post_install", "-at_install")
class TestRhythmJsonRpc(JsonRpcActorMixin, HttpCase):
    """Over JSON-RPC, as the web client asks: an SMS user reads the rhythm, an employee
    without SMS rights gets an access error and nothing of it."""

    def test_rhythm_over_jsonrpc(self):
        partner = self.env["res.partner"].create({"name": "Rhythm RPC"})
        partner.write({"sms_order_gap_days": 12.5, "sms_next_order_predicted": date(2027, 1, 2)})
        fields = ["sms_order_gap_days", "sms_next_order_predicted"]
        sms_user = new_test_user(
            self.env,
            login="rhythm_rpc_sms",
            groups="base.group_user,sms_journey.group_sms_journey_user",
        )
        self.login_jsonrpc(sms_user)
        result, error = self.call_kw("res.partner", "read", partner.ids, fields)
        self.assertFalse(error)
        self.assertEqual(result[0]["sms_order_gap_days"], 12.5)
        employee = new_test_user(self.env, login="rhythm_rpc_employee", groups="base.group_user")
        self.login_jsonrpc(employee)
        result, error = self.call_kw("res.partner", "read", partner.ids, fields)
        self.assertIsNone(result)
        self.assertEqual(error["name"], "odoo.exceptions.AccessError")
        result, error = self.call_kw(
            "res.partner", "search_read", [("id", "=", partner.id)], ["name"]
        )
        self.assertEqual(result, [{"id": partner.id, "name": "Rhythm RPC"}])


@tagged("post_install", "-at_install")
class TestRhythmTour(HttpCase):
    def test_contact_form_shows_the_rhythm(self):
        partner = self.env["res.partner"].create({"name": "Rhythm Tour", "tz": "Europe/Rome"})
        partner.write(
            {
                "sms_order_gap_days": 21.0,
                "sms_order_gap_source": "own",
                "sms_next_order_predicted": date(2027, 3, 15),
                # and the best hour to text: Tuesday 19:00 (24 + 19), from 12 events
                "sms_best_hour_of_week": 43,
                "sms_best_hour_events": 12,
            }
        )
        self.start_tour(
            f"/odoo/res.partner/{partner.id}", "sms_journey_contact_rhythm", login="admin"
        )
