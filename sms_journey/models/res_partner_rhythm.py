"""res.partner: each customer's rhythm, the typical days between their orders and
when the next one is expected, kept in SQL with the other customer facts."""

from contextlib import contextmanager

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import rhythm
from .sms_gateway_message import _testing

# The one reading of every confirmed order (the priors and the staged rhythm of every
# contact), sized by bench/bench_rhythm.py (bench/README.md): 3 M orders sort in about
# 260 MB in memory, where the default 4 MB spills them to disk; a sequential scan and a
# sort cost a third less CPU than the index on partner_id the planner prefers (random
# reads of the whole table); no parallel workers, which bring nothing on a shared
# 2-core machine and hide their CPU.
RHYTHM_READING = {
    "work_mem": "256MB",
    "enable_indexscan": "off",
    "enable_bitmapscan": "off",
    "max_parallel_workers_per_gather": "0",
}
RHYTHM_FIELDS = ["sms_order_gap_days", "sms_order_gap_source", "sms_next_order_predicted"]
# Contacts per committed batch of the priors cron's walk of the one-order contacts: as the
# backfill's batches (BACKFILL_BATCH), each batch's row locks last well under a second.
PRIOR_READERS_BATCH = 2000


def _prior_update(table, key):
    """The UPDATE of the priors of ``table`` from the ``classified`` own rhythms (gap,
    company_id, categ_id) of ``_sms_refresh_rhythm_priors``, grouped by ``key``."""
    return SQL(
        """UPDATE %(table)s dest
              SET sms_order_gap_prior_days = m.gap
             FROM (SELECT src.id, g.gap
                     FROM %(table)s src
                     LEFT JOIN (
                         SELECT %(key)s AS grp,
                                percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS gap
                           FROM classified GROUP BY %(key)s
                     ) AS g ON g.grp = src.id) AS m
            WHERE dest.id = m.id AND dest.sms_order_gap_prior_days IS DISTINCT FROM m.gap""",
        table=SQL.identifier(table),
        key=SQL.identifier(key),
    )


def _per_contact_sql(orders):
    """The ``WITH`` items ``walked`` and ``per_contact`` (pid, last_day, own_gap,
    order_id and company_id of the first order) over ``orders`` (a CTE name or a
    subquery with pid, id, date_order, company_id): one sort of the orders by partner
    and date, where the gaps between order days are read off consecutive rows (the
    orders of one day give gaps of 0, left out of the median)."""
    return SQL(
        """walked AS (
            SELECT pid, date_order::date AS day,
                   date_order::date - lag(date_order::date) OVER w AS gap,
                   first_value(id) OVER w AS first_id,
                   first_value(company_id) OVER w AS first_company
              FROM %(orders)s
            WINDOW w AS (PARTITION BY pid ORDER BY date_order, id)
        ),
        per_contact AS (
            SELECT pid, max(day) AS last_day,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)
                       FILTER (WHERE gap > 0) AS own_gap,
                   min(first_id) AS order_id, min(first_company) AS company_id
              FROM walked GROUP BY pid
        )""",
        orders=SQL.identifier(orders) if isinstance(orders, str) else orders,
    )


def _first_category_sql(select, where, join_category=False):
    """The lookup of ``select`` on the first line's product category of an order
    (``where`` names it): the category a customer's first order started with."""
    return SQL(
        """SELECT %s
             FROM sale_order_line sol
             JOIN product_product pp ON pp.id = sol.product_id
             JOIN product_template pt ON pt.id = pp.product_tmpl_id
             %s
            WHERE %s
            ORDER BY sol.sequence, sol.id
            LIMIT 1""",
        select,
        SQL("JOIN product_category pc ON pc.id = pt.categ_id") if join_category else SQL(),
        where,
    )


def _computed_sql(targets):
    """The ``WITH`` items ``targets`` (the partners to compute) and ``computed`` (pid,
    gap, source, predicted) from a ``per_contact`` item (``_per_contact_sql``)."""
    return SQL(
        """targets AS (%(targets)s),
        computed AS (
            SELECT t.pid, r.gap, r.source,
                   l.last_day + floor(r.gap + 0.5)::int AS predicted
              FROM targets t
              LEFT JOIN per_contact l ON l.pid = t.pid
              LEFT JOIN res_company c ON c.id = l.company_id
              LEFT JOIN LATERAL (%(category_prior)s) AS prior ON TRUE
             CROSS JOIN LATERAL (
                 SELECT COALESCE(l.own_gap, prior.gap, c.sms_order_gap_prior_days) AS gap,
                        CASE WHEN l.own_gap IS NOT NULL THEN 'own'
                             WHEN COALESCE(prior.gap, c.sms_order_gap_prior_days)
                                  IS NOT NULL THEN 'prior' END AS source
             ) AS r
        )""",
        targets=targets,
        category_prior=_first_category_sql(
            SQL("pc.sms_order_gap_prior_days AS gap"),
            SQL("l.own_gap IS NULL AND sol.order_id = l.order_id"),
            join_category=True,
        ),
    )


@contextmanager
def sequential_sort(cr):
    """Read every confirmed order sequentially and sort it in memory, in this process:
    the settings of ``RHYTHM_READING`` for the statements inside, then the session's
    back."""
    cr.execute(
        SQL(
            "SELECT %s",
            SQL(", ").join(SQL("current_setting(%s)", name) for name in RHYTHM_READING),
        )
    )
    previous = dict(zip(RHYTHM_READING, cr.fetchone(), strict=True))

    def apply(settings):
        cr.execute(
            SQL(
                "SELECT %s",
                SQL(", ").join(
                    SQL("set_config(%s, %s, true)", name, value) for name, value in settings.items()
                ),
            )
        )

    apply(RHYTHM_READING)
    try:
        yield
    finally:
        apply(previous)


class ResPartner(models.Model):
    """Each customer's rhythm (the rules are in ``tools/rhythm.py``): the median of the
    days between their order days, or a prior from similar customers for a single
    order day, and the day the next order is expected.

    They are facts like the order dates (``res_partner_activity.py``): rebuilt in one
    SQL statement with them, for the customers of the orders confirmed or cancelled,
    and for every contact from one reading of the orders, written in committed batches
    by the backfill job (``res_partner_rhythm_stage.py``). Like them, a company sees
    the orders of all its contacts.

    The priors, the median rhythm of the contacts whose first order was in a product
    category (``product.category``) and of a company's contacts (``res.company``), are
    refreshed from all the orders when the backfill starts (from its one reading) and
    weekly by a cron (``_sms_refresh_rhythm_priors``); the contacts with one order day
    read them: when a prior changed, the cron recomputes their rhythm too, in committed
    batches (``_sms_rhythm_follow_priors``).
    """

    _inherit = "res.partner"

    sms_order_gap_days = fields.Float(
        "Typical days between orders",
        readonly=True,
        copy=False,
        groups="sms_journey.group_sms_journey_user",
        help="The median of the days between the contact's orders; for a single order, "
        "that of similar customers (same category of first order, else the company's).",
    )
    sms_order_gap_source = fields.Selection(
        [(rhythm.OWN, "Own orders"), (rhythm.PRIOR, "Similar customers")],
        "Rhythm from",
        readonly=True,
        copy=False,
        groups="sms_journey.group_sms_journey_user",
    )
    sms_next_order_predicted = fields.Date(
        "Next order expected",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="sms_journey.group_sms_journey_user",
        help="The last order plus the typical days between orders: the *Due to reorder* "
        "journeys start on this day when no order came.",
    )

    @api.model
    def _sms_recompute_rhythm_facts(self, partner_ids=None, id_range=None):
        """Rebuild the rhythm of the partners ``_sms_recompute_activity_facts`` rebuilds
        (same arguments) in one UPDATE that writes only the rows that change: of
        ``partner_ids`` from their orders; of the ids in ``id_range`` (a batch of the
        backfill) from the rhythm staged for every contact by one reading of the
        orders (``res_partner_rhythm_stage.py``); of everyone, staged then written at
        once, without either. Returns the number of partners updated."""
        if partner_ids is not None and not partner_ids:
            return 0
        if partner_ids is None and id_range is not None:
            return self._sms_rhythm_write_staged(id_range)
        if partner_ids is None:
            self._sms_rhythm_stage()
            self.env.cr.execute(SQL("SELECT min(id), max(id) FROM res_partner"))
            count = self._sms_rhythm_write_staged(self.env.cr.fetchone())
            self._sms_rhythm_unstage()
            return count
        self._sms_flush_rhythm()
        self.env.cr.execute(
            SQL(
                """%s
                UPDATE res_partner p
                   SET sms_order_gap_days = c.gap,
                       sms_order_gap_source = c.source,
                       sms_next_order_predicted = c.predicted
                  FROM computed c
                 WHERE p.id = c.pid
                   AND (p.sms_order_gap_days, p.sms_order_gap_source,
                        p.sms_next_order_predicted)
                       IS DISTINCT FROM (c.gap, c.source, c.predicted)""",
                self._sms_rhythm_computed_sql(list(partner_ids)),
            )
        )
        count = self.env.cr.rowcount
        self.invalidate_model(RHYTHM_FIELDS)
        return count

    @api.model
    def _sms_rhythm_computed_sql(self, partner_ids):
        """The ``WITH`` of the rhythm (``computed``: pid, gap, source, predicted) of
        ``partner_ids`` from their orders, by the rules of ``tools/rhythm.py``. A company
        sees the orders of its contacts."""
        return SQL(
            """
            WITH orders AS (
                SELECT so.partner_id AS pid, so.id, so.date_order, so.company_id
                  FROM sale_order so
                 WHERE so.state = 'sale' AND so.partner_id = ANY(%(ids)s)
                 UNION ALL
                SELECT p.commercial_partner_id, so.id, so.date_order, so.company_id
                  FROM res_partner p
                  JOIN sale_order so ON so.partner_id = p.id
                 WHERE so.state = 'sale' AND p.commercial_partner_id = ANY(%(ids)s)
                   AND p.commercial_partner_id != p.id
            ),
            %(per_contact)s,
            %(computed)s""",
            ids=partner_ids,
            per_contact=_per_contact_sql("orders"),
            computed=_computed_sql(SQL("SELECT unnest(%s::int[]) AS pid", partner_ids)),
        )

    @api.model
    def _sms_rhythm_read_orders(self):
        """Read every confirmed order once, sorted by partner and date, into the
        temporary table ``sms_rhythm_direct`` (``_per_contact_sql`` per ordering
        partner, dropped at commit): what the priors and the staging read."""
        self._sms_flush_rhythm()
        cr = self.env.cr
        cr.execute(SQL("DROP TABLE IF EXISTS pg_temp.sms_rhythm_direct"))
        with sequential_sort(cr):
            cr.execute(
                SQL(
                    """CREATE TEMPORARY TABLE sms_rhythm_direct ON COMMIT DROP AS
                       WITH %s
                       SELECT pid, last_day, own_gap, order_id, company_id FROM per_contact""",
                    _per_contact_sql(
                        SQL(
                            """(SELECT partner_id AS pid, id, date_order, company_id
                                  FROM sale_order WHERE state = 'sale') AS orders"""
                        )
                    ),
                )
            )
        cr.execute(SQL("CREATE INDEX ON sms_rhythm_direct (pid)"))
        cr.execute(SQL("ANALYZE sms_rhythm_direct"))

    @api.model
    def _sms_refresh_rhythm_priors(self):
        """The weekly cron: recompute the priors, then, if one changed, the rhythm of
        the contacts that read them (the expected date of a one-order customer moves
        with its prior, not only at its next order or the next backfill)."""
        if self._sms_rhythm_update_priors():
            self._sms_rhythm_follow_priors()

    @api.model
    def _sms_rhythm_update_priors(self, orders_read=False):
        """Recompute the priors from every confirmed order: per product category, the
        median own rhythm of the customers whose first order's first product is in it;
        per company, that of the customers whose first order is the company's.
        ``orders_read``: ``_sms_rhythm_read_orders`` ran in this transaction. Returns
        whether a prior changed."""
        if not orders_read:
            self._sms_rhythm_read_orders()
        before = self._sms_rhythm_priors()
        self.env.cr.execute(
            SQL(
                """
                WITH classified AS (
                    SELECT l.own_gap AS gap, l.company_id, (%(categ)s) AS categ_id
                      FROM sms_rhythm_direct l WHERE l.own_gap IS NOT NULL
                ),
                by_category AS (%(by_category)s)
                %(by_company)s
                """,
                categ=_first_category_sql(SQL("pt.categ_id"), SQL("sol.order_id = l.order_id")),
                by_category=_prior_update("product_category", "categ_id"),
                by_company=_prior_update("res_company", "company_id"),
            )
        )
        self.env["product.category"].invalidate_model(["sms_order_gap_prior_days"])
        self.env["res.company"].invalidate_model(["sms_order_gap_prior_days"])
        return self._sms_rhythm_priors() != before

    @api.model
    def _sms_rhythm_priors(self):
        """The priors of every category and company, as stored."""
        return self.env.execute_query(
            SQL(
                """SELECT 'category', id, sms_order_gap_prior_days FROM product_category
                    UNION ALL
                   SELECT 'company', id, sms_order_gap_prior_days FROM res_company
                    ORDER BY 1, 2"""
            )
        )

    @api.model
    def _sms_rhythm_follow_priors(self, batch_size=PRIOR_READERS_BATCH):
        """Recompute the rhythm of the contacts with one order day (a rhythm from a
        prior, or none for want of one), ``batch_size`` ids at a time in id order, each
        batch committed outside the tests: only the rows whose rhythm changes are
        written, only our columns (no ``write_date`` moves), and no row lock lasts
        longer than a batch. Returns the number of contacts written."""
        auto_commit = not _testing()
        last_id, written = 0, 0
        while True:
            rows = self.env.execute_query(
                SQL(
                    """SELECT id FROM res_partner
                        WHERE id > %s
                          AND (sms_order_gap_source = %s OR (sms_order_gap_source IS NULL
                                                             AND last_order_date IS NOT NULL))
                        ORDER BY id LIMIT %s""",
                    last_id,
                    rhythm.PRIOR,
                    batch_size,
                )
            )
            if not rows:
                return written
            ids = [row[0] for row in rows]
            written += self._sms_recompute_rhythm_facts(ids)
            last_id = ids[-1]
            if auto_commit:
                # one batch per transaction: its row locks on res_partner last one batch
                # (a contact's edit or a checkout waits at most that), and what is
                # written stays written if the cron is interrupted
                self.env.cr.commit()  # pylint: disable=invalid-commit

    def _sms_flush_rhythm(self):
        self.env["sale.order"].flush_model(["partner_id", "state", "date_order", "company_id"])
        self.env["sale.order.line"].flush_model(["order_id", "product_id", "sequence"])
        self.env["product.product"].flush_model(["product_tmpl_id"])
        self.env["product.template"].flush_model(["categ_id"])
        self.env["product.category"].flush_model(["sms_order_gap_prior_days"])
        self.env["res.company"].flush_model(["sms_order_gap_prior_days"])
        self.flush_model([*RHYTHM_FIELDS, "commercial_partner_id"])
