"""The global control group's sums kept from what changed since the last refresh
(``sms_result_snapshot_holdout.py``) equal the same computed from scratch, after any
sequence of orders, cancellations, amount changes, orders moved to another contact,
contacts added, archived or without phone, journey entries, SMS mailing recipients (and
either deleted), new periods and periods ended early, their first build spread over
several refreshes."""

from datetime import datetime, timedelta
from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from odoo.tests import tagged
from odoo.tools import SQL

from ..models import sms_result_snapshot_holdout as holdout
from . import common

PARTNERS = 4
T0, H = datetime(2026, 3, 2, 8, 0), timedelta(hours=1)
# an operation: (kind, which contact / order, hours after T0, a flag)
OPERATION = common.operations(
    [
        "order",
        "order",
        "cancel",
        "reprice",
        "move",
        "new_contact",
        "archive",
        "phone",
        "participant",
        "recipient",
        "unenrol",
        "unsend",
        "new_period",
        "end_period",
    ],
    20,
    400,
)


@tagged("post_install", "-at_install")
class TestGlobalHoldoutIncremental(common.SmsJourneyCase):
    results_watermark = True  # a refresh reads what was written since the last one

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.Period = env["sms.global.holdout.period"]
        cls.Period.create(
            {"percent": 50, "date_start": T0 - 24 * H, "date_end": T0 + 300 * H, "seed": "s"}
        )
        cls.Snapshot = env["sms.result.snapshot"]
        cls.partners = env["res.partner"].create(
            [{"name": f"Head {i}", "mobile": f"+39 333 556 00{i:02d}"} for i in range(PARTNERS)]
        )
        cls.journey = common.new_segment_journey(
            env, "Holdout journey", common.new_partner_template(env, "Promo", "Hi")
        )
        cls.mailing = common.new_sms_mailing(env, "Promo", name="Holdout mailing")
        cls.product = env["product.product"].create(
            {"name": "Widget", "list_price": 100.0, "taxes_id": [(5, 0, 0)]}
        )
        # a first build over two refreshes
        last = env.execute_query(SQL("SELECT max(id) FROM res_partner"))[0][0]
        cls.startClassPatcher(patch.object(holdout, "HOLDOUT_BATCH", last // 2 + 1))
        cls.startClassPatcher(patch.object(holdout, "HOLDOUT_BATCHES", 1))

    def _pool(self):
        return self.env["res.partner"].search(
            [("id", ">=", self.partners[0].id), ("name", "like", "Head")], order="id"
        )

    def _contact(self, index):
        partners = self._pool()
        return partners[index % len(partners)]

    def _apply(self, kind, index, hours, flag):
        at = T0 + hours * H
        partner = self._contact(index)
        orders = self.env["sale.order"].search(
            [("partner_id", "in", self._pool().ids), ("state", "=", "sale")], order="id"
        )
        order = orders[index % len(orders)] if orders else None
        if kind == "order":
            order = self.env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [(0, 0, {"product_id": self.product.id, "price_unit": 100})],
                }
            )
            order.action_confirm()
            order.date_order = at
        elif kind == "cancel" and order:
            order._action_cancel()
        elif kind == "reprice" and order:  # a discount, a refund: the total changes
            order.order_line[:1].price_unit = 10 + hours
        elif kind == "move" and order:  # the order was another contact's
            order.partner_id = self._contact(index + 1 + hours % 3)
        elif kind == "new_contact":
            self.env["res.partner"].create({"name": "Head new", "mobile": f"+39 333 557 {hours}"})
        elif kind == "archive":
            partner.active = flag
        elif kind == "phone":
            partner.mobile = f"+39 333 558 {hours:04d}" if flag else False
        elif kind == "participant":
            self.env["sms.journey.participant"].create(
                {
                    "journey_id": self.journey.id,
                    "partner_id": partner.id,
                    "key": f"holdout-{len(self.journey.participant_ids)}",
                    "state": "completed",
                    "enrolled_at": at,
                }
            )
        elif kind == "recipient":
            trace = self.mailing.mailing_trace_ids.create(
                {"res_id": partner.id, "sms_number": partner.phone_sanitized}
                | {"trace_type": "sms", "model": "res.partner", "mass_mailing_id": self.mailing.id}
            )
            trace.flush_recordset()
            self.env.cr.execute(
                SQL("UPDATE mailing_trace SET create_date = %s WHERE id = %s", at, trace.id)
            )
        elif kind in ("unenrol", "unsend"):  # a participation or an SMS trace deleted
            records = (
                self.journey.participant_ids
                if kind == "unenrol"
                else self.mailing.mailing_trace_ids
            ).sorted("id")
            if records:
                records[index % len(records)].unlink()
        elif kind == "new_period" and not self.Period.search([("date_start", "=", at)]):
            self.Period._start(self.env.company, 10 + index, 5 + hours % 20, now=at)
        elif kind == "end_period":
            running = self.Period.search([], limit=1)
            if at > running.date_start and at < running.date_end:
                running.date_end = at

    def _age(self):
        """Date what was written so far before the refresh's watermark: the next refresh
        sees only what the next operations write, as in production (a test's writes all
        bear its transaction's time)."""
        self.env.flush_all()
        for table in ("res_partner", "sale_order", "sms_journey_participant", "mailing_trace"):
            self.env.cr.execute(
                SQL("UPDATE %s SET write_date = %s", SQL.identifier(table), datetime(2001, 1, 1))
            )
        self.env.invalidate_all()

    def _states(self):
        return dict(
            self.env.execute_query(SQL("SELECT period_id, built_until FROM sms_holdout_state"))
        )

    def _rows(self, query, where=None):
        where = SQL("TRUE") if where is None else where
        rows = self.env.execute_query_dict(SQL("SELECT * FROM (%s) q WHERE %s", query, where))
        return sorted(
            (tuple(sorted((k, v) for k, v in row.items() if k != "id")) for row in rows),
            key=repr,
        )

    def assertKeptEqualsRecomputed(self):
        """Each built part of the kept facts equals the same computed from scratch; the
        totals too once every period is built."""
        states = self._states()
        built = SQL(" OR ").join(
            SQL("(q.period_id = %s AND q.partner_id < %s)", period, until)
            for period, until in [*states.items(), (0, 0)]
        )
        recomputed = self.Snapshot._recomputed("sms_holdout_fact")
        kept = SQL("SELECT * FROM sms_holdout_fact")
        self.assertEqual(self._rows(kept), self._rows(recomputed, built))
        if all(until == holdout.BUILT for until in states.values()):
            self.assertEqual(
                self._rows(SQL("SELECT * FROM sms_holdout_total")),
                self._rows(self.Snapshot._recomputed("sms_holdout_total")),
            )

    @given(st.lists(st.lists(OPERATION, min_size=1, max_size=5), min_size=1, max_size=3))
    @common.property_settings(5)
    def test_incremental_equals_recomputed(self, batches):
        """The first build spreads over refreshes; after it, after each batch of
        operations a refresh keeps the facts equal to a computation from scratch; the
        builds of new periods end within a few refreshes."""
        with common.rolled_back(self.env):
            for _i in range(2):  # the first build, a batch of contacts each time
                self.Snapshot._refresh()
                self.assertKeptEqualsRecomputed()
            self.assertEqual(set(self._states().values()), {holdout.BUILT})
            self._age()
            for batch in batches:
                for operation in batch:
                    self._apply(*operation)
                self.Snapshot._refresh()
                self.assertKeptEqualsRecomputed()
                self._age()
            for _i in range(3):
                self.Snapshot._refresh()
            self.assertEqual(set(self._states().values()), {holdout.BUILT})
            self.assertKeptEqualsRecomputed()

    def test_deletions_leave_the_sums(self):
        """A deleted participation or SMS trace takes its contact out of the journey's or
        mailing's heads at the next refresh, unless another one keeps it there."""
        with common.rolled_back(self.env):
            for _i in range(2):
                self.Snapshot._refresh()
            self._age()
            for hours in (1, 2):
                self._apply("participant", 0, hours, True)
                self._apply("recipient", 1, hours, True)
            self._apply("recipient", 2, 3, True)
            self.Snapshot._refresh()
            self.assertKeptEqualsRecomputed()
            heads = SQL(
                "SELECT program, partner_id FROM sms_holdout_fact WHERE program <> 'overall'"
            )
            self.assertEqual(len(self._rows(heads)), 3)
            self._age()
            # one of two participations, then both traces of one contact
            self.journey.participant_ids.sorted("id")[0].unlink()
            self.mailing.mailing_trace_ids.filtered(
                lambda t: t.res_id == self._contact(1).id
            ).unlink()
            self.Snapshot._refresh()
            self.assertKeptEqualsRecomputed()
            self.assertEqual(
                self._rows(heads),
                self._rows(
                    SQL(
                        "SELECT 'journey' AS program, %s AS partner_id UNION ALL "
                        "SELECT 'mailing', %s",
                        self._contact(0).id,
                        self._contact(2).id,
                    )
                ),
            )

    def test_tables_of_an_older_build_are_built_again_by_the_refreshes(self):
        """Kept facts without the links to participations and traces (before deletions
        were followed) are dropped at the upgrade and built again by the next refreshes,
        not by the upgrade itself."""
        with common.rolled_back(self.env):
            self._apply("participant", 0, 1, True)
            self._apply("recipient", 1, 2, True)
            self.env.flush_all()
            self.env.cr.execute(
                "ALTER TABLE sms_holdout_fact DROP COLUMN participant_id, DROP COLUMN trace_id"
            )
            self.assertFalse(self.Snapshot._create_holdout_tables(), "not built at once")
            self.assertEqual(self._states(), {})
            self.assertFalse(self._rows(SQL("SELECT * FROM sms_holdout_fact")))
            for _i in range(2):
                self.Snapshot._refresh()
            self.assertEqual(set(self._states().values()), {holdout.BUILT})
            self.assertKeptEqualsRecomputed()
