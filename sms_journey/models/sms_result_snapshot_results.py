"""sms.result.snapshot: the SMS results (``sms_result``), their totals and the campaign
report's buckets, kept from what changed since the last refresh."""

from odoo import models
from odoo.tools import SQL

from ..tools.results import int_array
from .sms_result import RESULT_QUERY
from .sms_result_event import EVENT_FACTS, EVENTS
from .sms_result_snapshot import EVENT_KEY, KEY_PLACEHOLDERS, PROGRAM, RESULT_SUMS

# the columns of an SMS row all its campaign report rows are placed by (the send, its
# program): when one changed, or the SMS is new or gone, all its rows are computed again
EVENT_BASE = ("sent", "date", *PROGRAM)
# the columns that tell its clicks, or its replies and opt-outs, moved (with a click or a
# reply written since): only the rows of that kind are computed again
EVENT_KINDS = {"clicks": ("clicked", "click_count"), "replies": ("replied", "opted_out")}


class SmsResultSnapshot(models.AbstractModel):
    """One row per SMS computed again when its trace, outbox row, clicks or replies
    change; the totals and buckets move by the difference (``_apply_delta``)."""

    _inherit = "sms.result.snapshot"

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

    def _update_results(self, trace_ids, mailing_trace_ids, since=None):
        """Compute again the SMS rows of these traces and their campaign report rows, and
        move the totals and buckets by the difference. The rows as they were and as they
        are stay in ``<table>_old`` / ``<table>_new`` (temporary) for ``_apply_delta``
        and the dashboard (``_update_program``)."""
        result_ids = [i * 2 for i in trace_ids] + [i * 2 + 1 for i in mailing_trace_ids]
        self._new_temps("sms_result")
        self._new_temps("sms_result_event_fact")
        self._update_result_rows(trace_ids, mailing_trace_ids, result_ids, since)
        self._apply_delta("sms_result_total", "sms_result", PROGRAM, RESULT_SUMS)
        self._apply_delta("sms_result_event", "sms_result_event_fact", EVENT_KEY, ["event_count"])

    def _update_result_rows(self, trace_ids, mailing_trace_ids, result_ids, since=None):
        """The rows of ``sms_result`` as they were and as they are; only those that
        differ are written (an update of columns without index stays on its page:
        fillfactor) and stay in ``sms_result_old`` / ``_new``, after the campaign
        report's rows of these SMS were computed from all the new rows."""
        cr = self.env.cr
        cr.execute(
            SQL(
                "INSERT INTO sms_result_old SELECT * FROM sms_result WHERE id = ANY(%s::int[])",
                int_array(result_ids),
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
        cr.execute("ANALYZE sms_result_old (id), sms_result_new (id)")
        # the campaign report's rows read the SMS rows just computed, not the table
        self._moved_event_results(since)
        self._update_event_facts()
        self._drop_same("sms_result", "id")
        self._write_rows("sms_result")

    def _moved_event_results(self, since):
        """Fill ``sms_result_moved`` (temporary) with the SMS (of ``sms_result_old`` /
        ``_new``) whose campaign report rows may have changed, and which of their rows:
        all of them (``whole``) for a new or deleted SMS, or one whose send or program
        changed (``EVENT_BASE``; every SMS when ``since`` is ``None``); its clicks'
        (``clicks``) or its replies' and opt-outs' (``replies``) when their columns
        changed (``EVENT_KINDS``) or one was written since ``since``; ``kept``: it has
        a row in the table. A delivery report alone leaves them as they were: their
        rows are neither read nor computed again, and a click leaves the SMS's send and
        replies alone."""
        self._scratch("sms_result_moved")

        def differ(columns):
            return SQL(
                "ROW(%s) IS DISTINCT FROM ROW(%s)",
                SQL(", ").join(SQL("n.%s", SQL.identifier(c)) for c in columns),
                SQL(", ").join(SQL("o.%s", SQL.identifier(c)) for c in columns),
            )

        written = [
            SQL(
                """SELECT COALESCE(sms_journey_trace_id * 2, mailing_trace_id * 2 + 1),
                          FALSE, %s, %s, FALSE
                     FROM %s WHERE write_date >= %s
                      AND (sms_journey_trace_id IS NOT NULL OR mailing_trace_id IS NOT NULL)""",
                SQL(flags[0]),
                SQL(flags[1]),
                SQL.identifier(table),
                since,
            )
            for table, flags in (
                ("link_tracker_click", ("TRUE", "FALSE")),
                ("sms_interaction", ("FALSE", "TRUE")),
            )
            if since is not None
        ]
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO sms_result_moved
                SELECT id, bool_or(whole), bool_or(clicks), bool_or(replies), bool_or(kept)
                  FROM (SELECT COALESCE(n.id, o.id) AS id,
                               n.id IS NULL OR o.id IS NULL OR %(whole)s OR %(base)s AS whole,
                               %(clicks)s AS clicks, %(replies)s AS replies,
                               o.id IS NOT NULL AS kept
                          FROM sms_result_new n FULL JOIN sms_result_old o ON o.id = n.id
                        %(written)s) m
              GROUP BY id
                HAVING bool_or(whole) OR bool_or(clicks) OR bool_or(replies)
                """,
                whole=SQL("TRUE" if since is None else "FALSE"),
                base=differ(EVENT_BASE),
                clicks=differ(EVENT_KINDS["clicks"]),
                replies=differ(EVENT_KINDS["replies"]),
                written=SQL("").join(SQL(" UNION ALL %s", w) for w in written),
            )
        )

    def _drop_same(self, table, key):
        """Take out of ``<table>_old`` and ``<table>_new`` (temporary) the rows that are
        the same in both (matched by ``key``, indexed in ``table``): what is left differs,
        and moves the sums by the same amount."""
        self.env.cr.execute(
            SQL(
                """WITH same AS (DELETE FROM %(new)s n USING %(old)s o
                                  WHERE n.%(key)s = o.%(key)s
                                    AND ROW(n.*) IS NOT DISTINCT FROM ROW(o.*)
                              RETURNING n.*)
                   DELETE FROM %(old)s o USING same s
                    WHERE o.%(key)s = s.%(key)s AND ROW(o.*) IS NOT DISTINCT FROM ROW(s.*)""",
                new=SQL.identifier(f"{table}_new"),
                old=SQL.identifier(f"{table}_old"),
                key=SQL.identifier(key),
            )
        )

    def _update_event_facts(self):
        """The campaign report's rows of the SMS moved (``sms_result_moved``: all their
        rows, or only their clicks' or replies'), computed again from their new SMS rows
        (``sms_result_new``); only the rows that differ are written, and stay as they
        were and as they are in ``sms_result_event_fact_old`` / ``_new``."""
        cr = self.env.cr
        self._new_temps("sms_result_event_fact", ages=("kept", "computed"))
        # one index look-up per SMS (a join on the array would read the whole table);
        # an SMS new in this refresh has no kept rows: not looked up
        cr.execute(
            """INSERT INTO sms_result_event_fact_kept
               SELECT f.* FROM sms_result_moved u
               CROSS JOIN LATERAL (
                   SELECT * FROM sms_result_event_fact f
                    WHERE f.result_id = u.id
                      AND (u.whole OR CASE WHEN f.kind = 'click' THEN u.clicks
                                           WHEN f.kind IN ('reply', 'opt_out') THEN u.replies
                                      END)) f
                WHERE u.kept"""
        )
        cr.execute(
            SQL(
                "INSERT INTO sms_result_event_fact_computed %s",
                self._event_facts(results=SQL("sms_result_new"), moved=SQL("sms_result_moved")),
            )
        )
        # the rows that differ, whole rows hashed (an SMS has several rows: joined by
        # SMS and compared, each row met each of its SMS's)
        cr.execute(
            """INSERT INTO sms_result_event_fact_old
               SELECT * FROM sms_result_event_fact_kept
               EXCEPT ALL SELECT * FROM sms_result_event_fact_computed;
               INSERT INTO sms_result_event_fact_new
               SELECT * FROM sms_result_event_fact_computed
               EXCEPT ALL SELECT * FROM sms_result_event_fact_kept"""
        )
        cr.execute(
            """DELETE FROM sms_result_event_fact f
                WHERE f.result_id = ANY(ARRAY(SELECT DISTINCT result_id
                                                FROM sms_result_event_fact_old))
                  AND EXISTS (SELECT 1 FROM sms_result_event_fact_old o
                               WHERE o.result_id = f.result_id
                                 AND ROW(o.*) IS NOT DISTINCT FROM ROW(f.*))"""
        )
        cr.execute("INSERT INTO sms_result_event_fact SELECT * FROM sms_result_event_fact_new")

    def _apply_delta(self, table, facts, key, sums, with_=None):
        """Add to the groups of ``table`` the new rows of ``facts`` and take away the old
        ones (``<facts>_old``, ``<facts>_new``: temporary tables, or the queries of the
        WITH clause ``with_``); drop the groups left without rows."""
        keys = SQL(", ").join(SQL.identifier(c) for c in key)
        columns = SQL(", ").join(SQL.identifier(c) for c in sums)
        self.env.cr.execute(
            SQL(
                """
                %(with_)s
                INSERT INTO %(table)s (%(keys)s, %(columns)s, row_count)
                SELECT %(keys)s, %(signed)s, SUM(d.sign)
                  FROM (SELECT 1 AS sign, %(keys)s, %(columns)s FROM %(new)s
                        UNION ALL
                        SELECT -1, %(keys)s, %(columns)s FROM %(old)s) d
              GROUP BY %(keys)s
                HAVING %(moved)s
                ON CONFLICT (%(conflict)s) DO UPDATE
                   SET %(add)s, row_count = %(table)s.row_count + EXCLUDED.row_count
                """,
                with_=with_ or SQL(),
                table=SQL.identifier(table),
                keys=keys,
                columns=columns,
                signed=SQL(", ").join(SQL("SUM(d.sign * d.%s)", SQL.identifier(c)) for c in sums),
                # the groups whose rows went out and came back the same are not written
                moved=SQL(" OR ").join(
                    [
                        SQL("SUM(d.sign) <> 0"),
                        *(
                            SQL("SUM(d.sign * d.%s) IS DISTINCT FROM 0", SQL.identifier(c))
                            for c in sums
                        ),
                    ]
                ),
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

    def _key_expressions(self, key):
        return SQL(", ").join(
            SQL("COALESCE(%s, %s)", SQL.identifier(column), SQL(KEY_PLACEHOLDERS[column]))
            for column in key
        )

    def _result_query(self, trace_ids=None, mailing_trace_ids=None):
        """The rows of ``sms.result`` from the live tables: all of them, or those of the
        journey traces ``trace_ids`` and the mailing traces ``mailing_trace_ids``."""

        def only(column, ids):
            if ids is None:
                return SQL("TRUE")
            return SQL("%s = ANY(%s::int[])", SQL(column), int_array(ids))

        return SQL(
            RESULT_QUERY,
            journey_filter=only("t.id", trace_ids),
            mailing_filter=only("mt.id", mailing_trace_ids),
        )

    def _event_facts(self, results=None, moved=None):
        """The campaign report's rows of each SMS (``EVENT_FACTS``) read from the SMS
        rows ``results`` (a relation, default the table): all, or (``moved``: a relation
        as ``sms_result_moved``) those of the SMS moved, of the kinds moved."""
        if moved is None:
            filters = dict.fromkeys(
                ("result_filter", "click_filter", "interaction_filter"), SQL("TRUE")
            )
        else:

            def of(alias, kind):
                # arrays of unknown length: the planner reads the events of each SMS
                # by the indexes of both columns (a bitmap of both) instead of the
                # whole table
                return SQL(
                    """(%(alias)s.sms_journey_trace_id = ANY(ARRAY(
                            SELECT id / 2 FROM %(moved)s
                             WHERE (whole OR %(kind)s) AND (id & 1) = 0))
                        OR %(alias)s.mailing_trace_id = ANY(ARRAY(
                            SELECT id / 2 FROM %(moved)s
                             WHERE (whole OR %(kind)s) AND (id & 1) = 1)))""",
                    alias=SQL(alias),
                    moved=moved,
                    kind=SQL(kind),
                )

            filters = {
                # hashed (a subquery's array is searched row by row)
                "result_filter": SQL("r.id IN (SELECT id FROM %s WHERE whole)", moved),
                "click_filter": of("c", "clicks"),
                "interaction_filter": of("i", "replies"),
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
        if table == "sms_program_inbound":
            return Month._inbound_query()
        now = self.env.context.get("results_now")
        gaps = SQL("(%s)", Month._gap_query())
        inbound = SQL("(%s)", Month._inbound_query())
        if table == "sms_program_month":
            return Month._month_query(gaps, results, now, inbound)
        if table == "sms_program_day":
            union = Month._union(Month._all_branches(), gaps, results, now, inbound)
            return Month._day_query(union)
        journey = self._recomputed_journey(table)
        if journey is not None:
            return journey
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
