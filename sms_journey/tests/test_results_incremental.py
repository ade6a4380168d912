"""The stored results kept from what changed since the last refresh (SMS rows, totals,
campaign report, dashboard days and months, step totals, control-group sums) equal the
same computed from scratch, after any sequence of sends, delivery reports (late ones
too), clicks, replies, STOPs, orders (attributed or not), attribution changes, price
changes, cancellations, conversions and deleted traces and participants."""

from datetime import datetime, timedelta
from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from odoo.tests import tagged
from odoo.tools import SQL

from ..models.sms_result_snapshot import INCREMENTAL_TABLES, SCHEMA_VERSION
from .common import (
    SmsJourneyCase,
    SmsResultsAssertions,
    new_partner_template,
    new_segment_journey,
    new_sms_mailing,
    operations,
    property_settings,
    rolled_back,
)

T0 = datetime(2026, 3, 2, 8, 0)
H = timedelta(hours=1)

PARTNERS = 3
# tables of sums whose ids are their own
AGGREGATES = (
    "sms_result_total",
    "sms_result_event",
    "sms_journey_step_total",
    "sms_journey_holdout",
)
# the tables whose rows a refresh reads again when written since the last one
WRITTEN = (
    "sms_journey",
    "sms_journey_trace",
    "sms_journey_participant",
    "mailing_trace",
    "sms_gateway_message",
    "link_tracker_click",
    "sms_interaction",
    "sale_order",
    "account_move",
    "sms_survey_answer",
    "sms_consent_log",
)
# an operation: (kind, which SMS / contact, hours after T0, a flag)
OPERATION = operations(
    [
        "journey_sms",
        "mailing_sms",
        "deliver",
        "fail",
        "click",
        "reply",
        "order",
        "attributed_order",
        "reattribute",
        "reprice",
        "cancel_order",
        "convert",
        "delete_trace",
        "delete_participant",
    ],
    50,
    300,
)


@tagged("post_install", "-at_install")
class TestResultsIncremental(SmsResultsAssertions, SmsJourneyCase):
    # the refreshes read what was written since the last one (no frozen clock here)
    results_watermark = True
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.company.partner_id.tz = "Europe/Rome"
        cls.Snapshot = env["sms.result.snapshot"]
        cls.partners = env["res.partner"].create(
            [{"name": f"Buyer {i}", "mobile": f"+39 333 555 00{i:02d}"} for i in range(PARTNERS)]
        )
        cls.journey = new_segment_journey(
            env, "Incremental journey", new_partner_template(env, "Promo", "Hi")
        )
        cls.mailing = new_sms_mailing(env, "Promo", name="Incremental mailing")
        cls.link = env["link.tracker"].create({"url": "https://shop.example.com", "title": "Shop"})
        cls.product = env["product.product"].create(
            {"name": "Widget", "list_price": 100.0, "taxes_id": [(5, 0, 0)]}
        )
        cls.serial = 0

    # --- the operations, done the way the addon records them -----------------

    def _journey_sms(self, partner, at, cancel):
        self.serial += 1
        uuid = f"incremental-{self.serial}"
        participant = self.env["sms.journey.participant"].create(
            {
                "journey_id": self.journey.id,
                "partner_id": partner.id,
                "key": uuid,
                "state": "completed",
                "enrolled_at": at - H,
                "holdout": self.serial % 4 == 0,
            }
        )
        outbox = self.env["sms.gateway.message"].create(
            {
                "sms_uuid": uuid,
                "gateway_id": self.gateway.id,
                "number": partner.phone_sanitized,
                "partner_id": partner.id,
                "state": "canceled" if cancel else "sent",
                "sent_at": False if cancel else at,
                "cost": 0.0 if cancel else 0.05,
            }
        )
        self.env["sms.journey.trace"].create(
            {
                "participant_id": participant.id,
                "step_id": self.journey.step_ids.id,
                "action": "sms",
                "state": "skipped" if cancel else "sent",
                "skip_reason": "No marketing consent" if cancel else False,
                "executed_at": at,
                "sms_uuid": uuid,
                "outbox_message_id": outbox.id,
            }
        )

    def _mailing_sms(self, partner, at, cancel):
        trace = self.env["mailing.trace"].create(
            {
                "trace_type": "sms",
                "mass_mailing_id": self.mailing.id,
                "model": "res.partner",
                "res_id": partner.id,
                "sms_number": partner.phone_sanitized,
                "trace_status": "cancel" if cancel else "pending",
                "failure_type": "sms_blacklist" if cancel else False,
            }
        )
        self._set_create_date(trace, at)

    def _set_create_date(self, record, at):
        record.flush_recordset()
        self.env.cr.execute(
            SQL(
                "UPDATE %s SET create_date = %s WHERE id = %s",
                SQL.identifier(record._table),
                at,
                record.id,
            )
        )
        record.invalidate_recordset(["create_date"])

    def _sms(self, index):
        """The journey trace or mailing trace number ``index`` (modulo), if any."""
        traces = self.env["sms.journey.trace"].search([("journey_id", "=", self.journey.id)])
        mailing = self.env["mailing.trace"].search([("mass_mailing_id", "=", self.mailing.id)])
        pool = list(traces) + list(mailing)
        return pool[index % len(pool)] if pool else None

    def _apply(self, kind, index, hours, flag):
        at = T0 + hours * H
        partner = self.partners[index % PARTNERS]
        if kind == "journey_sms":
            return self._journey_sms(partner, at, cancel=flag)
        if kind == "mailing_sms":
            return self._mailing_sms(partner, at, cancel=flag)
        if kind in ("order", "attributed_order"):
            order = self.env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [(0, 0, {"product_id": self.product.id, "price_unit": 100})],
                }
            )
            order.action_confirm()
            order.date_order = at
            if kind == "attributed_order":
                self._attribute(order, self._sms(index), at)
            return None
        orders = self.env["sale.order"].search([("state", "=", "sale")])
        order = orders[index % len(orders)] if orders else None
        if kind == "cancel_order":
            return order and order._action_cancel()
        if kind == "reattribute":  # to another SMS, or to none
            return order and self._attribute(order, None if flag else self._sms(hours), at)
        if kind == "reprice":  # a discount, a return: the order's total changes
            return order and order.order_line[:1].write({"price_unit": 10 + hours})
        if kind == "delete_participant":
            participants = self.env["sms.journey.participant"].search(
                [("journey_id", "=", self.journey.id)]
            )
            return participants and participants[index % len(participants)].unlink()
        sms = self._sms(index)
        if sms is None:
            return None
        journey = sms._name == "sms.journey.trace"
        if kind == "delete_trace":
            return sms.unlink()
        if kind == "convert":
            return journey and sms.write({"converted": not sms.converted})
        if kind in ("deliver", "fail"):  # a delivery report, however late
            if journey:
                sms.outbox_message_id.write(
                    {"state": "delivered" if kind == "deliver" else "failed"}
                )
            else:
                sms.write({"trace_status": "sent" if kind == "deliver" else "error"})
            return None
        if kind == "click":
            click = self.env["link.tracker.click"].create(
                {
                    "link_id": self.link.id,
                    "sms_journey_trace_id": sms.id if journey else False,
                    "mailing_trace_id": False if journey else sms.id,
                }
            )
            self._set_create_date(click, at)
            if journey:
                sms.write({"clicked_at": sms.clicked_at or at, "click_count": sms.click_count + 1})
            else:
                sms.write(
                    {
                        "links_click_datetime": sms.links_click_datetime or at,
                        "sms_click_count": sms.sms_click_count + 1,
                    }
                )
            return None
        # a reply, a STOP when flag
        self.env["sms.interaction"].create(
            {
                "number": "+393335550000",
                "gateway_id": self.gateway.id,
                "body": "STOP" if flag else "Thanks",
                "received_at": at,
                "consent_action": "opt_out" if flag else False,
                "sms_journey_trace_id": sms.id if journey else False,
                "mailing_trace_id": False if journey else sms.id,
            }
        )
        if journey:
            sms.write({"replied_at": at, "opted_out_at": at if flag else False})
        else:
            sms.write({"reply_datetime": at, "sms_opted_out_at": at if flag else False})
        return None

    def _attribute(self, order, sms, at):
        """Attribute ``order`` to ``sms`` (a journey or mailing trace; None: to
        nothing), as the attribution writes it."""
        journey = sms is not None and sms._name == "sms.journey.trace"
        mailing = sms is not None and not journey
        order.write(
            {
                "sms_journey_trace_id": journey and sms.id,
                "sms_journey_id": journey and sms.journey_id.id,
                "sms_journey_step_id": journey and sms.step_id.id,
                "sms_mailing_trace_id": mailing and sms.id,
                "sms_mailing_id": mailing and sms.mass_mailing_id.id,
                "sms_attribution_kind": sms is not None and "click",
                "sms_attribution_at": sms is not None and at,
                "sms_attributed_revenue": order.amount_untaxed if sms is not None else 0.0,
            }
        )

    def _age_writes(self):
        """What was written so far was written a day ago: in a test everything is
        written in one transaction, at its start, which the next refresh would read
        again whole; production's refreshes read only what the next batch writes."""
        self.env.flush_all()
        for table in WRITTEN:
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET write_date = write_date - interval '1 day'",
                    SQL.identifier(table),
                )
            )
        self.env.invalidate_all()

    # --- the comparison -------------------------------------------------------

    def _rows(self, query, table):
        """The rows of ``query`` as a sorted list, without the ids of aggregate rows and
        the trace links of the SMS rows."""
        rows = self.env.execute_query_dict(query)
        skip = {"journey_trace_id", "mailing_trace_id"}
        if table in AGGREGATES:
            skip.add("id")
        return sorted(
            (tuple(sorted((k, v) for k, v in row.items() if k not in skip)) for row in rows),
            key=repr,
        )

    def assertKeptEqualsRecomputed(self, snapshot=None, tables=INCREMENTAL_TABLES):
        snapshot = self.Snapshot if snapshot is None else snapshot
        for table in tables:
            kept = self._rows(SQL("SELECT * FROM %s", SQL.identifier(table)), table)
            recomputed = self._rows(snapshot._recomputed(table), table)
            self.assertEqual(kept, recomputed, table)

    @given(st.lists(st.lists(OPERATION, min_size=1, max_size=6), min_size=1, max_size=4))
    @property_settings(25)
    def test_incremental_equals_recomputed(self, batches):
        """After each batch of operations, an incremental refresh keeps the SMS results,
        their totals and the campaign report equal to a computation from scratch."""
        with rolled_back(self.env):
            for batch in batches:
                for operation in batch:
                    self._apply(*operation)
                self.Snapshot._refresh()
                self.assertKeptEqualsRecomputed()
                self._age_writes()

    def test_nothing_new(self):
        """A refresh with nothing new changes nothing; the full build gives the same."""
        self._journey_sms(self.partners[0], T0, cancel=False)
        self.Snapshot._refresh()
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()
        self.Snapshot._refresh(full=True)
        self.assertKeptEqualsRecomputed()

    def test_step_facts_of_the_queued_traces(self):
        """The step facts computed again are those of the traces the triggers queued: a
        new trace, one whose state, branch or conversion changed; not one whose delivery
        or click was written (nothing of its step fact moves). The refresh empties the
        queue; made at the upgrade on kept results, it starts with the traces written
        since the last refresh."""
        Trace = self.env["sms.journey.trace"]

        def queued():
            self.env.flush_all()
            rows = self.env.execute_query(SQL("SELECT trace_id FROM sms_journey_step_fact_queue"))
            return sorted({row[0] for row in rows})

        self._journey_sms(self.partners[0], T0, cancel=False)
        self._journey_sms(self.partners[1], T0, cancel=False)
        first, second = Trace.search([("journey_id", "=", self.journey.id)], order="id")[-2:]
        self.assertEqual(queued()[-2:], [first.id, second.id])
        self.Snapshot._refresh()
        self.assertEqual(queued(), [])
        self._age_writes()
        first.outbox_message_id.write({"state": "delivered"})
        first.write({"clicked_at": T0 + H, "click_count": 1, "state": "sent"})
        self.assertEqual(queued(), [])
        first.write({"state": "held_out"})
        second.write({"branch": "yes", "converted": True})
        self.assertEqual(queued(), [first.id, second.id])
        self.Snapshot._refresh()
        self.assertEqual(queued(), [])
        self.assertKeptEqualsRecomputed()
        self._age_writes()
        # an upgrade from a version without the queue: the traces written since
        self.env.cr.execute("DROP TABLE sms_journey_step_fact_queue CASCADE")
        self.env.cr.execute("ALTER TABLE sms_journey_trace DISABLE TRIGGER USER")
        second.write({"state": "skipped"})
        self.env.flush_all()
        self.env.cr.execute("ALTER TABLE sms_journey_trace ENABLE TRIGGER USER")
        self.Snapshot._create_step_queue()
        self.assertEqual(queued(), [second.id])
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()

    def test_temps_of_an_earlier_shape(self):
        """The temporary tables a database session keeps between refreshes are made
        again when their table's columns changed since (an upgrade in a running server
        may have added columns); else they are kept and emptied."""
        self._journey_sms(self.partners[0], T0, cancel=False)
        self.Snapshot._refresh()
        cr = self.env.cr
        cr.execute("DROP TABLE IF EXISTS sms_journey_step_fact_new")
        cr.execute("CREATE TEMP TABLE sms_journey_step_fact_new (id int)")
        cr.execute("DROP TABLE IF EXISTS sms_result_moved")
        cr.execute("CREATE TEMP TABLE sms_result_moved (id int, whole bool)")
        self._journey_sms(self.partners[1], T0, cancel=False)
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()
        self._journey_sms(self.partners[2], T0, cancel=False)
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()

    def test_deleted_trace_participant_and_order_mark_their_rows(self):
        """A deleted trace, participant or order marks its step fact, control-group fact
        or order gap (a trigger per DELETE statement; the foreign keys of an earlier
        version, whose action read the whole table per deleted row, dropped at the
        upgrade): the next refresh takes them out."""
        cr = self.env.cr
        cr.execute(
            """DROP TRIGGER sms_journey_trace_deleted_mark_facts ON sms_journey_trace;
               ALTER TABLE sms_journey_step_fact ADD CONSTRAINT sms_journey_step_fact_trace_id_fkey
                     FOREIGN KEY (trace_id) REFERENCES sms_journey_trace (id) ON DELETE SET NULL"""
        )
        self.Snapshot._create_deleted_triggers()  # the upgrade of an earlier version's tables
        keys = self.env.execute_query(
            SQL(
                """SELECT conname FROM pg_constraint WHERE contype = 'f'
                    AND conrelid::regclass::text IN ('sms_journey_step_fact',
                                                     'sms_journey_holdout_fact',
                                                     'sms_program_order_gap')"""
            )
        )
        self.assertEqual(keys, [])
        for index in (0, 1, 2):
            self._journey_sms(self.partners[index], T0 + index * H, cancel=False)
        self._apply("order", 0, 0, False)
        self._apply("order", 1, 0, False)
        self.Snapshot._refresh()
        self._age_writes()
        first, second = self._sms(0), self._sms(1)
        first.unlink()
        second.participant_id.unlink()
        order = self.env["sale.order"].search([("state", "=", "sale")], limit=1)
        self.env.cr.execute(SQL("DELETE FROM sale_order WHERE id = %s", order.id))
        orphans = self.env.execute_query(
            SQL(
                """SELECT (SELECT count(*) FROM sms_journey_step_fact WHERE trace_id IS NULL),
                          (SELECT count(*) FROM sms_journey_holdout_fact
                            WHERE participant_id IS NULL),
                          (SELECT count(*) FROM sms_program_order_gap WHERE order_id IS NULL)"""
            )
        )
        self.assertEqual(orphans, [(2, 1, 1)])
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()

    def test_churn_passes(self):
        """A customer becomes inactive between two refreshes though nothing was written:
        the next refresh counts it in the month of the day it happened, as a computation
        from scratch does."""
        self.env.company.sms_inactivity_days = 30
        self._apply("order", 0, 0, False)
        churn_at = T0 + timedelta(days=30)
        month = {"company_id": self.env.company.id, "month": churn_at.date().replace(day=1)}
        Month = self.env["sms.program.month"]
        for now, churned in ((churn_at - H, 0), (churn_at + H, 1)):
            snapshot = self.Snapshot.with_context(results_now=now)
            snapshot._refresh()
            self.assertKeptEqualsRecomputed(snapshot)
            row = Month.search([(k, "=", v) for k, v in month.items()])
            self.assertEqual(sum(row.mapped("churned")), churned)

    def test_churn_within_a_second(self):
        """A churn date a fraction of a second before a refresh (an order dated to the
        microsecond, as by an import in SQL) is counted once: a refresh counts churn up
        to the whole second it stores, the next one from there."""
        self.env.company.sms_inactivity_days = 30
        self._apply("order", 0, 0, False)
        self.env.flush_all()
        half = timedelta(microseconds=500_000)
        self.env.cr.execute(
            "UPDATE sale_order SET date_order = %s WHERE partner_id = %s",
            [T0 + half, self.partners[0].id],
        )
        self.env.invalidate_all()
        churn_at = T0 + timedelta(days=30) + half
        for now in (churn_at + half / 2, churn_at - half + H):
            snapshot = self.Snapshot.with_context(results_now=now)
            snapshot._refresh()
        self.assertKeptEqualsRecomputed(snapshot)
        month = churn_at.date().replace(day=1)
        rows = self.env["sms.program.month"].search(
            [("company_id", "=", self.env.company.id), ("month", "=", month)]
        )
        self.assertEqual(sum(rows.mapped("churned")), 1)

    def test_family_order_in_window(self):
        """An order of a participant's family within its goal window, the participant
        itself unwritten: the next refresh moves its control-group fact from the kept
        one, as a computation from scratch does; an order outside leaves it alone."""
        self._journey_sms(self.partners[0], T0 + H, cancel=False)
        self.Snapshot._refresh()
        for days, converted in ((30, 0), (2, 1)):
            self._age_writes()
            self._apply("order", 0, days * 24, False)
            self.Snapshot._refresh()
            self.assertKeptEqualsRecomputed()
            fact = self.env.execute_query(
                SQL(
                    "SELECT converted FROM sms_journey_holdout_fact WHERE family_id = %s",
                    self.partners[0].id,
                )
            )
            self.assertEqual(fact, [(converted,)])

    def test_family_order_moves(self):
        """A family's order repriced, moved from one participant's goal window to
        another's, into both, another order in both, then both canceled, the
        participants unwritten: each refresh moves their control-group facts in place
        by the gaps that moved, as a computation from scratch does; so does a refresh
        that builds the dashboard again."""
        partner = self.partners[0]
        self._journey_sms(partner, T0 + H, cancel=False)  # goal window: T0 to T0 + 14 days
        self._journey_sms(partner, T0 + 72 * H + H, cancel=False)  # T0 + 3 to 17 days
        self._apply("order", 0, 48, False)
        order = self.env["sale.order"].search([("partner_id", "=", partner.id)])
        self.Snapshot._refresh()

        def cancel_all():
            self.env["sale.order"].search(
                [("partner_id", "=", partner.id), ("state", "=", "sale")]
            )._action_cancel()

        def new_period_and_order():
            self.env.company.sms_inactivity_days = 45
            self._apply("order", 0, 7 * 24, False)

        for change, facts in (
            (lambda: order.order_line.write({"price_unit": 40}), [(1, 40), (0, 0)]),
            (lambda: order.write({"date_order": T0 + 16 * 24 * H}), [(0, 0), (1, 40)]),
            (lambda: order.write({"date_order": T0 + 5 * 24 * H}), [(1, 40), (1, 40)]),
            (lambda: self._apply("order", 0, 6 * 24, False), [(1, 140), (1, 140)]),
            (order._action_cancel, [(1, 100), (1, 100)]),
            (cancel_all, [(0, 0), (0, 0)]),
            # the dashboard built again (another inactivity period): the facts of the
            # family computed again from their kept rows
            (new_period_and_order, [(1, 100), (1, 100)]),
        ):
            self._age_writes()
            change()
            self.Snapshot._refresh()
            self.assertKeptEqualsRecomputed()
            kept = self.env.execute_query(
                SQL(
                    """SELECT converted, revenue FROM sms_journey_holdout_fact
                        WHERE family_id = %s ORDER BY window_start""",
                    partner.id,
                )
            )
            self.assertEqual(kept, facts)

    def test_family_gaps_from_the_first_written(self):
        """A customer's gaps are computed again from the order just before the first
        one written on: a new last order, one moved between two others, one on the
        same date as another, the first one canceled; after each refresh every gap
        (the order before the first written one keeps its reactivation) equals a
        computation from scratch."""
        self.env.company.sms_inactivity_days = 30
        for day in (0, 40, 80):  # each order after an inactive month: a reactivation
            self._apply("order", 0, day * 24, False)
        self.Snapshot._refresh()
        orders = self.env["sale.order"].search(
            [("partner_id", "=", self.partners[0].id)], order="date_order"
        )

        def reactivated():
            return self.env.execute_query(
                SQL(
                    """SELECT count(*) FROM sms_program_order_gap
                        WHERE family_id = %s AND reactivated""",
                    self.partners[0].id,
                )
            )[0][0]

        for change, count in (
            (lambda: self._apply("order", 0, 120 * 24, False), 3),
            (lambda: orders[1].write({"date_order": T0 + 60 * 24 * H}), 2),
            (lambda: self._apply("order", 0, 60 * 24, False), 2),
            (orders[0]._action_cancel, 1),
        ):
            self._age_writes()
            change()
            self.Snapshot._refresh()
            self.assertKeptEqualsRecomputed()
            self.assertEqual(reactivated(), count)

    def _inbound_days(self):
        """The dashboard's *inbound* days: {(company, day): count}."""
        return {
            (company, day): inbound
            for company, day, inbound in self.env.execute_query(
                SQL("SELECT company_id, day, inbound FROM sms_program_day WHERE part = 'inbound'")
            )
        }

    def test_reply_moved_and_deleted(self):
        """A reply added, moved to another day, to another company, then deleted: each
        refresh moves the dashboard's days by it alone (its kept row as it was out, as it
        is in), as a computation from scratch does."""
        self._journey_sms(self.partners[0], T0, cancel=False)
        self._apply("reply", 0, 2, False)
        self.Snapshot._refresh()
        other = self.env["res.company"].create({"name": "Other company"})
        gateway = self.env["sms.gateway"].create(
            {**self._gateway_values(), "name": "Other", "company_id": other.id}
        )
        reply = self.env["sms.interaction"].search([], order="id desc", limit=1)
        company = self.env.company.id
        day = (T0 + 2 * H).date()

        def rewrite(values):
            """As an import or a script in SQL would (the ORM keeps a reply as it came)."""
            self.env.cr.execute(
                SQL(
                    "UPDATE sms_interaction SET %s, write_date = now() AT TIME ZONE 'UTC'"
                    " WHERE id = %s",
                    SQL(", ").join(SQL("%s = %s", SQL.identifier(k), v) for k, v in values.items()),
                    reply.id,
                )
            )

        # a deleted reply stays in the campaign report's rows (its SMS is not written):
        # the dashboard's tables alone compared
        dashboard = [t for t in INCREMENTAL_TABLES if t.startswith("sms_program")]
        for change, days, tables in (
            (lambda: None, {(company, day): 1}, INCREMENTAL_TABLES),
            (
                lambda: rewrite({"received_at": T0 + 50 * H}),
                {(company, day + timedelta(2)): 1},
                INCREMENTAL_TABLES,
            ),
            (
                lambda: rewrite({"gateway_id": gateway.id, "company_id": other.id}),
                {(other.id, day + timedelta(2)): 1},
                INCREMENTAL_TABLES,
            ),
            (reply.unlink, {}, dashboard),
        ):
            self._age_writes()
            change()
            self.Snapshot._refresh()
            self.assertKeptEqualsRecomputed(tables=tables)
            self.assertEqual(self._inbound_days(), days)

    def test_reply_written_unchanged(self):
        """A reply written without moving (its text and number erased, as the erasure
        and the retention do) leaves the dashboard's days and the kept row as they
        were."""
        self._journey_sms(self.partners[0], T0, cancel=False)
        self._apply("reply", 0, 2, False)
        self._apply("reply", 0, 3, False)
        self.Snapshot._refresh()
        self._age_writes()
        self.env.cr.execute(
            "UPDATE sms_interaction SET body = '[erased]', write_date = now() AT TIME ZONE 'UTC'"
        )
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()
        self.assertEqual(self._inbound_days(), {(self.env.company.id, (T0 + 2 * H).date()): 2})

    def test_upgrade_from_shape_3(self):
        """The upgrade from shape 3 (no kept SMS received, the replies counted in the
        days' *event* part) creates the SMS received and builds only the dashboard's
        days and months; the other kept rows stay, and the next refresh moves them."""
        self._journey_sms(self.partners[0], T0, cancel=False)
        self._apply("reply", 0, 2, False)
        self.Snapshot._refresh()
        self._age_writes()
        self.env.cr.execute(
            """DROP TABLE sms_program_inbound;
               UPDATE sms_program_day SET part = 'event' WHERE part = 'inbound'"""
        )
        parameters = self.env["ir.config_parameter"].sudo()
        parameters.set_param("sms_journey.results_schema", "3")
        self._apply("reply", 0, 30, False)
        self._journey_sms(self.partners[1], T0 + H, cancel=False)  # moved by the next refresh
        self.env.flush_all()
        Snapshot = type(self.Snapshot)
        with patch.object(Snapshot, "_build", side_effect=AssertionError("built all")):
            self.Snapshot.init()
        self.assertEqual(parameters.get_param("sms_journey.results_schema"), SCHEMA_VERSION)
        self.assertEqual(
            self.env.execute_query(
                SQL("SELECT count(*) FROM sms_program_day WHERE part = 'inbound'")
            ),
            [(2,)],
        )
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()

    def _event_rows(self, kind):
        """[(hour after, day after)] of the campaign report's kept rows of ``kind``."""
        return self.env.execute_query(
            SQL(
                """SELECT hour_after, day_after FROM sms_result_event_fact
                    WHERE kind = %s ORDER BY hour_after, day_after""",
                kind,
            )
        )

    def test_new_sms_clicked_in_the_same_refresh(self):
        """A journey SMS and a mailing SMS sent, clicked and answered between two
        refreshes (new SMS: no kept campaign rows to look up) count their sends, clicks
        and replies in the next refresh."""
        self.Snapshot._refresh()
        self._age_writes()
        self._journey_sms(self.partners[0], T0, cancel=False)
        self._mailing_sms(self.partners[1], T0, cancel=False)
        for index, hours in ((0, 2), (1, 30), (0, 3)):
            self._apply("click", index, hours, False)
        self._apply("reply", 1, 5, False)
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()
        self.assertEqual(self._event_rows("click"), [(3, 1), (4, 1), (None, 2)])
        self.assertEqual(self._event_rows("reply"), [(6, 1)])
        self.assertEqual(len(self._event_rows("sent")), 2)

    def test_second_reply_row_unchanged(self):
        """A second reply on a journey SMS and on a mailing SMS already answered leaves
        their SMS rows as they were (replied stays 1): the next refresh still counts it
        in the campaign report, read from the kept SMS row."""
        self._journey_sms(self.partners[0], T0, cancel=False)
        self._mailing_sms(self.partners[1], T0, cancel=False)
        for index in (0, 1):
            self._apply("reply", index, 2, False)
        self.Snapshot._refresh()
        self._age_writes()
        rows = self.env.execute_query(SQL("SELECT * FROM sms_result ORDER BY id"))
        for index in (0, 1):
            self._apply("reply", index, 30, False)
        self.Snapshot._refresh()
        self.assertEqual(self.env.execute_query(SQL("SELECT * FROM sms_result ORDER BY id")), rows)
        self.assertKeptEqualsRecomputed()
        self.assertEqual(self._event_rows("reply"), [(3, 1), (3, 1), (None, 2), (None, 2)])

    def test_click_then_send_date_moves(self):
        """An SMS clicked, then its send date moves (a late send report of the outbox,
        a mailing's send time): the next refresh places its kept clicks again after the
        new send date, as a computation from scratch does."""
        self._journey_sms(self.partners[0], T0, cancel=False)
        self._mailing_sms(self.partners[1], T0, cancel=False)
        self._apply("click", 0, 5, False)
        self._apply("click", 1, 5, False)
        self.Snapshot._refresh()
        self.assertEqual(self._event_rows("click"), [(6, 1), (6, 1)])
        self._age_writes()
        journey, mailing = self._sms(0), self._sms(1)
        journey.outbox_message_id.write({"sent_at": T0 + 3 * H})
        self._set_create_date(mailing, T0 - 20 * H)
        mailing.write({"trace_status": "sent"})  # written since: read again
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()
        self.assertEqual(self._event_rows("click"), [(3, 1), (None, 2)])

    def test_click_moves_only_the_clicks_rows(self):
        """A click on an SMS already answered, a reply on one already clicked: the next
        refresh computes again only the campaign rows of the kind written (the send's
        and the other kind's rows are neither read nor computed), all of them for an
        SMS whose send date moved, and equals a computation from scratch."""
        self._journey_sms(self.partners[0], T0, cancel=False)
        self._journey_sms(self.partners[2], T0, cancel=False)
        self._mailing_sms(self.partners[1], T0, cancel=False)
        pool = [self._sms(index) for index in range(3)]
        answered, late = (i for i in range(3) if pool[i]._name == "sms.journey.trace")
        clicked = next(i for i in range(3) if pool[i]._name == "mailing.trace")
        self._apply("reply", answered, 2, False)
        self._apply("click", clicked, 2, False)
        self.Snapshot._refresh()
        self._age_writes()
        self._apply("click", answered, 30, False)
        self._apply("reply", clicked, 5, False)
        pool[late].outbox_message_id.write({"sent_at": T0 + H})
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()
        moved = self.env.execute_query(
            SQL("SELECT id, whole, clicks, replies FROM sms_result_moved ORDER BY id")
        )
        expected = [
            (pool[answered].id * 2, False, True, False),
            (pool[clicked].id * 2 + 1, False, False, True),
            (pool[late].id * 2, True, False, False),
        ]
        self.assertEqual(moved, sorted(expected))
        self.assertEqual(self._event_rows("click"), [(3, 1), (None, 2)])
        self.assertEqual(self._event_rows("reply"), [(3, 1), (6, 1)])

    def test_deleted_trace_marks_its_row(self):
        """A journey trace deleted, alone or with its participant, marks its SMS row
        (a trigger, the foreign key of an earlier version dropped at the upgrade): the
        next refresh removes the row."""
        cr = self.env.cr
        cr.execute(
            """DROP TRIGGER sms_journey_trace_deleted_mark_facts ON sms_journey_trace;
               ALTER TABLE sms_result ADD CONSTRAINT sms_result_journey_trace_id_fkey
                     FOREIGN KEY (journey_trace_id) REFERENCES sms_journey_trace (id)
                     ON DELETE SET NULL;
               CREATE INDEX sms_result_journey_trace_id_index ON sms_result (journey_trace_id)"""
        )
        # the upgrade of an earlier version's tables
        self.assertFalse(self.Snapshot._create_tables())
        self.Snapshot._create_deleted_triggers()
        self.assertEqual(
            self.env.execute_query(
                SQL(
                    """SELECT count(*) FROM pg_constraint
                        WHERE conrelid = 'sms_result'::regclass AND contype = 'f'"""
                )
            ),
            [(1,)],  # the mailing traces' key
        )
        self.assertIsNone(
            self.env.execute_query(SQL("SELECT to_regclass('sms_result_journey_trace_id_index')"))[
                0
            ][0]
        )
        for index in (0, 1, 2):
            self._journey_sms(self.partners[index], T0 + index * H, cancel=False)
        self.Snapshot._refresh()
        self._age_writes()
        first, second = self._sms(0), self._sms(1)
        first.unlink()
        second.participant_id.unlink()
        self.Snapshot._refresh()
        self.assertKeptEqualsRecomputed()
        self.assertEqual(
            self.env.execute_query(SQL("SELECT count(*) FROM sms_result")),
            [(1,)],
        )

    def test_result_indexes_hold_rows_with_a_value(self):
        """The SMS rows' indexes of a column empty on most rows hold only the rows with
        a value; one of an earlier version (every row in it) is made again at the
        upgrade (the tables kept)."""
        cr = self.env.cr
        cr.execute("DROP INDEX sms_result_mailing_id_index")
        cr.execute("CREATE INDEX sms_result_mailing_id_index ON sms_result (mailing_id)")
        self.assertFalse(self.Snapshot._create_tables())
        predicates = dict(
            self.env.execute_query(
                SQL(
                    """SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid)
                         FROM pg_index WHERE indrelid = 'sms_result'::regclass"""
                )
            )
        )
        self.assertEqual(predicates["sms_result_mailing_id_index"], "(mailing_id IS NOT NULL)")
        self.assertEqual(predicates["sms_result_step_id_index"], "(step_id IS NOT NULL)")
        self.assertIsNone(predicates["sms_result_date_id_index"])

    def test_gap_indexes_hold_gaps_with_a_churn_or_reactivation(self):
        """The order gaps' indexes by churn date and by reactivation hold only the gaps
        that have one; those of an earlier version (every gap in them) are dropped at
        the upgrade (the tables kept), and the churned and reactivated lists read the
        new ones."""
        cr = self.env.cr
        cr.execute(
            """DROP INDEX sms_program_order_gap_churned_index;
               DROP INDEX sms_program_order_gap_reactivated_index;
               CREATE INDEX sms_program_order_gap_churn_at_index
                   ON sms_program_order_gap (churn_at);
               CREATE INDEX sms_program_order_gap_company_id_churn_at_index
                   ON sms_program_order_gap (company_id, churn_at);
               CREATE INDEX sms_program_order_gap_company_id_date_order_index
                   ON sms_program_order_gap (company_id, date_order)"""
        )
        Snapshot = type(self.Snapshot)
        with patch.object(Snapshot, "_build", side_effect=AssertionError("built all")):
            self.Snapshot.init()
        predicates = dict(
            self.env.execute_query(
                SQL(
                    """SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid)
                         FROM pg_index WHERE indrelid = 'sms_program_order_gap'::regclass"""
                )
            )
        )
        self.assertEqual(
            {name: where for name, where in predicates.items() if "_id_index" not in name},
            {
                "sms_program_order_gap_pkey": None,
                "sms_program_order_gap_churned_index": "(churn_at IS NOT NULL)",
                "sms_program_order_gap_reactivated_index": "reactivated",
                "sms_program_order_gap_orphan_index": "(order_id IS NULL)",
            },
        )
        self.assertNotIn("sms_program_order_gap_company_id_churn_at_index", predicates)
        self.assertNotIn("sms_program_order_gap_company_id_date_order_index", predicates)
        cr.execute("SET LOCAL enable_seqscan = off")
        for column, condition in (("churn_at", "churn_at <= now()"), ("date_order", "reactivated")):
            plan = "\n".join(
                row[0]
                for row in self.env.execute_query(
                    SQL(
                        """EXPLAIN SELECT id FROM sms_program_order_gap
                            WHERE company_id = 1 AND %s AND %s >= '2026-01-01'
                              AND %s < '2026-02-01'""",
                        SQL(condition),
                        SQL.identifier(column),
                        SQL.identifier(column),
                    )
                )
            )
            self.assertIn("_gap_churned_index" if column == "churn_at" else "_reactivated_", plan)
