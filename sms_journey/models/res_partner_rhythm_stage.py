"""res.partner: every contact's rhythm computed in one reading of the orders, staged,
then written in committed batches where it changed."""

from odoo import api, models
from odoo.tools import SQL

from .res_partner_rhythm import RHYTHM_FIELDS, _computed_sql, _per_contact_sql, sequential_sort

# The staging table: unlogged (no WAL, emptied by PostgreSQL after a crash), not a model.
STAGE_TABLE = "sms_journey_rhythm_stage"
# The row of pid 0 (no partner) marks a complete staging and keeps its watermark.
STAGE_MARK = 0


class ResPartner(models.Model):
    """Every contact's rhythm, in three steps that never hold the contacts table.

    Walking the contacts in id batches and reading each batch's orders by partner reads
    about one page of ``sale_order`` per order, spread over the whole table (minutes at
    3 M orders). Instead ``_sms_rhythm_stage`` reads the confirmed orders once,
    sequentially, sorted by partner (``_sms_rhythm_read_orders``; the priors from the
    same reading; the companies whose contacts ordered read only their orders again),
    and keeps only the contacts whose rhythm changes, with the values they had, in an
    unlogged table; then
    ``_sms_rhythm_write_staged`` writes them by id range, each range its own
    transaction for the backfill, only our columns (no ``write_date`` moves). A
    backfill batch writes them with the contacts' facts, in the same UPDATE
    (``_sms_rhythm_staged_rows``, ``_sms_activity_facts_sql``): one new version of a
    contact's row, not two.

    An order confirmed or cancelled meanwhile recomputes its customers at once
    (``sale.order``); that value wins over the staged one:

    - the staging keeps a watermark, the start of the oldest transaction running when it
      began: a contact with an order written since (``sale_order.write_date``, indexed)
      is recomputed from its orders when its range is written, not from the stage;
    - a staged value is written only over the value the contact had when it was staged
      (compare-and-set, re-checked by PostgreSQL on the row's newest version when it
      waits for an order's transaction), so a value written meanwhile is kept.

    Left open: an order whose transaction commits while a range's UPDATE runs and leaves
    the contact's stored rhythm as it was (nothing to compare) gets the staged value;
    the contact's next order corrects it. A staging that PostgreSQL emptied after a
    crash has no mark: the next range stages again.
    """

    _inherit = "res.partner"

    @api.model
    def _sms_rhythm_stage(self, priors=False):
        """Stage the rhythm of every contact whose rhythm changes (the priors refreshed
        first with ``priors``, from the same reading); returns their number."""
        cr = self.env.cr
        self._sms_rhythm_read_orders()
        if priors:
            self._sms_rhythm_update_priors(orders_read=True)
        self._sms_rhythm_read_company_orders()
        cr.execute(
            SQL(
                """CREATE UNLOGGED TABLE IF NOT EXISTS %s (
                       pid integer PRIMARY KEY,
                       gap double precision,
                       source varchar,
                       predicted date,
                       old_gap double precision,
                       old_source varchar,
                       old_predicted date,
                       staged_from timestamp
                   )""",
                SQL.identifier(STAGE_TABLE),
            )
        )
        cr.execute(SQL("TRUNCATE %s", SQL.identifier(STAGE_TABLE)))
        # orders written by a transaction older than the staging may be missing from it
        cr.execute(
            SQL(
                """INSERT INTO %s (pid, staged_from)
                   SELECT %s, LEAST(now(), min(xact_start)) AT TIME ZONE 'UTC'
                     FROM pg_stat_activity WHERE datname = current_database()""",
                SQL.identifier(STAGE_TABLE),
                STAGE_MARK,
            )
        )
        cr.execute(
            SQL(
                """WITH per_contact AS (SELECT * FROM sms_rhythm_direct),
                   %s
                   INSERT INTO %s (pid, gap, source, predicted,
                                   old_gap, old_source, old_predicted)
                   SELECT c.pid, c.gap, c.source, c.predicted, p.sms_order_gap_days,
                          p.sms_order_gap_source, p.sms_next_order_predicted
                     FROM computed c JOIN res_partner p ON p.id = c.pid
                    WHERE (p.sms_order_gap_days, p.sms_order_gap_source,
                           p.sms_next_order_predicted)
                          IS DISTINCT FROM (c.gap, c.source, c.predicted)""",
                # the partners with orders, and those whose orders were all cancelled
                _computed_sql(
                    SQL(
                        """SELECT pid FROM per_contact
                            UNION
                           SELECT id FROM res_partner WHERE sms_order_gap_days IS NOT NULL"""
                    )
                ),
                SQL.identifier(STAGE_TABLE),
            )
        )
        count = cr.rowcount
        cr.execute(SQL("ANALYZE %s", SQL.identifier(STAGE_TABLE)))
        return count

    @api.model
    def _sms_rhythm_read_company_orders(self):
        """In ``sms_rhythm_direct`` (``_sms_rhythm_read_orders``), the rows of the
        companies whose contacts ordered become those of their orders and their
        contacts' (a company sees the orders of its contacts): only these orders are
        read and sorted again."""
        cr = self.env.cr
        cr.execute(
            SQL(
                """CREATE TEMPORARY TABLE sms_rhythm_companies ON COMMIT DROP AS
                   SELECT DISTINCT c.commercial_partner_id AS pid
                     FROM res_partner c JOIN sms_rhythm_direct d ON d.pid = c.id
                    WHERE c.commercial_partner_id != c.id"""
            )
        )
        if not cr.rowcount:
            cr.execute(SQL("DROP TABLE sms_rhythm_companies"))
            return
        cr.execute(
            SQL(
                """DELETE FROM sms_rhythm_direct
                    WHERE pid IN (SELECT pid FROM sms_rhythm_companies)"""
            )
        )
        with sequential_sort(cr):
            cr.execute(
                SQL(
                    """WITH orders AS (
                           SELECT p.commercial_partner_id AS pid, so.id, so.date_order,
                                  so.company_id
                             FROM sale_order so JOIN res_partner p ON p.id = so.partner_id
                            WHERE so.state = 'sale'
                              AND p.commercial_partner_id IN (SELECT pid FROM sms_rhythm_companies)
                       ),
                       %s
                       INSERT INTO sms_rhythm_direct (pid, last_day, own_gap, order_id, company_id)
                       SELECT pid, last_day, own_gap, order_id, company_id FROM per_contact""",
                    _per_contact_sql("orders"),
                )
            )
        cr.execute(SQL("DROP TABLE sms_rhythm_companies"))

    @api.model
    def _sms_rhythm_staged_from(self):
        """The watermark of the staging, or ``None`` without a complete one."""
        cr = self.env.cr
        cr.execute(SQL("SELECT to_regclass(%s)", STAGE_TABLE))
        if not cr.fetchone()[0]:
            return None
        cr.execute(
            SQL(
                "SELECT staged_from FROM %s WHERE pid = %s",
                SQL.identifier(STAGE_TABLE),
                STAGE_MARK,
            )
        )
        row = cr.fetchone()
        return row[0] if row else None

    @api.model
    def _sms_rhythm_staged_rows(self, id_range):
        """The staged rhythm of the contacts of ``id_range`` (first, last), staging first
        if no staging is complete: ``(rows, moved)``, ``rows`` the query of the staged
        rows to write (pid, gap, source, predicted, and the old_gap, old_source,
        old_predicted a contact must still have), ``moved`` the staged contacts whose
        orders (or their contacts') were written since the staging, to recompute from
        their orders instead."""
        staged_from = self._sms_rhythm_staged_from()
        if staged_from is None:
            self._sms_rhythm_stage()
            staged_from = self._sms_rhythm_staged_from()
        cr = self.env.cr
        self._sms_flush_rhythm()
        first, last = id_range
        stage = SQL.identifier(STAGE_TABLE)
        cr.execute(
            SQL(
                """SELECT s.pid FROM %(stage)s s
                    WHERE s.pid BETWEEN %(first)s AND %(last)s
                      AND s.pid IN (SELECT so.partner_id FROM sale_order so
                                     WHERE so.write_date >= %(since)s
                                     UNION
                                    SELECT c.commercial_partner_id
                                      FROM sale_order so
                                      JOIN res_partner c ON c.id = so.partner_id
                                     WHERE so.write_date >= %(since)s)""",
                stage=stage,
                first=first,
                last=last,
                since=staged_from,
            )
        )
        moved = [pid for (pid,) in cr.fetchall()]
        rows = SQL(
            """SELECT pid, gap, source, predicted, old_gap, old_source, old_predicted
                 FROM %(stage)s
                WHERE pid BETWEEN %(first)s AND %(last)s AND pid != %(mark)s
                  AND pid != ALL(%(moved)s::int[])""",
            stage=stage,
            first=first,
            last=last,
            mark=STAGE_MARK,
            moved=moved,
        )
        return rows, moved

    @api.model
    def _sms_rhythm_write_staged(self, id_range, staged=None):
        """Write the staged rhythm of the contacts of ``id_range`` (first, last), staging
        first if no staging is complete; the contacts with orders written since the
        staging are recomputed from their orders. ``staged``: what
        ``_sms_rhythm_staged_rows`` gave for the range, whose rows the backfill's facts
        UPDATE wrote already where it could (``_sms_activity_facts_sql``): a row written
        no longer has its old values, and is left alone. Returns the number written."""
        rows, moved = staged or self._sms_rhythm_staged_rows(id_range)
        cr = self.env.cr
        cr.execute(
            SQL(
                """UPDATE res_partner p
                      SET sms_order_gap_days = s.gap,
                          sms_order_gap_source = s.source,
                          sms_next_order_predicted = s.predicted
                     FROM (%s) s
                    WHERE p.id = s.pid
                      AND (p.sms_order_gap_days, p.sms_order_gap_source,
                           p.sms_next_order_predicted)
                          IS NOT DISTINCT FROM (s.old_gap, s.old_source, s.old_predicted)""",
                rows,
            )
        )
        count = cr.rowcount
        self.invalidate_model(RHYTHM_FIELDS)
        return count + self._sms_recompute_rhythm_facts(moved)

    @api.model
    def _sms_rhythm_unstage(self):
        """Empty the staging once every range is written: a later range stages again."""
        self.env.cr.execute(SQL("SELECT to_regclass(%s)", STAGE_TABLE))
        if self.env.cr.fetchone()[0]:
            self.env.cr.execute(SQL("TRUNCATE %s", SQL.identifier(STAGE_TABLE)))
