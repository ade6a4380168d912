from datetime import timedelta

from odoo import api, fields, models

from .bulk_sql import add_parent_company_column


class SmsSurveyRequest(models.Model):
    """A survey question sent to one contact: open until answered or ``open_days``
    after sending."""

    _name = "sms.survey.request"
    _description = "SMS Survey Request"
    _order = "sent_at desc, id desc"
    _rec_name = "question_id"
    _check_company_auto = True

    question_id = fields.Many2one(
        "sms.survey.question", required=True, ondelete="cascade", index=True, check_company=True
    )
    # a question shared by all companies is asked for the company that sends it
    company_id = fields.Many2one(
        "res.company", compute="_compute_company_id", store=True, precompute=True, index=True
    )
    partner_id = fields.Many2one("res.partner", required=True, ondelete="cascade", index=True)
    number = fields.Char(index=True)
    sms_uuid = fields.Char("SMS reference", index="btree_not_null")
    sent_at = fields.Datetime(required=True, default=fields.Datetime.now)
    state = fields.Selection(
        [("open", "Open"), ("answered", "Answered")], default="open", required=True, index=True
    )
    clarification_sent = fields.Boolean(readonly=True)
    answer_id = fields.Many2one("sms.survey.answer", readonly=True, index="btree_not_null")

    def _auto_init(self):
        # the requests of an existing database in one UPDATE, not row by row
        add_parent_company_column(self, "question_id")
        return super()._auto_init()

    @api.depends("question_id")
    def _compute_company_id(self):
        for request in self:
            request.company_id = request.question_id.company_id or request.env.company

    @api.model
    def _open_for(self, interaction):
        """The latest open request the reply can answer, or an empty recordset: one
        its company asked (a reply to one company's number answers none of another's)."""
        if not interaction.partner_id:
            return self.browse()
        requests = self.search(
            [
                ("partner_id", "=", interaction.partner_id.id),
                ("state", "=", "open"),
                ("company_id", "in", [False, interaction.company_id.id]),
            ],
            order="sent_at desc, id desc",
            limit=10,
        )
        return requests.filtered(
            lambda r: r.sent_at
            <= interaction.received_at
            <= r.sent_at + timedelta(days=r.question_id.open_days)
        )[:1]
