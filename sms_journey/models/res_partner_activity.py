"""res.partner: the customer facts the SMS journeys select on (order dates, last
interaction, inactivity, journey stage) and the events that keep them current."""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL

JOURNEY_STAGES = [
    ("first_contact", "First contact"),
    ("orientation", "Orientation"),
    ("interaction", "Interaction"),
    ("loyalty", "Loyalty"),
    ("expansion", "Expansion"),
]
STAGE_ORDER = [key for key, _label in JOURNEY_STAGES]

# Facts written in SQL by the methods below: flushed before, invalidated after.
ACTIVITY_FIELDS = [
    "first_order_date",
    "last_order_date",
    "last_interaction_date",
    "last_activity_date",
    "journey_stage",
]
_SEARCH_OPERATORS = {
    # days_inactive <op> N  ->  last_activity_date <reversed op> today - N
    ">=": "<=",
    ">": "<",
    "<=": ">=",
    "<": ">",
    "=": "=",
}
_COMPARE = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
}


class ResPartner(models.Model):
    """The customer facts the SMS journeys select on: order dates, last interaction,
    inactivity, birthday and journey stage.

    Where facts are kept: every fact is maintained on both the order's (or the SMS
    sender's) partner and its commercial partner. A company thus sees the orders and
    replies of all its contacts, and each contact keeps its own; an individual customer is
    its own commercial partner.

    How they stay current: by events, never by rescanning all partners. Confirming or
    cancelling sale orders refreshes the facts of their customers in one SQL statement
    (``_sms_recompute_activity_facts``); a new quote or cart moves a first contact to
    *orientation*; an inbound SMS (and a short-link click, wired by the journeys) calls
    ``_sms_touch_interaction``. ``_sms_recompute_activity_facts()`` without partners
    rebuilds everything from the orders and inbound SMS; after the install the backfill
    job does it in committed batches of ids (``res_partner_facts_backfill.py``).

    Rules:

    - first/last order dates are the UTC dates of confirmed orders (state ``sale``) by
      ``date_order`` (the confirmation time); a cancellation recomputes them, so they
      always describe the orders still confirmed;
    - ``last_interaction_date`` and ``last_activity_date`` only move forward: an order
      confirmed and then cancelled still was an interaction;
    - ``journey_stage`` is never downgraded automatically: first contact → orientation
      (quotes or carts, no order) → interaction (a confirmed order) → loyalty (a confirmed
      order within the company's loyalty window after the previous one) → expansion (set
      by rules or by hand only);
    - ``days_inactive`` counts from ``last_activity_date``; partners who never ordered nor
      interacted are not inactive (0 days);
    - website visits of a signed-in customer (``website.visitor``) and e-mail opens,
      clicks and replies of mass mailings (``mailing.trace``) are interactions too, each
      switchable per company (*Settings → SMS Journeys*); they move a first contact to
      *orientation* (``_sms_touch_engagement``, called when the visit or the trace is
      recorded: one UPDATE per event, the same as a click).

    The audiences the crons read from these facts are in ``res_partner_audience.py``.
    """

    _inherit = "res.partner"

    birthdate_date = fields.Date("Birth date")
    first_order_date = fields.Date(
        "First order", readonly=True, copy=False, help="Date of the first confirmed order."
    )
    last_order_date = fields.Date(
        "Last order", readonly=True, copy=False, help="Date of the last confirmed order."
    )
    last_interaction_date = fields.Datetime(
        "Last interaction",
        readonly=True,
        copy=False,
        help="Latest order confirmation, inbound SMS, short-link click, website visit or "
        "e-mail open / click (the last two per the company's settings).",
    )
    last_activity_date = fields.Date(
        "Last activity",
        compute="_compute_last_activity_date",
        store=True,
        index=True,
        copy=False,
        help="The later of the last order and the last interaction: inactivity counts "
        "from this date.",
    )
    days_inactive = fields.Integer(
        "Days inactive",
        compute="_compute_days_inactive",
        search="_search_days_inactive",
        help="Days since the last activity (0 for contacts without any activity).",
    )
    is_inactive = fields.Boolean(
        "Inactive customer",
        compute="_compute_days_inactive",
        search="_search_is_inactive",
        help="Inactive for at least the company's inactivity threshold.",
    )
    journey_stage = fields.Selection(
        JOURNEY_STAGES,
        "Journey stage",
        default="first_contact",
        required=True,
        index=True,
        copy=False,
        help="Kept up to date by orders and quotes, never downgraded automatically. "
        "Expansion is set by rules or by hand.",
    )

    # computes -------------------------------------------------------------------------

    @api.depends("last_order_date", "last_interaction_date")
    def _compute_last_activity_date(self):
        for partner in self:
            dates = [
                partner.last_order_date,
                partner.last_interaction_date and partner.last_interaction_date.date(),
            ]
            partner.last_activity_date = max(filter(None, dates), default=False)

    @api.depends("last_activity_date")
    @api.depends_context("company")
    def _compute_days_inactive(self):
        today = fields.Date.context_today(self)
        threshold = self.env.company.sms_inactivity_days
        for partner in self:
            last = partner.last_activity_date
            days = max((today - last).days, 0) if last else 0
            partner.days_inactive = days
            partner.is_inactive = bool(last) and days >= threshold

    def _search_days_inactive(self, operator, value):
        """``days_inactive >= N`` becomes ``last_activity_date <= today - N``: an index
        range scan. Contacts without activity count as 0 days inactive."""
        if operator == "!=":
            return ["!", *self._search_days_inactive("=", value)]
        if operator not in _SEARCH_OPERATORS or isinstance(value, bool):
            raise UserError(
                self.env._(
                    "Unsupported search on days inactive: %(operator)s %(value)s",
                    operator=operator,
                    value=value,
                )
            )
        try:
            days = int(value)
        except (TypeError, ValueError):
            raise UserError(self.env._("Days inactive must be compared with a number.")) from None
        limit = fields.Date.context_today(self) - timedelta(days=days)
        domain = [("last_activity_date", _SEARCH_OPERATORS[operator], limit)]
        if _COMPARE[operator](0, days):
            domain = expression.OR([domain, [("last_activity_date", "=", False)]])
        return domain

    def _search_is_inactive(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on inactive customers: %s", operator))
        inactive = self._search_days_inactive(">=", self.env.company.sms_inactivity_days)
        # Without activity nobody is inactive, whatever the threshold.
        inactive = expression.AND([inactive, [("last_activity_date", "!=", False)]])
        if (operator == "=") == bool(value):
            return inactive
        return ["!", *inactive]

    # events ---------------------------------------------------------------------------

    def _sms_activity_partners(self):
        """The partners whose facts an event on ``self`` changes: themselves and their
        commercial partners."""
        return self | self.commercial_partner_id

    def _sms_touch_interaction(self, when, granularity=None, orient=False):
        """Record an interaction (inbound SMS, short-link click, survey answer) at
        ``when`` (naive UTC datetime) on these partners and their commercial partners,
        in one UPDATE; dates only move forward. Safe on an empty recordset.

        :param granularity: a ``timedelta``; the row is only written when its last
            interaction is older than ``when - granularity`` (website visits: one write
            per hour of browsing, not one per page, since inactivity counts in days).
        :param orient: first contacts also move to *orientation*.
        """
        if not self or not when:
            return
        when = fields.Datetime.to_datetime(when)
        partners = self._sms_activity_partners()
        self._sms_flush_activity()
        stage = SQL(
            """, journey_stage = CASE WHEN journey_stage = 'first_contact'
                                      THEN 'orientation' ELSE journey_stage END"""
            if orient
            else ""
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner
                   SET last_interaction_date = %(when)s,
                       last_activity_date = GREATEST(last_activity_date, %(when)s::date)
                       %(stage)s
                 WHERE id = ANY(%(ids)s)
                   AND (last_interaction_date IS NULL OR last_interaction_date < %(older)s)
                """,
                when=when,
                stage=stage,
                older=when - granularity if granularity else when,
                ids=partners.ids,
            )
        )
        partners.invalidate_recordset(ACTIVITY_FIELDS)

    def _sms_touch_engagement(self, when, granularity=None):
        """A website visit or an e-mail open / click / reply of these partners at
        ``when`` (naive UTC): an interaction that also moves first contacts to
        *orientation* (they looked at what we offer)."""
        self._sms_touch_interaction(when, granularity=granularity, orient=True)

    def _sms_engagement_switched_on(self, switch):
        """These partners whose company (else the current one) has the activity
        ``switch`` on (``sms_activity_website_visits`` / ``sms_activity_email_engagement``)."""
        default = self.env.company[switch]
        return self.filtered(
            lambda partner: partner.company_id[switch] if partner.company_id else default
        )

    def _sms_mark_orientation(self):
        """A quote or cart exists for these partners: first contacts move to orientation."""
        partners = self._sms_activity_partners()
        if not partners:
            return
        self._sms_flush_activity()
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner SET journey_stage = 'orientation'
                 WHERE id = ANY(%s) AND journey_stage = 'first_contact'
                """,
                partners.ids,
            )
        )
        partners.invalidate_recordset(["journey_stage"])

    @api.model
    def _sms_recompute_activity_facts(self, partner_ids=None, id_range=None):
        """Rebuild the order facts and journey stage from sale orders and inbound SMS in
        one SQL statement. Only rows whose facts change are written, and only our
        columns: ``write_date`` of the contacts stays as it was.

        :param partner_ids: ids whose facts to refresh (their commercial partners are not
            added: pass them too, see ``_sms_activity_partners``); ``None`` for every
            partner (``id_range`` aside).
        :param id_range: ``(first, last)``: with ``partner_ids=None``, the partners whose
            id is in ``[first, last]``, from their whole history (orders, SMS, visits
            and e-mails): one batch of the backfill job (``_cron_sms_facts_backfill``).
        :returns: the number of partners updated.
        """
        if partner_ids is not None and not partner_ids:
            return 0
        self._sms_flush_activity()
        staged = None
        if partner_ids is None and id_range is not None:
            # a batch of the backfill: the staged rhythm (res_partner_rhythm_stage.py) is
            # written by the same UPDATE as the facts, one new version of each contact's
            # row instead of two (the table grew 2.6 times over at 1 M contacts)
            staged = self._sms_rhythm_staged_rows(id_range)
        self.env.cr.execute(
            self._sms_activity_facts_sql(
                self._sms_activity_scope(partner_ids, id_range), staged and staged[0]
            )
        )
        count = self.env.cr.rowcount
        self.invalidate_model(ACTIVITY_FIELDS)
        # the rhythm moves with the same orders (res_partner_rhythm.py): what the facts'
        # UPDATE did not write
        if staged:
            self._sms_rhythm_write_staged(id_range, staged)
        else:
            self._sms_recompute_rhythm_facts(partner_ids, id_range)
        return count

    @api.model
    def _sms_activity_scope(self, partner_ids, id_range):
        """The parts of ``_sms_activity_facts_sql`` that say which partners it reads and
        updates (see ``_sms_recompute_activity_facts`` for the arguments): filters on the
        orders and inbound SMS of the partners and of their commercial partners, the
        target ids, and the visits and e-mails to count."""
        if partner_ids is None:
            first, last = id_range or (None, None)

            def in_range(column):
                if id_range is None:
                    return SQL("TRUE")
                return SQL("%s BETWEEN %s AND %s", SQL.identifier(*column.split(".")), first, last)

            own_filter = in_range("so.partner_id")
            commercial_filter = in_range("p.commercial_partner_id")
            sms_own_filter = in_range("i.partner_id")
            sms_commercial_filter = commercial_filter
            targets = SQL(
                """
                SELECT pid FROM (
                    SELECT pid FROM orders
                     UNION SELECT pid FROM sms
                     UNION SELECT pid FROM engaged
                     UNION SELECT id FROM res_partner WHERE first_order_date IS NOT NULL
                ) AS every_target
                 WHERE %s
                """,
                in_range("pid"),
            )
            engaged = self._sms_engagement_history_sql(
                scope=None
                if id_range is None
                else SQL(
                    "SELECT id FROM res_partner WHERE %s OR %s",
                    in_range("id"),
                    in_range("commercial_partner_id"),
                )
            )
        else:
            ids = list(partner_ids)
            own_filter = SQL("so.partner_id = ANY(%s)", ids)
            commercial_filter = SQL("p.commercial_partner_id = ANY(%s)", ids)
            sms_own_filter = SQL("i.partner_id = ANY(%s)", ids)
            sms_commercial_filter = commercial_filter
            targets = SQL("SELECT unnest(%s::int[]) AS pid", ids)
            # visits and e-mails were recorded as they happened (_sms_touch_engagement)
            # and last_interaction_date keeps them: no history scan for a few partners
            engaged = SQL("SELECT NULL::int AS pid, NULL::timestamp AS at WHERE FALSE")
        return {
            "own_filter": own_filter,
            "commercial_filter": commercial_filter,
            "sms_own_filter": sms_own_filter,
            "sms_commercial_filter": sms_commercial_filter,
            "targets": targets,
            "engaged": engaged,
        }

    @api.model
    def _sms_activity_facts_sql(self, scope, staged_rhythm=None):
        """The UPDATE that rebuilds the order facts and journey stage of the partners of
        ``scope`` (``_sms_activity_scope``), writing only the rows whose facts change;
        with ``staged_rhythm`` (the query of ``_sms_rhythm_staged_rows``), also the
        staged rhythm of the partners that still have its old values."""
        if staged_rhythm is None:
            staged_rhythm = SQL(
                """SELECT NULL::integer AS pid, NULL::double precision AS gap,
                          NULL::varchar AS source, NULL::date AS predicted,
                          NULL::double precision AS old_gap, NULL::varchar AS old_source,
                          NULL::date AS old_predicted
                    WHERE FALSE"""
            )
            rhythm_set = SQL()
            rhythm_taken = SQL("FALSE")
        else:
            # compare-and-set on the row the UPDATE writes, as _sms_rhythm_write_staged
            rhythm_taken = SQL(
                """(c.staged AND (p.sms_order_gap_days, p.sms_order_gap_source,
                                  p.sms_next_order_predicted)
                                 IS NOT DISTINCT FROM (c.old_gap, c.old_source,
                                                       c.old_predicted))"""
            )
            rhythm_set = SQL(
                """,
                   sms_order_gap_days = CASE WHEN %(taken)s THEN c.gap
                                             ELSE p.sms_order_gap_days END,
                   sms_order_gap_source = CASE WHEN %(taken)s THEN c.source
                                               ELSE p.sms_order_gap_source END,
                   sms_next_order_predicted = CASE WHEN %(taken)s THEN c.predicted
                                                   ELSE p.sms_next_order_predicted END""",
                taken=rhythm_taken,
            )
        return SQL(
            """
            WITH orders AS (
                SELECT so.partner_id AS pid, so.state, so.date_order, so.company_id
                  FROM sale_order so
                 WHERE %(own_filter)s
                 UNION ALL
                SELECT p.commercial_partner_id, so.state, so.date_order, so.company_id
                  FROM res_partner p
                  JOIN sale_order so ON so.partner_id = p.id
                 WHERE %(commercial_filter)s AND p.commercial_partner_id != p.id
            ),
            confirmed AS (
                SELECT o.pid, o.date_order,
                       o.date_order - lag(o.date_order) OVER (
                           PARTITION BY o.pid ORDER BY o.date_order
                       ) <= make_interval(days => c.sms_loyalty_window_days) AS repeat
                  FROM orders o
                  JOIN res_company c ON c.id = o.company_id
                 WHERE o.state = 'sale'
            ),
            facts AS (
                SELECT pid, min(date_order) AS first_at, max(date_order) AS last_at,
                       bool_or(COALESCE(repeat, FALSE)) AS loyal
                  FROM confirmed
                 GROUP BY pid
            ),
            quoted AS (
                SELECT DISTINCT pid FROM orders
            ),
            sms AS (
                SELECT pid, max(received_at) AS at
                  FROM (
                    SELECT i.partner_id AS pid, i.received_at
                      FROM sms_interaction i
                     WHERE %(sms_own_filter)s AND i.partner_id IS NOT NULL
                     UNION ALL
                    SELECT p.commercial_partner_id, i.received_at
                      FROM sms_interaction i
                      JOIN res_partner p ON p.id = i.partner_id
                     WHERE %(sms_commercial_filter)s AND p.commercial_partner_id != p.id
                  ) AS received
                 GROUP BY pid
            ),
            engaged AS (%(engaged)s),
            targets AS (%(targets)s),
            computed AS (
                SELECT t.pid,
                       f.first_at::date AS first_order_date,
                       f.last_at::date AS last_order_date,
                       GREATEST(p.last_interaction_date, f.last_at, s.at, e.at) AS interaction,
                       GREATEST(
                           array_position(%(stages)s, p.journey_stage::varchar),
                           CASE WHEN f.loyal THEN 4
                                WHEN f.pid IS NOT NULL THEN 3
                                WHEN q.pid IS NOT NULL OR e.pid IS NOT NULL THEN 2
                                ELSE 1 END
                       ) AS stage_rank,
                       r.pid IS NOT NULL AS staged, r.gap, r.source, r.predicted,
                       r.old_gap, r.old_source, r.old_predicted
                  FROM targets t
                  JOIN res_partner p ON p.id = t.pid
                  LEFT JOIN (%(staged_rhythm)s) r ON r.pid = t.pid
                  LEFT JOIN facts f ON f.pid = t.pid
                  LEFT JOIN quoted q ON q.pid = t.pid
                  LEFT JOIN sms s ON s.pid = t.pid
                  LEFT JOIN (
                      SELECT pid, max(at) AS at FROM engaged GROUP BY pid
                  ) e ON e.pid = t.pid
            )
            UPDATE res_partner p
               SET first_order_date = c.first_order_date,
                   last_order_date = c.last_order_date,
                   last_interaction_date = c.interaction,
                   last_activity_date = GREATEST(c.last_order_date, c.interaction::date),
                   journey_stage = (%(stages)s)[c.stage_rank]
                   %(rhythm_set)s
              FROM computed c
             WHERE p.id = c.pid
               AND ((p.first_order_date, p.last_order_date, p.last_interaction_date,
                     p.last_activity_date, p.journey_stage)
                    IS DISTINCT FROM (
                     c.first_order_date, c.last_order_date, c.interaction,
                     GREATEST(c.last_order_date, c.interaction::date),
                     (%(stages)s)[c.stage_rank])
                    OR %(rhythm_taken)s)
            """,
            staged_rhythm=staged_rhythm,
            rhythm_set=rhythm_set,
            rhythm_taken=rhythm_taken,
            own_filter=scope["own_filter"],
            commercial_filter=scope["commercial_filter"],
            sms_own_filter=scope["sms_own_filter"],
            sms_commercial_filter=scope["sms_commercial_filter"],
            targets=scope["targets"],
            engaged=scope["engaged"],
            stages=STAGE_ORDER,
        )

    @api.model
    def _sms_engagement_history_sql(self, scope=None):
        """(pid, at) rows of every website visit of a signed-in customer and every e-mail
        open / click / reply of a contact, for the partners whose company (else the
        current one) counts them, and for their commercial partners: the history the
        full rebuild of ``_sms_recompute_activity_facts`` reads.

        :param scope: an ``SQL`` query of the partner ids whose visits and e-mails to
            read (a batch of the backfill), else all."""
        if scope is None:
            visit_scope = mail_scope = SQL("TRUE")
        else:
            visit_scope = SQL("v.partner_id IN (%s)", scope)
            mail_scope = SQL("t.res_id IN (%s)", scope)
        self.env["website.visitor"].flush_model(["partner_id", "last_connection_datetime"])
        self.env["mailing.trace"].flush_model(
            [
                "model",
                "res_id",
                "trace_type",
                "open_datetime",
                "links_click_datetime",
                "reply_datetime",
            ]
        )
        self.env["res.company"].flush_model(
            ["sms_activity_website_visits", "sms_activity_email_engagement"]
        )
        return SQL(
            """
            WITH raw AS (
                SELECT v.partner_id AS pid, v.last_connection_datetime AS at,
                       'visit' AS source
                  FROM website_visitor v
                 WHERE v.partner_id IS NOT NULL AND %(visit_scope)s
                 UNION ALL
                SELECT t.res_id, GREATEST(t.open_datetime, t.links_click_datetime,
                                          t.reply_datetime), 'email'
                  FROM mailing_trace t
                 WHERE t.model = 'res.partner' AND t.trace_type = 'mail' AND %(mail_scope)s
                   AND COALESCE(t.open_datetime, t.links_click_datetime,
                                t.reply_datetime) IS NOT NULL
            ),
            counted AS (
                SELECT r.pid, r.at, p.commercial_partner_id
                  FROM raw r
                  JOIN res_partner p ON p.id = r.pid
                  JOIN res_company c ON c.id = COALESCE(p.company_id, %(company)s)
                 WHERE (r.source = 'visit' AND c.sms_activity_website_visits)
                    OR (r.source = 'email' AND c.sms_activity_email_engagement)
            )
            SELECT pid, at FROM counted
             UNION ALL
            SELECT commercial_partner_id, at FROM counted
             WHERE commercial_partner_id IS NOT NULL AND commercial_partner_id != pid
            """,
            company=self.env.company.id,
            visit_scope=visit_scope,
            mail_scope=mail_scope,
        )

    def _sms_flush_activity(self):
        self.env["sale.order"].flush_model(["partner_id", "state", "date_order", "company_id"])
        self.env["sms.interaction"].flush_model(["partner_id", "received_at"])
        self.env["res.company"].flush_model(["sms_loyalty_window_days"])
        self.flush_model([*ACTIVITY_FIELDS, "commercial_partner_id", "active"])
