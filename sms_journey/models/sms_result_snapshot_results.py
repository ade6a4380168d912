"""sms.result.snapshot: the SMS results (``sms_result``), their totals and the campaign
report's buckets, kept from what changed since the last refresh."""

from odoo import models
from odoo.tools import SQL

from ..tools.results import int_array
from .sms_result import RESULT_QUERY
from .sms_result_event import EVENT_FACTS, EVENTS
from .sms_result_snapshot import EVENT_KEY, KEY_PLACEHOLDERS, PROGRAM, RESULT_SUMS

# the columns of an SMS row its campaign report rows are computed from (with its clicks
# and replies): when none changed and no click or reply was written, they stay the same
EVENT_SOURCES = (
    "sent",
    "date",
    *PROGRAM,
    "clicked",
    "click_count",
    "replied",
    "opted_out",
)


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
        if since is not None:
            result_ids = self._moved_event_results(since)
            trace_ids = [i // 2 for i in result_ids if i % 2 == 0]
            mailing_trace_ids = [i // 2 for i in result_ids if i % 2 == 1]
        self._update_event_facts(trace_ids, mailing_trace_ids, result_ids)
        self._drop_same("sms_result", "id")
        self._write_rows("sms_result")

    def _moved_event_results(self, since):
        """The SMS (of ``sms_result_old`` / ``_new``) whose campaign report rows may
        have changed: new or deleted SMS, those whose columns the events read (sent, the
        program, the send date, the clicks and replies) changed, and those with a click
        or a reply written since ``since``. A delivery report alone leaves them as they
        were: their rows are neither read nor computed again."""
        return [
            row[0]
            for row in self.env.execute_query(
                SQL(
                    """
                    SELECT n.id FROM sms_result_new n
                      LEFT JOIN sms_result_old o ON o.id = n.id
                     WHERE o.id IS NULL
                        OR ROW(%(new)s) IS DISTINCT FROM ROW(%(old)s)
                     UNION
                    SELECT o.id FROM sms_result_old o
                     WHERE NOT EXISTS (SELECT 1 FROM sms_result_new n WHERE n.id = o.id)
                     UNION
                    %(written)s
                    """,
                    written=SQL(" UNION ").join(
                        SQL(
                            """SELECT COALESCE(sms_journey_trace_id * 2, mailing_trace_id * 2 + 1)
                                 FROM %s WHERE write_date >= %s
                                  AND (sms_journey_trace_id IS NOT NULL
                                       OR mailing_trace_id IS NOT NULL)""",
                            SQL.identifier(table),
                            since,
                        )
                        for table in ("link_tracker_click", "sms_interaction")
                    ),
                    new=SQL(", ").join(SQL("n.%s", SQL.identifier(c)) for c in EVENT_SOURCES),
                    old=SQL(", ").join(SQL("o.%s", SQL.identifier(c)) for c in EVENT_SOURCES),
                )
            )
        ]

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

    def _update_event_facts(self, trace_ids, mailing_trace_ids, result_ids):
        """The campaign report's rows of these SMS, computed again from their new SMS
        rows (``sms_result_new``); only the rows that differ are written, and stay as
        they were and as they are in ``sms_result_event_fact_old`` / ``_new``."""
        cr = self.env.cr
        self._new_temps("sms_result_event_fact", ages=("kept", "computed"))
        # one index look-up per SMS (a join on the array would read the whole table);
        # an SMS new in this refresh has no kept rows: not looked up
        cr.execute(
            SQL(
                """INSERT INTO sms_result_event_fact_kept
                   SELECT f.* FROM unnest(ARRAY(SELECT id FROM sms_result_old
                                                 WHERE id = ANY(%s::int[]))) AS u (id)
                   CROSS JOIN LATERAL (SELECT * FROM sms_result_event_fact f
                                        WHERE f.result_id = u.id) f""",
                int_array(result_ids),
            )
        )
        cr.execute(
            SQL(
                "INSERT INTO sms_result_event_fact_computed %s",
                self._event_facts(
                    results=SQL("sms_result_new"),
                    trace_ids=trace_ids,
                    mailing_trace_ids=mailing_trace_ids,
                ),
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
                # arrays of unknown length: the planner reads the events of each SMS
                # by the indexes of both columns (a bitmap of both) instead of the
                # whole table
                return SQL(
                    """(%(alias)s.sms_journey_trace_id
                            = ANY(ARRAY(SELECT unnest(%(traces)s::int[])))
                        OR %(alias)s.mailing_trace_id
                            = ANY(ARRAY(SELECT unnest(%(mailing)s::int[]))))""",
                    alias=SQL(alias),
                    traces=int_array(trace_ids),
                    mailing=int_array(mailing_trace_ids),
                )

            filters = {
                "result_filter": SQL("r.id = ANY(%s::int[])", int_array(result_ids)),
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
