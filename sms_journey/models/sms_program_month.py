from datetime import datetime, time

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.results import local_to_utc

# each company's time zone, read once: joined to each row, the company's contact was
# read again for every one of a busy day's 47,000 replies (OFFSET 0 keeps it apart)
COMPANY_TIME_ZONES = """
SELECT co.id AS company_id, COALESCE(NULLIF(cp.tz, ''), 'UTC') AS tz
  FROM res_company co LEFT JOIN res_partner cp ON cp.id = co.partner_id
OFFSET 0
"""
# What the seeds measure an SMS program by, month by month; each figure opens its records.
COLUMNS = (
    "inbound",
    "calls",
    "emails",
    "churned",
    "reactivated",
    "reminded",
    "paid",
    "survey_count",
    "survey_sum",
    "sent",
    "opted_out",
    "cost",
    "revenue",
)


def _month_rows(sums):
    """The dashboard's rows from ``sums`` (a query of company_id, month and the summed
    COLUMNS): with their id (company and month) and the rates derived from the sums,
    the same whether the months come from the live tables or from the kept days."""
    return SQL(
        """
            SELECT s.*,
                   s.company_id * 1000000 + extract(year FROM s.month)::int * 100
                       + extract(month FROM s.month)::int AS id,
                   CASE WHEN s.survey_count > 0 THEN s.survey_sum / s.survey_count END
                       AS survey_score,
                   CASE WHEN s.sent > 0 THEN 100.0 * s.opted_out / s.sent END AS opt_out_rate
              FROM (%s) s
        """,
        sums,
    )


class SmsProgramMonth(models.Model):
    """The program dashboard: one row per company and month (in the company's time
    zone) with what the seeds measure an SMS program by — inbound SMS next to calls and
    e-mails logged, customers becoming inactive (churn) and reactivated, overdue-invoice
    reminders and the invoices paid, SMS survey scores, opt-out rate, cost and revenue
    (each figure's button opens the records behind it). Stored rows, kept by
    ``sms.result.snapshot``: the months where something changed since its last refresh
    are computed again (*as of* then); a figure counts what had happened then, its
    button opens the records as they are now.

    Churn and reactivation follow confirmed orders: a customer becomes inactive the day
    the company's inactivity period has passed since an order without a next one, and is
    reactivated by an order placed after such a gap."""

    _name = "sms.program.month"
    _description = "SMS program dashboard"
    _auto = False
    _order = "month desc, company_id"
    _rec_name = "month"

    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    month = fields.Date(readonly=True)
    inbound = fields.Integer("Inbound SMS", readonly=True)
    calls = fields.Integer("Calls logged", readonly=True)
    emails = fields.Integer("E-mails received", readonly=True)
    churned = fields.Integer("Became inactive", readonly=True)
    reactivated = fields.Integer(readonly=True)
    reminded = fields.Integer("Invoices reminded", readonly=True)
    paid = fields.Integer("Reminded invoices paid", readonly=True)
    survey_count = fields.Integer("Survey answers", readonly=True)
    survey_sum = fields.Float(readonly=True)
    survey_score = fields.Float(
        "Survey score", readonly=True, aggregator="avg", help="Average numeric answer."
    )
    sent = fields.Integer("SMS sent", readonly=True)
    opted_out = fields.Integer("Opt-outs", readonly=True)
    opt_out_rate = fields.Float(
        "Opt-out rate (%)", readonly=True, aggregator="avg", help="Opt-outs per 100 SMS sent."
    )
    cost = fields.Monetary(readonly=True, currency_field="currency_id")
    revenue = fields.Monetary(readonly=True, currency_field="currency_id")

    def _gap_query(self, orders=None):
        """One row per confirmed order: whether it reactivated its customer, when the
        customer becomes inactive after it, its attributed revenue (if attributed), its
        total (the control-group sums read it, ``sms_result_snapshot_journey.py``); for
        every order, or those of the SQL ``orders`` (id, company_id, date_order,
        family_id, attributed, attributed_revenue, amount_total: the confirmed orders of
        whole families, ``sms.result.snapshot._family_orders``)."""
        if orders is None:
            orders = SQL(
                """SELECT so.id, so.company_id, so.date_order,
                          COALESCE(p.commercial_partner_id, p.id) AS family_id,
                          so.sms_attribution_kind IS NOT NULL AS attributed,
                          so.sms_attributed_revenue AS attributed_revenue, so.amount_total
                     FROM sale_order so
                     JOIN res_partner p ON p.id = so.partner_id
                    WHERE so.state = 'sale'"""
            )
        return SQL(
            """
                SELECT g.id, g.company_id, g.date_order,
                       g.previous_order < g.date_order - g.gap AS reactivated,
                       CASE WHEN g.next_order IS NULL OR g.next_order > g.date_order + g.gap
                            THEN g.date_order + g.gap END AS churn_at,
                       g.family_id, g.attributed, g.attributed_revenue, g.amount_total
                  FROM (
                    SELECT so.id, so.company_id, so.date_order,
                           make_interval(days => COALESCE(c.sms_inactivity_days, 90)) AS gap,
                           lag(so.date_order) OVER w AS previous_order,
                           lead(so.date_order) OVER w AS next_order,
                           so.family_id, so.attributed, so.attributed_revenue,
                           so.amount_total
                      FROM (%s) so
                      JOIN res_company c ON c.id = so.company_id
                    WINDOW w AS (PARTITION BY so.family_id ORDER BY so.date_order, so.id)
                  ) g
            """,
            orders,
        )

    def _branches(
        self,
        dirty=None,
        gaps="__gaps__",
        results="__results__",
        sign="1",
        inbound="__inbound__",
    ):
        """{part: [SQL code of a branch]}: each branch gives one row per thing counted,
        (company_id, at, part, the ``COLUMNS``, sign). The *event* part (calls, e-mails,
        reminders, survey answers, opt-outs) is counted again by day where one happened;
        the *inbound* part (the SMS received, from the kept rows ``inbound``,
        ``_inbound_query``) and the *order* part (churn, reactivation, attributed revenue
        from the order gaps ``gaps``; SMS sent and their cost from the SMS rows
        ``results``) move by the rows that changed (``sign``: -1 for rows taken away).
        ``dirty``: only the rows of the company and period (lo, hi in UTC) of the row
        ``d`` of the query around (``sms.result.snapshot._count_event_days``)."""
        zeros = {column: "0" for column in COLUMNS}

        def branch(part, at, company, source, **values):
            cols = {**zeros, **values}
            select = ", ".join(f"{cols[c]} AS {c}" for c in COLUMNS)
            restrict = ""
            if dirty:
                restrict = (
                    f" {'AND' if ' WHERE ' in source else 'WHERE'}"
                    f" {company} = d.company_id AND {at} >= d.lo AND {at} < d.hi"
                )
            return (
                f"SELECT {company} AS company_id, {at} AS at, '{part}'::varchar AS part,"
                f" {select}, {sign} AS sign {source}{restrict}"
            )

        main = "(SELECT min(id) FROM res_company)"
        return {
            "inbound": [
                branch("inbound", "i.at", "i.company_id", f"FROM {inbound} i", inbound="1"),
            ],
            "event": [
                branch(
                    "event",
                    "m.date",
                    f"COALESCE(m.record_company_id, {main})",
                    "FROM mail_message m JOIN mail_activity_type t"
                    " ON t.id = m.mail_activity_type_id WHERE t.category = 'phonecall'"
                    " AND m.mail_activity_type_id IS NOT NULL",  # its index's condition
                    calls="1",
                ),
                branch(
                    "event",
                    "m.date",
                    f"COALESCE(m.record_company_id, {main})",
                    "FROM mail_message m WHERE m.message_type = 'email'",
                    emails="1",
                ),
                branch(
                    "event",
                    "p.enrolled_at",
                    "COALESCE(p.company_id, j.company_id)",
                    "FROM sms_journey_participant p JOIN sms_journey j ON j.id = p.journey_id"
                    " LEFT JOIN account_move mv ON mv.id = p.source_res_id"
                    " WHERE j.trigger = 'invoice_overdue' AND p.source_model = 'account.move'",
                    reminded="1",
                    paid="(mv.payment_state IN ('paid', 'in_payment'))::int",
                ),
                branch(
                    "event",
                    "a.answered_at",
                    f"COALESCE(a.company_id, {main})",
                    "FROM sms_survey_answer a WHERE a.value_number IS NOT NULL",
                    survey_count="1",
                    survey_sum="a.value_number",
                ),
                branch(
                    "event",
                    "l.date",
                    f"COALESCE(pa.company_id, {main})",
                    "FROM sms_consent_log l LEFT JOIN res_partner pa ON pa.id = l.partner_id"
                    " WHERE l.action = 'opted_out'",
                    opted_out="1",
                ),
            ],
            "order": [
                branch(
                    "order",
                    "o.churn_at",
                    "o.company_id",
                    f"FROM {gaps} o WHERE o.churn_at <= __now__",
                    churned="1",
                ),
                branch(
                    "order",
                    "o.date_order",
                    "o.company_id",
                    f"FROM {gaps} o WHERE o.reactivated",
                    reactivated="1",
                ),
                branch(
                    "order",
                    "o.date_order",
                    "o.company_id",
                    f"FROM {gaps} o WHERE o.attributed",
                    revenue="o.attributed_revenue",
                ),
                branch(
                    "order",
                    "r.date",
                    "r.company_id",
                    f"FROM {results} r",
                    sent="r.sent",
                    cost="r.cost",
                ),
            ],
        }

    def _union(self, branches, gaps=None, results=None, now=None, inbound=None):
        """The SQL of the union of ``branches`` (``_branches``) reading the order gaps
        ``gaps``, the SMS rows ``results`` and the SMS received ``inbound`` (relations,
        default the tables), churn counted up to ``now`` (default the transaction's
        time)."""
        # (no "%" in the branches: they are SQL code as they are)
        return SQL(
            " UNION ALL ".join(branches)
            .replace("__gaps__", "%(gaps)s")
            .replace("__results__", "%(results)s")
            .replace("__inbound__", "%(inbound)s")
            .replace("__now__", "%(now)s"),
            gaps=gaps or SQL("sms_program_order_gap"),
            results=results or SQL("sms_result"),
            inbound=inbound or SQL("sms_program_inbound"),
            now=SQL("%s::timestamp", now) if now else SQL("(now() AT TIME ZONE 'UTC')"),
        )

    def _all_branches(self):
        """Every branch of the dashboard (``_branches``), as one list."""
        branches = self._branches()
        return branches["event"] + branches["inbound"] + branches["order"]

    def _inbound_query(self, since=None):
        """The rows of ``sms_program_inbound``: one per SMS received (id, company_id,
        at: when it was received; its ``interaction_id``, set to NULL when it is
        deleted), of a company; every one, or those written since ``since``."""
        return SQL(
            """SELECT i.id, i.company_id, i.received_at AS at, i.id AS interaction_id
                 FROM sms_interaction i
                WHERE i.received_at IS NOT NULL AND i.company_id IS NOT NULL %s""",
            SQL("AND i.write_date >= %s", since) if since else SQL(),
        )

    def _month_query(self, gaps=None, results=None, now=None, inbound=None):
        """The dashboard's rows (company, month) computed at once from the live tables,
        the order gaps ``gaps``, the SMS rows ``results`` and the SMS received
        ``inbound`` (relations, default the tables), churn counted up to ``now``: what
        the kept rows must equal (``sms.result.snapshot._recomputed``)."""
        union = self._union(self._all_branches(), gaps, results, now, inbound)
        sums = ", ".join(f"SUM(u.{c}) AS {c}" for c in COLUMNS)
        return _month_rows(
            SQL(
                """
                    SELECT u.company_id,
                           date_trunc('month', u.at AT TIME ZONE 'UTC'
                               AT TIME ZONE COALESCE(NULLIF(cp.tz, ''), 'UTC'))::date AS month,
                           %s
                      FROM (%s) u
                      JOIN res_company co ON co.id = u.company_id
                      LEFT JOIN res_partner cp ON cp.id = co.partner_id
                     WHERE u.at IS NOT NULL
                  GROUP BY 1, 2
                """,
                SQL(sums),
                union,
            )
        )

    def _day_query(self, union):
        """The rows of ``sms_program_day`` from ``union`` (``_union``): per company, day
        (in the company's time zone) and part, the signed sums and the signed count of
        the rows (a day's part without rows is dropped)."""
        sums = ", ".join(f"SUM(u.sign * u.{c}) AS {c}" for c in COLUMNS)
        return SQL(
            """
                SELECT u.company_id,
                       (u.at AT TIME ZONE 'UTC' AT TIME ZONE z.tz)::date AS day,
                       u.part, %s, SUM(u.sign) AS row_count
                  FROM (%s) u
                  JOIN (%s) z ON z.company_id = u.company_id
                 WHERE u.at IS NOT NULL
              GROUP BY 1, 2, 3
            """,
            SQL(sums),
            union,
            SQL(COMPANY_TIME_ZONES),
        )

    def _month_from_days(self, dirty=None):
        """The dashboard's rows summed from ``sms_program_day``: every month, or the
        months of the table ``dirty`` (company_id, month)."""
        sums = ", ".join(
            f"SUM({c}){'::bigint' if c not in ('survey_sum', 'cost', 'revenue') else ''} AS {c}"
            for c in COLUMNS
        )
        where = (
            SQL(
                "WHERE (company_id, date_trunc('month', day)::date)"
                " IN (SELECT company_id, month FROM %s)",
                SQL.identifier(dirty),
            )
            if dirty
            else SQL()
        )
        return _month_rows(
            SQL(
                """
                    SELECT company_id, date_trunc('month', day)::date AS month, %s
                      FROM sms_program_day %s
                  GROUP BY 1, 2
                    HAVING SUM(row_count) > 0
                """,
                SQL(sums),
                where,
            )
        )

    @api.model
    def action_refresh(self):
        """*Refresh* (list header): rebuild the results reports now."""
        return self.env["sms.result.snapshot"].action_refresh()

    def _bounds(self):
        """The month of this row in UTC: [start, end)."""
        self.ensure_one()
        tz = self.company_id.partner_id.tz or "UTC"
        start = datetime.combine(self.month, time())
        return local_to_utc(start, tz), local_to_utc(start + relativedelta(months=1), tz)

    def _open(self, title, model, domain):
        return {
            "type": "ir.actions.act_window",
            "name": title,
            "res_model": model,
            "view_mode": "list,form",
            "domain": domain,
        }

    def _between(self, field):
        start, end = self._bounds()
        return [(field, ">=", start), (field, "<", end)]

    def action_open_inbound(self):
        domain = self._between("received_at") + [("company_id", "=", self.company_id.id)]
        return self._open(self.env._("Inbound SMS"), "sms.interaction", domain)

    def _of_company(self, field):
        """The records of this row's company by ``field``, as the figures count them:
        records without a company count for the main (first) company."""
        company = self.company_id.id
        if company == self.env["res.company"].sudo().search([], order="id", limit=1).id:
            return ["|", (field, "=", company), (field, "=", False)]
        return [(field, "=", company)]

    def action_open_calls(self):
        domain = self._between("date") + [("mail_activity_type_id.category", "=", "phonecall")]
        domain += self._of_company("record_company_id")
        return self._open(self.env._("Calls logged"), "mail.message", domain)

    def action_open_emails(self):
        domain = self._between("date") + [("message_type", "=", "email")]
        domain += self._of_company("record_company_id")
        return self._open(self.env._("E-mails received"), "mail.message", domain)

    def _gap_ids(self, column, condition):
        start, end = self._bounds()
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM sms_program_order_gap WHERE company_id = %s AND %s"
                " AND %s >= %s AND %s < %s",
                self.company_id.id,
                SQL(condition),
                SQL.identifier(column),
                start,
                SQL.identifier(column),
                end,
            )
        )
        return [row[0] for row in rows]

    def action_open_churned(self):
        ids = self._gap_ids("churn_at", "churn_at <= now() AT TIME ZONE 'UTC'")
        return self._open(
            self.env._("Last orders before becoming inactive"), "sale.order", [("id", "in", ids)]
        )

    def action_open_reactivated(self):
        ids = self._gap_ids("date_order", "reactivated")
        return self._open(
            self.env._("Orders of reactivated customers"), "sale.order", [("id", "in", ids)]
        )

    def action_open_reminded(self):
        domain = self._between("enrolled_at") + [
            ("journey_id.trigger", "=", "invoice_overdue"),
            ("source_model", "=", "account.move"),
        ]
        return self._open(self.env._("Invoice reminders"), "sms.journey.participant", domain)

    def action_open_paid(self):
        """The invoices reminded this month that are paid (or being paid)."""
        reminded = self.env["sms.journey.participant"].search(self.action_open_reminded()["domain"])
        domain = [
            ("id", "in", reminded.mapped("source_res_id")),
            ("payment_state", "in", ("paid", "in_payment")),
        ]
        return self._open(self.env._("Reminded invoices paid"), "account.move", domain)

    def action_open_surveys(self):
        domain = self._between("answered_at") + [("value_number", "!=", False)]
        domain += self._of_company("company_id")
        return self._open(self.env._("Survey answers"), "sms.survey.answer", domain)

    def action_open_sent(self):
        domain = self._between("date") + [("company_id", "=", self.company_id.id)]
        return self._open(self.env._("SMS sent"), "sms.result", domain + [("sent", "=", 1)])

    def action_open_opt_outs(self):
        domain = self._between("date") + [("action", "=", "opted_out")]
        domain += self._of_company("partner_id.company_id")
        return self._open(self.env._("Opt-outs"), "sms.consent.log", domain)

    def action_open_revenue(self):
        domain = self._between("date_order") + [
            ("company_id", "=", self.company_id.id),
            ("state", "=", "sale"),
            ("sms_attribution_kind", "!=", False),
        ]
        return self._open(self.env._("Orders attributed to SMS"), "sale.order", domain)
