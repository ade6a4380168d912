"""sms.global.holdout.report: what marketing brings, measured on the company's global
control group (``sms.global.holdout.period``).

One row per program (each journey, each SMS mailing) and one for all contacts, per
period: heads treated and held out, conversion (a confirmed order of the company in
the period) and revenue per head (its orders' totals in the period, zeros included),
and the lift of the treated over the held out with its 95 % interval
(``tools/stats.py``). The heads of a program are the contacts it targeted in the period
(journey participants enrolled then, SMS mailing recipients who are contacts); those of
"All contacts" are the company's contacts with a phone number. Held out or not is the
period's draw on the contact, read in SQL.

Opening the report (``_action_open``) reads the sums kept per period, program and
group by the results refresh (``sms_result_snapshot_holdout.py``: every 15 minutes and
on *Refresh*, moved by what changed since the last one), a few rows whatever the number
of contacts and orders (``bench/bench_global_holdout.py``: 1 M contacts, 3 M orders). A
period just started is built by the refresh, in batches; until then it has no rows.
"""

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import global_holdout, stats


class SmsGlobalHoldoutReport(models.Model):
    _name = "sms.global.holdout.report"
    _description = "Global control group report"
    _order = "period_id desc, program, name"

    period_id = fields.Many2one(
        "sms.global.holdout.period", required=True, readonly=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    program = fields.Selection(
        [("overall", "All contacts"), ("journey", "Journey"), ("mailing", "SMS mailing")],
        "Kind of program",
        required=True,
        readonly=True,
    )
    journey_id = fields.Many2one("sms.journey", readonly=True, ondelete="cascade")
    mailing_id = fields.Many2one(
        "mailing.mailing", "SMS mailing", readonly=True, ondelete="cascade"
    )
    name = fields.Char("Program", readonly=True)
    treated_count = fields.Integer("Treated", readonly=True)
    held_out_count = fields.Integer("Held out", readonly=True)
    treated_converted = fields.Integer("Treated who ordered", readonly=True)
    held_out_converted = fields.Integer("Held out who ordered", readonly=True)
    treated_conversion = fields.Float("Treated conversion (%)", readonly=True, aggregator=False)
    held_out_conversion = fields.Float("Held-out conversion (%)", readonly=True, aggregator=False)
    treated_revenue_per_head = fields.Monetary(
        "Treated revenue per head", readonly=True, aggregator=False
    )
    held_out_revenue_per_head = fields.Monetary(
        "Held-out revenue per head", readonly=True, aggregator=False
    )
    conversion_lift = fields.Float("Conversion lift (points)", readonly=True, aggregator=False)
    conversion_lift_low = fields.Float("Conversion lift, 95 % low", readonly=True, aggregator=False)
    conversion_lift_high = fields.Float(
        "Conversion lift, 95 % high", readonly=True, aggregator=False
    )
    revenue_lift = fields.Monetary("Revenue per head lift", readonly=True, aggregator=False)
    revenue_lift_low = fields.Monetary("Revenue lift, 95 % low", readonly=True, aggregator=False)
    revenue_lift_high = fields.Monetary("Revenue lift, 95 % high", readonly=True, aggregator=False)
    significant = fields.Boolean(
        readonly=True, help="The 95 % interval of the conversion lift excludes 0."
    )

    @api.model
    def _action_open(self):
        """Write the rows of the allowed companies' latest periods from their kept sums,
        then open them, titled with the time of the last refresh."""
        periods = self.env["sms.global.holdout.period"].sudo()
        for company in self.env.companies:
            periods |= periods.search([("company_id", "=", company.id)], limit=1)
        self.sudo()._refresh(periods)
        Snapshot = self.env["sms.result.snapshot"]
        action = Snapshot._open_report("sms_journey.sms_global_holdout_report_action")
        if periods - periods._built():
            action["name"] += " — " + self.env._("a period is being computed by the refresh")
        return action

    @api.model
    def _refresh(self, periods):
        """Replace the rows of ``periods`` by their kept sums."""
        self.search([("period_id", "in", periods.ids)]).unlink()
        rows = []
        for period in periods:
            rows += self._period_rows(period)
        return self.create(rows)

    @api.model
    def _period_rows(self, period):
        figures = self._period_sums(period)
        names = {
            "journey": dict(
                self.env["sms.journey"]
                .browse({key for program, key in figures if program == "journey"})
                .mapped(lambda j: (j.id, j.name))
            ),
            "mailing": dict(
                self.env["mailing.mailing"]
                .browse({key for program, key in figures if program == "mailing"})
                .mapped(lambda m: (m.id, m.subject))
            ),
            "overall": {0: self.env._("All contacts")},
        }
        return [
            {
                "period_id": period.id,
                "company_id": period.company_id.id,
                "program": program,
                "journey_id": key if program == "journey" else False,
                "mailing_id": key if program == "mailing" else False,
                "name": names[program].get(key),
                **self._comparison(groups.get(False), groups.get(True)),
            }
            for (program, key), groups in figures.items()
        ]

    @api.model
    def _comparison(self, treated, held):
        """The columns comparing two groups, each (heads, converted, ``stats.Sums`` of
        revenue per head) or None."""
        treated = treated or (0, 0, stats.Sums(0, 0.0, 0.0))
        held = held or (0, 0, stats.Sums(0, 0.0, 0.0))
        (n_t, won_t, revenue_t), (n_c, won_c, revenue_c) = treated, held
        conversion = stats.proportion_difference(won_t, n_t, won_c, n_c)
        revenue = stats.mean_difference_of_sums(revenue_t, revenue_c)
        return {
            "treated_count": n_t,
            "held_out_count": n_c,
            "treated_converted": won_t,
            "held_out_converted": won_c,
            "treated_conversion": 100.0 * won_t / n_t if n_t else 0.0,
            "held_out_conversion": 100.0 * won_c / n_c if n_c else 0.0,
            "treated_revenue_per_head": revenue_t.mean if n_t else 0.0,
            "held_out_revenue_per_head": revenue_c.mean if n_c else 0.0,
            "conversion_lift": 100.0 * conversion.difference,
            "conversion_lift_low": 100.0 * conversion.low,
            "conversion_lift_high": 100.0 * conversion.high,
            "revenue_lift": revenue.difference,
            "revenue_lift_low": revenue.low,
            "revenue_lift_high": revenue.high,
            "significant": bool(n_t and n_c) and (conversion.low > 0 or conversion.high < 0),
        }

    @api.model
    def _period_sums(self, period):
        """{(program, journey or mailing id, 0 for all contacts): {held out: (heads,
        converted, ``stats.Sums`` of revenue per head)}}, from the kept sums of a built
        period (programs since deleted left out)."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT t.program, t.program_id, t.held, t.row_count, t.converted,
                       t.revenue, t.squares
                  FROM sms_holdout_total t
                  JOIN sms_holdout_state s ON s.period_id = t.period_id AND s.built_until = %s
                 WHERE t.period_id = %s
                   AND (t.program = 'overall'
                        OR (t.program = 'journey'
                            AND EXISTS (SELECT 1 FROM sms_journey j WHERE j.id = t.program_id))
                        OR (t.program = 'mailing'
                            AND EXISTS (SELECT 1 FROM mailing_mailing m
                                         WHERE m.id = t.program_id)))
                """,
                global_holdout.BUILT,
                period.id,
            )
        )
        figures = {}
        for program, key, held, heads, converted, revenue, squares in rows:
            figures.setdefault((program, key), {})[held] = (
                heads,
                converted,
                stats.Sums(heads, float(revenue), float(squares)),
            )
        return figures
