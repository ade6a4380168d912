from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL
from odoo.tools.sql import create_index, create_unique_index

from .sms_result import RESULT_QUERY
from .sms_result_event import EVENT_FACTS, EVENTS

# the report models whose rows are materialized views, in the order they are built and
# refreshed (each may read the views of the ones before it)
REPORT_MODELS = (
    "sms.result",
    "sms.result.event",
    "sms.program.month",
    "sms.journey.step",  # what each step's traces became
    "sms.journey",  # the control group's sums
)
REFRESHED_AT = "sms_journey.results_refreshed_at"
# the time from which the next refresh reads what changed (write_date >= it)
WATERMARK = "sms_journey.results_watermark"

# what the SMS results are cut by, and what their totals sum
PROGRAM = ("source", "journey_id", "step_id", "variant_id", "mailing_id", "company_id")
RESULT_SUMS = (
    "sent",
    "delivered",
    "failed",
    "canceled",
    "queued",
    "clicked",
    "click_count",
    "replied",
    "opted_out",
    "cost",
    "held_out",
)
EVENT_KEY = ("kind", *PROGRAM, "hour_after", "day_after", "local_hour", "local_date")
# the sums of a group of the aggregate tables (``_apply_delta``): nullable key columns
# compare as their placeholder in the unique index, so that ON CONFLICT finds the row
KEY_PLACEHOLDERS = {
    "journey_id": "0",
    "step_id": "0",
    "variant_id": "0",
    "mailing_id": "0",
    "company_id": "0",
    "source": "''",
    "kind": "''",
    "hour_after": "0",
    "day_after": "0",
    "local_hour": "''",
    "local_date": "'1970-01-01'::date",
}
# the tables kept from what changed: name, DDL of the aggregates
TOTAL_DDL = """
CREATE TABLE sms_result_total (
    id serial PRIMARY KEY,
    source varchar, journey_id integer, step_id integer, variant_id integer,
    mailing_id integer, company_id integer,
    sent bigint, delivered bigint, failed bigint, canceled bigint, queued bigint,
    clicked bigint, click_count bigint, replied bigint, opted_out bigint, cost numeric,
    held_out bigint,
    row_count bigint NOT NULL
)
"""
EVENT_DDL = """
CREATE TABLE sms_result_event (
    id serial PRIMARY KEY,
    kind varchar, source varchar, journey_id integer, step_id integer, variant_id integer,
    mailing_id integer, company_id integer, hour_after integer, day_after integer,
    local_hour text, local_date date, event_count bigint,
    row_count bigint NOT NULL
)
"""
INCREMENTAL_TABLES = (
    "sms_result",
    "sms_result_total",
    "sms_result_event_fact",
    "sms_result_event",
    "sms_program_order_gap",
    "sms_program_month",
)
# the last mail message the dashboard counted (calls, e-mails): messages are not edited
MESSAGE_WATERMARK = "sms_journey.results_message_id"
# the tables each materialized view left reads, by write_date (indexed): a view is
# rebuilt only when one was written since the last refresh
VIEW_INPUTS = {
    "sms_journey_step_total": ("sms_journey_trace",),
    "sms_journey_holdout": ("sms_journey_participant", "sale_order", "sms_journey"),
}
# the companies' settings the dashboard was computed with (``_company_settings``)
COMPANY_SETTINGS = "sms_journey.results_company_settings"


class SmsResultSnapshot(models.AbstractModel):
    """The stored snapshot the results reports read: the SMS results (``sms.result``),
    the campaign report (``sms.result.event``, already counted by hour and day after the
    send), the program dashboard (``sms.program.month``), the totals of each journey
    step's traces and the control-group sums of each journey are tables (the last two
    materialized views) with indexes, so that opening them reads a few indexed rows
    instead of aggregating every trace, click, reply and order
    (``bench/bench_results.py``: 1M traces, 100k orders).

    How they stay current: the cron *SMS Journey: refresh the results* (every 15
    minutes; *Refresh* on the reports and the Results tabs at once) reads what was
    written since its last run (``write_date`` indexed, from a watermark held back to
    the oldest open transaction) and computes again only what that touches: the rows of
    the SMS that changed, whose totals and campaign buckets move by the difference
    (``_update_results``, ``_apply_delta``), the order gaps of the customers whose orders
    changed and the dashboard's months where something changed (``_update_program``).
    The install, the upgrade and ``_refresh(full=True)`` build everything from scratch
    (``_build``); ``_recomputed`` gives what each table must equal. Orders and revenue
    on a journey, step, variant or mailing are read live from the attributed orders
    (indexed), so they count at once, and so do a journey's participants and the
    participants waiting at each step.

    The two materialized views left say what they store with ``_snapshot_views()``: a
    list of ``(name, query, unique columns, indexed column lists)``."""

    _name = "sms.result.snapshot"
    _description = "Stored snapshot of the SMS results reports"

    def init(self):
        views = self._views()
        for name, *_rest in reversed(views):
            self._drop(name)
        # up to 18.0.1.0.0 the SMS results were materialized views too
        for name in reversed(INCREMENTAL_TABLES):
            self._drop(name)
        self._create_base_indexes()
        if self._create_tables():
            self._refresh_results(full=True)
        for name, query, unique, indexes in views:
            self.env.cr.execute(
                SQL("CREATE MATERIALIZED VIEW %s AS (%s)", SQL.identifier(name), query)
            )
            # CONCURRENTLY needs a unique index over all rows
            create_unique_index(
                self.env.cr, f"{name}_unique", name, [f'"{column}"' for column in unique]
            )
            for columns in indexes:
                create_index(
                    self.env.cr,
                    f"{name}_{'_'.join(columns)}_index",
                    name,
                    [f'"{column}"' for column in columns],
                )
        self._stamp()

    # ------------------------------------------------------------------
    # The SMS results, kept from what changed since the last refresh
    # ------------------------------------------------------------------

    def _create_base_indexes(self):
        """What changed is found by ``write_date`` (indexed) on each table the results
        read; the dashboard's months are computed again from the rows of their time
        range (indexed)."""
        cr = self.env.cr
        for table in (
            "sms_journey_trace",
            "mailing_trace",
            "sms_gateway_message",
            "link_tracker_click",
            "sms_interaction",
            "sale_order",
            "sms_journey_participant",
            "sms_survey_answer",
            "sms_consent_log",
        ):
            create_index(cr, f"{table}_write_date_index", table, ["write_date"])
        for table, column, where in (
            ("sms_interaction", "received_at", ""),
            ("sms_survey_answer", "answered_at", ""),
            ("sms_consent_log", "date", "action = 'opted_out'"),
            ("sms_journey_participant", "enrolled_at", "source_model = 'account.move'"),
            ("mail_message", "date", "message_type = 'email' OR mail_activity_type_id IS NOT NULL"),
        ):
            create_index(cr, f"{table}_{column}_results_index", table, [column], where=where)

    def _create_tables(self):
        """Create the tables of the SMS results if missing; True if they were."""
        cr = self.env.cr
        exists = self.env.execute_query(
            SQL(
                "SELECT count(*) FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
                list(INCREMENTAL_TABLES),
            )
        )
        if exists[0][0] == len(INCREMENTAL_TABLES):
            return False
        for name in INCREMENTAL_TABLES:
            cr.execute(SQL("DROP TABLE IF EXISTS %s CASCADE", SQL.identifier(name)))
        # one row per SMS; its trace's id is set to NULL when the trace is deleted, so
        # that the next refresh removes the row (``_dirty_results``)
        cr.execute(
            SQL(
                """CREATE TABLE sms_result AS
                   SELECT q.*, NULL::integer AS journey_trace_id,
                          NULL::integer AS mailing_trace_id
                     FROM (%s) q WITH NO DATA""",
                self._result_query(),
            )
        )
        cr.execute("ALTER TABLE sms_result SET (fillfactor = 80)")
        cr.execute(
            """ALTER TABLE sms_result ADD PRIMARY KEY (id),
                 ADD FOREIGN KEY (journey_trace_id) REFERENCES sms_journey_trace (id)
                     ON DELETE SET NULL,
                 ADD FOREIGN KEY (mailing_trace_id) REFERENCES mailing_trace (id)
                     ON DELETE SET NULL"""
        )
        for columns in (
            ["journey_id"],
            ["step_id"],
            ["variant_id"],
            ["mailing_id"],
            ["partner_id"],
            ["date", "id"],
            ["company_id", "date"],
            ["journey_trace_id"],
            ["mailing_trace_id"],
        ):
            create_index(cr, f"sms_result_{'_'.join(columns)}_index", "sms_result", columns)
        cr.execute(
            "CREATE INDEX sms_result_orphan_index ON sms_result (id)"
            " WHERE journey_trace_id IS NULL AND mailing_trace_id IS NULL"
        )
        cr.execute(TOTAL_DDL)
        cr.execute(
            SQL(
                "CREATE TABLE sms_result_event_fact AS SELECT * FROM (%s) q WITH NO DATA",
                self._event_facts(),
            )
        )
        create_index(
            cr, "sms_result_event_fact_result_id_index", "sms_result_event_fact", ["result_id"]
        )
        cr.execute(EVENT_DDL)
        for table, key in (("sms_result_total", PROGRAM), ("sms_result_event", EVENT_KEY)):
            cr.execute(
                SQL(
                    "CREATE UNIQUE INDEX %s ON %s (%s)",
                    SQL.identifier(f"{table}_key_index"),
                    SQL.identifier(table),
                    self._key_expressions(key),
                )
            )
            cr.execute(
                SQL(
                    "CREATE INDEX %s ON %s (id) WHERE row_count = 0",
                    SQL.identifier(f"{table}_empty_index"),
                    SQL.identifier(table),
                )
            )
        self._create_program_tables()
        for columns in (["journey_id"], ["step_id"], ["variant_id"], ["mailing_id"]):
            create_index(cr, f"sms_result_total_{columns[0]}_index", "sms_result_total", columns)
        for column in ("step_id", "journey_id", "mailing_id", "variant_id", "local_date"):
            create_index(cr, f"sms_result_event_{column}_index", "sms_result_event", [column])
        return True

    def _create_program_tables(self):
        """The order gaps (one row per confirmed order, its customer's ``family_id``; its
        order set to NULL when the order is deleted) and the dashboard's months."""
        cr = self.env.cr
        Month = self.env["sms.program.month"]
        cr.execute(
            SQL(
                """CREATE TABLE sms_program_order_gap AS
                   SELECT q.*, NULL::integer AS order_id FROM (%s) q WITH NO DATA""",
                Month._gap_query(),
            )
        )
        cr.execute(
            """ALTER TABLE sms_program_order_gap ADD PRIMARY KEY (id),
                 ADD FOREIGN KEY (order_id) REFERENCES sale_order (id) ON DELETE SET NULL"""
        )
        for columns in (
            ["family_id"],
            ["company_id", "churn_at"],
            ["company_id", "date_order"],
            ["churn_at"],
        ):
            create_index(
                cr,
                f"sms_program_order_gap_{'_'.join(columns)}_index",
                "sms_program_order_gap",
                columns,
            )
        cr.execute(
            "CREATE INDEX sms_program_order_gap_orphan_index ON sms_program_order_gap (id)"
            " WHERE order_id IS NULL"
        )
        cr.execute(
            SQL(
                "CREATE TABLE sms_program_month AS SELECT * FROM (%s) q WITH NO DATA",
                Month._month_query(),
            )
        )
        cr.execute("ALTER TABLE sms_program_month ADD PRIMARY KEY (id)")
        create_index(
            cr,
            "sms_program_month_company_id_month_index",
            "sms_program_month",
            ["company_id", "month"],
        )

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

    def _build_program(self):
        self.env["ir.config_parameter"].sudo().set_param(COMPANY_SETTINGS, self._company_settings())
        cr = self.env.cr
        Month = self.env["sms.program.month"]
        cr.execute("TRUNCATE sms_program_order_gap, sms_program_month")
        cr.execute(
            SQL(
                "INSERT INTO sms_program_order_gap SELECT q.*, q.id FROM (%s) q", Month._gap_query()
            )
        )
        cr.execute(SQL("INSERT INTO sms_program_month SELECT * FROM (%s) q", Month._month_query()))

    def _update_program(self, since, message_id, results_changed):
        """The order gaps of the customers whose orders changed since ``since``, then the
        dashboard's months where something happened or changed, computed again."""
        cr = self.env.cr
        Month = self.env["sms.program.month"]
        parameters = self.env["ir.config_parameter"].sudo()
        settings = self._company_settings()
        if parameters.get_param(COMPANY_SETTINGS) != settings:
            # an inactivity period or a time zone changed: every order and month moves
            parameters.set_param(COMPANY_SETTINGS, settings)
            return self._build_program()
        families = [
            row[0]
            for row in self.env.execute_query(
                SQL(
                    """
                    SELECT COALESCE(p.commercial_partner_id, p.id)
                      FROM sale_order o JOIN res_partner p ON p.id = o.partner_id
                     WHERE o.write_date >= %(since)s
                     UNION
                    SELECT g.family_id FROM sms_program_order_gap g
                      JOIN sale_order o ON o.id = g.id
                     WHERE o.write_date >= %(since)s
                     UNION
                    SELECT family_id FROM sms_program_order_gap WHERE order_id IS NULL
                    """,
                    since=since,
                )
            )
        ]
        for age in ("old", "new"):
            temp = SQL.identifier(f"sms_program_order_gap_{age}")
            cr.execute(SQL("DROP TABLE IF EXISTS %s", temp))
            cr.execute(SQL("CREATE TEMP TABLE %s (LIKE sms_program_order_gap)", temp))
        if families:
            cr.execute(
                SQL(
                    """WITH d AS (DELETE FROM sms_program_order_gap WHERE family_id = ANY(%s)
                                  RETURNING *)
                       INSERT INTO sms_program_order_gap_old SELECT * FROM d""",
                    families,
                )
            )
            self._insert(
                SQL(
                    "INSERT INTO sms_program_order_gap SELECT q.*, q.id FROM (%s) q",
                    Month._gap_query(families),
                ),
                "sms_program_order_gap_new",
            )
        results = (
            SQL(
                """UNION ALL
                   SELECT o.company_id, o.date FROM sms_result_old o
                     FULL JOIN sms_result_new n ON n.id = o.id
                    WHERE ROW(o.company_id, o.date, o.sent, o.cost)
                          IS DISTINCT FROM ROW(n.company_id, n.date, n.sent, n.cost)
                   UNION ALL
                   SELECT n.company_id, n.date FROM sms_result_old o
                     FULL JOIN sms_result_new n ON n.id = o.id
                    WHERE ROW(o.company_id, o.date, o.sent, o.cost)
                          IS DISTINCT FROM ROW(n.company_id, n.date, n.sent, n.cost)"""
            )
            if results_changed
            else SQL()
        )
        main = SQL("(SELECT min(id) FROM res_company)")
        cr.execute("DROP TABLE IF EXISTS sms_program_month_dirty")
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE sms_program_month_dirty AS
                SELECT DISTINCT t.company_id, m.month,
                       (m.month::timestamp AT TIME ZONE z.tz) AT TIME ZONE 'UTC' AS lo,
                       ((m.month + interval '1 month')::timestamp AT TIME ZONE z.tz)
                           AT TIME ZONE 'UTC' AS hi
                  FROM (
                    SELECT x.company_id, x.at
                      FROM sms_program_order_gap_old o
                      FULL JOIN sms_program_order_gap_new n ON n.id = o.id
                     CROSS JOIN LATERAL (VALUES (o.company_id, o.churn_at),
                                                (o.company_id, o.date_order),
                                                (n.company_id, n.churn_at),
                                                (n.company_id, n.date_order)) x (company_id, at)
                     WHERE ROW(o.company_id, o.date_order, o.reactivated, o.churn_at)
                           IS DISTINCT FROM ROW(n.company_id, n.date_order, n.reactivated,
                                                n.churn_at)
                     UNION ALL
                    SELECT company_id, churn_at FROM sms_program_order_gap
                     WHERE churn_at >= %(since)s AND churn_at <= now() AT TIME ZONE 'UTC'
                     UNION ALL
                    SELECT company_id, received_at FROM sms_interaction
                     WHERE write_date >= %(since)s
                     UNION ALL
                    SELECT COALESCE(m.record_company_id, %(main)s), m.date FROM mail_message m
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
                    %(results)s
                  ) t
                  JOIN res_company co ON co.id = t.company_id
                  LEFT JOIN res_partner cp ON cp.id = co.partner_id
                 CROSS JOIN LATERAL (SELECT COALESCE(NULLIF(cp.tz, ''), 'UTC') AS tz) z
                 CROSS JOIN LATERAL (
                    SELECT date_trunc('month', t.at AT TIME ZONE 'UTC' AT TIME ZONE z.tz)::date
                        AS month) m
                 WHERE t.at IS NOT NULL
                """,
                since=since,
                main=main,
                message_id=message_id,
                results=results,
            )
        )
        cr.execute(
            """DELETE FROM sms_program_month
                WHERE (company_id, month) IN (SELECT company_id, month
                                                FROM sms_program_month_dirty)"""
        )
        cr.execute(
            SQL(
                """INSERT INTO sms_program_month
                   SELECT q.* FROM (%s) q
                    WHERE (q.company_id, q.month) IN (SELECT company_id, month
                                                        FROM sms_program_month_dirty)""",
                Month._month_query(dirty="sms_program_month_dirty"),
            )
        )
        for temp in (
            "sms_program_order_gap_old",
            "sms_program_order_gap_new",
            "sms_program_month_dirty",
        ):
            cr.execute(SQL("DROP TABLE %s", SQL.identifier(temp)))
        return None

    def _key_expressions(self, key):
        return SQL(", ").join(
            SQL("COALESCE(%s, %s)", SQL.identifier(column), SQL(KEY_PLACEHOLDERS[column]))
            for column in key
        )

    def _result_query(self, trace_ids=None, mailing_trace_ids=None):
        """The rows of ``sms.result`` from the live tables: all of them, or those of the
        journey traces ``trace_ids`` and the mailing traces ``mailing_trace_ids``."""

        def only(column, ids):
            return SQL("TRUE") if ids is None else SQL("%s = ANY(%s)", SQL(column), list(ids))

        return SQL(
            RESULT_QUERY,
            journey_filter=only("t.id", trace_ids),
            mailing_filter=only("mt.id", mailing_trace_ids),
        )

    def _event_facts(self, results=None, trace_ids=None, mailing_trace_ids=None):
        """The campaign report's rows of each SMS (``EVENT_FACTS``) read from the SMS
        rows ``results`` (a relation, default the table): all, or those of the given
        journey and mailing traces."""
        if trace_ids is None:
            filters = dict.fromkeys(
                ("result_filter", "click_filter", "interaction_filter"), SQL("TRUE")
            )
        else:
            result_ids = [i * 2 for i in trace_ids] + [i * 2 + 1 for i in mailing_trace_ids]

            def of(alias):
                return SQL(
                    "(%s = ANY(%s) OR %s = ANY(%s))",
                    SQL(f"{alias}.sms_journey_trace_id"),
                    list(trace_ids),
                    SQL(f"{alias}.mailing_trace_id"),
                    list(mailing_trace_ids),
                )

            filters = {
                "result_filter": SQL("r.id = ANY(%s)", result_ids),
                "click_filter": of("c"),
                "interaction_filter": of("i"),
            }
        events = SQL(EVENTS, results=results or SQL("sms_result"), **filters)
        return SQL(EVENT_FACTS, events=events)

    def _recomputed(self, table):
        """The rows ``table`` (one of ``INCREMENTAL_TABLES``) holds, computed from scratch
        from the live tables — what the kept table must equal (tests, checks)."""
        results = SQL("(%s)", self._result_query())
        Month = self.env["sms.program.month"]
        if table == "sms_program_order_gap":
            return SQL("SELECT q.*, q.id AS order_id FROM (%s) q", Month._gap_query())
        if table == "sms_program_month":
            gaps = SQL("(%s)", Month._gap_query())
            return Month._month_query(gaps=gaps, results=results)
        if table == "sms_result":
            return SQL("SELECT * FROM %s q", results)
        if table == "sms_result_total":
            return self._grouped(results, PROGRAM, RESULT_SUMS)
        facts = SQL("(%s)", self._event_facts(results=results))
        if table == "sms_result_event_fact":
            return SQL("SELECT * FROM %s q", facts)
        return self._grouped(facts, EVENT_KEY, ["event_count"])

    def _grouped(self, relation, key, sums):
        keys = SQL(", ").join(SQL.identifier(c) for c in key)
        return SQL(
            "SELECT %s, %s, COUNT(*) AS row_count FROM %s q GROUP BY %s",
            keys,
            SQL(", ").join(
                SQL("SUM(%s) AS %s", SQL.identifier(c), SQL.identifier(c)) for c in sums
            ),
            relation,
            keys,
        )

    def _insert_results(self, trace_ids=None, mailing_trace_ids=None, into=None):
        """Insert the SMS rows of these traces (all without ids) into ``sms_result``,
        copying them into the table ``into``."""
        insert = SQL(
            """INSERT INTO sms_result
               SELECT q.*, CASE WHEN q.source = 'journey' THEN q.id / 2 END,
                      CASE WHEN q.source = 'mailing' THEN (q.id - 1) / 2 END
                 FROM (%s) q""",
            self._result_query(trace_ids, mailing_trace_ids),
        )
        self._insert(insert, into)

    def _insert(self, insert, into):
        if into:
            insert = SQL(
                "WITH i AS (%s RETURNING *) INSERT INTO %s SELECT * FROM i",
                insert,
                SQL.identifier(into),
            )
        self.env.cr.execute(insert)

    def _build(self):
        """Fill the SMS results from scratch (install, upgrade, ``_refresh(full=True)``)."""
        cr = self.env.cr
        cr.execute(
            SQL("TRUNCATE %s", SQL(", ").join(SQL.identifier(t) for t in INCREMENTAL_TABLES))
        )
        self._insert_results()
        cr.execute(SQL("INSERT INTO sms_result_event_fact %s", self._event_facts()))
        for table, relation, key, sums in (
            ("sms_result_total", "sms_result", PROGRAM, RESULT_SUMS),
            ("sms_result_event", "sms_result_event_fact", EVENT_KEY, ["event_count"]),
        ):
            columns = SQL(", ").join(SQL.identifier(c) for c in (*key, *sums, "row_count"))
            cr.execute(
                SQL(
                    "INSERT INTO %s (%s) %s",
                    SQL.identifier(table),
                    columns,
                    self._grouped(SQL.identifier(relation), key, sums),
                )
            )
        self._build_program()

    def _next_watermark(self):
        """Rows written from now on, or by a transaction still open, have a
        ``write_date`` at or after this (the ORM writes the transaction's start time)."""
        return self.env.execute_query(
            SQL(
                """SELECT LEAST(now(), (SELECT min(xact_start) FROM pg_stat_activity
                                         WHERE datname = current_database()
                                           AND backend_type = 'client backend'
                                           AND pid <> pg_backend_pid()))
                          AT TIME ZONE 'UTC'"""
            )
        )[0][0]

    def _dirty_results(self, since):
        """([journey trace ids], [mailing trace ids]) whose SMS row or events may have
        changed since ``since``: traces, outbox rows, clicks and replies written since,
        the traces of a journey that changed company, and rows whose trace was
        deleted."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id * 2 FROM sms_journey_trace WHERE write_date >= %(since)s
                 UNION
                SELECT id * 2 + 1 FROM mailing_trace
                 WHERE write_date >= %(since)s AND trace_type = 'sms'
                 UNION
                SELECT tr.mailing_trace_id * 2 + 1
                  FROM sms_gateway_message g
                  JOIN sms_tracker tr ON tr.sms_uuid = g.sms_uuid
                 WHERE g.write_date >= %(since)s AND tr.mailing_trace_id IS NOT NULL
                 UNION
                SELECT COALESCE(c.sms_journey_trace_id * 2, c.mailing_trace_id * 2 + 1)
                  FROM link_tracker_click c
                 WHERE c.write_date >= %(since)s
                   AND (c.sms_journey_trace_id IS NOT NULL OR c.mailing_trace_id IS NOT NULL)
                 UNION
                SELECT COALESCE(i.sms_journey_trace_id * 2, i.mailing_trace_id * 2 + 1)
                  FROM sms_interaction i
                 WHERE i.write_date >= %(since)s
                   AND (i.sms_journey_trace_id IS NOT NULL OR i.mailing_trace_id IS NOT NULL)
                 UNION
                SELECT t.id * 2 FROM sms_journey_trace t
                 WHERE t.journey_id IN (
                    SELECT s.journey_id FROM sms_result_total s
                      JOIN sms_journey j ON j.id = s.journey_id
                     WHERE j.write_date >= %(since)s
                       AND s.company_id IS DISTINCT FROM j.company_id)
                 UNION
                SELECT id FROM sms_result
                 WHERE journey_trace_id IS NULL AND mailing_trace_id IS NULL
                """,
                since=since,
            )
        )
        ids = [row[0] for row in rows]
        return [i // 2 for i in ids if i % 2 == 0], [i // 2 for i in ids if i % 2 == 1]

    def _update(self, since, message_id=0):
        """Bring the SMS results up to date with what changed since ``since``: the rows
        of the SMS that changed are computed again from the live tables, and the totals
        and the campaign report move by the difference (old rows out, new rows in)."""
        trace_ids, mailing_trace_ids = self._dirty_results(since)
        if trace_ids or mailing_trace_ids:
            self._update_results(trace_ids, mailing_trace_ids)
        self._update_program(since, message_id, bool(trace_ids or mailing_trace_ids))
        for table in ("sms_result", "sms_result_event_fact"):
            for age in ("old", "new"):
                self.env.cr.execute(
                    SQL("DROP TABLE IF EXISTS %s", SQL.identifier(f"{table}_{age}"))
                )

    def _update_results(self, trace_ids, mailing_trace_ids):
        cr = self.env.cr
        result_ids = [i * 2 for i in trace_ids] + [i * 2 + 1 for i in mailing_trace_ids]
        for table in ("sms_result", "sms_result_event_fact"):
            for age in ("old", "new"):
                temp = f"{table}_{age}"
                cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(temp)))
                cr.execute(
                    SQL(
                        "CREATE TEMP TABLE %s (LIKE %s)",
                        SQL.identifier(temp),
                        SQL.identifier(table),
                    )
                )
        # the rows as they were and as they are; only those that differ are written
        # (an update of columns without index stays on its page: fillfactor)
        cr.execute(
            SQL(
                "INSERT INTO sms_result_old SELECT * FROM sms_result WHERE id = ANY(%s)", result_ids
            )
        )
        cr.execute(
            SQL(
                """INSERT INTO sms_result_new
                   SELECT q.*, CASE WHEN q.source = 'journey' THEN q.id / 2 END,
                          CASE WHEN q.source = 'mailing' THEN (q.id - 1) / 2 END
                     FROM (%s) q""",
                self._result_query(trace_ids, mailing_trace_ids),
            )
        )
        cr.execute(
            SQL(
                """DELETE FROM sms_result r WHERE r.id = ANY(%s)
                      AND NOT EXISTS (SELECT 1 FROM sms_result_new n WHERE n.id = r.id)""",
                result_ids,
            )
        )
        columns = [
            name
            for (name,) in self.env.execute_query(
                SQL(
                    """SELECT attname FROM pg_attribute
                        WHERE attrelid = 'sms_result'::regclass AND attnum > 0
                          AND NOT attisdropped AND attname <> 'id' ORDER BY attnum"""
                )
            )
        ]
        cr.execute(
            SQL(
                """INSERT INTO sms_result
                   SELECT n.* FROM sms_result_new n
                    WHERE NOT EXISTS (SELECT 1 FROM sms_result_old o
                                       WHERE o.id = n.id AND ROW(o.*) IS NOT DISTINCT FROM ROW(n.*))
                   ON CONFLICT (id) DO UPDATE SET %s""",
                SQL(", ").join(
                    SQL("%s = EXCLUDED.%s", SQL.identifier(c), SQL.identifier(c)) for c in columns
                ),
            )
        )
        cr.execute(
            SQL(
                """WITH d AS (DELETE FROM sms_result_event_fact WHERE result_id = ANY(%s)
                              RETURNING *)
                   INSERT INTO sms_result_event_fact_old SELECT * FROM d""",
                result_ids,
            )
        )
        self._insert(
            SQL(
                "INSERT INTO sms_result_event_fact %s",
                self._event_facts(trace_ids=trace_ids, mailing_trace_ids=mailing_trace_ids),
            ),
            "sms_result_event_fact_new",
        )
        self._apply_delta("sms_result_total", "sms_result", PROGRAM, RESULT_SUMS)
        self._apply_delta("sms_result_event", "sms_result_event_fact", EVENT_KEY, ["event_count"])

    def _apply_delta(self, table, facts, key, sums):
        """Add to the groups of ``table`` the new rows of ``facts`` and take away the old
        ones (``<facts>_old``, ``<facts>_new``); drop the groups left without rows."""
        keys = SQL(", ").join(SQL.identifier(c) for c in key)
        columns = SQL(", ").join(SQL.identifier(c) for c in sums)
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO %(table)s (%(keys)s, %(columns)s, row_count)
                SELECT %(keys)s, %(signed)s, SUM(d.sign)
                  FROM (SELECT 1 AS sign, %(keys)s, %(columns)s FROM %(new)s
                        UNION ALL
                        SELECT -1, %(keys)s, %(columns)s FROM %(old)s) d
              GROUP BY %(keys)s
                ON CONFLICT (%(conflict)s) DO UPDATE
                   SET %(add)s, row_count = %(table)s.row_count + EXCLUDED.row_count
                """,
                table=SQL.identifier(table),
                keys=keys,
                columns=columns,
                signed=SQL(", ").join(SQL("SUM(d.sign * d.%s)", SQL.identifier(c)) for c in sums),
                new=SQL.identifier(f"{facts}_new"),
                old=SQL.identifier(f"{facts}_old"),
                conflict=self._key_expressions(key),
                add=SQL(", ").join(
                    SQL(
                        "%s = %s.%s + EXCLUDED.%s",
                        *[
                            SQL.identifier(c),
                            SQL.identifier(table),
                            SQL.identifier(c),
                            SQL.identifier(c),
                        ],
                    )
                    for c in sums
                ),
            )
        )
        self.env.cr.execute(SQL("DELETE FROM %s WHERE row_count = 0", SQL.identifier(table)))

    def _views(self):
        return [view for model in REPORT_MODELS for view in self.env[model]._snapshot_views()]

    def _drop(self, name):
        """Drop the relation ``name``, a view (the reports used to be plain views) or a
        materialized view, with what depends on it."""
        kind = self.env.execute_query(
            SQL("SELECT relkind FROM pg_class WHERE relname = %s AND relkind IN ('v', 'm')", name)
        )
        if kind:
            what = SQL("MATERIALIZED VIEW") if kind[0][0] == "m" else SQL("VIEW")
            self.env.cr.execute(SQL("DROP %s %s CASCADE", what, SQL.identifier(name)))

    def _stamp(self):
        self.env["ir.config_parameter"].sudo().set_param(
            REFRESHED_AT, fields.Datetime.to_string(fields.Datetime.now())
        )

    @api.model
    def _refresh(self, full=False):
        """Bring every report's stored rows up to date with the live tables, without
        blocking their readers; returns the time of the snapshot. The SMS results move
        by what changed since the last refresh (``_update``), from scratch when
        ``full`` or the first time (``_build``); the materialized views left (step
        totals, control-group sums) are rebuilt when a table they read was written
        since (``VIEW_INPUTS``)."""
        self.env.flush_all()
        since = self._refresh_results(full=full)
        for name, *_rest in self._views():
            inputs = VIEW_INPUTS.get(name)
            if since and inputs and not self._written_since(inputs, since):
                continue
            self.env.cr.execute(
                SQL("REFRESH MATERIALIZED VIEW CONCURRENTLY %s", SQL.identifier(name))
            )
        self._stamp()
        for model in REPORT_MODELS:
            self.env[model].invalidate_model()
        return self._refreshed_at()

    @api.model
    def _refresh_results(self, full=False):
        """The SMS results (``INCREMENTAL_TABLES``) moved by what changed since the last
        refresh, or built from scratch when ``full`` or the first time."""
        parameters = self.env["ir.config_parameter"].sudo()
        since = self._since()
        message_id = int(parameters.get_param(MESSAGE_WATERMARK) or 0)
        watermark = self._next_watermark()
        last_message = self.env.execute_query(SQL("SELECT COALESCE(max(id), 0) FROM mail_message"))
        if full or not since:
            self._build()
        else:
            self._update(since, message_id)
        parameters.set_param(WATERMARK, fields.Datetime.to_string(watermark))
        parameters.set_param(MESSAGE_WATERMARK, str(last_message[0][0]))
        return None if full or not since else since

    def _since(self):
        """The watermark of the last refresh: what was written from then on is read
        again (``None``: never refreshed)."""
        value = self.env["ir.config_parameter"].sudo().get_param(WATERMARK)
        return fields.Datetime.to_datetime(value) if value else None

    def _written_since(self, tables, since):
        """Whether a row of one of ``tables`` was written since ``since`` (indexed)."""
        return self.env.execute_query(
            SQL(" UNION ALL ").join(
                SQL(
                    "(SELECT 1 FROM %s WHERE write_date >= %s LIMIT 1)",
                    SQL.identifier(table),
                    since,
                )
                for table in tables
            )
        )

    @api.model
    def _cron_refresh(self):
        self._refresh()

    @api.model
    def _refreshed_at(self):
        """When the reports' stored rows were last rebuilt (UTC), or ``False``."""
        value = self.env["ir.config_parameter"].sudo().get_param(REFRESHED_AT)
        return fields.Datetime.to_datetime(value) if value else False

    @api.model
    def _as_of(self):
        """ "as of 30/11/2026 19:45" in the user's time zone, for report titles."""
        at = self._refreshed_at()
        if not at:
            return _("not refreshed yet")
        local = fields.Datetime.context_timestamp(self, at)
        return _("as of %(when)s", when=local.strftime("%Y-%m-%d %H:%M"))

    @api.model
    def action_refresh(self):
        """The *Refresh* button: rebuild now, then reload the view."""
        if not self.env.user.has_group("sms_journey.group_sms_journey_user"):
            raise AccessError(_("Only SMS journey users can refresh the results."))
        self.sudo()._refresh()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _("Results refreshed (%(as_of)s).", as_of=self._as_of()),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _open_report(self, xmlid, domain=None, name=None):
        """The report's window action, its title saying when its figures were taken."""
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        if domain is not None:
            action["domain"] = domain
        action["name"] = f"{name or action['name']} ({self._as_of()})"
        return action
