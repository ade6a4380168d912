"""sms.result.snapshot: the global control group report's sums (``sms.global.holdout.report``)
kept per contact and per program for the latest period of each company, moved by what
changed since the last refresh.

``sms_holdout_fact``: one row per (period, program, contact) the contact is a head of
(all contacts, a journey it entered, an SMS mailing it received in the period), with
whether the period holds it out and its confirmed orders' total in the period.
``sms_holdout_total``: those rows summed per (period, program, held out) — what opening
the report reads. ``sms_holdout_state``: each kept period's end as built and how far its
first build went (contact ids below ``built_until``; ``BUILT`` once done).

A refresh recomputes the facts of the contacts touched since the last one (their
orders, or an order that left them, their own record, their participations and SMS
mailing traces, a deleted one included) and moves the totals by the difference
(``_apply_delta``). A journey's or mailing's row follows one of the participations or
traces that make the contact a head of it (the first): its deletion sets the link to
NULL (as the journey facts follow their trace or participant), which makes the contact
dirty for the next refresh; a deleted contact leaves its rows without one. A period
started or whose end moved is built again from scratch, ``HOLDOUT_BATCH`` contact ids at
a time, a few batches per refresh (``HOLDOUT_BATCHES``), never when the report opens.
"""

from odoo import models
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..tools import global_holdout
from ..tools.results import int_array

HOLDOUT_KEY = ("period_id", "program", "program_id", "held")
HOLDOUT_SUMS = ("converted", "revenue", "squares")
# contact ids per batch of a period's first build, and batches per refresh
HOLDOUT_BATCH = 250_000
HOLDOUT_BATCHES = 4
BUILT = global_holdout.BUILT

HOLDOUT_DDL = """
CREATE TABLE sms_holdout_state (
    period_id integer PRIMARY KEY
        REFERENCES sms_global_holdout_period (id) ON DELETE CASCADE,
    date_end timestamp NOT NULL,
    built_until integer NOT NULL
);
CREATE TABLE sms_holdout_fact (
    period_id integer NOT NULL
        REFERENCES sms_global_holdout_period (id) ON DELETE CASCADE,
    program varchar NOT NULL,
    program_id integer NOT NULL,
    partner_id integer REFERENCES res_partner (id) ON DELETE SET NULL,
    held boolean NOT NULL,
    converted integer NOT NULL,
    revenue numeric NOT NULL,
    squares numeric NOT NULL,
    participant_id integer REFERENCES sms_journey_participant (id) ON DELETE SET NULL,
    trace_id integer REFERENCES mailing_trace (id) ON DELETE SET NULL
);
CREATE INDEX sms_holdout_fact_partner_id_index ON sms_holdout_fact (partner_id);
CREATE INDEX sms_holdout_fact_participant_id_index ON sms_holdout_fact (participant_id)
    WHERE participant_id IS NOT NULL;
CREATE INDEX sms_holdout_fact_trace_id_index ON sms_holdout_fact (trace_id)
    WHERE trace_id IS NOT NULL;
CREATE INDEX sms_holdout_fact_unlinked_index ON sms_holdout_fact (period_id)
    WHERE program <> 'overall' AND participant_id IS NULL AND trace_id IS NULL;
CREATE INDEX sms_holdout_fact_orphan_index ON sms_holdout_fact (period_id)
    WHERE partner_id IS NULL;
CREATE TABLE sms_holdout_total (
    id serial PRIMARY KEY,
    period_id integer NOT NULL
        REFERENCES sms_global_holdout_period (id) ON DELETE CASCADE,
    program varchar NOT NULL,
    program_id integer NOT NULL,
    held boolean NOT NULL,
    converted bigint, revenue numeric, squares numeric,
    row_count bigint NOT NULL
);
"""

# one row per head of a period's programs among the contacts ``only`` lets through: its
# confirmed orders of the company in the period summed (the report's figures, zeros
# included), and the first participation or SMS mailing trace that makes it a head
FACT_QUERY = """
WITH orders AS MATERIALIZED (
    SELECT o.partner_id, SUM(o.amount_total) AS revenue
      FROM sale_order o
     WHERE o.state = 'sale' AND o.company_id = %(company)s
       AND o.date_order >= %(start)s AND o.date_order < %(end)s AND %(orders)s
     GROUP BY o.partner_id
), heads AS (
    SELECT 'overall' AS program, 0 AS program_id, p.id AS partner_id,
           NULL::integer AS participant_id, NULL::integer AS trace_id
      FROM res_partner p
     WHERE p.active AND p.phone_sanitized IS NOT NULL
       AND (p.company_id IS NULL OR p.company_id = %(company)s) AND %(partners)s
    UNION ALL
    SELECT 'journey', pa.journey_id, pa.partner_id, MIN(pa.id), NULL
      FROM sms_journey_participant pa
     WHERE pa.company_id = %(company)s
       AND pa.enrolled_at >= %(start)s AND pa.enrolled_at < %(end)s AND %(participants)s
     GROUP BY pa.journey_id, pa.partner_id
    UNION ALL
    SELECT 'mailing', t.mass_mailing_id, t.res_id, NULL, MIN(t.id)
      FROM mailing_trace t
      JOIN mailing_mailing m ON m.id = t.mass_mailing_id
      JOIN res_users u ON u.id = m.user_id
     WHERE t.trace_type = 'sms' AND t.model = 'res.partner'
       AND u.company_id = %(company)s
       AND t.create_date >= %(start)s AND t.create_date < %(end)s AND %(traces)s
       AND EXISTS (SELECT 1 FROM res_partner rp WHERE rp.id = t.res_id)
     GROUP BY t.mass_mailing_id, t.res_id
)
SELECT %(period)s AS period_id, h.program::varchar AS program, h.program_id,
       h.partner_id, %(held)s AS held, (o.partner_id IS NOT NULL)::integer AS converted,
       COALESCE(o.revenue, 0) AS revenue, COALESCE(o.revenue * o.revenue, 0) AS squares,
       h.participant_id, h.trace_id
  FROM heads h
  LEFT JOIN orders o ON o.partner_id = h.partner_id
"""


class SmsResultSnapshot(models.AbstractModel):
    """The global control group report's sums kept from what changed."""

    _inherit = "sms.result.snapshot"

    def init(self):
        created = self._create_holdout_tables()
        result = super().init()
        if created:
            self._build_holdout()
        return result

    def _create_holdout_tables(self):
        """Create the control group's tables when missing; True if they were (built at
        once then). Tables of an older build, without the links to the participations
        and traces, are created again empty: the results refreshes build them by
        batches of contacts, as a new period's (``HOLDOUT_BATCHES`` per refresh, the
        report waiting meanwhile), not the upgrade in one transaction (about two
        minutes of CPU at 1 M contacts). The contacts written since the last refresh are
        found by ``write_date`` (indexed)."""
        cr = self.env.cr
        create_index(cr, "res_partner_write_date_index", "res_partner", ["write_date"])
        exists = self.env.execute_query(
            SQL(
                "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname = ANY(%s)",
                ["sms_holdout_state", "sms_holdout_fact", "sms_holdout_total"],
            )
        )
        links = self.env.execute_query(
            SQL(
                """SELECT count(*) FROM information_schema.columns
                    WHERE table_name = 'sms_holdout_fact' AND column_name = ANY(%s)""",
                ["participant_id", "trace_id"],
            )
        )
        if exists[0][0] == 3 and links[0][0] == 2:
            return False
        cr.execute("DROP TABLE IF EXISTS sms_holdout_state, sms_holdout_fact, sms_holdout_total")
        cr.execute(HOLDOUT_DDL)
        self._create_key_index("sms_holdout_total", HOLDOUT_KEY)
        return exists[0][0] < 3

    def _build_holdout(self):
        """Build the sums of every kept period from scratch (install, upgrade, full
        refresh)."""
        self._clear(["sms_holdout_state", "sms_holdout_fact", "sms_holdout_total"])
        self._update_holdout(None, [])

    def _update_holdout(self, since, families):
        """Move the kept periods' sums by what changed since ``since`` (the contacts of
        ``families`` among it: their orders changed), then go on with the first build of
        those not built yet, ``HOLDOUT_BATCHES`` batches each (``since`` None: from
        scratch, to the end)."""
        batches = None if since is None else HOLDOUT_BATCHES
        states = self._holdout_track_periods()
        # without a global control group there is nothing to move: the contacts touched
        # are not looked for (the refresh after 10,000 events: 0.12 s at 1 M contacts)
        if since is not None and states:
            dirty = self._holdout_dirty_partners(since, families)
            orphans = self.env.execute_query(
                SQL("SELECT DISTINCT period_id FROM sms_holdout_fact WHERE partner_id IS NULL")
            )
            orphans = {row[0] for row in orphans}
            unlinked = self._holdout_unlinked_partners()
            for period_id, built_until in states.items():
                ids = sorted(set(dirty).union(unlinked.get(period_id, ())))
                ids = [i for i in ids if i < built_until]
                if built_until and (ids or period_id in orphans):
                    self._sync_holdout(period_id, ids=ids)
        for period_id, built_until in states.items():
            if built_until < BUILT:
                self._build_holdout_batches(period_id, built_until, batches)

    def _holdout_track_periods(self):
        """{period id: built_until} of the kept periods (each company's latest, as the
        report shows): the sums of the others are dropped, those of a period whose end
        moved are built again."""
        cr = self.env.cr
        cr.execute(
            """
            CREATE TEMP TABLE sms_holdout_kept ON COMMIT DROP AS
            SELECT DISTINCT ON (company_id) id, date_end
              FROM sms_global_holdout_period ORDER BY company_id, date_start DESC, id DESC
            """
        )
        stale = self.env.execute_query(
            SQL(
                """SELECT s.period_id FROM sms_holdout_state s
                    WHERE NOT EXISTS (SELECT 1 FROM sms_holdout_kept k
                                       WHERE k.id = s.period_id AND k.date_end = s.date_end)"""
            )
        )
        stale = [row[0] for row in stale]
        if stale:
            for table in ("sms_holdout_fact", "sms_holdout_total", "sms_holdout_state"):
                cr.execute(
                    SQL("DELETE FROM %s WHERE period_id = ANY(%s)", SQL.identifier(table), stale)
                )
        cr.execute(
            """INSERT INTO sms_holdout_state (period_id, date_end, built_until)
               SELECT id, date_end, 0 FROM sms_holdout_kept
               ON CONFLICT (period_id) DO NOTHING"""
        )
        cr.execute("DROP TABLE sms_holdout_kept")
        return dict(
            self.env.execute_query(
                SQL("SELECT period_id, built_until FROM sms_holdout_state ORDER BY period_id")
            )
        )

    def _holdout_dirty_partners(self, since, families):
        """The contacts whose facts may have changed since ``since``: written since (a
        phone, the company, archived), of a family whose orders changed (an order moved
        to another contact leaves its former family among ``families``), with a
        participation or an SMS mailing trace written since."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id FROM res_partner WHERE write_date >= %(since)s
                 UNION
                SELECT id FROM res_partner WHERE commercial_partner_id = ANY(%(families)s::int[])
                 UNION
                SELECT id FROM res_partner WHERE id = ANY(%(families)s::int[])
                 UNION
                SELECT partner_id FROM sale_order WHERE write_date >= %(since)s
                 UNION
                SELECT partner_id FROM sms_journey_participant WHERE write_date >= %(since)s
                 UNION
                SELECT res_id FROM mailing_trace
                 WHERE write_date >= %(since)s AND trace_type = 'sms' AND model = 'res.partner'
                """,
                since=since,
                families=int_array(families),
            )
        )
        return sorted(row[0] for row in rows if row[0])

    def _holdout_unlinked_partners(self):
        """{period id: the contacts whose row of a journey or mailing lost the
        participation or trace it followed (deleted)}: heads of it no more, or by
        another one."""
        rows = self.env.execute_query(
            SQL(
                """SELECT period_id, array_agg(DISTINCT partner_id) FROM sms_holdout_fact
                    WHERE program <> 'overall' AND participant_id IS NULL
                      AND trace_id IS NULL AND partner_id IS NOT NULL
                    GROUP BY period_id"""
            )
        )
        return dict(rows)

    def _build_holdout_batches(self, period_id, built_until, batches):
        """Go on with the first build of ``period_id`` from contact id ``built_until``,
        ``batches`` batches of ``HOLDOUT_BATCH`` ids (None: to the end)."""
        last = self.env.execute_query(SQL("SELECT COALESCE(max(id), 0) FROM res_partner"))[0][0]
        done = 0
        while built_until <= last and (batches is None or done < batches):
            upto = built_until + HOLDOUT_BATCH
            self._sync_holdout(period_id, since_id=built_until, upto_id=upto)
            built_until, done = upto, done + 1
        if built_until > last:
            built_until = BUILT
        self.env.cr.execute(
            SQL(
                "UPDATE sms_holdout_state SET built_until = %s WHERE period_id = %s",
                built_until,
                period_id,
            )
        )

    def _sync_holdout(self, period_id, ids=None, since_id=None, upto_id=None):
        """Compute again the facts of ``period_id`` of the contacts ``ids`` (or of ids
        from ``since_id`` to ``upto_id`` excluded) and of deleted contacts, and move its
        totals by the difference."""
        cr = self.env.cr
        for age in ("old", "new"):
            temp = SQL.identifier(f"sms_holdout_fact_{age}")
            cr.execute(SQL("DROP TABLE IF EXISTS %s", temp))
            cr.execute(SQL("CREATE TEMP TABLE %s (LIKE sms_holdout_fact)", temp))
        cr.execute(
            SQL(
                """WITH d AS (DELETE FROM sms_holdout_fact
                               WHERE period_id = %s AND (%s OR partner_id IS NULL)
                           RETURNING *)
                   INSERT INTO sms_holdout_fact_old SELECT * FROM d""",
                period_id,
                self._holdout_only(SQL("partner_id"), ids, since_id, upto_id),
            )
        )
        period = self.env["sms.global.holdout.period"].browse(period_id)
        self._insert(
            SQL(
                "INSERT INTO sms_holdout_fact %s",
                self._holdout_fact_query(period, ids, since_id, upto_id),
            ),
            "sms_holdout_fact_new",
        )
        self._apply_delta("sms_holdout_total", "sms_holdout_fact", HOLDOUT_KEY, HOLDOUT_SUMS)

    def _holdout_only(self, column, ids=None, since_id=None, upto_id=None):
        if ids is not None:
            return SQL("%s = ANY(%s::int[])", column, int_array(ids))
        if since_id is not None:
            return SQL("(%s >= %s AND %s < %s)", column, since_id, column, upto_id)
        return SQL("TRUE")

    def _holdout_fact_query(self, period, ids=None, since_id=None, upto_id=None):
        """The facts of ``period`` (``FACT_QUERY``): of every contact, or of ``ids``, or
        of ids from ``since_id`` to ``upto_id`` excluded."""

        def only(column):
            return self._holdout_only(SQL(column), ids, since_id, upto_id)

        return SQL(
            FACT_QUERY,
            period=period.id,
            company=period.company_id.id,
            start=period.date_start,
            end=period.date_end,
            held=period._held_out_sql(SQL("h.partner_id")),
            orders=only("o.partner_id"),
            partners=only("p.id"),
            participants=only("pa.partner_id"),
            traces=only("t.res_id"),
        )

    def _recomputed(self, table):
        """The control group's facts and totals computed from scratch for each
        company's latest period."""
        if table not in ("sms_holdout_fact", "sms_holdout_total"):
            return super()._recomputed(table)
        Period = self.env["sms.global.holdout.period"].sudo()
        ids = self.env.execute_query(
            SQL(
                """SELECT DISTINCT ON (company_id) id FROM sms_global_holdout_period
                    ORDER BY company_id, date_start DESC, id DESC"""
            )
        )
        facts = [self._holdout_fact_query(Period.browse(row[0])) for row in ids]
        facts.append(SQL("SELECT * FROM sms_holdout_fact WHERE FALSE"))
        union = SQL(" UNION ALL ").join(SQL("(%s)", q) for q in facts)
        if table == "sms_holdout_fact":
            return SQL("SELECT * FROM (%s) q", union)
        return self._grouped(SQL("(%s)", union), HOLDOUT_KEY, HOLDOUT_SUMS)
