"""sms.result.snapshot: the program dashboard's stored rows, the order gaps of each
customer and the months of each company, computed again where something changed."""

from contextlib import contextmanager

from odoo import fields, models
from odoo.tools import SQL
from odoo.tools.sql import create_index

from .sms_program_month import COLUMNS

# the companies' settings the dashboard was computed with (``_company_settings``)
COMPANY_SETTINGS = "sms_journey.results_company_settings"
# the time up to which the dashboard counted the customers who became inactive
CHURN_NOW = "sms_journey.results_churn_now"


class SmsResultSnapshot(models.AbstractModel):
    """The dashboard (``sms.program.month``) kept from what changed."""

    _inherit = "sms.result.snapshot"

    def _company_settings(self):
        """What the order gaps and the months depend on in each company: its
        inactivity period and time zone."""
        return (
            self.env.execute_query(
                SQL(
                    """SELECT string_agg(concat_ws(':', c.id, c.sms_inactivity_days, p.tz), ','
                                     ORDER BY c.id)
                     FROM res_company c LEFT JOIN res_partner p ON p.id = c.partner_id"""
                )
            )[0][0]
            or ""
        )

    def _create_gap_indexes(self):
        """The order gaps by churn date (the churn dates passed since the last refresh,
        ``_move_order_days``; a month's churned customers of a company) and a company's
        reactivating orders by date (``sms.program.month.action_open_reactivated``):
        only the gaps that have one are in them (a tenth and a sixtieth of the gaps at
        3 M orders), so an order written adds no entry there, or one; the indexes of
        every gap by company and date or churn date of an earlier version dropped.
        Created on tables of an earlier version too (``init``)."""
        cr = self.env.cr
        for name in ("churn_at", "company_id_churn_at", "company_id_date_order"):
            cr.execute(
                SQL(
                    "DROP INDEX IF EXISTS %s", SQL.identifier(f"sms_program_order_gap_{name}_index")
                )
            )
        for name, columns, where in (
            ("churned", ["churn_at"], "churn_at IS NOT NULL"),
            ("reactivated", ["company_id", "date_order"], "reactivated"),
        ):
            create_index(
                cr,
                f"sms_program_order_gap_{name}_index",
                "sms_program_order_gap",
                columns,
                where=where,
            )

    def _build_program(self):
        """The whole dashboard from scratch: the order gaps, then its days and months."""
        self.env["ir.config_parameter"].sudo().set_param(COMPANY_SETTINGS, self._company_settings())
        self._clear(["sms_program_order_gap"])
        self.env.cr.execute(
            SQL(
                "INSERT INTO sms_program_order_gap SELECT q.*, q.id FROM (%s) q",
                self.env["sms.program.month"]._gap_query(),
            )
        )
        self._build_days()

    def _build_days(self):
        """The dashboard's SMS received, days and months from scratch, from the order
        gaps and SMS rows as kept (the upgrade that adds the SMS received builds only
        these, ``init``)."""
        cr = self.env.cr
        Month = self.env["sms.program.month"]
        self._clear(["sms_program_inbound", "sms_program_day", "sms_program_month"])
        cr.execute(SQL("INSERT INTO sms_program_inbound %s", Month._inbound_query()))
        now = self._churn_now()
        union = Month._union(Month._all_branches(), now=now)
        cr.execute(SQL("INSERT INTO sms_program_day %s", Month._day_query(union)))
        cr.execute(SQL("INSERT INTO sms_program_month %s", Month._month_from_days()))
        self.env["ir.config_parameter"].sudo().set_param(CHURN_NOW, fields.Datetime.to_string(now))

    def _churn_now(self):
        """The time up to which the order gaps' churn is counted: the transaction's
        (``results_now`` in the context: a test's clock), to the second: the next
        refresh counts from the time stored (``CHURN_NOW``, whole seconds), and a churn
        date in the fraction of a second before it was counted twice."""
        now = (
            self.env.context.get("results_now")
            or self.env.execute_query(SQL("SELECT now() AT TIME ZONE 'UTC'"))[0][0]
        )
        return now.replace(microsecond=0)

    def _update_gaps(self, since):
        """The order gaps of the customers whose orders changed since ``since``
        (``_changed_families``) computed again (True); or, when an inactivity period or a time zone
        changed (every order and day moves), the whole dashboard built again (False)."""
        parameters = self.env["ir.config_parameter"].sudo()
        if parameters.get_param(COMPANY_SETTINGS) != self._company_settings() or not (
            parameters.get_param(CHURN_NOW)
        ):
            self._build_program()
            return False
        self._update_order_gaps(since)
        return True

    def _update_program(self, since, message_id, results_changed):
        """After the order gaps (``_update_gaps``): the dashboard's days moved by the
        gaps and SMS rows that changed, by the churn dates passed since the last
        refresh and by the SMS received that changed; the days where a call, an e-mail,
        a reminder, a survey answer or an opt-out happened or changed counted again;
        then the months of those days summed again."""
        parameters = self.env["ir.config_parameter"].sudo()
        before = fields.Datetime.to_datetime(parameters.get_param(CHURN_NOW))
        now = self._churn_now()
        self._move_order_days(before, now, results_changed)
        self._move_inbound_days(since)
        self._count_event_days(since, message_id)
        self._update_months()
        parameters.set_param(CHURN_NOW, fields.Datetime.to_string(now))

    def _changed_families(self, since):
        """The customers (commercial partners) whose orders were written since ``since``
        or lost one (deleted); each with the earliest date of an order of theirs written
        since (as it is and as it was) in ``sms_program_order_gap_bound`` (temporary:
        family_id, first): their gaps before it stay as they are (``_update_order_gaps``).
        The orders written since stay in ``sms_program_order_gap_written`` (temporary: as
        ``_gap_query`` reads them, whether confirmed, their family and date as their
        kept gap has them), read once for both."""
        cr = self.env.cr
        cr.execute(
            "DROP TABLE IF EXISTS sms_program_order_gap_written, sms_program_order_gap_bound"
        )
        with self._serial():
            cr.execute(
                SQL(
                    """
                    CREATE TEMP TABLE sms_program_order_gap_written AS
                    SELECT so.id, so.company_id, so.date_order,
                           COALESCE(p.commercial_partner_id, p.id) AS family_id,
                           so.sms_attribution_kind IS NOT NULL AS attributed,
                           so.sms_attributed_revenue AS attributed_revenue, so.amount_total,
                           so.state = 'sale' AS confirmed,
                           g.family_id AS kept_family_id, g.date_order AS kept_date_order
                      FROM sale_order so
                      JOIN res_partner p ON p.id = so.partner_id
                      LEFT JOIN sms_program_order_gap g ON g.id = so.id
                     WHERE so.write_date >= %s
                    """,
                    since,
                )
            )
        cr.execute(
            """
            CREATE TEMP TABLE sms_program_order_gap_bound AS
            SELECT family_id, min(date_order) AS first FROM (
                SELECT family_id, date_order FROM sms_program_order_gap_written
                 UNION ALL
                SELECT kept_family_id, kept_date_order FROM sms_program_order_gap_written
                 WHERE kept_family_id IS NOT NULL
                 UNION ALL
                SELECT family_id, date_order FROM sms_program_order_gap
                 WHERE order_id IS NULL
            ) changed
            GROUP BY family_id
            """
        )
        return [
            row[0]
            for row in self.env.execute_query(
                SQL("SELECT family_id FROM sms_program_order_gap_bound")
            )
        ]

    @contextmanager
    def _serial(self):
        """Run the statements inside without parallel workers: a few thousand rows read
        by index, that the planner costs high enough to share between workers, whose
        start costs more than the reading (70 ms of 7,000 buffers, on a busy server)."""
        cr = self.env.cr
        cr.execute("SELECT current_setting('max_parallel_workers_per_gather')")
        workers = cr.fetchone()[0]
        cr.execute("SELECT set_config('max_parallel_workers_per_gather', '0', true)")
        try:
            yield
        finally:
            cr.execute(
                SQL("SELECT set_config('max_parallel_workers_per_gather', %s, true)", workers)
            )

    def _update_order_gaps(self, since):
        """The order gaps of the changed families computed again from the first order of theirs
        written since ``since`` (``sms_program_order_gap_bound``): an order's gap reads
        the order before it and the one after it, so a family's gaps before the one just
        before that order stay as they were, and are not read (a new order, the usual
        change, moves two gaps: its own and the previous order's). The kept gaps from
        there and the orders written since (``sms_program_order_gap_written``) give the
        gaps; only those that differ are written, and stay as they were and as they are
        in ``sms_program_order_gap_old`` / ``_new`` (temporary)."""
        self._new_temps("sms_program_order_gap")
        cr = self.env.cr
        self._gaps_before()
        # the gaps that may change: the first (position 1) and those from the first
        # written order on (the first is the last one before it)
        columns = SQL(", ").join(
            SQL.identifier(c) for c in self._table_columns("sms_program_order_gap")
        )
        cr.execute(
            SQL(
                """
                INSERT INTO sms_program_order_gap_old
                SELECT %s FROM sms_program_order_gap_before WHERE position = 1
                 UNION ALL
                SELECT g.* FROM sms_program_order_gap_bound b
                 CROSS JOIN LATERAL (
                        SELECT * FROM sms_program_order_gap g
                         WHERE g.family_id = b.family_id AND g.date_order >= b.first
                        OFFSET 0) g
                """,
                columns,
            )
        )
        cr.execute(
            SQL(
                """INSERT INTO sms_program_order_gap_new
                   SELECT q.*, q.id FROM (%s) q
                    WHERE q.id NOT IN (SELECT id FROM sms_program_order_gap_before
                                        WHERE position = 2)""",
                self.env["sms.program.month"]._gap_query(orders=self._family_orders()),
            )
        )
        self._write_differing("sms_program_order_gap")

    def _gaps_before(self):
        """For each family of ``sms_program_order_gap_bound``: the last kept gap before
        its first written order (position 1: the first gap that may change, its next
        order may), and the one before that (position 2: what the first's own previous
        order is read from; kept apart, it is not computed again), whole, in
        ``sms_program_order_gap_before`` (temporary): not read again; (date, id) as the
        gaps order the orders."""
        cr = self.env.cr
        cr.execute("DROP TABLE IF EXISTS sms_program_order_gap_before")
        cr.execute("ANALYZE sms_program_order_gap_bound")
        cr.execute(
            """
            CREATE TEMP TABLE sms_program_order_gap_before AS
            SELECT * FROM (
                SELECT g.*, row_number() OVER (PARTITION BY g.family_id
                                               ORDER BY g.date_order DESC, g.id DESC)
                            AS position
                  FROM sms_program_order_gap_bound b
                 -- the last two by date, with the gaps of the same date as the second:
                 -- in the index's order, not sorted for each family (a sort set up a
                 -- thousand times cost more than the reading); sorted once above
                 CROSS JOIN LATERAL (
                        SELECT * FROM sms_program_order_gap g
                         WHERE g.family_id = b.family_id AND g.date_order < b.first
                         ORDER BY g.date_order DESC FETCH FIRST 2 ROWS WITH TIES) g
            ) g
            WHERE position <= 2
            """
        )

    def _table_columns(self, table):
        """The columns of ``table``, in their order."""
        return [
            name
            for (name,) in self.env.execute_query(
                SQL(
                    """SELECT attname FROM pg_attribute
                        WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped
                        ORDER BY attnum""",
                    table,
                )
            )
        ]

    def _family_orders(self):
        """The confirmed orders of the changed families from their first gap that may
        change on (``_update_order_gaps``), as ``_gap_query`` reads them (id,
        company_id, date_order, family_id, attributed, attributed_revenue,
        amount_total): those written since (``sms_program_order_gap_written``), the
        others from their kept gap (``sms_program_order_gap_old``), with the order
        before the first (``sms_program_order_gap_before``, position 2: only its date is
        read, the first's previous order), so that a customer's other orders are not
        read again."""
        return SQL(
            """
            SELECT o.id, o.company_id, o.date_order, o.family_id, o.attributed,
                   o.attributed_revenue, o.amount_total
              FROM sms_program_order_gap_old o
             WHERE o.order_id IS NOT NULL
               AND o.id NOT IN (SELECT id FROM sms_program_order_gap_written)
             UNION ALL
            SELECT f.id, f.company_id, f.date_order, f.family_id, f.attributed,
                   f.attributed_revenue, f.amount_total
              FROM sms_program_order_gap_before f
             WHERE f.position = 2
             UNION ALL
            SELECT w.id, w.company_id, w.date_order, w.family_id, w.attributed,
                   w.attributed_revenue, w.amount_total
              FROM sms_program_order_gap_written w
             WHERE w.confirmed
            """
        )

    def _move_order_days(self, before, now, results_changed):
        """Move the *order* part of the dashboard's days by the order gaps and SMS rows
        that changed (the old rows out, churn counted up to ``before``; the new rows in,
        churn up to ``now``) and by the churn dates of the other gaps passed between
        ``before`` and ``now``; the days moved stay in ``sms_program_day_new``."""
        Month = self.env["sms.program.month"]
        branches = []
        # the SMS rows that changed, less those whose date, company, sent and cost did
        # not (a click, a reply, a delivery: most): they go out and back to the same day
        same = " AND ".join(
            f"x.{c} IS NOT DISTINCT FROM r.{c}" for c in ("date", "company_id", "sent", "cost")
        )
        for gaps, results, other, sign, at in (
            ("sms_program_order_gap_old", "sms_result_old", "sms_result_new", "-1", before),
            ("sms_program_order_gap_new", "sms_result_new", "sms_result_old", "1", now),
        ):
            results = (
                f"(SELECT r.* FROM {results} r WHERE NOT EXISTS"
                f" (SELECT 1 FROM {other} x WHERE x.id = r.id AND {same}))"
            )
            parts = Month._branches(gaps=gaps, results=results, sign=sign)["order"]
            if not results_changed:
                parts = parts[:-1]  # the SMS rows' branch comes last
            branches.append(Month._union(parts, now=at))
        passed = SQL(
            """SELECT o.company_id, o.churn_at AS at, 'order'::varchar AS part, %s, 1 AS sign
                 FROM sms_program_order_gap o
                WHERE o.churn_at > %s AND o.churn_at <= %s
                  AND o.id NOT IN (SELECT id FROM sms_program_order_gap_new)""",
            SQL(", ").join(
                SQL("%s AS %s", SQL("1" if c == "churned" else "0"), SQL.identifier(c))
                for c in COLUMNS
            ),
            before,
            now,
        )
        self._move_days("sms_program_day_new", SQL(" UNION ALL ").join([*branches, passed]))

    def _move_inbound_days(self, since):
        """Move the *inbound* part of the dashboard's days by the SMS received written
        since ``since`` or deleted: their kept rows (``sms_program_inbound``) as they
        were out, as they are in; the days moved stay in ``sms_program_inbound_day``.
        (The retention and the erasure overwrite a reply's text and number, never its
        time or company.)"""
        self._new_temps("sms_program_inbound")
        cr = self.env.cr
        Month = self.env["sms.program.month"]
        cr.execute(SQL("INSERT INTO sms_program_inbound_new %s", Month._inbound_query(since=since)))
        # an array, not a subquery: the planner would read the whole table to join it
        cr.execute(
            SQL(
                """INSERT INTO sms_program_inbound_old
                   SELECT * FROM sms_program_inbound
                    WHERE id = ANY(ARRAY(SELECT id FROM sms_interaction
                                          WHERE write_date >= %s))
                    UNION ALL
                   SELECT * FROM sms_program_inbound WHERE interaction_id IS NULL""",
                since,
            )
        )
        self._write_differing("sms_program_inbound")
        union = SQL(" UNION ALL ").join(
            Month._union(Month._branches(sign=sign)["inbound"], inbound=SQL.identifier(rows))
            for rows, sign in (("sms_program_inbound_old", "-1"), ("sms_program_inbound_new", "1"))
        )
        self._move_days("sms_program_inbound_day", union)

    def _move_days(self, temp, union):
        """Move the dashboard's days by the signed rows of ``union`` (``_branches``),
        summed by day in the temporary table ``temp``."""
        cr = self.env.cr
        cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(temp)))
        cr.execute(
            SQL(
                "CREATE TEMP TABLE %s AS %s",
                SQL.identifier(temp),
                self.env["sms.program.month"]._day_query(union),
            )
        )
        cr.execute(
            SQL(
                """INSERT INTO sms_program_day SELECT * FROM %s
                   ON CONFLICT (company_id, day, part) DO UPDATE SET %s""",
                SQL.identifier(temp),
                SQL(", ").join(
                    SQL(
                        "%(c)s = sms_program_day.%(c)s + EXCLUDED.%(c)s",
                        c=SQL.identifier(c),
                    )
                    for c in (*COLUMNS, "row_count")
                ),
            )
        )
        cr.execute("DELETE FROM sms_program_day WHERE row_count = 0")

    def _count_event_days(self, since, message_id):
        """Count again the *event* part of the days where a call or e-mail, an
        overdue-invoice reminder, a survey answer or a consent change was written since
        ``since``; those days stay in ``sms_program_day_dirty`` (company_id, day, lo,
        hi: the day in UTC)."""
        cr = self.env.cr
        Month = self.env["sms.program.month"]
        cr.execute("DROP TABLE IF EXISTS sms_program_day_dirty")
        cr.execute(self._dirty_days_sql(since, message_id))
        if not self.env.execute_query(SQL("SELECT 1 FROM sms_program_day_dirty LIMIT 1")):
            return
        # without statistics the planner takes the temporary table for 1,570 days: the
        # count below was estimated at 1.5 M rows at 3 M orders, and JIT-compiled (2 s)
        cr.execute("ANALYZE sms_program_day_dirty")
        cr.execute(
            """DELETE FROM sms_program_day
                WHERE part = 'event' AND (company_id, day) IN (SELECT company_id, day
                                                                 FROM sms_program_day_dirty)"""
        )
        # each day's rows are its company's rows of its period in UTC: read by the
        # indexes of the dates, summed without converting each to the local day
        union = Month._union(Month._branches(dirty=True)["event"])
        cr.execute(
            SQL(
                """INSERT INTO sms_program_day
                   SELECT d.company_id, d.day, 'event'::varchar, %s, SUM(u.sign)
                     FROM sms_program_day_dirty d CROSS JOIN LATERAL (%s) u
                    GROUP BY d.company_id, d.day""",
                SQL(", ").join(SQL("SUM(u.sign * u.%s)", SQL.identifier(c)) for c in COLUMNS),
                union,
            )
        )

    def _dirty_days_sql(self, since, message_id):
        """The temporary table ``sms_program_day_dirty``: the (company, day) pairs where a
        call or e-mail, an overdue invoice, a survey answer or a consent change
        was written since ``since``."""
        main = SQL("(SELECT min(id) FROM res_company)")
        return SQL(
            """
            CREATE TEMP TABLE sms_program_day_dirty AS
            SELECT DISTINCT t.company_id, d.day,
                   (d.day::timestamp AT TIME ZONE z.tz) AT TIME ZONE 'UTC' AS lo,
                   ((d.day + 1)::timestamp AT TIME ZONE z.tz) AT TIME ZONE 'UTC' AS hi
              FROM (
                SELECT COALESCE(m.record_company_id, %(main)s) AS company_id, m.date AS at
                  FROM mail_message m
                 WHERE m.id > %(message_id)s
                   AND (m.message_type = 'email' OR m.mail_activity_type_id IS NOT NULL)
                 UNION ALL
                SELECT COALESCE(p.company_id, j.company_id), p.enrolled_at
                  FROM sms_journey_participant p JOIN sms_journey j ON j.id = p.journey_id
                 WHERE j.trigger = 'invoice_overdue' AND p.source_model = 'account.move'
                   AND (p.write_date >= %(since)s
                        OR EXISTS (SELECT 1 FROM account_move mv
                                    WHERE mv.id = p.source_res_id
                                      AND mv.write_date >= %(since)s))
                 UNION ALL
                SELECT COALESCE(a.company_id, %(main)s), a.answered_at
                  FROM sms_survey_answer a WHERE a.write_date >= %(since)s
                 UNION ALL
                SELECT COALESCE(pa.company_id, %(main)s), l.date
                  FROM sms_consent_log l LEFT JOIN res_partner pa ON pa.id = l.partner_id
                 WHERE l.write_date >= %(since)s
              ) t
              JOIN res_company co ON co.id = t.company_id
              LEFT JOIN res_partner cp ON cp.id = co.partner_id
             CROSS JOIN LATERAL (SELECT COALESCE(NULLIF(cp.tz, ''), 'UTC') AS tz) z
             CROSS JOIN LATERAL (
                SELECT (t.at AT TIME ZONE 'UTC' AT TIME ZONE z.tz)::date AS day) d
             WHERE t.at IS NOT NULL
            """,
            since=since,
            main=main,
            message_id=message_id,
        )

    def _update_months(self):
        """The dashboard's months of the days moved or counted again, summed again from
        their days."""
        cr = self.env.cr
        Month = self.env["sms.program.month"]
        cr.execute("DROP TABLE IF EXISTS sms_program_month_dirty")
        cr.execute(
            """CREATE TEMP TABLE sms_program_month_dirty AS
               SELECT DISTINCT company_id, date_trunc('month', day)::date AS month
                 FROM (SELECT company_id, day FROM sms_program_day_dirty
                        UNION ALL
                       SELECT company_id, day FROM sms_program_day_new
                        UNION ALL
                       SELECT company_id, day FROM sms_program_inbound_day) d"""
        )
        cr.execute(
            """DELETE FROM sms_program_month
                WHERE (company_id, month) IN (SELECT company_id, month
                                                FROM sms_program_month_dirty)"""
        )
        cr.execute(
            SQL(
                "INSERT INTO sms_program_month %s",
                Month._month_from_days(dirty="sms_program_month_dirty"),
            )
        )
