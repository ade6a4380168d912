"""sms.result.snapshot: what each journey step's traces became (``sms_journey_step_total``)
and the control-group sums of each journey (``sms_journey_holdout``), kept from the
traces, participants and orders that changed since the last refresh."""

import json

from odoo import models
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..tools.results import int_array

# the goal of each journey the control-group sums were computed with ({id: days})
JOURNEY_SETTINGS = "sms_journey.results_journey_goals"

# one row per trace: what it became, summed by journey and step
STEP_FACTS = """
SELECT t.id, t.id AS trace_id, t.journey_id, t.step_id,
       (t.state IS NOT DISTINCT FROM 'skipped')::int AS skipped,
       (t.state IS NOT DISTINCT FROM 'held_out')::int AS held_out,
       COALESCE(t.converted, FALSE)::int AS converted,
       (t.branch IS NOT DISTINCT FROM 'yes')::int AS yes,
       (t.branch IS NOT DISTINCT FROM 'no')::int AS no
  FROM sms_journey_trace t
 WHERE %s
"""
STEP_KEY = ("journey_id", "step_id")
STEP_SUMS = ("skipped", "held_out", "converted", "yes", "no")

# one row per participant: whether its contact's family confirmed an order within the
# journey's goal after the enrolment (its window), and for how much (the orders' totals),
# from the orders (``HOLDOUT_ORDERS``: what the kept facts must equal); the kept facts
# are computed from the kept order gaps (``HOLDOUT_FROM_GAPS``: one row per confirmed
# order of the family, its total with it, kept before these facts: a family's orders in
# the window are a range of one index, not a dozen random pages of ``sale_order``)
HOLDOUT_FACTS = """
SELECT p.id, p.id AS participant_id, p.journey_id, COALESCE(p.holdout, FALSE) AS holdout,
       COALESCE(rp.commercial_partner_id, rp.id) AS family_id,
       p.enrolled_at AS window_start,
       p.enrolled_at + make_interval(days => j.goal_days) AS window_end,
       1 AS participants,
       (COUNT(o.date_order) > 0)::int AS converted,
       COALESCE(SUM(o.amount_total), 0) AS revenue,
       COALESCE(SUM(o.amount_total), 0) * COALESCE(SUM(o.amount_total), 0) AS revenue_squares
  FROM sms_journey_participant p
  JOIN sms_journey j ON j.id = p.journey_id
  JOIN res_partner rp ON rp.id = p.partner_id
  %(orders)s
 WHERE %%s
 GROUP BY p.id, j.goal_days, rp.commercial_partner_id, rp.id
"""
HOLDOUT_ORDERS = """
  LEFT JOIN res_partner op ON op.commercial_partner_id = COALESCE(rp.commercial_partner_id, rp.id)
  LEFT JOIN sale_order o
         ON o.partner_id = op.id AND o.state = 'sale'
        AND o.date_order > p.enrolled_at
        AND o.date_order <= p.enrolled_at + make_interval(days => j.goal_days)
"""
# the same from the kept order gaps: each participant's family's gaps in its window
# summed apart (a range of the gaps' index, ``(family_id, date_order) INCLUDE
# (amount_total)``, read from the index alone), not joined then grouped: joined, the
# window was a filter on every gap of the family (a dozen a family read to keep none,
# for a participant just enrolled) and the rows were sorted again to be grouped
# (2,500 new participants: 36 → 15 ms)
HOLDOUT_FROM_GAPS = """
SELECT p.id, p.id AS participant_id, p.journey_id, COALESCE(p.holdout, FALSE) AS holdout,
       w.family_id, p.enrolled_at AS window_start, w.window_end, 1 AS participants,
       (o.orders > 0)::int AS converted, o.revenue, o.revenue * o.revenue AS revenue_squares
  FROM sms_journey_participant p
  JOIN sms_journey j ON j.id = p.journey_id
  JOIN res_partner rp ON rp.id = p.partner_id
 CROSS JOIN LATERAL (
        SELECT COALESCE(rp.commercial_partner_id, rp.id) AS family_id,
               p.enrolled_at + make_interval(days => j.goal_days) AS window_end) w
 CROSS JOIN LATERAL (
        SELECT COUNT(*) AS orders, COALESCE(SUM(g.amount_total), 0) AS revenue
          FROM sms_program_order_gap g
         WHERE g.family_id = w.family_id
           AND g.date_order > p.enrolled_at AND g.date_order <= w.window_end) o
 WHERE %s
"""
# the facts of participants not written since of the families whose order gaps were
# built again (``_update_gaps``: the whole dashboard): the same from their kept fact
# (``<facts>_old``: journey, control group, family and window), without reading the
# participants again
HOLDOUT_FROM_FACTS = """
SELECT f.id, f.participant_id, f.journey_id, f.holdout, f.family_id, f.window_start,
       f.window_end, 1, (o.orders > 0)::int, o.revenue, o.revenue * o.revenue
  FROM sms_journey_holdout_fact_old f
 CROSS JOIN LATERAL (
        SELECT COUNT(*) AS orders, COALESCE(SUM(g.amount_total), 0) AS revenue
          FROM sms_program_order_gap g
         WHERE g.family_id = f.family_id
           AND g.date_order > f.window_start AND g.date_order <= f.window_end) o
 WHERE f.participant_id IS NOT NULL AND NOT f.id = ANY(%s::int[])
"""
# the facts of participants not written since whose family's order gaps moved
# (``_update_order_gaps``: ``sms_program_order_gap_old`` as they were, ``_new`` as they
# are, the gaps that differ only), moved in place: the gaps netted by family and date
# (a gap whose date and total stayed goes out and back), each fact whose goal window holds
# one takes its total; it converted if an order came in, or, when one went out, if its
# window still holds one (the family's gaps by date: one index range). Only the facts
# that changed are written; as they are and as they were (``moved_fact_new`` / ``_old``)
# they move the sums (``_apply_delta``).
HOLDOUT_MOVED = """
WITH gaps AS (
    SELECT family_id, date_order, SUM(sign) AS orders, SUM(sign * amount_total) AS revenue
      FROM (SELECT family_id, date_order, COALESCE(amount_total, 0) AS amount_total, -1 AS sign
              FROM sms_program_order_gap_old
             UNION ALL
            SELECT family_id, date_order, COALESCE(amount_total, 0), 1
              FROM sms_program_order_gap_new) g
     GROUP BY family_id, date_order
    HAVING SUM(sign) <> 0 OR SUM(sign * amount_total) <> 0
), moved AS (
    SELECT f.id, f.fact_ctid, f.family_id, f.window_start, f.window_end, f.converted,
           f.revenue, f.revenue_squares, f.revenue + SUM(g.revenue) AS new_revenue,
           bool_or(g.orders < 0) AS lost, bool_or(g.orders > 0) AS added
      FROM gaps g
     -- each gap's family read by its index (OFFSET 0: not flattened into a join; the
     -- planner, taking the gaps for many more, read the whole table to hash it); a gap
     -- that only adds an order without total to a fact that converted changes nothing
     CROSS JOIN LATERAL (
            SELECT f.ctid AS fact_ctid, f.* FROM sms_journey_holdout_fact f
             WHERE f.family_id = g.family_id
               AND g.date_order > f.window_start AND g.date_order <= f.window_end
               AND f.participant_id IS NOT NULL AND NOT f.id = ANY(%(ids)s::int[])
               AND (g.revenue <> 0 OR g.orders < 0 OR f.converted = 0)
            OFFSET 0) f
     GROUP BY f.id, f.fact_ctid, f.family_id, f.window_start, f.window_end, f.converted,
              f.revenue, f.revenue_squares
), changed AS (
    SELECT m.*,
           CASE WHEN m.lost THEN EXISTS (
                    SELECT 1 FROM sms_program_order_gap o
                     WHERE o.family_id = m.family_id
                       AND o.date_order > m.window_start AND o.date_order <= m.window_end)::int
                WHEN m.added THEN 1 ELSE m.converted END AS new_converted
      FROM moved m
), updated AS (
    UPDATE sms_journey_holdout_fact f
       SET converted = c.new_converted, revenue = c.new_revenue,
           revenue_squares = c.new_revenue * c.new_revenue
      FROM (SELECT * FROM changed
             WHERE new_converted <> converted OR new_revenue <> revenue) c
     -- each fact read where it was just read (its row's place, taken in this
     -- statement), not looked up again by its primary key (with an array of their ids,
     -- the planner read the whole array's facts again for each one)
     WHERE f.ctid = c.fact_ctid
 RETURNING f.journey_id, f.holdout, f.participants, f.converted, f.revenue,
           f.revenue_squares, c.converted AS old_converted, c.revenue AS old_revenue,
           c.revenue_squares AS old_squares
), moved_fact_new AS (
    SELECT journey_id, holdout, participants, converted, revenue, revenue_squares FROM updated
), moved_fact_old AS (
    SELECT journey_id, holdout, participants, old_converted AS converted,
           old_revenue AS revenue, old_squares AS revenue_squares
      FROM updated
)
"""
HOLDOUT_KEY = ("journey_id", "holdout")
HOLDOUT_SUMS = ("participants", "converted", "revenue", "revenue_squares")

# fact table, its totals, the record its rows follow (set to NULL when it is deleted),
# the query of its rows, the totals' key and sums
JOURNEY_FACTS = {
    "sms_journey_step_fact": (
        "sms_journey_step_total",
        ("trace_id", "sms_journey_trace"),
        STEP_FACTS,
        STEP_KEY,
        STEP_SUMS,
    ),
    "sms_journey_holdout_fact": (
        "sms_journey_holdout",
        ("participant_id", "sms_journey_participant"),
        HOLDOUT_FACTS % {"orders": HOLDOUT_ORDERS},
        HOLDOUT_KEY,
        HOLDOUT_SUMS,
    ),
}


# the kept rows other than the journey facts that a deleted row marks the same way:
# (kept table, link, table deleted from, the kept row's id from the deleted row's): an
# SMS row's id is its journey trace's times 2, a gap's its order's
OTHER_MARKS = (
    ("sms_result", "journey_trace_id", "sms_journey_trace", "d.id * 2"),
    ("sms_program_order_gap", "order_id", "sale_order", "d.id"),
)


def deleted_marks():
    """The kept rows a deleted trace, participant or order marks for the next refresh
    (their link set to NULL, found by primary key): {table deleted from: [(kept table,
    link, the kept row's id from the deleted row ``d``)]}, from ``JOURNEY_FACTS`` (a
    fact's id is its trace's or participant's) and ``OTHER_MARKS``
    (``_create_deleted_triggers``)."""
    marks = {}
    facts = [
        (name, link, target, "d.id") for name, (_t, (link, target), *_r) in JOURNEY_FACTS.items()
    ]
    for kept, link, target, kept_id in (*facts, *OTHER_MARKS):
        marks.setdefault(target, []).append((kept, link, kept_id))
    return marks


class SmsResultSnapshot(models.AbstractModel):
    """The step totals and control-group sums: one fact row per trace and per
    participant, computed again for the traces and participants touched by what changed,
    their totals moved by the difference (``_apply_delta``)."""

    _inherit = "sms.result.snapshot"

    def _journey_facts_query(self, facts, ids=None, kept=False):
        """The fact rows of ``facts``: all, or those of the ids ``ids``; the
        control-group facts from the kept order gaps when ``kept`` (up to date: the
        build and the refresh keep them first), else from the orders themselves."""
        query = JOURNEY_FACTS[facts][2]
        if kept and facts == "sms_journey_holdout_fact":
            query = HOLDOUT_FROM_GAPS
        if ids is None:
            return SQL(query, SQL("TRUE"))
        if facts == "sms_journey_holdout_fact":
            # an array of unknown length: the planner reads the participants' contacts
            # by their primary key instead of the whole index of contacts
            return SQL(query, SQL("p.id = ANY(ARRAY(SELECT unnest(%s::int[])))", int_array(ids)))
        return SQL(query, SQL("t.id = ANY(%s::int[])", int_array(ids)))

    def _create_journey_tables(self):
        cr = self.env.cr
        for facts, (total, (link, _target), _query, key, sums) in JOURNEY_FACTS.items():
            cr.execute(
                SQL(
                    "CREATE TABLE %s AS SELECT * FROM (%s) q WITH NO DATA",
                    SQL.identifier(facts),
                    self._journey_facts_query(facts),
                )
            )
            cr.execute(SQL("ALTER TABLE %s ADD PRIMARY KEY (id)", SQL.identifier(facts)))
            cr.execute(
                SQL(
                    "CREATE INDEX %s ON %s (id) WHERE %s IS NULL",
                    SQL.identifier(f"{facts}_orphan_index"),
                    SQL.identifier(facts),
                    SQL.identifier(link),
                )
            )
            cr.execute(
                SQL(
                    "CREATE TABLE %s AS SELECT 0 AS id, * FROM (%s) q WITH NO DATA",
                    SQL.identifier(total),
                    self._grouped(SQL.identifier(facts), key, sums),
                )
            )
            cr.execute(
                SQL(
                    """CREATE SEQUENCE %(seq)s OWNED BY %(table)s.id;
                       ALTER TABLE %(table)s ALTER id SET DEFAULT nextval(%(name)s),
                                             ADD PRIMARY KEY (id)""",
                    seq=SQL.identifier(f"{total}_id_seq"),
                    table=SQL.identifier(total),
                    name=f"{total}_id_seq",
                )
            )
            self._create_key_index(total, key)
            for column in key:
                cr.execute(
                    SQL(
                        "CREATE INDEX %s ON %s (%s)",
                        SQL.identifier(f"{total}_{column}_index"),
                        SQL.identifier(total),
                        SQL.identifier(column),
                    )
                )
        self._create_journey_indexes()

    def _create_journey_indexes(self):
        """A family's control-group facts by the end of their goal window: an order
        moves only the facts whose window is still open at its date (``HOLDOUT_MOVED``),
        not every participant the family ever had (a contact enrolled again and again
        over the years. Created on tables of an earlier version too (``init``)."""
        cr = self.env.cr
        cr.execute("DROP INDEX IF EXISTS sms_journey_holdout_fact_family_id_index")
        create_index(
            cr,
            "sms_journey_holdout_fact_family_id_window_end_index",
            "sms_journey_holdout_fact",
            ["family_id", "window_end"],
        )

    def _create_deleted_triggers(self):
        """A deleted trace, participant or order sets the link of its kept rows to NULL
        (``deleted_marks``), for the next refresh to take them out (their orphan index).
        A trigger once per DELETE statement finds them by primary key. A foreign key
        did it before: its action looked for each deleted row's kept rows by the link
        column, which has no index (the whole table read per row: 20 traces deleted
        took 3.4 s at 1 M traces, a journey's deletion days; 0.76 s per quotation
        deleted at 3 M orders), and its check locked the trace, participant or order of
        every new row (the refresh's inserts). Made at every install and upgrade
        (``init``), the keys of an earlier version dropped."""
        cr = self.env.cr
        for source, marks in deleted_marks().items():
            function = SQL.identifier(f"{source}_deleted_mark_facts")
            trigger = SQL.identifier(f"{source}_deleted_mark_facts")
            updates = SQL(" ").join(
                SQL(
                    """UPDATE %(table)s SET %(link)s = NULL
                        WHERE id = ANY(ARRAY(SELECT %(kept_id)s FROM deleted_rows d))
                          AND %(link)s IS NOT NULL;""",
                    table=SQL.identifier(table),
                    link=SQL.identifier(link),
                    kept_id=SQL(kept_id),
                )
                for table, link, kept_id in marks
            )
            cr.execute(
                SQL(
                    """CREATE OR REPLACE FUNCTION %(function)s() RETURNS trigger
                       LANGUAGE plpgsql AS $$ BEGIN %(updates)s RETURN NULL; END $$;
                       DROP TRIGGER IF EXISTS %(trigger)s ON %(source)s;
                       CREATE TRIGGER %(trigger)s AFTER DELETE ON %(source)s
                       REFERENCING OLD TABLE AS deleted_rows FOR EACH STATEMENT
                       EXECUTE FUNCTION %(function)s()""",
                    function=function,
                    updates=updates,
                    trigger=trigger,
                    source=SQL.identifier(source),
                )
            )
            for table, link, _kept_id in marks:
                cr.execute(
                    SQL(
                        "ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s",
                        SQL.identifier(table),
                        SQL.identifier(f"{table}_{link}_fkey"),
                    )
                )

    def _build_journey(self):
        """Fill the step totals and control-group sums from scratch."""
        self.env["ir.config_parameter"].sudo().set_param(
            JOURNEY_SETTINGS, json.dumps(self._journey_goals())
        )
        cr = self.env.cr
        # every trace's step fact computed from here: the queue's are too
        self._queued_traces()
        for facts, (total, _link, _query, key, sums) in JOURNEY_FACTS.items():
            self._clear([facts, total])
            cr.execute(
                SQL(
                    "INSERT INTO %s %s",
                    SQL.identifier(facts),
                    self._journey_facts_query(facts, kept=True),
                )
            )
            columns = SQL(", ").join(SQL.identifier(c) for c in (*key, *sums, "row_count"))
            cr.execute(
                SQL(
                    "INSERT INTO %s (%s) %s",
                    SQL.identifier(total),
                    columns,
                    self._grouped(SQL.identifier(facts), key, sums),
                )
            )

    def _journey_goals(self):
        return {
            str(journey_id): goal
            for journey_id, goal in self.env.execute_query(
                SQL("SELECT id, goal_days FROM sms_journey")
            )
        }

    def _update_journey(self, since, families, gaps_kept=True):
        """The step facts of the traces queued (``_queued_traces``: new, or whose
        journey, step, state, conversion or branch changed) and of deleted traces, the
        control-group facts of the participants written since, of the customers
        ``families`` (their orders changed), of journeys whose goal changed and of
        deleted participants, computed again; the totals moved by the difference.
        ``gaps_kept``: the order gaps of ``families`` were just kept, and those that
        moved are in ``sms_program_order_gap_old`` / ``_new`` (else built again)."""
        parameters = self.env["ir.config_parameter"].sudo()
        goals = self._journey_goals()
        known = json.loads(parameters.get_param(JOURNEY_SETTINGS) or "{}")
        changed = [int(i) for i, goal in goals.items() if i in known and known[i] != goal]
        if goals != known:
            parameters.set_param(JOURNEY_SETTINGS, json.dumps(goals))
        orphans = self.env.execute_query(
            SQL("SELECT id FROM sms_journey_step_fact WHERE trace_id IS NULL")
        )
        self._sync_journey_facts(
            "sms_journey_step_fact", sorted(self._queued_traces() | {row[0] for row in orphans})
        )
        participants = self.env.execute_query(
            SQL(
                """
                SELECT id FROM sms_journey_participant WHERE write_date >= %(since)s
                 UNION
                SELECT id FROM sms_journey_holdout_fact WHERE participant_id IS NULL
                 UNION
                SELECT id FROM sms_journey_participant WHERE journey_id = ANY(%(journeys)s)
                """,
                since=since,
                journeys=changed,
            )
        )
        self._sync_holdout_facts([row[0] for row in participants], families, gaps_kept)

    def _sync_holdout_facts(self, ids, families, gaps_kept):
        """The control-group facts of the participants ``ids`` computed again; those of
        the other participants of ``families`` moved in place by the order gaps that
        moved (``HOLDOUT_MOVED``), or, when the gaps were built again, computed from
        their kept fact; those that differ are written and move the sums
        (``_apply_delta``). (A contact moved to another company keeps its family until
        its participant is written.)"""
        facts = "sms_journey_holdout_fact"
        total, _link, _query, key, sums = JOURNEY_FACTS[facts]
        if families and gaps_kept:
            moved = SQL(HOLDOUT_MOVED, ids=int_array(ids))
            self._apply_delta(total, "moved_fact", key, sums, with_=moved)
            families = []
        if not (ids or families):
            return
        self._new_temps(facts)
        cr = self.env.cr
        # arrays of unknown length: read by the indexes, not the whole table
        cr.execute(
            SQL(
                """INSERT INTO sms_journey_holdout_fact_old
                   SELECT * FROM sms_journey_holdout_fact
                    WHERE id = ANY(ARRAY(SELECT unnest(%(ids)s::int[])))
                    UNION ALL
                   SELECT * FROM sms_journey_holdout_fact f
                    WHERE f.family_id = ANY(ARRAY(SELECT unnest(%(families)s::int[])))
                      AND NOT f.id = ANY(%(ids)s::int[])""",
                ids=int_array(ids),
                families=int_array(families),
            )
        )
        query = self._journey_facts_query(facts, ids, kept=True)
        if families:
            # without families, the kept facts read are those of ``ids``: none to keep
            # (and the planner weighed each id of the array against each of them)
            query = SQL("%s UNION ALL %s", query, SQL(HOLDOUT_FROM_FACTS, int_array(ids)))
        cr.execute(SQL("INSERT INTO sms_journey_holdout_fact_new %s", query))
        self._write_differing(facts)
        self._apply_delta(total, facts, key, sums)

    def _sync_journey_facts(self, facts, ids):
        """The fact rows ``ids`` of ``facts`` computed again; those that differ are
        written and move the totals (``_apply_delta``)."""
        if not ids:
            return
        total, _link, _query, key, sums = JOURNEY_FACTS[facts]
        self._sync_rows(facts, self._journey_facts_query(facts, ids, kept=True), ids)
        self._apply_delta(total, facts, key, sums)

    def _sync_rows(self, table, query, ids):
        """Bring the rows ``ids`` of ``table`` (by primary key ``id``) to those of
        ``query``; the rows that differ as they were and as they are stay in
        ``<table>_old`` / ``<table>_new`` (temporary)."""
        self._new_temps(table)
        # an array of unknown length: read by the primary key, not the whole table
        kept = SQL(
            "SELECT * FROM %s WHERE id = ANY(ARRAY(SELECT unnest(%s::int[])))",
            SQL.identifier(table),
            int_array(ids),
        )
        self._keep_differing(table, query, kept)
        self._write_rows(table)

    def _keep_differing(self, table, query, kept):
        """Put in ``<table>_old`` the rows of ``kept`` (rows of ``table``) and in
        ``<table>_new`` those of ``query`` (shaped as ``table``) that differ, matched by
        primary key ``id``: one statement, the rows that are the same (usually most)
        are never written to the temporary tables nor deleted from them. Both sides are
        joined as they are read and compared column by column; only the rows that
        differ are made whole rows (cast to the table's row type and materialized
        before the join, the 9,000 step facts of a refresh cost 94 ms, now 79)."""
        self.env.cr.execute(
            SQL(
                """
                WITH d AS MATERIALIZED (
                        SELECT n, o FROM (%(query)s) n FULL JOIN (%(kept)s) o ON o.id = n.id
                         WHERE ROW(n.*) IS DISTINCT FROM ROW(o.*)),
                     old AS (INSERT INTO %(old)s SELECT (d.o).* FROM d WHERE (d.o).id IS NOT NULL)
                INSERT INTO %(new)s SELECT (d.n).* FROM d WHERE (d.n).id IS NOT NULL
                """,
                query=query,
                kept=kept,
                old=SQL.identifier(f"{table}_old"),
                new=SQL.identifier(f"{table}_new"),
            )
        )
        # a temporary table has no statistics: without them the planner may read the
        # whole table to join it
        self.env.cr.execute(
            SQL(
                "ANALYZE %s (id), %s (id)",
                SQL.identifier(f"{table}_old"),
                SQL.identifier(f"{table}_new"),
            )
        )

    def _new_temps(self, table, ages=("old", "new")):
        """Empty ``<table>_old`` and ``<table>_new`` (or the ``ages`` given: temporary,
        shaped as ``table``).
        Created once per database session and emptied by each commit: creating them
        again at every refresh wrote a dozen tables' rows in the catalog
        (``REUSED_TEMPS``, dropped when their shape changed, ``_forget_temps``)."""
        for age in ages:
            temp = SQL.identifier(f"{table}_{age}")
            self.env.cr.execute(
                SQL(
                    """CREATE TEMP TABLE IF NOT EXISTS %s (LIKE %s) ON COMMIT DELETE ROWS;
                       DELETE FROM %s""",
                    temp,
                    SQL.identifier(table),
                    temp,
                )
            )

    def _write_differing(self, table):
        """Bring in ``table`` the rows of ``<table>_old`` to those of ``<table>_new`` (by
        primary key ``id``), the rows that are the same in both left alone and taken
        out of both (``_write_rows``)."""
        old, new = (SQL.identifier(f"{table}_{age}") for age in ("old", "new"))
        self._drop_same(table, "id")
        # a temporary table has no statistics: without them the planner may read the
        # whole table to join it (its row count and ids are enough: the other columns'
        # statistics cost as much again, and no plan reads them); taken once the rows
        # that are the same are out (they are most, often)
        self.env.cr.execute(SQL("ANALYZE %s (id), %s (id)", old, new))
        self._write_rows(table)

    def _write_rows(self, table):
        """Write in ``table`` the rows that differ (``<table>_old`` as they are in it,
        ``<table>_new`` as they must be, by primary key ``id``): updated in place when in
        both (an update of columns without index stays on its page and adds no index
        entry), deleted when only old, inserted when only new."""
        cr = self.env.cr
        old, new = (SQL.identifier(f"{table}_{age}") for age in ("old", "new"))
        columns = [
            SQL.identifier(name)
            for (name,) in self.env.execute_query(
                SQL(
                    """SELECT attname FROM pg_attribute
                        WHERE attrelid = %s::regclass AND attnum > 0
                          AND NOT attisdropped AND attname <> 'id' ORDER BY attnum""",
                    table,
                )
            )
        ]
        # an array, not a subquery: the planner would read the whole table to join it;
        # the ids of the rows as they were, not as they are: a new row (most, often) is
        # not looked up in the table for nothing
        cr.execute(
            SQL(
                """UPDATE %(table)s t SET (%(columns)s) = (%(values)s) FROM %(new)s n
                    WHERE t.id = n.id AND t.id = ANY(ARRAY(SELECT id FROM %(old)s))""",
                table=SQL.identifier(table),
                columns=SQL(", ").join(columns),
                values=SQL(", ").join(SQL("n.%s", c) for c in columns),
                new=new,
                old=old,
            )
        )
        cr.execute(
            SQL(
                """DELETE FROM %s WHERE id = ANY(ARRAY(
                       SELECT o.id FROM %s o
                        WHERE NOT EXISTS (SELECT 1 FROM %s n WHERE n.id = o.id)))""",
                SQL.identifier(table),
                old,
                new,
            )
        )
        cr.execute(
            SQL(
                """INSERT INTO %s SELECT * FROM %s n
                    WHERE NOT EXISTS (SELECT 1 FROM %s o WHERE o.id = n.id)""",
                SQL.identifier(table),
                new,
                old,
            )
        )

    def _recomputed_journey(self, table):
        """What ``table`` (a fact table or its totals) must equal, from scratch."""
        for facts, (total, _link, _query, key, sums) in JOURNEY_FACTS.items():
            rows = SQL("(%s)", self._journey_facts_query(facts))
            if table == facts:
                return SQL("SELECT * FROM %s q", rows)
            if table == total:
                return self._grouped(rows, key, sums)
        return None
