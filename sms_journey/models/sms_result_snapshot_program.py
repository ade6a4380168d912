"""sms.result.snapshot: the program dashboard's stored rows, the order gaps of each
customer and the months of each company, computed again where something changed."""

from odoo import models
from odoo.tools import SQL

# the companies' settings the dashboard was computed with (``_company_settings``)
COMPANY_SETTINGS = "sms_journey.results_company_settings"


class SmsResultSnapshot(models.AbstractModel):
    """The dashboard (``sms.program.month``) kept from what changed."""

    _inherit = "sms.result.snapshot"

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
        parameters = self.env["ir.config_parameter"].sudo()
        settings = self._company_settings()
        if parameters.get_param(COMPANY_SETTINGS) != settings:
            # an inactivity period or a time zone changed: every order and month moves
            parameters.set_param(COMPANY_SETTINGS, settings)
            return self._build_program()
        self._update_order_gaps(self._changed_families(since))
        self.env.cr.execute("DROP TABLE IF EXISTS sms_program_month_dirty")
        self.env.cr.execute(self._dirty_months_sql(since, message_id, results_changed))
        self._update_months()
        return None

    def _changed_families(self, since):
        """The customers (commercial partners) whose orders were written since ``since``
        or lost one (deleted)."""
        return [
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

    def _update_order_gaps(self, families):
        """The order gaps of ``families`` computed again; the rows as they were and as
        they are stay in ``sms_program_order_gap_old`` / ``_new`` (temporary)."""
        cr = self.env.cr
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
                    self.env["sms.program.month"]._gap_query(families),
                ),
                "sms_program_order_gap_new",
            )

    def _dirty_months_sql(self, since, message_id, results_changed):
        """The temporary table ``sms_program_month_dirty``: the (company, month) pairs
        where an order gap, a reply, a call or e-mail, an overdue invoice, a survey
        answer, a consent change or (``results_changed``) an SMS row changed."""
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
        return SQL(
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

    def _update_months(self):
        """The dashboard's months of ``sms_program_month_dirty`` computed again."""
        cr = self.env.cr
        Month = self.env["sms.program.month"]
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
