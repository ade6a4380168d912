from odoo import fields, models


class SmsContestEntry(models.Model):
    """One number's entry in an SMS contest (one per number: a SQL constraint)."""

    _name = "sms.contest.entry"
    _description = "SMS Contest Entry"
    _order = "entered_at, id"
    _rec_name = "number"
    _check_company_auto = True

    contest_id = fields.Many2one(
        "sms.contest", required=True, ondelete="cascade", index=True, check_company=True
    )
    company_id = fields.Many2one(related="contest_id.company_id", store=True, index=True)
    number = fields.Char(required=True, readonly=True)
    partner_id = fields.Many2one(
        "res.partner", readonly=True, index="btree_not_null", check_company=True
    )
    interaction_id = fields.Many2one(
        "sms.interaction", "Reply", readonly=True, check_company=True, index="btree_not_null"
    )
    entered_at = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    is_winner = fields.Boolean("Winner", readonly=True)
    notified = fields.Boolean(readonly=True, help="The winner SMS was sent.")

    _sql_constraints = [
        (
            "one_entry_per_number",
            "UNIQUE(contest_id, number)",
            "A number enters a contest only once.",
        )
    ]
