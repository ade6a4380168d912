"""sms.global.holdout.period: a period of a company's global control group.

A period records its share, its start and end and the seed drawn when an SMS manager
started it (``res.company.action_sms_start_global_holdout``); the seed decides, with a
contact's id, whether the contact is held out of every marketing program
(``tools/global_holdout.py``). Its share and seed never change: a new share is a new
period, which ends the running one. The same draw is read in Python (the sending
policy, the contact form) and in SQL (the report), from one formula.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import global_holdout

SMS_MANAGER = "sms_journey.group_sms_journey_manager"


class SmsGlobalHoldoutPeriod(models.Model):
    _name = "sms.global.holdout.period"
    _description = "Global control group period"
    _order = "date_start desc, id desc"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company
    )
    percent = fields.Float("Share held out (%)", required=True, readonly=True)
    date_start = fields.Datetime("Start", required=True, readonly=True)
    date_end = fields.Datetime("End", required=True, readonly=True)
    seed = fields.Char(
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: global_holdout.new_seed(),
        help="Drawn when the period started: with a contact's id, decides who is held "
        "out. Recorded so that the draw can be checked and repeated.",
    )
    user_id = fields.Many2one(
        "res.users", "Started by", readonly=True, default=lambda self: self.env.user
    )
    name = fields.Char(compute="_compute_name")

    _sql_constraints = [
        ("percent_range", "CHECK (percent > 0 AND percent <= 50)", "The share is 0–50 %."),
        ("dates", "CHECK (date_end > date_start)", "A period ends after it starts."),
    ]

    @api.depends("percent", "date_start", "date_end")
    def _compute_name(self):
        for period in self:
            period.name = self.env._(
                "%(percent)s %% from %(start)s to %(end)s",
                percent=period.percent,
                start=fields.Date.to_string(period.date_start),
                end=fields.Date.to_string(period.date_end),
            )

    def write(self, vals):
        self.check_access("write")
        # the draw of a period is fixed; only its end may be brought forward (a new
        # period ends the running one)
        if set(vals) - {"date_end"} or (
            "date_end" in vals and not (self.env.su or self.env.user.has_group(SMS_MANAGER))
        ):
            raise UserError(
                self.env._(
                    "A control group period cannot be changed: start a new period "
                    "(Settings › SMS Journeys) to change the share."
                )
            )
        return super().write(vals)

    @api.model
    def _start(self, company, percent, days, now=None):
        """End ``company``'s running period at ``now`` and start a new one of
        ``percent`` % for ``days`` days with a new seed; returns it."""
        now = now or fields.Datetime.now()
        if days <= 0:
            raise UserError(self.env._("A control group period lasts at least one day."))
        running = self._running(company, now)
        if running:
            running.date_end = now
        return self.create(
            {
                "company_id": company.id,
                "percent": percent,
                "date_start": now,
                "date_end": now + timedelta(days=days),
            }
        )

    @api.model
    def _running(self, company, now=None):
        """``company``'s period running at ``now`` (empty when none)."""
        now = now or fields.Datetime.now()
        return (
            self.sudo()
            .search(
                [
                    ("company_id", "=", company.id),
                    ("date_start", "<=", now),
                    ("date_end", ">", now),
                ],
                limit=1,
            )
            .sudo(self.env.su)
        )

    def _built(self):
        """Those of these periods whose sums the results refresh has built
        (``sms_result_snapshot_holdout.py``)."""
        if not self:
            return self
        rows = self.env.execute_query(
            SQL(
                "SELECT period_id FROM sms_holdout_state WHERE period_id = ANY(%s)"
                " AND built_until = %s",
                self.ids,
                global_holdout.BUILT,
            )
        )
        return self.browse([row[0] for row in rows])

    def _holds_out(self, partner):
        """Whether ``partner`` (a res.partner, may be empty) is held out in this
        period."""
        self.ensure_one()
        return bool(partner) and global_holdout.held_out(self.seed, partner.id, self.percent)

    def _held_out_sql(self, partner_id):
        """SQL: whether the contact whose id is the SQL ``partner_id`` is held out in
        this period; ``global_holdout.bucket`` written with PostgreSQL's integer
        operators (``#`` is xor), no query per row."""
        self.ensure_one()
        mask = global_holdout.MASK

        def mix(x):
            return SQL("((((%s >> 16) # %s) * %s) & %s)", x, x, global_holdout.MULTIPLIER, mask)

        x = SQL("((%s::bigint # %s) & %s)", partner_id, global_holdout.seed_key(self.seed), mask)
        x = mix(mix(x))
        return SQL("(((%s >> 16) # %s) < %s)", x, x, global_holdout.threshold(self.percent))
