"""res.partner: each customer's rhythm, the typical days between their orders and
when the next one is expected, kept in SQL with the other customer facts."""

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import rhythm

RHYTHM_FIELDS = ["sms_order_gap_days", "sms_order_gap_source", "sms_next_order_predicted"]


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


class ResPartner(models.Model):
    """Each customer's rhythm (the rules are in ``tools/rhythm.py``): the median of the
    days between their order days, or a prior from similar customers for a single
    order day, and the day the next order is expected.

    They are facts like the order dates (``res_partner_activity.py``): rebuilt in one
    SQL statement with them, for the customers of the orders confirmed or cancelled,
    and for every contact in committed batches by the backfill job. Like them, a
    company sees the orders of all its contacts.

    The priors, the median rhythm of the contacts whose first order was in a product
    category (``product.category``) and of a company's contacts (``res.company``), are
    refreshed from all the orders when the backfill starts and weekly by a cron
    (``_sms_refresh_rhythm_priors``); the contacts with one order day read them.
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
        (same arguments) in one UPDATE that writes only the rows that change. Returns
        the number of partners updated."""
        if partner_ids is not None and not partner_ids:
            return 0
        self._sms_flush_rhythm()
        scope = self._sms_rhythm_scope(partner_ids, id_range)
        self.env.cr.execute(self._sms_rhythm_facts_sql(scope))
        count = self.env.cr.rowcount
        self.invalidate_model(RHYTHM_FIELDS)
        return count

    @api.model
    def _sms_rhythm_scope(self, partner_ids, id_range):
        """Filters on the confirmed orders of the partners (and of the contacts of the
        companies) to rebuild, and the target ids."""

        def in_range(column):
            if id_range is None:
                return SQL("TRUE")
            return SQL("%s BETWEEN %s AND %s", SQL.identifier(*column.split(".")), *id_range)

        if partner_ids is None:
            return {
                "own_filter": in_range("so.partner_id"),
                "commercial_filter": in_range("p.commercial_partner_id"),
                # the partners with orders, and those whose orders were all cancelled
                "targets": SQL(
                    """SELECT pid FROM last_days
                        UNION
                       SELECT id FROM res_partner
                        WHERE sms_order_gap_days IS NOT NULL AND %s""",
                    in_range("id"),
                ),
            }
        ids = list(partner_ids)
        return {
            "own_filter": SQL("so.partner_id = ANY(%s)", ids),
            "commercial_filter": SQL("p.commercial_partner_id = ANY(%s)", ids),
            "targets": SQL("SELECT unnest(%s::int[]) AS pid", ids),
        }

    @api.model
    def _sms_rhythm_facts_sql(self, scope):
        """The UPDATE of the rhythm of the partners of ``scope`` (``_sms_rhythm_scope``)
        by the rules of ``tools/rhythm.py``."""
        return SQL(
            """
            WITH orders AS (
                SELECT so.partner_id AS pid, so.id, so.date_order, so.company_id
                  FROM sale_order so
                 WHERE so.state = 'sale' AND %(own_filter)s
                 UNION ALL
                SELECT p.commercial_partner_id, so.id, so.date_order, so.company_id
                  FROM res_partner p
                  JOIN sale_order so ON so.partner_id = p.id
                 WHERE so.state = 'sale' AND %(commercial_filter)s
                   AND p.commercial_partner_id != p.id
            ),
            gaps AS (
                SELECT pid, day - lag(day) OVER (PARTITION BY pid ORDER BY day) AS gap
                  FROM (SELECT DISTINCT pid, date_order::date AS day FROM orders) AS days
            ),
            own AS (
                SELECT pid, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS gap
                  FROM gaps WHERE gap IS NOT NULL
                 GROUP BY pid
            ),
            last_days AS (
                SELECT pid, max(date_order)::date AS day FROM orders GROUP BY pid
            ),
            firsts AS (
                SELECT DISTINCT ON (pid) pid, id AS order_id, company_id
                  FROM orders ORDER BY pid, date_order, id
            ),
            targets AS (%(targets)s),
            computed AS (
                SELECT t.pid, l.day AS last_day,
                       COALESCE(o.gap, prior.gap, c.sms_order_gap_prior_days) AS gap,
                       CASE WHEN o.gap IS NOT NULL THEN 'own'
                            WHEN COALESCE(prior.gap, c.sms_order_gap_prior_days) IS NOT NULL
                            THEN 'prior' END AS source
                  FROM targets t
                  LEFT JOIN last_days l ON l.pid = t.pid
                  LEFT JOIN own o ON o.pid = t.pid
                  LEFT JOIN firsts f ON f.pid = t.pid
                  LEFT JOIN res_company c ON c.id = f.company_id
                  LEFT JOIN LATERAL (%(category_prior)s) AS prior ON TRUE
            )
            UPDATE res_partner p
               SET sms_order_gap_days = c.gap,
                   sms_order_gap_source = c.source,
                   sms_next_order_predicted = c.last_day + floor(c.gap + 0.5)::int
              FROM computed c
             WHERE p.id = c.pid
               AND (p.sms_order_gap_days, p.sms_order_gap_source, p.sms_next_order_predicted)
                   IS DISTINCT FROM (c.gap, c.source, c.last_day + floor(c.gap + 0.5)::int)
            """,
            own_filter=scope["own_filter"],
            commercial_filter=scope["commercial_filter"],
            targets=scope["targets"],
            category_prior=SQL(
                """SELECT pc.sms_order_gap_prior_days AS gap
                     FROM sale_order_line sol
                     JOIN product_product pp ON pp.id = sol.product_id
                     JOIN product_template pt ON pt.id = pp.product_tmpl_id
                     JOIN product_category pc ON pc.id = pt.categ_id
                    WHERE o.gap IS NULL AND sol.order_id = f.order_id
                    ORDER BY sol.sequence, sol.id
                    LIMIT 1"""
            ),
        )

    @api.model
    def _sms_refresh_rhythm_priors(self):
        """Recompute the priors from every confirmed order: per product category, the
        median own rhythm of the customers whose first order's first product is in it;
        per company, that of the customers whose first order is the company's."""
        self._sms_flush_rhythm()
        self.env.cr.execute(
            SQL(
                """
                WITH gaps AS (
                    SELECT pid, day - lag(day) OVER (PARTITION BY pid ORDER BY day) AS gap
                      FROM (SELECT DISTINCT partner_id AS pid, date_order::date AS day
                              FROM sale_order WHERE state = 'sale') AS days
                ),
                own AS (
                    SELECT pid, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS gap
                      FROM gaps WHERE gap IS NOT NULL GROUP BY pid
                ),
                firsts AS (
                    SELECT DISTINCT ON (partner_id) partner_id AS pid, id AS order_id,
                           company_id
                      FROM sale_order WHERE state = 'sale'
                     ORDER BY partner_id, date_order, id
                ),
                classified AS (
                    SELECT o.gap, f.company_id,
                           (SELECT pt.categ_id
                              FROM sale_order_line sol
                              JOIN product_product pp ON pp.id = sol.product_id
                              JOIN product_template pt ON pt.id = pp.product_tmpl_id
                             WHERE sol.order_id = f.order_id
                             ORDER BY sol.sequence, sol.id LIMIT 1) AS categ_id
                      FROM own o JOIN firsts f ON f.pid = o.pid
                ),
                by_category AS (%(by_category)s)
                %(by_company)s
                """,
                by_category=_prior_update("product_category", "categ_id"),
                by_company=_prior_update("res_company", "company_id"),
            )
        )
        self.env["product.category"].invalidate_model(["sms_order_gap_prior_days"])
        self.env["res.company"].invalidate_model(["sms_order_gap_prior_days"])

    def _sms_flush_rhythm(self):
        self.env["sale.order"].flush_model(["partner_id", "state", "date_order", "company_id"])
        self.env["sale.order.line"].flush_model(["order_id", "product_id", "sequence"])
        self.env["product.product"].flush_model(["product_tmpl_id"])
        self.env["product.template"].flush_model(["categ_id"])
        self.env["product.category"].flush_model(["sms_order_gap_prior_days"])
        self.env["res.company"].flush_model(["sms_order_gap_prior_days"])
        self.flush_model([*RHYTHM_FIELDS, "commercial_partner_id"])
