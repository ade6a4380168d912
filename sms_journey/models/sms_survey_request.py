from datetime import timedelta

from odoo import api, fields, models


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
    company_id = fields.Many2one(related="question_id.company_id", store=True, index=True)
    partner_id = fields.Many2one("res.partner", required=True, ondelete="cascade", index=True)
    number = fields.Char(index=True)
    sms_uuid = fields.Char("SMS reference", index="btree_not_null")
    sent_at = fields.Datetime(required=True, default=fields.Datetime.now)
    state = fields.Selection(
        [("open", "Open"), ("answered", "Answered")], default="open", required=True, index=True
    )
    clarification_sent = fields.Boolean(readonly=True)
    answer_id = fields.Many2one("sms.survey.answer", readonly=True)

    @api.model
    def _open_for(self, interaction):
        """The latest open request the reply can answer, or an empty recordset."""
        if not interaction.partner_id:
            return self.browse()
        requests = self.search(
            [("partner_id", "=", interaction.partner_id.id), ("state", "=", "open")],
            order="sent_at desc, id desc",
            limit=10,
        )
        return requests.filtered(
            lambda r: r.sent_at
            <= interaction.received_at
            <= r.sent_at + timedelta(days=r.question_id.open_days)
        )[:1]
