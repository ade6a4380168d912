from datetime import datetime
from unittest.mock import patch

from odoo import Command
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from .. import hooks
from ..models import res_partner_facts_backfill as backfill
from .common import JourneyCaseMixin, PartnerActivityMixin, SmsJourneyCase, load_migration

FACTS = (
    "first_order_date",
    "last_order_date",
    "last_interaction_date",
    "last_activity_date",
    "journey_stage",
)


@tagged("post_install", "-at_install")
class TestInstallColumns(TransactionCase):
    def test_pre_init_hook_adds_every_column_of_ours(self):
        """Every stored column our models add to res_partner and sale_order is created
        by the pre_init_hook with the field's type and, when required, a constant
        default: Odoo then has nothing to fill nor compute over existing rows."""
        declared = {
            "res.partner": dict(hooks.PARTNER_COLUMNS),
            "sale.order": dict(hooks.ORDER_COLUMNS),
        }
        for model_name, columns in declared.items():
            for name, field in self.env[model_name]._fields.items():
                if not (field.store and field.column_type):
                    continue
                if set(field._modules or ()) != {"sms_journey"}:
                    continue  # a field of Odoo's, maybe redefined by us
                with self.subTest(model=model_name, field=name):
                    self.assertIn(name, columns)
                    self.assertEqual(columns[name].split()[0], field.column_type[0])
                    if field.required:
                        self.assertIn("NOT NULL DEFAULT", columns[name])
                    if field.index:
                        kind = "btree" if field.index is True else field.index
                        table = self.env[model_name]._table
                        self.assertIn((table, name, kind), hooks.INDEXED_COLUMNS)
            for name in columns:
                self.assertIn(name, self.env[model_name]._fields)

    def test_deleted_rows_find_ours_by_an_index(self):
        """A foreign key of ours that acts when its target is deleted (SET NULL,
        CASCADE) has an index led by its column when its target's rows are deleted as
        a matter of course: without one, PostgreSQL reads the whole table for each row
        deleted (Odoo deletes its sent SMS every day; quotations, coupons, replies,
        chatter messages, contacts, traces are deleted by users, merges, retention).
        The kept results' rows are marked by triggers instead (no key)."""
        routinely_deleted = {
            "res.partner",
            "sale.order",
            "sms.sms",
            "mail.message",
            "loyalty.card",
            "mailing.trace",
            "link.tracker.click",
            "sms.interaction",
            "sms.gateway.message",
            "sms.journey.trace",
            "sms.journey.participant",
            "sms.survey.answer",
        }
        indexed = set(
            self.env.execute_query(
                SQL(
                    """SELECT i.indrelid::regclass::text, a.attname FROM pg_index i
                         JOIN pg_attribute a
                           ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"""
                )
            )
        )
        keys = set(
            self.env.execute_query(
                SQL(
                    """SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
                         JOIN pg_attribute a
                           ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                        WHERE c.contype = 'f' AND c.confdeltype IN ('n', 'c', 'd')"""
                )
            )
        )
        for model in self.env.registry.values():
            if model._abstract or model._transient or not model._auto:
                continue  # a wizard's rows are vacuumed within hours
            for name, field in model._fields.items():
                if not (
                    field.type == "many2one"
                    and field.store
                    and "sms_journey" in (field._modules or ())
                    and field.comodel_name in routinely_deleted
                    and (model._table, name) in keys
                ):
                    continue
                with self.subTest(model=model._name, field=name):
                    self.assertTrue((model._table, name) in indexed, "no index")

    def index_definition(self, column):
        self.env.cr.execute(
            "SELECT pg_get_indexdef(to_regclass(%s))",
            [f"sale_order__{column}_index"],
        )
        return self.env.cr.fetchone()[0] or ""

    def test_order_figures_indexes_cover_state_and_revenue(self):
        """The orders of a journey, step or mailing are counted and summed from the index
        alone; an index left by 18.0.1.2.0 (the column only) is built again on upgrade."""
        for column in ("sms_journey_id", "sms_journey_step_id", "sms_mailing_id"):
            with self.subTest(column=column):
                definition = self.index_definition(column)
                self.assertIn(f"({column}, state, sms_attributed_revenue)", definition)
        self.env.cr.execute("DROP INDEX sale_order__sms_journey_id_index")
        self.env.cr.execute(
            "CREATE INDEX sale_order__sms_journey_id_index ON sale_order (sms_journey_id)"
            " WHERE sms_journey_id IS NOT NULL"
        )
        load_migration("18.0.1.3.0").migrate(self.env.cr, "18.0.1.2.0")
        definition = self.index_definition("sms_journey_id")
        self.assertIn("(sms_journey_id, state, sms_attributed_revenue)", definition)
        self.assertIn("WHERE (sms_journey_id IS NOT NULL)", definition)


class BackfillCase(PartnerActivityMixin, SmsJourneyCase):
    def facts(self, partners):
        self.env.invalidate_all()
        return {p.id: tuple(p[name] for name in FACTS) for p in partners}

    def write_dates(self, partners):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT id, write_date FROM res_partner WHERE id = ANY(%s)", [partners.ids]
        )
        return dict(self.env.cr.fetchall())

    def run_backfill(self, batch_size, max_seconds=0):
        """Call the job as Odoo's cron runner does while some remain; returns the calls."""
        calls = 0
        while self.Partner._sms_facts_backfill_state() is not None:
            self.Partner._cron_sms_facts_backfill(batch_size=batch_size, max_seconds=max_seconds)
            calls += 1
            self.assertLess(calls, 1000)
        return calls


@tagged("post_install", "-at_install")
class TestFactsBackfill(BackfillCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        # 20 companies with 4 contacts each, and 120 individuals
        companies = Partner.create(
            [{"name": f"Company {i}", "is_company": True} for i in range(20)]
        )
        contacts = Partner.create(
            [{"name": f"Contact {i}", "parent_id": companies[i % 20].id} for i in range(80)]
        )
        people = Partner.create([{"name": f"Person {i}"} for i in range(120)])
        cls.partners = companies | contacts | people
        # orders of contacts and individuals: confirmed on a few days (repeat orders
        # within and outside the loyalty window), quotes, cancelled orders
        buyers = contacts | people[:90]
        moments = [
            datetime(2022, 3, 1, 9, 0),
            datetime(2023, 1, 15, 18, 30),
            datetime(2023, 6, 2, 8, 0),
            datetime(2024, 11, 20, 23, 45),
        ]
        orders = cls.env["sale.order"].create(
            [
                {
                    "partner_id": buyer.id,
                    "order_line": [Command.create({"product_id": cls.product.id})],
                }
                for i, buyer in enumerate(buyers)
                for _n in range(1 + i % 3)
            ]
        )
        cls.orders = orders
        for index, moment in enumerate(moments):
            batch = orders.filtered(lambda o, index=index: o.id % 5 == index)
            with cls.frozen_now(cls, moment):
                batch.action_confirm()
        cancelled = orders.filtered(lambda o: o.id % 5 == 3 and o.id % 2)
        cancelled._action_cancel()

    def test_batches_give_the_facts_of_the_one_shot_rebuild(self):
        """The job walking ids in small committed batches computes, for every contact,
        company and individual, what the former one-shot rebuild computed; it writes
        our columns only (no write_date moves)."""
        self.reset_facts(self.partners)
        self.Partner._sms_recompute_activity_facts()
        expected = self.facts(self.partners)
        self.assertTrue(any(facts[0] for facts in expected.values()))
        self.assertIn("loyalty", {facts[4] for facts in expected.values()})

        self.reset_facts(self.partners)
        before = self.write_dates(self.partners)
        ids = self.partners.ids
        self.Partner._sms_facts_backfill_save((min(ids), max(ids)))
        calls = self.run_backfill(batch_size=17)
        self.assertGreater(calls, 10)
        self.assertEqual(self.facts(self.partners), expected)
        self.assertEqual(self.write_dates(self.partners), before)
        self.assertIsNone(self.Partner._sms_facts_backfill_state())

    def test_batches_write_each_contact_once(self):
        """A batch writes a contact's facts and its staged rhythm in one UPDATE: one new
        version of its row, not two (the table grows by one version per contact), with
        the facts and rhythm of the one-shot rebuild."""
        rhythm = ("sms_order_gap_days", "sms_order_gap_source", "sms_next_order_predicted")

        def facts_and_rhythm():
            self.env.invalidate_all()
            return {p.id: tuple(p[name] for name in (*FACTS, *rhythm)) for p in self.partners}

        def forget():
            self.reset_facts(self.partners)
            self.env.cr.execute(
                """UPDATE res_partner SET sms_order_gap_days = NULL,
                          sms_order_gap_source = NULL, sms_next_order_predicted = NULL
                    WHERE id = ANY(%s)""",
                [self.partners.ids],
            )

        forget()
        self.Partner._sms_recompute_activity_facts()
        expected = facts_and_rhythm()
        self.assertTrue(any(value[5] for value in expected.values()))
        forget()
        forgotten = facts_and_rhythm()
        changed = sum(1 for pid, value in expected.items() if forgotten[pid] != value)
        self.assertGreater(changed, 100)
        ids = self.partners.ids
        self.Partner._sms_rhythm_stage()
        # no order written since the staging (here they are written in the test's own
        # transaction, which may be younger than another connection's): none of these
        # contacts is recomputed from its orders instead
        self.env.cr.execute(
            "UPDATE sms_journey_rhythm_stage SET staged_from = now() + interval '1 day'"
            " WHERE pid = 0"
        )
        self.Partner._sms_facts_backfill_save((min(ids), max(ids)))
        written = "SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'res_partner'"
        self.env.cr.execute(written)
        before = self.env.cr.fetchone()[0]
        self.run_backfill(batch_size=50)
        self.env.cr.execute(written)
        updates = self.env.cr.fetchone()[0] - before
        self.assertEqual(updates, changed)
        self.assertEqual(facts_and_rhythm(), expected)
        self.Partner._sms_rhythm_unstage()

    def test_start_on_a_small_database_computes_at_once(self):
        """A database whose contacts fit in one batch (a new one, the tests) has its
        facts at once: nothing waits for a cron."""
        self.reset_facts(self.partners)
        self.Partner._sms_recompute_activity_facts()
        expected = self.facts(self.partners)
        self.reset_facts(self.partners)
        with patch.object(backfill, "BACKFILL_BATCH", 10**9):
            self.Partner._sms_facts_backfill_start()
        self.assertIsNone(self.Partner._sms_facts_backfill_state())
        self.assertEqual(self.facts(self.partners), expected)


@tagged("post_install", "-at_install")
class TestFactsBackfillProgress(BackfillCase):
    def test_progress_and_being_computed_state(self):
        """A large database: the start records the ids to walk and starts the cron; the
        journeys and the settings show the percentage until done; each call reports
        its progress to Odoo's cron runner and the last one switches the cron off."""
        cron = self.env.ref("sms_journey.ir_cron_sms_facts_backfill")
        cron.active = False
        self.env.cr.execute("SELECT min(id), max(id) FROM res_partner")
        first, last = self.env.cr.fetchone()
        with patch.object(backfill, "BACKFILL_BATCH", 1):
            self.Partner._sms_facts_backfill_start()
        self.assertEqual(self.Partner._sms_facts_backfill_state(), (first, last))
        self.assertTrue(cron.active)
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))
        journey = self.env["sms.journey"].create({"name": "Any"})
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(journey.facts_backfill_running)
        self.assertEqual(journey.facts_backfill_progress, 0)
        self.assertTrue(settings.sms_facts_backfill_running)

        span = last - first + 1
        batch = -(-span // 4)  # four calls of one batch each
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        job = self.Partner.with_context(ir_cron_progress_id=progress.id)
        self.assertEqual(job._cron_sms_facts_backfill(batch_size=batch, max_seconds=0), batch)
        self.assertEqual((progress.done, progress.remaining), (batch, span - batch))
        self.assertFalse(progress.deactivate)
        journey.invalidate_recordset()
        self.assertTrue(journey.facts_backfill_running)
        self.assertEqual(journey.facts_backfill_progress, int(100 * batch / span))

        job._cron_sms_facts_backfill(batch_size=batch, max_seconds=0)
        job._cron_sms_facts_backfill(batch_size=batch, max_seconds=0)
        job._cron_sms_facts_backfill(batch_size=batch, max_seconds=0)
        self.assertEqual(progress.remaining, 0)
        self.assertTrue(progress.deactivate)
        self.assertIsNone(self.Partner._sms_facts_backfill_state())
        journey.invalidate_recordset()
        settings.invalidate_recordset()
        self.assertFalse(journey.facts_backfill_running)
        self.assertFalse(settings.sms_facts_backfill_running)
        # called again once done (an upgraded database): nothing to do, cron off
        self.assertEqual(job._cron_sms_facts_backfill(), 0)
        self.assertTrue(progress.deactivate)


@tagged("post_install", "-at_install")
class TestJourneysWaitForFacts(JourneyCaseMixin, BackfillCase):
    def test_journeys_on_facts_wait_until_done(self):
        """While the facts are being computed, journeys selecting on them (inactivity,
        stages in the audience) enrol nobody and keep their window; the others run."""
        other = self.make_partner("Other", "+39 333 111 2222")
        ids = (self.partner | other).ids
        on_stage = self.make_journey(
            [self.sms_step()],
            audience_domain=f"[('journey_stage', '=', 'first_contact'), ('id', 'in', {ids})]",
        )
        on_ids = self.make_journey([self.sms_step()], audience_domain=f"[('id', 'in', {ids})]")
        inactivity = self.make_journey([self.sms_step()], trigger="inactivity")
        birthday = self.make_journey([self.sms_step()], trigger="birthday")
        self.assertTrue(on_stage._depends_on_facts())
        self.assertTrue(inactivity._depends_on_facts())
        self.assertFalse(on_ids._depends_on_facts())
        self.assertFalse(birthday._depends_on_facts())

        now = datetime(2025, 3, 3, 10, 0)
        with self.frozen_now(now):
            (on_stage | on_ids | inactivity).action_start()
        checked = inactivity.enrol_checked_at
        self.Partner._sms_facts_backfill_save((1, 10**9))
        later = datetime(2025, 3, 4, 10, 0)
        with self.frozen_now(later):
            self.assertEqual(on_stage._enrol(later, 500), (0, 0))
            self.assertEqual(inactivity._enrol(later, 500), (0, 0))
            self.assertEqual(on_ids._enrol(later, 500)[0], 2)
        self.assertFalse(on_stage.participant_ids)
        self.assertEqual(inactivity.enrol_checked_at, checked)

        self.Partner._sms_facts_backfill_save(None)
        with self.frozen_now(later):
            self.assertEqual(on_stage._enrol(later, 500)[0], 2)
            inactivity._enrol(later, 500)
        self.assertEqual(inactivity.enrol_checked_at, later)
