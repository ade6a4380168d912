from odoo import fields, models


class SmsSurveyAnswer(models.Model):
    """A valid answer to an SMS survey question."""

    _name = "sms.survey.answer"
    _description = "SMS Survey Answer"
    _order = "answered_at desc, id desc"
    _rec_name = "value"

    question_id = fields.Many2one(
        "sms.survey.question", required=True, ondelete="cascade", index=True
    )
    answer_type = fields.Selection(related="question_id.answer_type")
    partner_id = fields.Many2one("res.partner", ondelete="set null", index="btree_not_null")
    value = fields.Char(required=True)
    value_number = fields.Float(
        "Score", aggregator="avg", help="The grade, 1/0 for yes/no, the option's position."
    )
    answered_at = fields.Datetime(required=True, default=fields.Datetime.now)
    interaction_id = fields.Many2one("sms.interaction", "SMS", ondelete="set null")
    journey_id = fields.Many2one("sms.journey", "Journey", ondelete="set null")
    company_id = fields.Many2one(related="question_id.company_id", store=True)
