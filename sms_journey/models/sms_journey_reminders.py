from odoo import fields, models
from odoo.tools import SQL


def reminder_query(journey_id, company_id, overdue_days):
    """The invoices of the payment-reminder journey ``journey_id`` and the comparable
    ones no reminder journey texted (same company, due in the same period, still unpaid
    ``overdue_days`` after their due date): per group (reminded or not), invoices, paid,
    average days from the due date to the payment."""
    return SQL(
        """
            WITH reminded AS (
                SELECT DISTINCT source_res_id AS move_id FROM sms_journey_participant
                 WHERE journey_id = %(journey)s AND source_model = 'account.move'
            ),
            any_reminded AS (
                SELECT DISTINCT p.source_res_id AS move_id
                  FROM sms_journey_participant p
                  JOIN sms_journey j ON j.id = p.journey_id
                 WHERE j.trigger = 'invoice_overdue' AND p.source_model = 'account.move'
            ),
            period AS (
                SELECT min(m.invoice_date_due) AS since, max(m.invoice_date_due) AS until
                  FROM account_move m JOIN reminded r ON r.move_id = m.id
            ),
            pool AS (
                SELECT m.id, m.invoice_date_due AS due, m.payment_state,
                       m.id IN (SELECT move_id FROM reminded) AS reminded
                  FROM account_move m CROSS JOIN period
                 WHERE m.id IN (SELECT move_id FROM reminded)
                    OR (m.move_type = 'out_invoice' AND m.state = 'posted'
                        AND m.company_id = %(company)s
                        AND m.invoice_date_due BETWEEN period.since AND period.until
                        AND m.id NOT IN (SELECT move_id FROM any_reminded))
            ),
            paid AS (
                SELECT l.move_id, max(r.max_date) AS paid_on
                  FROM account_move_line l
                  JOIN pool ON pool.id = l.move_id
                  JOIN account_partial_reconcile r ON r.debit_move_id = l.id
                 WHERE l.display_type = 'payment_term'
                 GROUP BY l.move_id
            ),
            facts AS (
                SELECT pool.reminded, pool.due,
                       CASE WHEN pool.payment_state IN ('paid', 'in_payment')
                            THEN paid.paid_on END AS paid_on
                  FROM pool LEFT JOIN paid ON paid.move_id = pool.id
            )
            SELECT reminded, count(*), count(paid_on), COALESCE(avg(paid_on - due), 0)
              FROM facts
             -- comparable invoices were still unpaid when a reminder would have gone
             WHERE reminded OR paid_on IS NULL OR paid_on > due + %(overdue)s
             GROUP BY reminded
        """,
        journey=journey_id,
        company=company_id,
        overdue=overdue_days,
    )


class SmsJourney(models.Model):
    """Payment reminders (the ``invoice_overdue`` trigger): days to pay of the invoices
    the journey reminded, against the comparable invoices no reminder texted."""

    _inherit = "sms.journey"

    reminder_invoice_count = fields.Integer(
        "Invoices reminded", compute="_compute_reminder_figures"
    )
    reminder_paid_count = fields.Integer(
        "Paid after a reminder", compute="_compute_reminder_figures"
    )
    reminder_days_to_pay = fields.Float(
        "Days to pay (reminded)",
        compute="_compute_reminder_figures",
        digits=(12, 1),
        help="Average days from the due date to the payment, of the reminded invoices paid.",
    )
    unreminded_invoice_count = fields.Integer(
        "Invoices not reminded",
        compute="_compute_reminder_figures",
        help="Customer invoices of the same company due in the same period (the first to "
        "the last due date of the reminded ones), overdue past the journey's threshold "
        "too, that no reminder journey texted.",
    )
    unreminded_paid_count = fields.Integer(
        "Paid without a reminder", compute="_compute_reminder_figures"
    )
    unreminded_days_to_pay = fields.Float(
        "Days to pay (not reminded)", compute="_compute_reminder_figures", digits=(12, 1)
    )

    def _compute_reminder_figures(self):
        for journey in self:
            figures = journey._reminder_figures() if journey.trigger == "invoice_overdue" else {}
            reminded = figures.get(True, (0, 0, 0.0))
            others = figures.get(False, (0, 0, 0.0))
            journey.reminder_invoice_count, journey.reminder_paid_count = reminded[:2]
            journey.reminder_days_to_pay = reminded[2]
            journey.unreminded_invoice_count, journey.unreminded_paid_count = others[:2]
            journey.unreminded_days_to_pay = others[2]

    def _reminder_figures(self):
        """{reminded: (invoices, paid, average days from due date to payment)} of this
        payment-reminder journey (True) and of the comparable invoices no reminder journey
        texted (False), in one query. The payment date is the invoice's last
        reconciliation (Odoo keeps no paid date)."""
        self.ensure_one()
        if not self.id:
            return {}
        self.env["sms.journey.participant"].flush_model(
            ["journey_id", "source_model", "source_res_id"]
        )
        self.env["account.move"].flush_model(
            ["move_type", "state", "company_id", "invoice_date_due", "payment_state"]
        )
        self.env["account.move.line"].flush_model(["move_id", "display_type"])
        self.env["account.partial.reconcile"].flush_model(["debit_move_id", "max_date"])
        rows = self.env.execute_query(
            reminder_query(self.id, self.company_id.id, self.overdue_days or 0)
        )
        return {reminded: (count, paid, float(days)) for reminded, count, paid, days in rows}
